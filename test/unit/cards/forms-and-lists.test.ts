import {
  CardVerb,
  renderHelpCard,
  renderMessageCard,
  renderPendingCard,
  renderRequestForm,
  renderStatusCard,
} from '../../../src/cards';
import { aGroupRules, aRequestIn, anApprover, HOUR, T0 } from '../../helpers/builders';
import { Status } from '../../../src/domain/request';
import { allActions, allObjects, allStrings, type Json } from './card-walk';

const inputs = (card: object): Record<string, Json> =>
  Object.fromEntries(
    allObjects(card)
      .filter((o) => String(o.type).startsWith('Input.'))
      .map((o) => [o.id, o]),
  );
const values = (input: Json | undefined): unknown[] => ((input?.choices as Json[]) ?? []).map((c) => c.value);

describe('request form', () => {
  const groups = [
    aGroupRules(),
    aGroupRules({ alias: 'k8s-admin', displayName: 'AKS admin', maxDurationMs: HOUR, requireTicket: true }),
  ];

  test('offers only the given groups, durations up to the longest limit, and submits with no data', () => {
    const card = renderRequestForm({ groups });
    const i = inputs(card);
    expect(values(i.group)).toEqual(['db-read', 'k8s-admin']);
    expect(values(i.duration)).toEqual(['15m', '30m', '1h', '2h', '4h']);
    expect(i.justification).toMatchObject({ type: 'Input.Text', isMultiline: true, isRequired: true });
    expect(i.ticket).toMatchObject({ label: 'Ticket (required for k8s-admin)', isRequired: false });
    const submit = allActions(card).filter((a) => a.type === 'Action.Execute');
    expect(submit).toEqual([expect.objectContaining({ verb: CardVerb.SUBMIT_REQUEST, data: {} })]);
  });

  test('with a group chosen, durations stay within that group, and the typed values come back with the error', () => {
    const card = renderRequestForm({
      groups,
      values: { group: 'k8s-admin', duration: '1h', justification: 'fix ingress', ticket: 'INC-1' },
      error: 'Ticket INC-1 does not match.',
    });
    const i = inputs(card);
    expect(values(i.duration)).toEqual(['15m', '30m', '1h']);
    expect([i.group?.value, i.duration?.value, i.justification?.value, i.ticket?.value]).toEqual([
      'k8s-admin',
      '1h',
      'fix ingress',
      'INC-1',
    ]);
    expect(allStrings(card)).toContain('Ticket INC-1 does not match.');
  });

  test('an off-ladder limit is offered exactly; a duration beyond it is not preselected', () => {
    const card = renderRequestForm({
      groups: [aGroupRules({ maxDurationMs: 90 * 60_000, defaultDurationMs: HOUR })],
      values: { duration: '8h' },
    });
    expect(values(inputs(card).duration)).toEqual(['15m', '30m', '1h', '1h30m']);
    expect(inputs(card).duration?.value).toBe('1h');
    expect(inputs(card).group?.value).toBe('db-read');
  });

  test('with no groups there is nothing to submit', () => {
    const card = renderRequestForm({ groups: [] });
    expect(allActions(card)).toEqual([]);
    expect(inputs(card)).toEqual({});
  });
});

describe('help card', () => {
  test('lists commands and the groups with their rules, and opens the form', () => {
    const card = renderHelpCard({ groups: [aGroupRules({ approvals: 2, requireTicket: true })] });
    const text = allStrings(card).join('\n');
    for (const command of ['request', 'extend', 'release', 'cancel', 'status', 'pending', 'help'])
      expect(text).toContain(command);
    expect(text).toContain('up to 4h · 2 approvals · ticket required');
    expect(allActions(card)).toEqual([
      expect.objectContaining({ verb: CardVerb.OPEN_REQUEST_FORM, data: {} }),
    ]);
  });
});

describe('status card', () => {
  test('active grants first, extendable or releasable; then pending requests, cancellable', () => {
    const card = renderStatusCard({
      open: [aRequestIn('pending', { id: 'p1' }), aRequestIn('active', { id: 'a1' })],
      recent: [aRequestIn('expired', { id: 'e1' })],
      now: T0,
    });
    const execs = allActions(card)
      .filter((a) => a.type === 'Action.Execute')
      .map((a) => [a.verb, (a.data as Json).requestId]);
    expect(execs).toEqual([
      [CardVerb.EXTEND, 'a1'],
      [CardVerb.RELEASE, 'a1'],
      [CardVerb.CANCEL, 'p1'],
      [CardVerb.OPEN_REQUEST_FORM, undefined],
    ]);
    expect(allStrings(card).join('\n')).toContain('1 active · 1 pending');
  });

  test('many open requests are capped with a note', () => {
    const open = Array.from({ length: 12 }, (_, i) => aRequestIn('pending', { id: `p${i}` }));
    const card = renderStatusCard({ open, recent: [], now: T0 });
    expect(allActions(card).filter((a) => a.verb === CardVerb.CANCEL)).toHaveLength(8);
    expect(allStrings(card)).toContain('…and 4 more not shown.');
  });
});

describe('pending card', () => {
  test('each request gets Approve and Deny (with a reason), oldest first', () => {
    const card = renderPendingCard({
      requests: [
        aRequestIn('pending', { id: 'new', createdAt: T0 - 1000 }),
        aRequestIn('pending', { id: 'old', createdAt: T0 - HOUR }),
      ],
      now: T0,
    });
    const execs = allActions(card)
      .filter((a) => a.type === 'Action.Execute')
      .map((a) => `${a.verb}:${(a.data as Json).requestId}`);
    expect(execs).toEqual(['approve:old', 'deny:old', 'approve:new', 'deny:new']);
  });

  test('nothing waiting says so', () => {
    expect(allStrings(renderPendingCard({ requests: [], now: T0 })).join(' ')).toContain('All caught up');
  });
});

describe('message card', () => {
  test.each(['default', 'good', 'warning', 'attention'] as const)('%s tone', (tone) => {
    const card = renderMessageCard('Cancelled your request for db-read.', tone) as Json;
    expect(allStrings(card)).toContain('Cancelled your request for db-read.');
    expect(((card.body as Json[])[0] as Json).style).toBe(tone);
  });
});

describe('status card: extended grants', () => {
  it('shows the time added by extensions, not only the first duration', () => {
    const request = aRequestIn(Status.ACTIVE, {
      durationMs: 70_000,
      extensions: [{ by: anApprover(), at: T0, addedMs: 15 * 60_000 }],
    });
    const text = allStrings(renderStatusCard({ open: [request], recent: [], now: T0 }) as Json).join('\n');
    expect(text).toContain('1m10s (+15m extended)');
  });
});
