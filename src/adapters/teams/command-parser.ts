import { looksLikeDuration, parseDuration } from '../../domain/duration';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { normalizeTypedText } from '../../domain/text';

export type Command =
  | { name: 'request'; group?: string; durationMs?: number; rest: string[]; breakGlass: boolean }
  | { name: 'extend'; group: string; durationMs: number; reason?: string }
  | { name: 'release'; group: string }
  | { name: 'cancel'; requestId: string }
  | { name: 'status' }
  | { name: 'pending' }
  | { name: 'help' };

export const MAX_COMMAND_LENGTH = 2000;

const USAGE: Record<string, string> = {
  request:
    'request <group> [for] <duration> [because] <why>, e.g. "request db-read for 2h because INC-123 disk alert"',
  'break-glass':
    'break-glass <group> [for] <duration> because <why>, e.g. "break-glass prod-admin 30m because site down"',
  extend: 'extend <group> [by] <duration> [because <reason>], e.g. "extend db-read by 1h"',
  release: 'release <group>, e.g. "release db-read"',
  cancel: 'cancel <request id>, e.g. "cancel R-7K3F9Q"',
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
  switch (verb) {
    case 'request':
    case 'breakglass':
    case 'break-glass':
      return parseRequest(words, verb !== 'request');
    case 'extend':
      return parseExtend(words);
    case 'release':
      if (words.length === 0) throw usage('release', 'Which group?');
      return { name: 'release', group: words.join(' ') };
    case 'cancel':
      if (words.length !== 1) throw usage('cancel', 'Which request?');
      return { name: 'cancel', requestId: words[0]! };
    case 'status':
      return { name: 'status' };
    case 'my':
      if (words.length === 1 && words[0]!.toLowerCase() === 'access') return { name: 'status' };
      break;
    case 'pending':
      return { name: 'pending' };
    case 'help':
    case '?':
      return { name: 'help' };
    case '':
      return { name: 'help' };
  }
  throw new DomainError(
    ErrorCodes.COMMAND_UNKNOWN,
    `I don't know "${clip(verb)}". Try: request, extend, release, cancel, status, pending or help.`,
  );
}

function parseRequest(words: string[], breakGlass: boolean): Command {
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
