/** How many characters of user text a card shows; the store keeps the full text. */
export const TextLimit = { NAME: 80, UPN: 120, GROUP: 120, TICKET: 60, LONG: 500, SHORT: 160 } as const;

// Controls (C0 except tab/newline, DEL, C1), bidi embeddings/overrides/isolates and marks,
// zero-width and invisible formatting characters: they can reorder or hide what a reader sees.
const INVISIBLE =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u115F\u1160\u180E\u200B\u200C\u200E\u200F\u202A-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]/g;
const WORD_JOINER = '\u2060';

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

/**
 * User text made safe to show as plain text anywhere on a card: invisible and bidi characters
 * removed, length capped, and the sequences that a template engine, Teams' date functions,
 * mention markup or HTML would act on broken with an invisible word joiner, so `${x}`,
 * `{{DATE(...)}}`, `<at>` and `<script>` never reach Teams (or a later templating pass) intact.
 */
export function plain(value: string | undefined, max: number = TextLimit.LONG, multiline = false): string {
  if (!value) return '';
  let text = value.length > max * 8 ? cutAt(value, max * 8) : value; // bound the work on 100 KB strings
  text = text
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(INVISIBLE, '');
  text = multiline
    ? text.replace(/[ \u00A0]+\n/g, '\n').replace(/\n{3,}/g, '\n\n')
    : text.replace(/\s+/g, ' ');
  text = truncate(text.trim(), max);
  return text
    .replace(/\$\{/g, `$${WORD_JOINER}{`)
    .replace(/\{\{/g, `{${WORD_JOINER}{`)
    .replace(/</g, `<${WORD_JOINER}`)
    .replace(/&(?=[#a-zA-Z0-9]+;)/g, `&${WORD_JOINER}`);
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
