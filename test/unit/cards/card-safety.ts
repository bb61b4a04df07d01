import { allObjects, allStrings, byteSize, elementsOfType, TEAMS_CARD_LIMIT_BYTES } from './card-walk';

// What must never reach Teams from user text. Word joiners inserted by plain() break these
// sequences, so matching them raw is the right test.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
const MENTION_TEXT = /^<at>[\p{L}\p{M}\p{N} .,'@-]+<\/at>$/u;
const LONGEST_STRING = 2_100;

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
  }
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
