import { computeFigures } from '../../../src/domain/insights';
import {
  policyViewOf,
  suggest,
  SuggestionKind,
  type GroupView,
  type PolicyView,
  type SuggestOptions,
} from '../../../src/domain/insight-suggestions';
import { validatePolicy } from '../../../src/domain/policy';
import type { AccessRequest, Person, RequestKind, Status } from '../../../src/domain/request';
import { anApprover, aRequestIn, aSecondApprover, aVote, HOUR, MINUTE, T0 } from '../../helpers/builders';
import { testPolicy } from '../../helpers/harness';

const S = 1000;
const DAY = 86_400_000;
const PERIOD = { since: T0 - 30 * DAY, until: T0 };
const grace = anApprover();
const alan = aSecondApprover();

/** db-read's rules as suggestions see them: 8h max, 1h pending timeout, two approvers. */
function dbRead(overrides: Partial<GroupView> = {}): GroupView {
  return {
    maxDurationMs: 8 * HOUR,
    pendingTimeoutMs: HOUR,
    approvers: { users: ['grace@contoso.com', 'alan@contoso.com'], groups: [] },
    ...overrides,
  };
}

const view = (groups: Record<string, GroupView> = { 'db-read': dbRead() }): PolicyView => ({ groups });
const OPTS: SuggestOptions = { now: T0, lastRequestedAt: {} };

interface Shape {
  status?: Status;
  kind?: RequestKind;
  alias?: string;
  decideS?: number;
  by?: Person;
  /** Seconds from the grant to the release. */
  usedS?: number;
  requestedS?: number;
}

let counter = 0;
/**
 * A request for db-read two days before T0, decided by `by` after `decideS` s; a `usedS` makes
 * it a grant released after that long. Without a status: expired after 2 h, approved after 30 s.
 */
function req(shape: Shape = {}): AccessRequest {
  const n = counter++;
  const createdAt = T0 - 2 * DAY + n * MINUTE;
  const status = shape.status ?? (shape.usedS === undefined ? 'expired' : 'released');
  const kind = shape.kind ?? 'standard';
  const decidedAt = createdAt + (shape.decideS ?? 30) * S;
  const durationMs = (shape.requestedS ?? 7200) * S;
  const r = aRequestIn(status, {
    id: `req-${n}`,
    createdAt,
    kind,
    durationMs,
    group: { alias: shape.alias ?? 'db-read', id: 'g', displayName: 'DB' },
  });
  const voted = kind === 'standard' && !['pending', 'timed_out', 'cancelled'].includes(status);
  const votes = voted
    ? [aVote({ by: shape.by ?? grace, at: decidedAt, decision: status === 'denied' ? 'deny' : 'approve' })]
    : [];
  if (!r.grantedAt) return { ...r, votes };
  const grantedAt = decidedAt + 2 * S;
  const end = grantedAt + (shape.usedS !== undefined ? shape.usedS * S : durationMs);
  return { ...r, votes, grantedAt, expiresAt: end, resolution: { at: end } };
}

const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const suggestionsOf = (history: AccessRequest[], policy = view(), opts = OPTS) =>
  suggest(computeFigures(history, PERIOD, { timeZoneOf: () => undefined }), policy, opts);
const ofKind = (kind: SuggestionKind, history: AccessRequest[], policy = view(), opts = OPTS) =>
  suggestionsOf(history, policy, opts).filter((s) => s.kind === kind);

describe('insight suggestions', () => {
  it('suggests nothing without data', () => {
    expect(suggestionsOf([])).toEqual([]);
    // Figures of a group the policy no longer has (or an action gate) give no suggestion.
    const elsewhere = times(30, () => req({ alias: 'gone', status: 'timed_out' }));
    expect(suggestionsOf(elsewhere)).toEqual([]);
  });

  describe('auto-approve candidate (≥ 95 % approved, median decision < 60 s, ≥ 20 requests)', () => {
    // 19 approved after 30 s, 1 denied: 95 % of 20, median 30 s; 2h asked each time.
    const candidate = () => [...times(19, () => req()), req({ status: 'denied' })];

    it('is suggested with its evidence and the rule to add', () => {
      expect(ofKind(SuggestionKind.AUTO_APPROVE, candidate())).toEqual([
        {
          kind: 'auto-approve',
          group: 'db-read',
          evidence: '19 of 20 requests approved (95 %), median decision 30s',
          change:
            'groups.db-read.autoApprove: { requesterInGroups: [<the group of people who ask>], maxDuration: 2h }',
        },
      ]);
    });

    it('is not suggested on less', () => {
      const kind = SuggestionKind.AUTO_APPROVE;
      expect(ofKind(kind, candidate().slice(1))).toEqual([]); // 18 of 19: too few requests
      expect(ofKind(kind, [...times(18, () => req()), ...times(2, () => req({ status: 'denied' }))])).toEqual(
        [],
      ); // 90 %
      expect(ofKind(kind, [...times(19, () => req()), req({ status: 'timed_out' })])).toHaveLength(1);
      expect(
        ofKind(kind, [...times(18, () => req()), ...times(2, () => req({ status: 'timed_out' }))]),
      ).toEqual([]); // nobody answered 2: only 90 % approved
      expect(
        ofKind(
          kind,
          times(20, () => req({ decideS: 60 })),
        ),
      ).toEqual([]); // median 60 s, not under
      expect(
        ofKind(
          kind,
          candidate(),
          view({ 'db-read': dbRead({ autoApprove: { requesterInGroups: ['x'], maxDurationMs: HOUR } }) }),
        ),
      ).toEqual([]);
    });

    it('counts only what people approved', () => {
      // 20 break-glass and auto approvals, and 1 request a person approved: no human pattern.
      const byRule = [
        ...times(10, () => req({ kind: 'break_glass' })),
        ...times(10, () => req({ kind: 'auto' })),
        req(),
      ];
      expect(ofKind(SuggestionKind.AUTO_APPROVE, byRule)).toEqual([]);
    });
  });

  describe('maxDuration far above use (p90 used < ½ maxDuration, ≥ 20 grants)', () => {
    // Used 5, 10, … 100 minutes: p90 is rank 18, 90 minutes; maxDuration 8h.
    const grants = () => times(20, (i) => req({ usedS: (i + 1) * 300, decideS: 120 }));

    it('is suggested with the p90 rounded up as the new maximum', () => {
      expect(ofKind(SuggestionKind.MAX_DURATION, grants())).toEqual([
        {
          kind: 'max-duration',
          group: 'db-read',
          evidence: 'p90 of the time used is 1h30m over 20 ended grants, under half of maxDuration 8h',
          change: 'groups.db-read.maxDuration: 1h30m',
        },
      ]);
      // 2h10m used at p90 (above 2 h: whole hours) → 3h.
      const longer = times(20, (i) => req({ usedS: i < 18 ? 7800 : 7800 + i, decideS: 120 }));
      expect(ofKind(SuggestionKind.MAX_DURATION, longer)[0]!.change).toBe('groups.db-read.maxDuration: 3h');
    });

    it('is not suggested on less', () => {
      const kind = SuggestionKind.MAX_DURATION;
      expect(ofKind(kind, grants().slice(1))).toEqual([]); // 19 grants
      // p90 exactly half of the maximum (4h): not below it.
      expect(
        ofKind(
          kind,
          times(20, () => req({ usedS: 4 * 3600, requestedS: 4 * 3600, decideS: 120 })),
        ),
      ).toEqual([]);
      expect(ofKind(kind, grants(), view({ 'db-read': dbRead({ maxDurationMs: 3 * HOUR }) }))).toEqual([]);
    });
  });

  describe('one approver carrying most decisions (> 70 % of ≥ 20, ≥ 2 approvers possible)', () => {
    const split = (byGrace: number, byAlan: number) => [
      ...times(byGrace, () => req({ by: grace, decideS: 120 })),
      ...times(byAlan, () => req({ by: alan, decideS: 120 })),
    ];

    it('is suggested with the approver’s share', () => {
      expect(ofKind(SuggestionKind.ONE_APPROVER, split(15, 5))).toEqual([
        {
          kind: 'one-approver',
          group: 'db-read',
          evidence: 'Grace Hopper made 15 of 20 decisions (75 %)',
          change: 'groups.db-read.approvers: make sure the other approvers decide too, or name ones who will',
        },
      ]);
      // An approver group may hold several people.
      const byGroup = view({ 'db-read': dbRead({ approvers: { users: [], groups: ['sre'] } }) });
      expect(ofKind(SuggestionKind.ONE_APPROVER, split(20, 0), byGroup)).toHaveLength(1);
    });

    it('is not suggested on less', () => {
      const kind = SuggestionKind.ONE_APPROVER;
      expect(ofKind(kind, split(14, 6))).toEqual([]); // 70 %, not above
      expect(ofKind(kind, split(15, 4))).toEqual([]); // 19 decisions
      const onlyGrace = view({
        'db-read': dbRead({ approvers: { users: ['grace@contoso.com'], groups: [] } }),
      });
      expect(ofKind(kind, split(20, 0), onlyGrace)).toEqual([]); // nobody else could decide
    });
  });

  describe('requests that time out often (≥ 20 % of ≥ 10)', () => {
    const history = (timedOut: number, others: number) => [
      ...times(timedOut, () => req({ status: 'timed_out' })),
      ...times(others, () => req({ decideS: 120 })),
    ];

    it('is suggested with an escalation at half the pending timeout', () => {
      expect(ofKind(SuggestionKind.TIMEOUTS, history(2, 8))).toEqual([
        {
          kind: 'timeouts',
          group: 'db-read',
          evidence: '2 of 10 requests timed out (20 %) after pendingTimeout 1h',
          change: 'groups.db-read.escalateAfter: 30m, escalateTo: { channel: <a channel that answers> }',
        },
      ]);
    });

    it('names the escalation approvers when the group escalates already', () => {
      const escalating = (afterMs?: number) =>
        view({
          'db-read': dbRead({
            escalation: {
              ...(afterMs ? { afterMs } : {}),
              approvers: { users: ['lead@contoso.com'], groups: [] },
            },
          }),
        });
      expect(ofKind(SuggestionKind.TIMEOUTS, history(2, 8), escalating(20 * 60_000))).toEqual([
        {
          kind: 'timeouts',
          group: 'db-read',
          evidence: '2 of 10 requests timed out (20 %) after pendingTimeout 1h, escalation included',
          change: 'groups.db-read.escalateTo: name people who answer (or a channel that does)',
        },
      ]);
      // Escalating only when every approver is away: escalateAfter is what is missing.
      expect(ofKind(SuggestionKind.TIMEOUTS, history(2, 8), escalating())[0]!.change).toBe(
        'groups.db-read.escalateTo: name people who answer (or a channel that does), and escalateAfter: 30m',
      );
    });

    it('is not suggested on less', () => {
      expect(ofKind(SuggestionKind.TIMEOUTS, history(2, 7))).toEqual([]); // 9 requests
      expect(ofKind(SuggestionKind.TIMEOUTS, history(1, 9))).toEqual([]); // 10 %
    });
  });

  describe('frequent break-glass (≥ 3 uses, or ≥ 10 % of ≥ 20 requests)', () => {
    const history = (uses: number, others: number, acknowledged = 0) => [
      ...times(uses, (i) => ({
        ...req({ kind: 'break_glass' }),
        ...(i < acknowledged ? { acknowledgedBy: grace } : {}),
      })),
      ...times(others, () => req({ decideS: 120 })),
    ];

    it('is suggested on 3 uses, or on 10 % of 20 requests', () => {
      expect(ofKind(SuggestionKind.BREAK_GLASS, history(3, 0, 1))).toEqual([
        {
          kind: 'break-glass',
          group: 'db-read',
          evidence: '3 break-glass uses of 3 requests (100 %), 1 acknowledged',
          change:
            'groups.db-read.autoApprove: { requesterInGroups: [<on-call>] } for the usual case, keeping breakGlass for emergencies',
        },
      ]);
      expect(ofKind(SuggestionKind.BREAK_GLASS, history(2, 18))[0]!.evidence).toBe(
        '2 break-glass uses of 20 requests (10 %), 0 acknowledged',
      );
    });

    it('is not suggested on less', () => {
      expect(ofKind(SuggestionKind.BREAK_GLASS, history(2, 17))).toEqual([]); // 19 requests
      expect(ofKind(SuggestionKind.BREAK_GLASS, history(2, 19))).toEqual([]); // 9.5 %
      expect(ofKind(SuggestionKind.BREAK_GLASS, history(1, 0))).toEqual([]); // 100 % of 1
    });
  });

  describe('a group nobody requested in 90 days (over all history, not the period)', () => {
    const policy = view({
      'db-read': dbRead(),
      'web-admin': dbRead(),
      old: dbRead(),
      vault: dbRead({ breakGlass: { maxDurationMs: 30 * MINUTE } }),
    });
    const opts = (overrides: Partial<SuggestOptions> = {}): SuggestOptions => ({
      now: T0,
      historySince: T0 - 200 * DAY,
      lastRequestedAt: { 'db-read': T0 - 10 * DAY, 'web-admin': T0 - 91 * DAY },
      ...overrides,
    });

    it('is suggested for a group last requested long ago, or never, but not for an emergency group', () => {
      expect(suggest(computeFigures([], PERIOD, { timeZoneOf: () => undefined }), policy, opts())).toEqual([
        {
          kind: 'unused-group',
          group: 'old',
          evidence: 'never requested in 200 days of history (since 2026-05-05)',
          change: 'groups.old: remove it, or tell the people who need it that it exists',
        },
        {
          kind: 'unused-group',
          group: 'web-admin',
          evidence: 'last requested 2026-08-22, 91 days ago',
          change: 'groups.web-admin: remove it, or tell the people who need it that it exists',
        },
      ]);
    });

    it('is not suggested without 90 days of history, or for a group asked for 90 days ago', () => {
      const none = computeFigures([], PERIOD, { timeZoneOf: () => undefined });
      expect(suggest(none, policy, opts({ historySince: T0 - 89 * DAY }))).toEqual([]);
      expect(suggest(none, policy, opts({ historySince: undefined }))).toEqual([]);
      const recent = opts({
        lastRequestedAt: { 'db-read': T0, 'web-admin': T0 - 90 * DAY, old: T0 - 90 * DAY },
      });
      expect(suggest(none, policy, recent)).toEqual([]);
    });
  });

  it('orders suggestions by group, then kind, and reads the policy through rulesFor', () => {
    const history = [
      ...times(19, () => req({ alias: 'sandbox' })),
      req({ alias: 'sandbox', status: 'denied' }),
      ...times(3, () => req({ alias: 'db-read', kind: 'break_glass' })),
    ];
    const policy = policyViewOf(validatePolicy(testPolicy()));
    expect(policy.groups['prod-admin']).toMatchObject({
      maxDurationMs: 8 * HOUR,
      breakGlass: { maxDurationMs: 30 * MINUTE },
      autoApprove: { maxDurationMs: 30 * MINUTE },
    });
    const kinds = suggestionsOf(history, policy).map((s) => `${s.group} ${s.kind}`);
    // sandbox's 19 grants are one short of a max-duration suggestion.
    expect(kinds).toEqual(['db-read break-glass', 'sandbox auto-approve']);
  });
});
