import { CardVerb, renderApprovalCard, type Viewer } from '../../../src/cards';
import { CLOSED_STATUSES, Status, type AccessRequest } from '../../../src/domain/request';
import {
  aPerson,
  aRequestIn,
  anActionRequestIn,
  anApprover,
  aSecondApprover,
  aVote,
  HOUR,
  MINUTE,
  T0,
} from '../../helpers/builders';
import { allActions, allStrings, type Json } from './card-walk';

const render = (
  request: AccessRequest,
  viewer: Viewer,
  extra: { refreshUserIds?: string[]; error?: string } = {},
) => renderApprovalCard({ request, viewer, now: T0, ...extra }) as Json;

/** The verbs a viewer can trigger, ShowCards included, in card order. */
const verbsOf = (card: Json): string[] =>
  allActions(card)
    .filter((a) => a.type === 'Action.Execute' && a !== (card.refresh as Json | undefined)?.action)
    .map((a) => String(a.verb));
const text = (card: Json): string => allStrings(card).join('\n');

describe('approval card: who sees which buttons', () => {
  test('approvers decide a pending request: approve, deny with a required reason, claim', () => {
    const card = render(aRequestIn('pending'), 'approver');
    expect(verbsOf(card)).toEqual([CardVerb.APPROVE, CardVerb.DENY, CardVerb.CLAIM]);
    const deny = allActions(card).find((a) => a.type === 'Action.ShowCard' && a.title === 'Deny')!;
    expect(((deny.card as Json).body as Json[])[0]).toMatchObject({
      type: 'Input.Text',
      id: 'reason',
      isRequired: true,
    });
  });

  test('the requester can only cancel their pending request; everyone else only reads', () => {
    expect(verbsOf(render(aRequestIn('pending'), 'requester'))).toEqual([CardVerb.CANCEL]);
    expect(verbsOf(render(aRequestIn('pending'), 'other'))).toEqual([]);
  });

  test('approvers can revoke an active grant, with a reason', () => {
    const card = render(aRequestIn('active'), 'approver');
    expect(verbsOf(card)).toEqual([CardVerb.REVOKE]);
    expect(allActions(card).find((a) => a.title === 'Revoke')?.type).toBe('Action.ShowCard');
  });

  test.each([...CLOSED_STATUSES])('a %s request offers nobody a button', (status) => {
    for (const viewer of ['approver', 'requester', 'other'] as const)
      expect(verbsOf(render(aRequestIn(status), viewer))).toEqual([]);
  });

  test('once someone claims it, the claim button goes and everyone sees who is reviewing', () => {
    const card = render(aRequestIn('pending', { claimedBy: aSecondApprover() }), 'other');
    expect(text(card)).toContain('Alan Turing is reviewing this request');
    expect(
      verbsOf(render(aRequestIn('pending', { claimedBy: aSecondApprover() }), 'approver')),
    ).not.toContain(CardVerb.CLAIM);
  });

  test('break-glass asks approvers to acknowledge until someone has', () => {
    const bg = aRequestIn('active', { kind: 'break_glass', votes: [] });
    expect(verbsOf(render(bg, 'approver'))).toEqual([CardVerb.ACKNOWLEDGE, CardVerb.REVOKE]);
    expect(text(render(bg, 'other'))).toMatch(/BREAK-GLASS/);
    const acked = render({ ...bg, acknowledgedBy: anApprover() }, 'approver');
    expect(verbsOf(acked)).toEqual([CardVerb.REVOKE]);
    expect(text(acked)).toContain('Break-glass acknowledged by Grace Hopper');
  });

  test('a pending extension is decided with the same approve and deny verbs', () => {
    const r = aRequestIn('active', {
      pendingExtension: { by: aRequestIn('active').requester, at: T0, addedMs: HOUR, votes: [] },
    });
    const card = render(r, 'approver');
    expect(verbsOf(card)).toEqual([CardVerb.APPROVE, CardVerb.DENY, CardVerb.REVOKE]);
    expect(allActions(card).map((a) => a.title)).toEqual(
      expect.arrayContaining(['Approve extension', 'Deny extension']),
    );
  });
});

describe('approval card: what it says', () => {
  test('shows approvals so far and who voted', () => {
    const card = render(aRequestIn('pending', { approvalsRequired: 2, votes: [aVote()] }), 'other');
    expect(text(card)).toContain('Waiting for approval · 1 of 2 approvals');
    expect(text(card)).toMatch(/Approved by Grace Hopper · \d\d:\d\d UTC/);
  });

  test('shows who decided, when, why, and when access ends, in UTC', () => {
    const denied = text(render(aRequestIn('denied'), 'other'));
    expect(denied).toMatch(/Denied by Grace Hopper · 13:55 UTC: “Use the read replica\.”/);
    const active = text(render(aRequestIn('active'), 'other'));
    expect(active).toContain('2026-11-21 15:55 UTC');
    expect(active).toContain('Ada Lovelace (ada@contoso.com)');
    expect(active).toContain('Production DB (read) · db-read');
  });

  test('a failure says what to do', () => {
    expect(text(render(aRequestIn('failed'), 'other'))).toMatch(/An admin must grant it/);
  });

  test('an error is shown on the card', () => {
    expect(
      text(render(aRequestIn('pending'), 'approver', { error: 'Only approvers of db-read can approve.' })),
    ).toContain('Only approvers of db-read can approve.');
  });

  test('each state has its own colour', () => {
    const style = (status: AccessRequest['status']) =>
      ((render(aRequestIn(status), 'other').body as Json[])[0] as Json).style;
    expect(style('pending')).toBe('warning');
    expect(style('active')).toBe('good');
    expect(style('approved')).toBe('good');
    for (const s of ['denied', 'failed', 'revoked'] as const) expect(style(s)).toBe('attention');
  });
});

describe('approval card: refresh', () => {
  const ids = Array.from({ length: 70 }, (_, i) => `29:user-${i}`);

  test('open requests refresh for at most 60 listed users, with only the request id', () => {
    const card = render(aRequestIn('pending'), 'other', { refreshUserIds: ids });
    expect(card.refresh).toEqual({
      action: { type: 'Action.Execute', verb: CardVerb.REFRESH, data: { requestId: 'req-7f3a9c' } },
      userIds: ids.slice(0, 60),
    });
  });

  test('closed requests do not refresh, nor does a card without user ids', () => {
    expect(render(aRequestIn('expired'), 'other', { refreshUserIds: ids }).refresh).toBeUndefined();
    expect(render(aRequestIn('pending'), 'other').refresh).toBeUndefined();
  });

  test('ids that cannot be Teams users are dropped', () => {
    const card = render(aRequestIn('pending'), 'other', {
      refreshUserIds: ['29:ok', '${x}', '<at>x</at>', '', '29:ok'],
    });
    expect((card.refresh as Json).userIds).toEqual(['29:ok']);
  });
});

describe('approval card: break-glass after the fact', () => {
  test('an expired, unacknowledged break-glass grant still refreshes and asks approvers to acknowledge', () => {
    const r = aRequestIn('expired', { kind: 'break_glass', votes: [] });
    const card = render(r, 'approver', { refreshUserIds: ['29:a'] });
    expect(verbsOf(card)).toEqual([CardVerb.ACKNOWLEDGE]);
    expect(card.refresh).toBeDefined();
    expect(
      render({ ...r, acknowledgedBy: anApprover() }, 'approver', { refreshUserIds: ['29:a'] }).refresh,
    ).toBeUndefined();
  });
});

describe('approval card: extension votes', () => {
  it('shows the progress of an extension that needs several approvals', () => {
    const request = aRequestIn(Status.ACTIVE, {
      approvalsRequired: 2,
      pendingExtension: {
        by: aRequestIn(Status.ACTIVE).requester,
        at: T0,
        addedMs: HOUR,
        votes: [aVote({ by: anApprover(), decision: 'approve' })],
      },
    });
    const text = allStrings(renderApprovalCard({ request, viewer: 'other', now: T0 }) as Json).join('\n');
    expect(text).toContain('extension of 1h requested · 1 of 2 approvals');
  });
});

describe('approval card: the timeline names who extended', () => {
  const extendedLine = (request: AccessRequest): string | undefined =>
    text(render(request, 'other'))
      .split('\n')
      .find((line) => line.startsWith('Extended by'));
  const extension = { by: aPerson(), at: T0 + MINUTE, addedMs: 15 * MINUTE, n: 1 };

  it('says who asked and every approver who agreed', () => {
    const request = aRequestIn('active', {
      extensions: [{ ...extension, approvedBy: [anApprover(), aSecondApprover()] }],
    });
    expect(extendedLine(request)).toBe(
      'Extended by 15m · asked by Ada Lovelace, approved by Grace Hopper and Alan Turing · 14:01 UTC',
    );
  });

  it('says when the policy extended a grant people approved at once', () => {
    expect(extendedLine(aRequestIn('active', { extensions: [extension] }))).toBe(
      'Extended by 15m · asked by Ada Lovelace, no approval needed by policy · 14:01 UTC',
    );
  });

  it('claims no policy approval for a break-glass grant, which is extended only with an approval', () => {
    const request = aRequestIn('active', { kind: 'break_glass', votes: [], extensions: [extension] });
    expect(extendedLine(request)).toBe('Extended by 15m · asked by Ada Lovelace · 14:01 UTC');
  });
});

describe('the run link of a pipeline request', () => {
  const withRun = (runUrl: string) =>
    renderApprovalCard({
      request: anActionRequestIn('pending', { context: { repository: 'contoso/shop', runUrl } }),
      viewer: 'approver',
      now: T0,
    });
  const openUrls = (card: object) => JSON.stringify(card).match(/"type":"Action\.OpenUrl"[^}]*/g) ?? [];

  it('an https run becomes one "Open the run" button and a short fact that fits the card', () => {
    const card = withRun('https://github.com/contoso/shop/actions/runs/1234567890');
    expect(openUrls(card)).toHaveLength(1);
    expect(JSON.stringify(card)).toContain('github.com/…/runs/1234567890');
  });

  it.each([
    'javascript:alert(1)',
    'http://github.com/contoso/shop/actions/runs/1',
    'https://user:secret@evil.example/run',
    'data:text/html,<script>alert(1)</script>',
    'not a url',
  ])('%s is neither a button nor a fact', (runUrl) => {
    const card = withRun(runUrl);
    expect(openUrls(card)).toEqual([]);
    expect(JSON.stringify(card)).not.toContain('"Run"');
  });
});
