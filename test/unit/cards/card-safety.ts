import { allObjects, allStrings, byteSize, elementsOfType, TEAMS_CARD_LIMIT_BYTES } from './card-walk';

// What must never reach Teams from user text. Word joiners inserted by plain() break these
// sequences, so matching them raw is the right test.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
const MENTION_TEXT = /^<at>[\p{L}\p{M}\p{N} .,'@-]+<\/at>$/u;
const LONGEST_STRING = 2_100;
// Characters that draw nothing but pass for text or carry hidden data: Hangul fillers, the
// braille blank, the combining grapheme joiner, Khmer invisible vowels, Mongolian selectors,
// tag characters and variation selectors (an emoji-presentation selector on an emoji excepted).
export const HIDDEN =
  /[\u115F\u1160\u3164\uFFA0\u2800\u034F\u17B4\u17B5\u180B-\u180F\uFE00-\uFE0E\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]|(?<![\p{Extended_Pictographic}0-9#*])\uFE0F/u;
/** More combining marks on one character than any script needs: they tower over other lines. */
export const MARK_TOWER = /\p{M}{4,}/u;
export const LINE_BREAK = /[\n\r\u2028\u2029\u0085]/;

/** Every string a person sees on the card: all but the values of inputs (the text being edited). */
export function shownStrings(card: object): string[] {
  return allObjects(card).flatMap((o) =>
    Object.entries(o)
      .filter(
        ([key, value]) =>
          typeof value === 'string' && !(key === 'value' && String(o.type).startsWith('Input.')),
      )
      .map(([, value]) => value as string),
  );
}

/** Every problem found in one rendered card; `mark` tells user text apart from ours. */
export function safetyProblems(card: object, mark: string): string[] {
  const problems: string[] = [];
  const json = JSON.stringify(card);
  if (JSON.stringify(JSON.parse(json)) !== json) problems.push('not stable JSON');
  if (byteSize(card) >= TEAMS_CARD_LIMIT_BYTES) problems.push(`${byteSize(card)} bytes ≥ 28 KB`);
  const entities = allObjects(card)
    .filter((o) => o.type === 'mention')
    .map((o) => String(o.text));
  for (const text of entities)
    if (!MENTION_TEXT.test(text)) problems.push(`unsafe mention text ${JSON.stringify(text.slice(0, 80))}`);
  for (const s of allStrings(card)) {
    const text = entities.reduce((rest, mention) => rest.split(mention).join(''), s);
    if (text.includes('${'))
      problems.push(`unfilled or injected \${ in ${JSON.stringify(text.slice(0, 80))}`);
    if (text.includes('{{')) problems.push(`date function in ${JSON.stringify(text.slice(0, 80))}`);
    if (/<[a-z/!?]/i.test(text)) problems.push(`markup in ${JSON.stringify(text.slice(0, 80))}`);
    if (/&#?[a-z0-9]+;/i.test(text)) problems.push(`HTML entity in ${JSON.stringify(text.slice(0, 80))}`);
    if (CONTROL.test(text)) problems.push(`control character in ${JSON.stringify(text.slice(0, 80))}`);
    if (BIDI.test(text)) problems.push(`bidi character in ${JSON.stringify(text.slice(0, 80))}`);
    if (Array.from(text).length > LONGEST_STRING) problems.push(`string of ${text.length} characters`);
    if (HIDDEN.test(text))
      problems.push(`filler, tag or variation character in ${JSON.stringify(text.slice(0, 80))}`);
    if (MARK_TOWER.test(text))
      problems.push(`more than 3 combining marks on a character in ${JSON.stringify(text.slice(0, 80))}`);
  }
  // Our own texts are one line each; a line break can only come from user text, whose second
  // line would look like one of ours (a timeline entry, a fact).
  for (const text of shownStrings(card))
    if (LINE_BREAK.test(text))
      problems.push(`text on more than one line: ${JSON.stringify(text.slice(0, 80))}`);
  // Teams applies markdown to TextBlocks (and facts): user text may only appear there inside a
  // mention, whose text is restricted to letters, digits and plain punctuation.
  for (const block of [...elementsOfType(card, 'TextBlock'), ...elementsOfType(card, 'Fact')]) {
    const texts = [block.text, block.title, block.value].filter((t): t is string => typeof t === 'string');
    for (const text of texts) {
      const rest = entities.reduce((r, mention) => r.split(mention).join(''), text);
      if (rest.includes(mark))
        problems.push(`user text in a markdown field: ${JSON.stringify(text.slice(0, 80))}`);
    }
  }
  return problems;
}
