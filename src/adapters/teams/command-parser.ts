import { looksLikeDuration, parseDuration } from '../../domain/duration';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { normalizeTypedText } from '../../domain/text';
import { suggestWord } from './did-you-mean';

export type Command =
  | {
      name: 'request';
      group?: string;
      durationMs?: number;
      rest: string[];
      breakGlass: boolean;
      /** `request <group> at <time> …`: the start as typed (domain/start-time.ts reads it). */
      startText?: string;
    }
  | { name: 'extend'; group: string; durationMs: number; reason?: string }
  | { name: 'release'; group: string }
  | { name: 'cancel'; requestId: string }
  | { name: 'status' }
  | { name: 'pending' }
  | { name: 'help' }
  /**
   * `delegate to <person> until <time>`: the person as typed (UPN or display name); absent when
   * they were only @mentioned (the message handler takes them from the activity's mentions).
   */
  | { name: 'delegate'; to?: string; untilText: string }
  /** `delegate off`. */
  | { name: 'undelegate' }
  /** `report [group] [since 30d]` (admins): the insights report; `since` as typed (a duration back, or a date). */
  | { name: 'report'; group?: string; since?: string };

export const MAX_COMMAND_LENGTH = 2000;

const USAGE: Record<string, string> = {
  request:
    'request <group> [at <time>] [for] <duration> [because] <why>, e.g. "request db-read for 2h because INC-123 disk alert" or "request db-read at 02:00 for 1h because patch night"',
  'break-glass':
    'break-glass <group> [for] <duration> because <why>, e.g. "break-glass prod-admin 30m because site down"',
  extend: 'extend <group> [by] <duration> [because <reason>], e.g. "extend db-read by 1h"',
  release: 'release <group>, e.g. "release db-read"',
  cancel: 'cancel <request id>, e.g. "cancel R-7K3F9Q"',
  delegate:
    'delegate to <UPN, name or @mention> until <time> (at most 30 days), e.g. "delegate to meganb@contoso.com until Fri 18:00"; "delegate off" takes your approvals back',
  report:
    'report [group] [since <duration or date>], e.g. "report", "report db-read since 7d" or "report since 2026-11-01"',
};

/**
 * Turns what a person typed into a command. Group names and free text are returned as typed
 * (trimmed); nothing here trusts them further. Throws COMMAND_* errors that say the right form.
 */
export function parseCommand(text: string): Command {
  const clean = normalizeText(text);
  if (clean.length > MAX_COMMAND_LENGTH) {
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      `That message is ${clean.length} characters long; commands stay under ${MAX_COMMAND_LENGTH}.`,
    );
  }
  const words = clean.split(' ').filter(Boolean);
  const verb = (words.shift() ?? '').toLowerCase();
  const entry = COMMANDS.find((c) => c.words.includes(verb));
  const command = entry?.parse(words, text);
  if (command) return command;
  const suggestion = verb.length >= 3 ? suggestWord(verb, COMMAND_NAMES) : undefined;
  throw new DomainError(
    ErrorCodes.COMMAND_UNKNOWN,
    `I don't know "${clip(verb)}".${suggestion ? ` Did you mean ${suggestion}?` : ''} Try: ${commandList()}.`,
    { text: clip(verb), ...(suggestion ? { suggestion } : {}) },
  );
}

/** One chat command: the words that start it (the first is its name) and how the rest is read (undefined = not this command). */
interface CommandEntry {
  words: readonly string[];
  /** How the command is named in the list of commands, when not by its first word ("my access"). */
  shown?: string;
  /** `raw`: the message as it came (mentions still in it). */
  parse: (words: string[], raw: string) => Command | undefined;
}

/**
 * Every chat command (PRODUCT.md §3). NB: the unknown-command answer and the did-you-mean
 * suggestions are derived from this table, so a new command cannot be missing from them.
 */
const COMMANDS: readonly CommandEntry[] = [
  { words: ['request'], parse: (w) => parseRequest(w, false) },
  { words: ['break-glass', 'breakglass'], parse: (w) => parseRequest(w, true) },
  { words: ['extend'], parse: parseExtend },
  {
    words: ['release'],
    parse: (w) => {
      if (w.length === 0) throw usage('release', 'Which group?');
      return { name: 'release', group: w.join(' ') };
    },
  },
  {
    words: ['cancel'],
    parse: (w) => {
      if (w.length !== 1) throw usage('cancel', 'Which request?');
      return { name: 'cancel', requestId: w[0]! };
    },
  },
  { words: ['status'], parse: () => ({ name: 'status' }) },
  {
    words: ['my'],
    shown: 'my access',
    parse: (w) => (w.length === 1 && w[0]!.toLowerCase() === 'access' ? { name: 'status' } : undefined),
  },
  { words: ['pending'], parse: () => ({ name: 'pending' }) },
  { words: ['delegate'], parse: parseDelegate },
  { words: ['report'], parse: parseReport },
  // An empty message is a question too: answer it with help.
  { words: ['help', '?', ''], parse: () => ({ name: 'help' }) },
];

/** The commands' names as a person types them (suggestions are made from these). */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.words[0]!).filter((w) => w !== 'my');

/** "request, break-glass, …, pending or help": every command, from the table. */
export function commandList(): string {
  const names = COMMANDS.map((c) => c.shown ?? c.words[0]!);
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function parseRequest(words: string[], breakGlass: boolean): Command {
  const command = parseRequestWords(words, breakGlass);
  if (command.name !== 'request' || !command.group) return command;
  return { ...command, ...splitStart(command.group) };
}

// The end of a start as typed: a time of day (02:00) or an ISO 8601 date and time.
const START_END = /^(\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}T\S+)$/i;

/**
 * "db-read at tomorrow 02:00" → the group and the start. Only an "at" followed by one or two
 * words that end in a time counts, so a display name with "at" in it stays whole.
 */
function splitStart(groupText: string): { group: string; startText?: string } {
  const words = groupText.split(' ');
  const at = words.map((w) => w.toLowerCase()).lastIndexOf('at');
  const after = words.slice(at + 1);
  if (at < 1 || after.length < 1 || after.length > 2 || !START_END.test(after[after.length - 1]!))
    return { group: groupText };
  return { group: words.slice(0, at).join(' '), startText: after.join(' ') };
}

function parseRequestWords(words: string[], breakGlass: boolean): Command {
  if (words.length === 0) return { name: 'request', rest: [], breakGlass };
  // The group is everything before the duration ("for" optional), so display names with
  // spaces work: "request Production DB (read) for 1h because ...".
  const durationAt = words.findIndex((w, i) => i > 0 && looksLikeDuration(w));
  const forAt =
    durationAt > 0 && words[durationAt - 1]!.toLowerCase() === 'for' ? durationAt - 1 : durationAt;
  if (durationAt < 0) {
    const forWord = words.findIndex((w, i) => i > 0 && w.toLowerCase() === 'for');
    if (forWord > 0 && words[forWord + 1]) parseDuration(words[forWord + 1]!); // says what is wrong with it
    const becauseAt = words.findIndex((w) => w.toLowerCase() === 'because');
    const group = (becauseAt > 0 ? words.slice(0, becauseAt) : words).join(' ');
    return { name: 'request', group, rest: becauseAt > 0 ? words.slice(becauseAt + 1) : [], breakGlass };
  }
  const group = words.slice(0, forAt).join(' ');
  if (!group) throw usage(breakGlass ? 'break-glass' : 'request', 'Which group?');
  let rest = words.slice(durationAt + 1);
  if (rest[0]?.toLowerCase() === 'because') rest = rest.slice(1);
  return { name: 'request', group, durationMs: parseDuration(words[durationAt]!), rest, breakGlass };
}

/** `delegate [to] <person…> until <time…>` or `delegate off`. */
function parseDelegate(words: string[], raw: string): Command {
  if (words.length === 1 && words[0]!.toLowerCase() === 'off') return { name: 'undelegate' };
  if (words.length === 0) throw usage('delegate', 'To whom, and until when?');
  const rest = words[0]!.toLowerCase() === 'to' ? words.slice(1) : words;
  const untilAt = rest.map((w) => w.toLowerCase()).lastIndexOf('until');
  if (untilAt < 0 || untilAt === rest.length - 1) throw usage('delegate', 'Until when?');
  const to = rest.slice(0, untilAt).join(' ');
  // An @mention is taken out of the text (normalizeText): the person is then the mentioned one.
  if (!to && !MENTION.test(raw)) throw usage('delegate', 'To whom?');
  return { name: 'delegate', ...(to ? { to } : {}), untilText: rest.slice(untilAt + 1).join(' ') };
}

const MENTION = /<at>[^<]*<\/at>/i;

/** `report [group] [since <when>]`; a duration alone at the end ("report db-read 7d") is the period too. */
function parseReport(words: string[]): Command {
  const sinceAt = words.map((w) => w.toLowerCase()).lastIndexOf('since');
  let groupWords = words;
  let since: string | undefined;
  if (sinceAt >= 0) {
    if (sinceAt !== words.length - 2) throw usage('report', 'Since when?');
    since = words[sinceAt + 1];
    groupWords = words.slice(0, sinceAt);
  } else if (words.length > 0 && looksLikeDuration(words[words.length - 1]!)) {
    since = words[words.length - 1];
    groupWords = words.slice(0, -1);
  }
  const group = groupWords.join(' ');
  return { name: 'report', ...(group ? { group } : {}), ...(since !== undefined ? { since } : {}) };
}

function parseExtend(words: string[]): Command {
  const durationAt = words.findIndex((w, i) => i > 0 && looksLikeDuration(w));
  if (durationAt < 0) throw usage('extend', words.length ? 'How long?' : 'Which group, and by how long?');
  const byAt = words[durationAt - 1]!.toLowerCase() === 'by' ? durationAt - 1 : durationAt;
  const group = words.slice(0, byAt).join(' ');
  if (!group) throw usage('extend', 'Which group?');
  let rest = words.slice(durationAt + 1);
  if (rest[0]?.toLowerCase() === 'because') rest = rest.slice(1);
  return {
    name: 'extend',
    group,
    durationMs: parseDuration(words[durationAt]!),
    reason: rest.join(' ') || undefined,
  };
}

/** Splits the free text after the duration into a ticket and a justification. */
export function splitTicket(
  rest: string[],
  ticketPattern?: string,
): { justification: string; ticket?: string } {
  const words = [...rest];
  let ticket: string | undefined;
  const keyword = words.findIndex((w) => w.toLowerCase() === 'ticket');
  if (keyword >= 0 && words[keyword + 1]) {
    ticket = words[keyword + 1];
    words.splice(keyword, 2);
  } else if (ticketPattern) {
    const pattern = new RegExp(ticketPattern);
    const at = words.findIndex((w) => pattern.test(w.replace(/[.,;:]+$/, '')));
    if (at >= 0) ticket = words[at]!.replace(/[.,;:]+$/, '');
  }
  return { justification: words.join(' ').trim(), ticket };
}

/** Plain text from a Teams message: mentions, HTML tags and entities and odd spaces gone. */
export function normalizeText(text: string): string {
  const plain = text
    .replace(/<at>[^<]*<\/at>/gi, ' ')
    .replace(/<[^>]{0,200}>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>')
    .replace(/&quot;/gi, '"')
    .replace(/&#39;/gi, "'")
    // NB: &amp; last, so that "&amp;lt;" (a person typing "&lt;") stays "&lt;" and never becomes "<".
    .replace(/&amp;/gi, '&')
    // Controls (C0, DEL, C1), soft hyphen, bidi marks/embeddings/overrides/isolates, zero-width and
    // invisible formatting characters: they could hide or reorder what a command says.
    .replace(
      /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g,
      ' ',
    );
  // Then fillers, tags and variation characters go, and towers of combining marks are capped.
  return normalizeTypedText(plain).replace(/\s+/g, ' ').trim();
}

function usage(command: keyof typeof USAGE, problem: string): DomainError {
  return new DomainError(ErrorCodes.COMMAND_INVALID, `${problem} Use: ${USAGE[command]}`);
}

function clip(text: string): string {
  return text.length > 30 ? `${text.slice(0, 29)}…` : text;
}
