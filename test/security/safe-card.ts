/**
 * What "a safe card" means for user text that reached it (the hostile-input corpus and the
 * fuzzers): nothing a person typed can act as a template expression, a date function, a mention,
 * HTML, a markdown link where Teams renders markdown, a URL, or invisible/reordering characters;
 * and card actions carry only a verb, a request id and which decision or list they are for.
 */

// Controls (except tab/newline), DEL/C1, bidi embeddings/overrides/isolates/marks, zero-width
// spaces and non-joiners. (The zero-width joiner stays: emoji sequences need it, and it hides nothing.)
const INVISIBLE =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u200B\u200C\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;
/** A markdown link whose brackets are not escaped: [text](target). */
const MARKDOWN_LINK = /(?<!\\)\[[^\]\n]*(?<!\\)\]\((?!\s)/;
const HTML_TAG = /<[a-zA-Z/!?]/;
// Characters that draw nothing but pass for text or carry hidden data: Hangul fillers, the braille
// blank, the combining grapheme joiner, Khmer invisible vowels, Mongolian selectors, tag characters
// and variation selectors (an emoji-presentation selector on an emoji excepted).
const HIDDEN =
  /[\u115F\u1160\u3164\uFFA0\u2800\u034F\u17B4\u17B5\u180B-\u180F\uFE00-\uFE0E\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}]|(?<![\p{Extended_Pictographic}0-9#*])\uFE0F/u;
/** More combining marks on one character than a script needs: they tower over the lines above. */
const MARK_TOWER = /\p{M}{4,}/u;
/** Every text on a card is one line: a second line of user text could pass for one of the card's (a timeline entry). */
const LINE_BREAK = /[\n\r\u2028\u2029\u0085]/;

export interface CardProblem {
  path: string;
  problem: string;
  value: string;
}

/** Every problem found in one Adaptive Card (empty when safe). */
export function cardProblems(card: unknown): CardProblem[] {
  const problems: CardProblem[] = [];
  const json = JSON.stringify(card) ?? '';
  if (/\$\{/.test(json))
    problems.push({
      path: '$',
      problem: 'template expression ${ left in the card',
      value: excerpt(json, json.indexOf('${')),
    });
  if (/\{\{/.test(json))
    problems.push({
      path: '$',
      problem: 'Teams date function {{ in the card',
      value: excerpt(json, json.indexOf('{{')),
    });

  const walk = (node: unknown, path: string, parentType?: string) => {
    if (Array.isArray(node)) return node.forEach((child, i) => walk(child, `${path}[${i}]`, parentType));
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    const type = typeof n.type === 'string' ? n.type : parentType;
    for (const [key, value] of Object.entries(n)) {
      const at = `${path}.${key}`;
      if (key === 'data' && typeof type === 'string' && type.startsWith('Action.')) {
        checkActionData(value, at, problems);
        continue;
      }
      if (typeof value === 'string') {
        // An input's value is data the person typed, shown in an edit box, never rendered.
        if (key === 'value' && typeof type === 'string' && type.startsWith('Input.')) continue;
        if (key === 'url' || key === 'iconUrl' || key === 'backgroundImage') {
          if (!/^(https:\/\/|data:image\/)/.test(value) || /evil|javascript:/i.test(value))
            problems.push({ path: at, problem: 'unexpected URL', value });
          continue;
        }
        if (INVISIBLE.test(value))
          problems.push({
            path: at,
            problem: 'invisible or bidi control character',
            value: JSON.stringify(value.slice(0, 80)),
          });
        if (HIDDEN.test(value))
          problems.push({
            path: at,
            problem: 'filler, tag or variation character',
            value: JSON.stringify(value.slice(0, 80)),
          });
        if (MARK_TOWER.test(value))
          problems.push({
            path: at,
            problem: 'more than 3 combining marks on one character',
            value: JSON.stringify(value.slice(0, 80)),
          });
        if (LINE_BREAK.test(value))
          problems.push({
            path: at,
            problem: 'text on more than one line',
            value: JSON.stringify(value.slice(0, 80)),
          });
        if (/<at\b/i.test(value))
          problems.push({ path: at, problem: 'mention markup', value: value.slice(0, 80) });
        if (HTML_TAG.test(value)) problems.push({ path: at, problem: 'HTML tag', value: value.slice(0, 80) });
        // Teams renders markdown in TextBlock text and in facts; TextRun text is literal.
        const markdown =
          (type === 'TextBlock' && key === 'text') ||
          (type === 'Fact' && (key === 'title' || key === 'value'));
        if (markdown && MARKDOWN_LINK.test(value))
          problems.push({ path: at, problem: 'markdown link', value: value.slice(0, 80) });
      } else {
        walk(value, at, type);
      }
    }
  };
  walk(card, '$');
  return problems;
}

function checkActionData(data: unknown, path: string, problems: CardProblem[]): void {
  if (data === undefined) return;
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ path, problem: 'action data is not an object', value: String(data) });
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    if (key === 'requestId' && typeof value === 'string' && /^R-[A-Z0-9]{1,18}$/.test(value)) continue;
    if (key === 'verb' && typeof value === 'string' && /^[a-zA-Z]+$/.test(value)) continue;
    // Which decision a button is for, and which list card it sits on (PRODUCT.md §4): fixed words, never user text.
    if (key === 'subject' && typeof value === 'string' && /^(request|extension:[1-9][0-9]{0,3})$/.test(value))
      continue;
    if (key === 'list' && (value === 'pending' || value === 'status')) continue;
    problems.push({
      path: `${path}.${key}`,
      problem: 'action data carries more than a verb, a request id and its decision or list',
      value: JSON.stringify(value)?.slice(0, 80) ?? '',
    });
  }
}

function excerpt(text: string, at: number): string {
  return text.slice(Math.max(0, at - 40), at + 40);
}

/** Problems of an outgoing activity: its cards, and plain text for replies without mentions of known people. */
export function activityProblems(
  activity: Record<string, unknown> | undefined,
  knownMentionIds: string[],
): CardProblem[] {
  if (!activity) return [];
  const problems: CardProblem[] = [];
  const attachments =
    (activity.attachments as Array<{ contentType?: string; content?: unknown }> | undefined) ?? [];
  for (const a of attachments)
    if (a.contentType === 'application/vnd.microsoft.card.adaptive')
      problems.push(...cardProblems(a.content));
  const entities =
    (activity.entities as Array<{ type?: string; mentioned?: { id?: string } }> | undefined) ?? [];
  for (const e of entities) {
    if (e.type === 'mention' && !knownMentionIds.includes(String(e.mentioned?.id)))
      problems.push({
        path: 'entities',
        problem: 'mention of someone not known to the bot',
        value: JSON.stringify(e).slice(0, 120),
      });
  }
  if (typeof activity.text === 'string' && activity.text) {
    if (entities.length === 0 && activity.textFormat !== 'plain')
      problems.push({
        path: 'text',
        problem: `text reply not sent as plain text (textFormat ${String(activity.textFormat)})`,
        value: activity.text.slice(0, 80),
      });
    if (INVISIBLE.test(activity.text))
      problems.push({
        path: 'text',
        problem: 'invisible or bidi control character in a text reply',
        value: JSON.stringify(activity.text.slice(0, 80)),
      });
    if (HIDDEN.test(activity.text))
      problems.push({
        path: 'text',
        problem: 'filler, tag or variation character in a text reply',
        value: JSON.stringify(activity.text.slice(0, 80)),
      });
    if (MARK_TOWER.test(activity.text))
      problems.push({
        path: 'text',
        problem: 'more than 3 combining marks on one character in a text reply',
        value: JSON.stringify(activity.text.slice(0, 80)),
      });
    if (activity.text.length > 4000)
      problems.push({
        path: 'text',
        problem: 'text reply longer than 4000 characters',
        value: activity.text.slice(0, 80),
      });
  }
  return problems;
}
