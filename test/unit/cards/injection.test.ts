import { allActions } from './card-walk';
import { safetyProblems } from './card-safety';
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

    test('actions still carry only the request id', () => {
      for (const { card } of cards) {
        for (const action of allActions(card).filter((a) => a.type === 'Action.Execute')) {
          expect(Object.keys(action.data as object).filter((k) => k !== 'requestId')).toEqual([]);
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
});
