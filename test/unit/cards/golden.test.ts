import { cardCatalog } from './card-catalog';

// One golden per card per state; review a changed snapshot next to its screenshot in docs/cards.
describe('card goldens', () => {
  test.each(cardCatalog().map((e) => [e.name, e.card] as const))('%s', (_name, card) => {
    expect(card).toMatchSnapshot();
  });
});
