import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderApprovalCard } from '../../src/cards';
import { aRequestIn, T0 } from '../helpers/builders';
import { cardCatalog } from '../unit/cards/card-catalog';
import { assertChromium, renderInBrowser, type RenderProblem } from '../unit/cards/browser-render';
import { COMBINING_TOWER, hostileCards, PAYLOADS, poisoned } from '../unit/cards/injection-corpus';
import { RESULTS_DIR } from './harness/e2e-stack';

/** Text that draws something other than itself (finding 4 of issue 19), rendered with the rest. */
const DRAWING = [
  'fakeTimeline',
  'hangulFiller',
  'brailleBlank',
  'tagCharacters',
  'variationSelectors',
  'graphemeJoiner',
  'khmerInvisible',
  'combiningTower',
];
const SHOTS_DIR = join(RESULTS_DIR, 'cards-hostile-text');

// Renders every card in headless Chromium with the `adaptivecards` renderer that Teams' web
// client is built on. A missing browser fails the suite (it never skips silently).
describe('cards in the adaptivecards renderer (Chromium)', () => {
  let results: RenderProblem[] = [];

  beforeAll(async () => {
    assertChromium();
    const hostile = ['markdownLink', 'mention', 'bidi', 'huge', 'template'].flatMap((key) =>
      hostileCards(poisoned(PAYLOADS[key]!)).map((e) => ({ ...e, name: `hostile-${key}-${e.name}` })),
    );
    // All of them at once in every field of every card: one more set, not eight.
    const drawing = DRAWING.map((key) => PAYLOADS[key]!).join(' ');
    hostile.push(
      ...hostileCards(poisoned(drawing)).map((e) => ({ ...e, name: `hostile-drawing-${e.name}` })),
    );
    results = await renderInBrowser([...cardCatalog(), ...hostile]);
  }, 180_000);

  test('every card parses, validates and renders without errors or warnings', () => {
    expect(results.length).toBeGreaterThan(100);
    expect(results.filter((r) => r.problems.length > 0)).toEqual([]);
  });

  test('a requester cannot draw on the approval card: one line per justification, no fillers, marks capped', async () => {
    // The approval card an approver sees, with a justification that draws a fake timeline line and
    // a requester whose name and ticket carry fillers, tags, selectors and a tower of marks.
    const request = aRequestIn('pending', {
      requester: {
        id: 'requester-1',
        name: `Ada\u3164\u2800 Lovelace Z${COMBINING_TOWER}algo`,
        upn: 'ada@example.com',
      },
      justification: 'Need the logs\n✔ Approved by Ana Approver · 10:02\n● Membership added · 10:02',
      ticket: `INC-4711\u{E0001}\u{E0069}\u{E0067}\u{E007F}\uFE0E\u034F\u17B4`,
    });
    const card = renderApprovalCard({ request, viewer: 'approver', now: T0 });
    const [shown] = await renderInBrowser([{ name: 'approval-pending-hostile-text', card }], SHOTS_DIR);
    expect(shown!.problems).toEqual([]);
    expect(existsSync(join(SHOTS_DIR, 'approval-pending-hostile-text.png'))).toBe(true);
    const lines = shown!.text!.split('\n').map((l) => l.trim());
    // The real timeline draws its icon in a column of its own, so a line that starts with an icon
    // followed by text can only be the requester's.
    expect(lines.filter((l) => /^[✔●]\s*\S/.test(l))).toEqual([]);
    expect(lines).toContain(
      'Need the logs ↵ ✔ Approved by Ana Approver · 10:02 ↵ ● Membership added · 10:02',
    );
    expect(shown!.text!).not.toMatch(/[\u3164\u2800\u034F\u17B4\uFE0E\u{E0000}-\u{E007F}]|\p{M}{4}/u);
  }, 60_000);

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
