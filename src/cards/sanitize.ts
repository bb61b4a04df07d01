import { normalizeTypedText } from '../domain/text';

/** How many characters of user text a card shows; the store keeps the full text. */
export const TextLimit = { NAME: 80, UPN: 120, GROUP: 120, TICKET: 60, LONG: 500, SHORT: 160 } as const;

// Invisible, format, filler, tag and variation characters and towers of combining marks are
// removed by normalizeTypedText (domain/text.ts), the same normalization that decides whether a
// required field says anything.
const WORD_JOINER = '\u2060';
/** Where a person's text had a line break: shown on the same line, never as a line of its own. */
const LINE_BREAK_MARK = '↵';

/** `text.slice(0, end)` without leaving half of a surrogate pair at the end. */
function cutAt(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text); // by code point, so a surrogate pair is never cut in half
  return chars.length > max
    ? `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`
    : text;
}

type LineBreaks = 'join' | 'mark' | 'keep';

function clean(value: string | undefined, max: number, lines: LineBreaks): string {
  if (!value) return '';
  const bounded = value.length > max * 8 ? cutAt(value, max * 8) : value; // bound the work on 100 KB strings
  let text = normalizeTypedText(bounded).trim();
  if (lines === 'join') text = text.replace(/\s+/g, ' ');
  else if (lines === 'mark')
    text = text.replace(/[^\S\n]+/g, ' ').replace(/ ?\n\s*/g, ` ${LINE_BREAK_MARK} `);
  else text = text.replace(/[^\S\n]+\n/g, '\n').replace(/\n{3,}/g, '\n\n');
  text = truncate(text, max);
  return text
    .replace(/\$\{/g, `$${WORD_JOINER}{`)
    .replace(/\{\{/g, `{${WORD_JOINER}{`)
    .replace(/</g, `<${WORD_JOINER}`)
    .replace(/&(?=[#a-zA-Z0-9]+;)/g, `&${WORD_JOINER}`);
}

/**
 * User text made safe to show as plain text anywhere on a card: normalized (normalizeTypedText:
 * invisible, bidi, format, filler, tag and variation characters dropped, combining marks capped
 * per character), on one line, length capped, and the sequences that a template engine, Teams'
 * date functions, mention markup or HTML would act on broken with an invisible word joiner, so
 * `${x}`, `{{DATE(...)}}`, `<at>` and `<script>` never reach Teams (or a later templating pass)
 * intact. `multiline` is for text typed on several lines (a justification, a reason): each line
 * break shows as ↵ on the same line, so that no second line can pass for a line of the card's
 * own (a timeline entry, a fact); otherwise line breaks are spaces.
 */
export function plain(value: string | undefined, max: number = TextLimit.LONG, multiline = false): string {
  return clean(value, max, multiline ? 'mark' : 'join');
}

/**
 * `plain`, keeping line breaks (at most one blank line): for the value of an Input.Text that
 * gives a person back what they typed to edit, which a card never shows as its own lines.
 */
export function inputText(value: string | undefined, max: number = TextLimit.LONG): string {
  return clean(value, max, 'keep');
}

/**
 * User text for a TextBlock, where Teams applies markdown: `plain`, then every markdown
 * character backslash-escaped so that emphasis, links, lists and headings show as typed.
 */
export function markdownSafe(value: string | undefined, max: number = TextLimit.SHORT): string {
  return plain(value, max)
    .replace(/[\\`*_[\]()#|~>]/g, (ch) => `\\${ch}`)
    .replace(/^([-+])(?=\s)/, '\\$1')
    .replace(/^(\d+)\.(?=\s)/, '$1\\.');
}

/**
 * A display name inside `<at>…</at>`: the mention text must match its entity exactly and must
 * not be able to close the tag or carry markdown, so anything beyond letters, digits, spaces
 * and simple punctuation is dropped rather than escaped.
 */
export function mentionName(value: string | undefined): string {
  const cleaned = plain(value, TextLimit.NAME)
    .replace(/[^\p{L}\p{M}\p{N} .,'@-]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned || 'someone';
}

// Teams user ids (29:...), Entra object ids and UPNs; anything else cannot be a refresh target.
const USER_ID = /^[A-Za-z0-9:._@-]{1,256}$/;
export const isUserId = (id: string): boolean => USER_ID.test(id);
