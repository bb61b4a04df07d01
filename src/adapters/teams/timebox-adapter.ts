import { AsyncLocalStorage } from 'node:async_hooks';
import { CloudAdapter, type Activity, type TurnContext } from 'botbuilder';
import { AuthenticationError, type AuthenticateRequestResult } from 'botframework-connector';
import type { Logger } from '../../ports/logger';

/** What /api/messages answers: an HTTP status and, for invokes, botbuilder's invoke body. */
export interface ActivityOutcome {
  status: number;
  body?: unknown;
}

/** Called once per conversation for an authenticated activity Timebox does not act on (audit). */
export type OnForeignActivity = (refusal: {
  reason: 'channel' | 'tenant';
  channelId: string;
  conversationId: string;
  tenantId?: string;
}) => Promise<void>;

const TEAMS_CHANNEL = 'msteams';
const UNAUTHORIZED = 'Unauthorized: Timebox accepts only activities the Bot Framework signed for this bot.';
const NOT_TEAMS = 'Forbidden: Timebox acts only on Microsoft Teams activities of its own tenant.';
/** How many conversations' refusals are remembered, so that a flood is audited once, not per activity. */
const REMEMBERED_REFUSALS = 10_000;

/**
 * botbuilder writes every refused token to stderr (the stack, and for a bad signature the
 * channel's public key) from deep inside its validation. Timebox logs one JSON line per refusal
 * itself; what botbuilder prints while it authenticates a request is dropped. Only output made
 * inside `quietly(...)` is affected, so nothing else that writes to the console is hidden.
 */
const quiet = new AsyncLocalStorage<true>();
let consoleWrapped = false;
function muteBotbuilderAuthOutput(): void {
  if (consoleWrapped) return;
  consoleWrapped = true;
  for (const level of ['error', 'warn', 'log'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (quiet.getStore()) return;
      original(...args);
    };
  }
}

/**
 * CloudAdapter, with the HTTP side of /api/messages in Timebox's hands:
 * - every authentication failure is a 401 with Timebox's own short text and one log line (no
 *   stack, no key); botbuilder's `process` would print both and echo its own message;
 * - an authenticated activity from any channel but Teams (Web Chat and Direct Line are on by
 *   default on an Azure Bot, and their clients choose `from` and `channelData`) or naming the
 *   tenant only in `channelData` is answered 403 and never reaches the bot.
 */
export class TimeboxAdapter extends CloudAdapter {
  private readonly refused = new Set<string>();

  constructor(
    auth: ConstructorParameters<typeof CloudAdapter>[0],
    private readonly options: { logger: Logger; tenantId?: string; onForeignActivity?: OnForeignActivity },
  ) {
    super(auth);
    muteBotbuilderAuthOutput();
  }

  /** Authenticates one activity and runs `logic` on it when Timebox acts on it. */
  async handle(
    activity: Activity,
    authHeader: string,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<ActivityOutcome> {
    let auth: AuthenticateRequestResult;
    try {
      auth = await quiet.run(true, () =>
        this.botFrameworkAuthentication.authenticateRequest(activity, authHeader),
      );
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error; // an outage (metadata unreachable), not a forgery
      this.options.logger.warn(
        { reason: shortReason(error), channelId: clip(activity.channelId) },
        'activity refused: not authenticated',
      );
      return { status: 401, body: { error: UNAUTHORIZED } };
    }
    const foreign = this.foreignReason(activity);
    if (foreign) {
      await this.auditOnce(activity, foreign);
      return { status: 403, body: { error: NOT_TEAMS } };
    }
    const invoke = await this.processActivity(auth, activity, logic);
    return { status: invoke?.status ?? 200, body: invoke?.body };
  }

  private foreignReason(activity: Activity): 'channel' | 'tenant' | undefined {
    if (activity.channelId !== TEAMS_CHANNEL) return 'channel';
    // NB: the tenant must be where Teams puts it (conversation.tenantId); one named only in
    // channelData is not believed. Another tenant, or two tenant fields that disagree, get the
    // bot's own refusal (a reply that says so, audited).
    if (this.options.tenantId && !activity.conversation?.tenantId) return 'tenant';
    return undefined;
  }

  private async auditOnce(activity: Activity, reason: 'channel' | 'tenant'): Promise<void> {
    const channelId = clip(activity.channelId) ?? '';
    const conversationId = clip(activity.conversation?.id) ?? '';
    const key = `${reason}|${channelId}|${conversationId}`;
    this.options.logger.warn({ reason, channelId }, 'activity refused: not a Teams activity of this tenant');
    if (this.refused.has(key)) return;
    if (this.refused.size >= REMEMBERED_REFUSALS) this.refused.clear();
    this.refused.add(key);
    await this.options
      .onForeignActivity?.({
        reason,
        channelId,
        conversationId,
        tenantId: clip(activity.conversation?.tenantId),
      })
      .catch((error: unknown) => {
        this.refused.delete(key);
        this.options.logger.error({ err: error }, 'could not audit a refused activity');
      });
  }
}

/** botbuilder's message without what it may append (keys, endorsements lists), bounded. */
function shortReason(error: AuthenticationError): string {
  return error.message
    .replace(/Available keys:.*$/s, '')
    .split('\n')[0]!
    .slice(0, 160);
}

function clip(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 128) : undefined;
}
