import { renderStatusCard } from '../../../src/cards';
import type { Delegation } from '../../../src/domain/delegation';
import { T0, HOUR } from '../../helpers/builders';
import { aPerson } from '../../helpers/domain-builders';
import { allStrings, type Json } from './card-walk';

const delegation = (overrides: Partial<Delegation> = {}): Delegation => ({
  id: 'D-1',
  from: aPerson('alex'),
  to: aPerson('megan'),
  since: T0,
  until: T0 + 5 * HOUR,
  createdAt: T0,
  ...overrides,
});
const text = (card: object) => allStrings(card as Json).join('\n');

describe('status card: delegations', () => {
  it('shows the delegation given and the ones held, with their end in the viewer zone', () => {
    const card = renderStatusCard({
      open: [],
      recent: [],
      now: T0,
      timeZone: 'Europe/Berlin',
      delegation: {
        given: delegation(),
        received: [delegation({ id: 'D-2', from: aPerson('adele'), to: aPerson('alex') })],
      },
    });
    const shown = text(card);
    expect(shown).toContain('DELEGATION');
    expect(shown).toMatch(
      /Your approvals go to Megan Bowen until \d{4}-\d{2}-\d{2} \d{2}:\d{2} CET \(in 5h\)\./,
    );
    expect(shown).toMatch(/You stand in for Adele Vance until .* CET \(in 5h\)\./);
  });

  it('has no delegation section when there is none', () => {
    expect(
      text(renderStatusCard({ open: [], recent: [], now: T0, delegation: { received: [] } })),
    ).not.toContain('DELEGATION');
    expect(text(renderStatusCard({ open: [], recent: [], now: T0 }))).not.toContain('DELEGATION');
  });

  it('a name is shown as text, never as an expression or markdown', () => {
    const sneaky = { ...aPerson('megan'), name: '${summary} [x](https://evil.example) **bold**' };
    const shown = text(
      renderStatusCard({
        open: [],
        recent: [],
        now: T0,
        delegation: { given: delegation({ to: sneaky }), received: [] },
      }),
    );
    // The expression is broken up (a word joiner after "$"), and a TextRun renders no markdown.
    expect(shown).toContain('Your approvals go to $\u2060{summary} [x](https://evil.example) **bold** until');
    expect(shown).not.toContain('Nothing open [x]');
  });
});
