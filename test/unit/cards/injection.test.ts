import { allActions, unexpectedActionData } from './card-walk';
import { HIDDEN, LINE_BREAK, safetyProblems, shownStrings } from './card-safety';
import { hostileCards, MARK, PAYLOADS, poisoned } from './injection-corpus';

const everything = Object.values(PAYLOADS)
  .filter((p) => p.length < 1000)
  .join(' ');

describe('user text injected into every text field of every card', () => {
  describe.each([...Object.entries(PAYLOADS), ['all at once', everything]])('%s', (_name, payload) => {
    const cards = hostileCards(poisoned(payload));

    test.each(cards.map((c) => [c.name, c.card] as const))('%s stays safe', (_card, card) => {
      expect(safetyProblems(card, MARK)).toEqual([]);
    });

    test('actions still carry only the request id, the decision and the list', () => {
      for (const { card } of cards) {
        for (const action of allActions(card).filter((a) => a.type === 'Action.Execute')) {
          expect(unexpectedActionData(action.data as Record<string, unknown>)).toEqual([]);
        }
      }
    });
  });

  test('the hostile text is still visible (neutralised, not dropped)', () => {
    const [approval] = hostileCards(poisoned('[x](https://evil) ${requester.name} <at>Bob</at>'));
    const json = JSON.stringify(approval!.card);
    expect(json).toContain('[x](https://evil)'); // inside a TextRun, where Teams applies no markdown
    expect(json).toContain('$\u2060{requester.name}');
    expect(json).toContain('<\u2060at>Bob<\u2060/at>');
  });

  test('100 KB of text is cut to a readable length with an ellipsis', () => {
    const [approval] = hostileCards(poisoned(PAYLOADS.huge!));
    const justification = JSON.stringify(approval!.card).match(/"Zq9A+…"/g) ?? [];
    expect(justification.length).toBeGreaterThan(0);
    for (const text of justification) expect(text.length).toBeLessThanOrEqual(502 + 2);
  });

  describe('text that draws something other than itself', () => {
    test('a justification or reason cannot start a line of its own: no fake timeline entry', () => {
      for (const { name, card } of hostileCards(poisoned(PAYLOADS.fakeTimeline!))) {
        const shown = shownStrings(card);
        expect({ name, multiline: shown.filter((t) => LINE_BREAK.test(t)) }).toEqual({ name, multiline: [] });
        // Lines that start with a timeline icon are the icons themselves, never user text.
        const lines = shown.flatMap((t) => t.split(LINE_BREAK)).map((l) => l.trim());
        expect({ name, fake: lines.filter((l) => /^[✔●]/.test(l) && l.length > 1) }).toEqual({
          name,
          fake: [],
        });
      }
    });

    test('the line breaks stay visible as ↵, inside the quoted text', () => {
      const [approval] = hostileCards(poisoned(PAYLOADS.fakeTimeline!));
      const json = JSON.stringify(approval!.card);
      expect(json).toContain(
        `"${MARK}Need the logs ↵ ✔ Approved by Ana Approver · 10:02 ↵ ● Membership added · 10:02 ↵ ✔ Approved"`,
      );
    });

    test.each([
      ['Hangul filler U+3164', 'hangulFiller', MARK],
      ['braille blank U+2800', 'brailleBlank', MARK],
      ['tag characters U+E0000–E007F', 'tagCharacters', `${MARK}tags`],
      ['variation selectors', 'variationSelectors', `${MARK}vsa`],
      ['combining grapheme joiner U+034F', 'graphemeJoiner', `${MARK}cgj`],
      ['Khmer invisible vowels U+17B4, U+17B5', 'khmerInvisible', `${MARK}kh`],
    ])('%s never reaches a card; the visible text stays', (_name, key, visible) => {
      const cards = hostileCards(poisoned(PAYLOADS[key]!));
      for (const { name, card } of cards) {
        const hidden = JSON.stringify(card).match(new RegExp(HIDDEN.source, 'gu')) ?? [];
        expect({ name, hidden }).toEqual({ name, hidden: [] });
      }
      const [approval] = cards;
      expect(JSON.stringify(approval!.card)).toContain(`"${visible}"`);
    });

    test('240 combining marks on one letter are cut to 3', () => {
      const cards = hostileCards(poisoned(PAYLOADS.combiningTower!));
      for (const { name, card } of cards) {
        const longest = Math.max(
          0,
          ...Array.from(JSON.stringify(card).matchAll(/\p{M}+/gu), (m) => Array.from(m[0]).length),
        );
        expect({ name, tooMany: longest > 3 ? longest : 0 }).toEqual({ name, tooMany: 0 });
      }
      const [approval] = cards;
      // The letter keeps three of its marks (in canonical order), and the word goes on after them.
      expect(JSON.stringify(approval!.card)).toMatch(new RegExp(`"${MARK}Z\\p{M}{3}algo"`, 'u'));
    });
  });
});
