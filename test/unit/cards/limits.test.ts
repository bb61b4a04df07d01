import { cardCatalog } from './card-catalog';
import { safetyProblems } from './card-safety';
import { byteSize, TEAMS_CARD_LIMIT_BYTES } from './card-walk';

describe('every catalogued card', () => {
  test.each(cardCatalog().map((e) => [e.name, e.card] as const))(
    '%s is version 1.5, under 28 KB, fully filled',
    (_name, card) => {
      expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
      expect(byteSize(card)).toBeLessThan(TEAMS_CARD_LIMIT_BYTES);
      expect(safetyProblems(card, '\u0000no-user-mark')).toEqual([]);
    },
  );
});
