/**
 * Text that people type (justifications, reasons, tickets) or that the directory supplies
 * (display names), made fit to show and to judge. The store keeps what was typed; this is
 * applied where text is shown (cards) and where a field is required (a justification that
 * only looks filled in is missing).
 */

/** At most this many combining marks stay on one base character (real scripts need ≤ 3). */
export const MAX_MARKS_PER_CHARACTER = 3;

// Dropped everywhere: controls other than the line feed (line breaks are unified to \n first,
// tabs become spaces), format characters (Cf: bidi controls, zero-width characters, soft hyphen,
// tag characters U+E0000–E007F, ...), default-ignorable code points (variation selectors
// U+FE00–FE0F and U+E0100–E01EF, Mongolian U+180B–180F, the combining grapheme joiner U+034F,
// Khmer U+17B4/U+17B5, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0), the braille blank
// U+2800 (a "letterless" glyph that renders as nothing) and lone surrogates.
const DROP = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\p{Cf}\p{Default_Ignorable_Code_Point}\u2800\p{Cs}]/u;
const PICTOGRAPH = /\p{Extended_Pictographic}/u;
const EMOJI_MODIFIER = /[\u{1F3FB}-\u{1F3FF}]/u;
const KEYCAP_BASE = /[0-9#*]/;
const MARK = /\p{M}/u;
const ZWJ = '\u200D';
const EMOJI_PRESENTATION = '\uFE0F';
const KEYCAP = '\u20E3';
const LETTERS_OR_DIGITS = /[\p{L}\p{N}]/gu;

/**
 * The one exception to DROP: emoji sequences. A zero-width joiner between two pictographs
 * (👩‍💻) and one emoji-presentation selector after a pictograph (❤️) or in a keycap (1️⃣) stay,
 * so emoji look as typed; every other joiner and selector hides or smuggles something.
 */
function keptInEmoji(ch: string, previous: string | undefined, next: string | undefined): boolean {
  if (previous === undefined) return false;
  if (ch === EMOJI_PRESENTATION)
    return PICTOGRAPH.test(previous) || (KEYCAP_BASE.test(previous) && next === KEYCAP);
  if (ch === ZWJ)
    return (
      next !== undefined &&
      PICTOGRAPH.test(next) &&
      (PICTOGRAPH.test(previous) || EMOJI_MODIFIER.test(previous) || previous === EMOJI_PRESENTATION)
    );
  return false;
}

function dropInvisible(text: string): string {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (DROP.test(ch) && !keptInEmoji(ch, out[out.length - 1], chars[i + 1])) continue;
    out.push(ch);
  }
  return out.join('');
}

/** Keeps the first MAX_MARKS_PER_CHARACTER combining marks after each base character. */
function capMarks(text: string): { text: string; capped: boolean } {
  let marks = 0;
  let capped = false;
  let out = '';
  for (const ch of text) {
    if (MARK.test(ch)) {
      if (++marks > MAX_MARKS_PER_CHARACTER) {
        capped = true;
        continue;
      }
    } else marks = 0;
    out += ch;
  }
  return { text: out, capped };
}

/**
 * Typed text as it may be shown: line breaks unified to `\n`, tabs as spaces, every invisible,
 * format, filler, tag and variation character dropped (see DROP), composed (NFC) and with
 * combining marks capped per character. Whitespace is otherwise kept; lines are a renderer's
 * business. A fixed point: normalizing normalized text changes nothing.
 */
export function normalizeTypedText(value: string): string {
  const unified = value.replace(/\r\n?|[\u2028\u2029]/g, '\n').replace(/\t/g, ' ');
  const composed = dropInvisible(unified).normalize('NFC');
  const { text, capped } = capMarks(composed);
  // Dropping marks can leave a sequence that composes further; composing only removes marks.
  return capped ? text.normalize('NFC') : text;
}

/**
 * Whether text says anything: at least one letter or digit once normalized. A "required" field
 * of blanks, fillers, marks, punctuation or emoji only is missing.
 */
export function hasVisibleContent(value: string | undefined): boolean {
  if (!value) return false;
  // The same as testing normalizeTypedText(value), without normalizing 100 KB to find one letter:
  // normalizing drops only DROP characters (some fillers are letters) and combining marks.
  for (const [ch] of value.matchAll(LETTERS_OR_DIGITS)) if (!DROP.test(ch)) return true;
  return false;
}
