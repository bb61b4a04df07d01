import { cardCatalog } from '../unit/cards/card-catalog';
import { assertChromium, renderInBrowser, type RenderProblem } from '../unit/cards/browser-render';
import { hostileCards, PAYLOADS, poisoned } from '../unit/cards/injection-corpus';

// Renders every card in headless Chromium with the `adaptivecards` renderer that Teams' web
// client is built on. A missing browser fails the suite (it never skips silently).
describe('cards in the adaptivecards renderer (Chromium)', () => {
  let results: RenderProblem[] = [];

  beforeAll(async () => {
    assertChromium();
    const hostile = ['markdownLink', 'mention', 'bidi', 'huge', 'template'].flatMap((key) =>
      hostileCards(poisoned(PAYLOADS[key]!)).map((e) => ({ ...e, name: `hostile-${key}-${e.name}` })),
    );
    results = await renderInBrowser([...cardCatalog(), ...hostile]);
  }, 180_000);

  test('every card parses, validates and renders without errors or warnings', () => {
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((r) => r.problems.length > 0)).toEqual([]);
  });

  test('the check itself catches a broken card', async () => {
    const broken = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [{ type: 'Bogus' }],
      actions: [{ type: 'Action.ShowCard', title: 'x' }],
    };
    const [result] = await renderInBrowser([{ name: 'broken', card: broken }]);
    expect(result!.problems.length).toBeGreaterThan(0);
  }, 60_000);
});
