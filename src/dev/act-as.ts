// `npm run dev:as -- <person> <approve|deny|claim|acknowledge> <request id> [reason…]`: clicks a
// request's approval card in the Agents Playground as another demo user (Megan, Adele, …), so a
// newcomer can try two-person approval and approved extensions without writing an invoke by hand.
//
// Local mode only, by construction: it reads `.dev/data` (the store `npm run dev` writes) and
// asks the playground started by `npm run dev` to send the click. The playground sends it to the
// bot the way Teams would; a bot outside local mode authenticates every activity with the Bot
// Framework's signature, which neither this tool nor the playground has.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { LowdbStore } from '../adapters/store/lowdb-store';
import { normalizeId } from '../domain/ids';
import { pendingDecision, type AccessRequest } from '../domain/request';
import { CardVerb } from '../cards/verbs';

export const ACT_AS_VERBS = [CardVerb.APPROVE, CardVerb.DENY, CardVerb.CLAIM, CardVerb.ACKNOWLEDGE] as const;
export type ActAsVerb = (typeof ACT_AS_VERBS)[number];

export interface PlaygroundUser {
  id: string;
  name: string;
}

export interface ActAsOptions {
  /** A demo user: first name, full name or Teams id, as in .m365agentsplayground.yml. */
  person: string;
  verb: string;
  requestId: string;
  reason?: string;
  /** The data directory `npm run dev` uses (`.dev/data`). */
  dataDir: string;
  /** Where the playground listens, e.g. http://127.0.0.1:56150. */
  playgroundUrl: string;
  users: PlaygroundUser[];
}

export interface ActAsResult {
  /** HTTP status of the bot's answer, as the playground relays it. */
  status: number;
  /** The texts of the card the bot answered with: what the clicker sees. */
  lines: string[];
}

/** A mistake in what was asked: printed as it is, nothing was sent. */
export class ActAsError extends Error {}

/** The users of the playground's config file (the other people of the demo tenant). */
export function playgroundUsers(configFile: string): PlaygroundUser[] {
  const config = parse(readFileSync(configFile, 'utf8')) as {
    currentUser?: PlaygroundUser;
    users?: PlaygroundUser[];
  };
  return [...(config.currentUser ? [config.currentUser] : []), ...(config.users ?? [])];
}

export function findUser(users: PlaygroundUser[], wanted: string): PlaygroundUser {
  const w = wanted.trim().toLowerCase();
  const user = users.find(
    (u) =>
      u.id.toLowerCase() === w || u.name.toLowerCase() === w || u.name.split(' ')[0]!.toLowerCase() === w,
  );
  if (!user) {
    const names = users.map((u) => u.name.split(' ')[0]!.toLowerCase()).join(', ');
    throw new ActAsError(`No demo user "${wanted}" in the playground's users: try one of ${names}.`);
  }
  return user;
}

async function readRequest(dataDir: string, requestId: string): Promise<AccessRequest> {
  // Read-only: the bot is running on this directory and stays its only writer.
  const store = new LowdbStore(dataDir, { readOnly: true });
  await store.open();
  try {
    const request = await store.get(normalizeId(requestId));
    if (!request) throw new ActAsError(`There is no request ${requestId} in ${dataDir}.`);
    return request;
  } finally {
    await store.close();
  }
}

/** The conversation a click on a channel card comes from: the thread of the card's message. */
function threadOf(card: { conversationId: string; activityId: string }): string {
  return card.conversationId.includes(';messageid=')
    ? card.conversationId
    : `${card.conversationId};messageid=${card.activityId}`;
}

/**
 * The card's texts, a line each, in order (what a reader of it sees): a TextBlock, a
 * RichTextBlock (its TextRuns joined), a Fact; a ColumnSet whose columns each hold one line (a
 * "Requester  Alex Wilber" row, a "✔  Approved by …" timeline entry) is one line.
 */
function textsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => textsOf(n, out));
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    else if (o.type === 'RichTextBlock' && Array.isArray(o.inlines))
      out.push(
        o.inlines
          .map((run) => (run as { text?: unknown }).text)
          .filter((text) => typeof text === 'string')
          .join(''),
      );
    else if (o.type === 'Fact' || (typeof o.title === 'string' && typeof o.value === 'string' && !o.type))
      out.push(`${String(o.title)}: ${String(o.value)}`);
    else if (o.type === 'ColumnSet' && Array.isArray(o.columns)) {
      const columns = o.columns.map((column) => textsOf(column));
      if (columns.every((lines) => lines.length === 1)) out.push(columns.map(([line]) => line).join('  '));
      else columns.forEach((lines) => out.push(...lines));
    } else for (const [key, value] of Object.entries(o)) if (key !== 'actions') textsOf(value, out);
  }
  return out;
}

/** Clicks `verb` on the request's approval card as `person`, through the playground. */
export async function actAs(options: ActAsOptions): Promise<ActAsResult> {
  const verb = options.verb.toLowerCase();
  if (!(ACT_AS_VERBS as readonly string[]).includes(verb))
    throw new ActAsError(
      `"${options.verb}" is not a button of the approval card: use ${ACT_AS_VERBS.join(', ')}.`,
    );
  if (verb === CardVerb.DENY && !options.reason?.trim())
    throw new ActAsError('A denial needs a reason: npm run dev:as -- megan deny R-… not during the freeze');
  const user = findUser(options.users, options.person);
  const request = await readRequest(options.dataDir, options.requestId);
  const card = request.approvalCard;
  if (!card?.activityId)
    throw new ActAsError(
      `The approval card of ${request.id} is not posted yet; wait a second and try again.`,
    );
  const data: Record<string, string> = { requestId: request.id };
  // The decision buttons say which decision they are for (the request, or extension n).
  if (verb === CardVerb.APPROVE || verb === CardVerb.DENY)
    data.subject = pendingDecision(request) ?? 'request';
  if (options.reason?.trim()) data.reason = options.reason.trim();
  const url = `${options.playgroundUrl}/_conversation/v1/invoke`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'adaptiveCard/action',
        value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
        from: { id: user.id },
        conversation: { id: threadOf(card) },
        replyToId: card.activityId,
      }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new ActAsError(
      `Nothing answered at ${options.playgroundUrl} (${(error as Error).message}): is \`npm run dev\` running?`,
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const value = (body as { value?: unknown } | undefined)?.value;
  return { status: response.status, lines: value ? textsOf(value) : [text.slice(0, 500)] };
}

async function main(argv: string[]): Promise<number> {
  const [person, verb, requestId, ...reason] = argv;
  if (!person || !verb || !requestId) {
    process.stderr.write(
      `Usage: npm run dev:as -- <person> <${ACT_AS_VERBS.join('|')}> <request id> [reason…]\n` +
        "Clicks the request's approval card in the Agents Playground as another demo user, e.g.\n" +
        '  npm run dev:as -- megan approve R-7KQ2XW\n',
    );
    return 2;
  }
  const root = path.resolve(__dirname, '../..');
  const port = process.env.TIMEBOX_PLAYGROUND_PORT ?? '56150';
  try {
    const result = await actAs({
      person,
      verb,
      requestId,
      reason: reason.join(' ') || undefined,
      // The same directory the launcher gives the bot.
      dataDir: path.resolve(root, process.env.TIMEBOX_DATA_DIR ?? '.dev/data'),
      playgroundUrl: `http://127.0.0.1:${port}`,
      users: playgroundUsers(path.join(root, '.m365agentsplayground.yml')),
    });
    process.stdout.write(`${result.lines.join('\n')}\n`);
    return result.status === 200 ? 0 : 1;
  } catch (error) {
    if (!(error instanceof ActAsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
