import {
  FiguresBuilder,
  computeFigures,
  insightRecordOf,
  nearestRank,
  quantiles,
  type Figures,
  type FigureOptions,
} from '../../../src/domain/insights';
import type { AccessRequest, Person, RequestKind, Status, Vote } from '../../../src/domain/request';
import { aPerson, anApprover, aRequestIn, aSecondApprover, aVote, T0 } from '../../helpers/builders';

const S = 1000;
const DAY = 86_400_000;
const PERIOD = { since: T0 - 30 * DAY, until: T0 };
const UTC_EVERYWHERE: FigureOptions = { timeZoneOf: () => undefined };
/** Wednesday 2026-11-18 10:00 UTC: inside working hours in UTC. */
const WED_10 = Date.UTC(2026, 10, 18, 10, 0, 0);

interface Shape {
  n: number;
  at: number;
  alias?: string;
  channel?: string;
  kind?: RequestKind;
  /** Seconds from the request to the (only) vote; absent = no vote. */
  decideS?: number;
  by?: Person;
  votes?: Vote[];
  approvalsRequired?: number;
  /** Seconds from the request to the grant; absent = never granted. */
  grantS?: number;
  requestedS?: number;
  /** Seconds from the grant to the release or revocation. */
  usedS?: number;
  extendedS?: number;
  reminded?: boolean;
  /** Escalated (escalateTo) half an hour after the request. */
  escalated?: boolean;
  acknowledged?: boolean;
}

/**
 * A request in `status` with the times of `shape` (seconds from its creation), filled in as the
 * domain leaves it: release and revoke move expiresAt to the end; an expiry runs 5 s late.
 */
function req(status: Status, shape: Shape): AccessRequest {
  const createdAt = shape.at;
  const durationMs = (shape.requestedS ?? 7200) * S;
  const alias = shape.alias ?? 'db-read';
  const base = aRequestIn(status, {
    id: `req-${shape.n}`,
    createdAt,
    updatedAt: createdAt,
    durationMs,
    kind: shape.kind ?? 'standard',
    group: { alias, id: `g-${alias}`, displayName: alias },
    approverChannel: shape.channel ?? 'ops',
    approvalsRequired: shape.approvalsRequired ?? 1,
  });
  const decidedAt = shape.decideS === undefined ? undefined : createdAt + shape.decideS * S;
  const votes =
    shape.votes ??
    (decidedAt === undefined
      ? []
      : [
          aVote({
            by: shape.by ?? anApprover(),
            decision: status === 'denied' ? 'deny' : 'approve',
            at: decidedAt,
            ...(status === 'denied' ? { reason: 'No.' } : {}),
          }),
        ]);
  const grantedAt = shape.grantS === undefined ? undefined : createdAt + shape.grantS * S;
  const extensions =
    shape.extendedS && grantedAt !== undefined
      ? [{ by: aPerson(), at: grantedAt + 60 * S, addedMs: shape.extendedS * S }]
      : [];
  let expiresAt = grantedAt === undefined ? undefined : grantedAt + durationMs + (shape.extendedS ?? 0) * S;
  let resolution: AccessRequest['resolution'];
  switch (status) {
    case 'expired':
      resolution = { at: expiresAt! + 5 * S, reason: 'The time was up.' };
      break;
    case 'released':
    case 'revoked':
      expiresAt = grantedAt! + shape.usedS! * S;
      resolution = { at: expiresAt };
      break;
    case 'denied':
      resolution = { by: anApprover(), at: decidedAt!, reason: 'No.' };
      break;
    case 'timed_out':
      resolution = { at: createdAt + 3600 * S };
      break;
    case 'cancelled':
      resolution = { by: aPerson(), at: createdAt + 50 * S };
      break;
    case 'failed':
      resolution = { at: (decidedAt ?? createdAt) + S, reason: 'Insufficient privileges.' };
      break;
    case 'approved':
    case 'active':
      resolution = { at: decidedAt ?? createdAt };
      break;
    case 'pending':
      resolution = undefined;
  }
  return {
    ...base,
    votes,
    grantedAt,
    expiresAt,
    resolution,
    extensions,
    remindedAt: shape.reminded ? createdAt + 900 * S : undefined,
    ...(shape.escalated
      ? { escalatedAt: createdAt + 1800 * S, escalation: { reason: 'timeout' as const } }
      : {}),
    acknowledgedBy: shape.acknowledged ? anApprover() : undefined,
  };
}

/** Every number in the figures, to show that none of them is NaN or infinite. */
function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(numbersIn);
  return [];
}

const grace = anApprover();
const alan = aSecondApprover();

/**
 * The hand-computed history: 11 requests for db-read, 2 for web-admin, one of each outcome.
 * The figures expected below are worked out from this table, not from the code.
 *
 *   n   status     kind         vote (s)      grant (s)  requested  used            notes
 *   1   expired    standard     30 Grace      32         2h         3h (2h + 1h ext) extended
 *   2   released   standard     60 Grace      65         2h         30m             released early
 *   3   revoked    standard    120 Alan      121         1h         10m
 *   4   denied     standard    300 Alan (deny)
 *   5   timed_out  standard     —                                                  reminded, escalated
 *   6   cancelled  standard     40 Grace (1 of 2)
 *   7   failed     standard     90 Grace
 *   8   pending    standard     —                                                  reminded, escalated
 *   9   active     standard     10 Grace      12
 *  10   expired    break_glass  —              3         30m        30m             acknowledged, 20:00
 *  11   active     auto         —              2                                   Saturday
 *  w1   denied     standard    200 Alan (deny)                                     web-admin
 *  w2   denied     standard    100 ALAN's id upper-cased (deny)                    web-admin
 */
function handHistory(): AccessRequest[] {
  const at = (n: number) => WED_10 + n * 60 * S;
  return [
    req('expired', { n: 1, at: at(1), decideS: 30, grantS: 32, extendedS: 3600 }),
    req('released', { n: 2, at: at(2), decideS: 60, grantS: 65, usedS: 1800 }),
    req('revoked', { n: 3, at: at(3), decideS: 120, by: alan, grantS: 121, requestedS: 3600, usedS: 600 }),
    req('denied', { n: 4, at: at(4), decideS: 300, by: alan }),
    req('timed_out', { n: 5, at: at(5), reminded: true, escalated: true }),
    req('cancelled', { n: 6, at: at(6), decideS: 40, approvalsRequired: 2 }),
    req('failed', { n: 7, at: at(7), decideS: 90 }),
    req('pending', { n: 8, at: at(8), reminded: true, escalated: true }),
    req('active', { n: 9, at: at(9), decideS: 10, grantS: 12 }),
    req('expired', {
      n: 10,
      at: Date.UTC(2026, 10, 18, 20, 0, 0),
      kind: 'break_glass',
      grantS: 3,
      requestedS: 1800,
      acknowledged: true,
    }),
    req('active', { n: 11, at: Date.UTC(2026, 10, 21, 11, 0, 0), kind: 'auto', grantS: 2 }),
    req('denied', { n: 12, at: at(12), alias: 'web-admin', decideS: 200, by: alan }),
    req('denied', {
      n: 13,
      at: at(13),
      alias: 'web-admin',
      decideS: 100,
      by: { ...alan, id: alan.id.toUpperCase() },
    }),
  ];
}

describe('nearest-rank percentiles', () => {
  it('takes the sample at rank ⌈q·n⌉, never one in between', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(nearestRank(ten, 0.5)).toBe(5);
    expect(nearestRank(ten, 0.9)).toBe(9);
    expect(nearestRank(ten, 1)).toBe(10);
    expect(nearestRank([1, 2, 3, 4], 0.5)).toBe(2); // the lower middle of an even count
    expect(nearestRank([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110], 0.9)).toBe(100); // ⌈9.9⌉ = 10
    expect(nearestRank([7], 0.5)).toBe(7);
    expect(nearestRank([7], 0.9)).toBe(7);
    expect(nearestRank([], 0.5)).toBeNull();
  });

  it('gives seconds from unsorted milliseconds, and null for none', () => {
    expect(quantiles([3000, 1000, 2000])).toEqual({ median: 2, p90: 3 });
    expect(quantiles([])).toEqual({ median: null, p90: null });
  });
});

describe('insights figures', () => {
  it('has every figure for an empty period, with null and never NaN where there is no data', () => {
    const result = computeFigures([], PERIOD, UTC_EVERYWHERE);
    const none = { median: null, p90: null };
    const empty: Figures = {
      requests: 0,
      approved: 0,
      autoApproved: 0,
      denied: 0,
      timedOut: 0,
      cancelled: 0,
      failed: 0,
      pending: 0,
      breakGlass: 0,
      breakGlassAcknowledged: 0,
      acknowledgeSeconds: none,
      decisionSeconds: none,
      grantSeconds: none,
      requestedVsUsed: {
        grants: 0,
        requestedSeconds: none,
        usedSeconds: none,
        releasedEarly: 0,
        extended: 0,
      },
      reminders: 0,
      escalations: 0,
      afterHoursShare: null,
      approvers: [],
    };
    expect(result).toEqual({ since: PERIOD.since, until: PERIOD.until, overall: empty, groups: {} });
    expect(JSON.stringify(result)).not.toMatch(/NaN|Infinity/);
  });

  it('counts each outcome of the hand-computed history for its group', () => {
    const dbRead = computeFigures(handHistory(), PERIOD, UTC_EVERYWHERE).groups['db-read']!;
    expect(dbRead).toMatchObject({
      requests: 11,
      // 1, 2, 3, 7 (failed after approval), 9, 10 (break-glass), 11 (auto)
      approved: 7,
      autoApproved: 1,
      denied: 1,
      timedOut: 1,
      cancelled: 1,
      failed: 1,
      pending: 1,
      breakGlass: 1,
      breakGlassAcknowledged: 1,
      reminders: 2,
      escalations: 2,
    });
    expect(dbRead.approved + dbRead.denied + dbRead.timedOut + dbRead.cancelled + dbRead.pending).toBe(
      dbRead.requests,
    );
  });

  it('times the decisions, grants and use of the hand-computed history', () => {
    const dbRead = computeFigures(handHistory(), PERIOD, UTC_EVERYWHERE).groups['db-read']!;
    // People's first decisions: 10 30 40 60 90 120 300 (n = 7): median rank 4, p90 rank ⌈6.3⌉ = 7.
    expect(dbRead.decisionSeconds).toEqual({ median: 60, p90: 300 });
    // Grants: 2 3 12 32 65 121 (n = 6): median rank 3, p90 rank ⌈5.4⌉ = 6.
    expect(dbRead.grantSeconds).toEqual({ median: 12, p90: 121 });
    // Ended grants 1, 2, 3, 10. Requested 1800 3600 7200 7200; used 600 1800 1800 10800
    // (1 expired on time after its extension although the expiry ran 5 s late).
    expect(dbRead.requestedVsUsed).toEqual({
      grants: 4,
      requestedSeconds: { median: 3600, p90: 7200 },
      usedSeconds: { median: 1800, p90: 10800 },
      releasedEarly: 1,
      extended: 1,
    });
    // The request records who acknowledged, not when.
    expect(dbRead.acknowledgeSeconds).toEqual({ median: null, p90: null });
  });

  it('gives each approver their share of the decisions, one person whatever the case of their id', () => {
    const result = computeFigures(handHistory(), PERIOD, UTC_EVERYWHERE);
    const id = (p: Person) => p.id.toLowerCase();
    expect(result.groups['db-read']!.approvers).toEqual([
      { id: id(grace), name: 'Grace Hopper', decisions: 5, share: 5 / 7 },
      { id: id(alan), name: 'Alan Turing', decisions: 2, share: 2 / 7 },
    ]);
    expect(result.groups['web-admin']!.approvers).toEqual([
      { id: id(alan), name: 'Alan Turing', decisions: 2, share: 1 },
    ]);
    expect(result.overall.approvers).toEqual([
      { id: id(grace), name: 'Grace Hopper', decisions: 5, share: 5 / 9 },
      { id: id(alan), name: 'Alan Turing', decisions: 4, share: 4 / 9 },
    ]);
  });

  it('adds the groups up to the overall figures', () => {
    const { overall, groups } = computeFigures(handHistory(), PERIOD, UTC_EVERYWHERE);
    expect(Object.keys(groups)).toEqual(['db-read', 'web-admin']);
    expect(overall).toMatchObject({ requests: 13, approved: 7, denied: 3 });
    // 10 30 40 60 90 100 120 200 300 (n = 9): median rank 5, p90 rank ⌈8.1⌉ = 9.
    expect(overall.decisionSeconds).toEqual({ median: 90, p90: 300 });
    // 10 (20:00 on a Wednesday) and 11 (Saturday) of 13.
    expect(overall.afterHoursShare).toBe(2 / 13);
    expect(groups['web-admin']!.afterHoursShare).toBe(0);
    expect(groups['web-admin']!.grantSeconds).toEqual({ median: null, p90: null });
    expect(numbersIn(overall).every(Number.isFinite)).toBe(true);
  });

  it('counts requests created in [since, until) only', () => {
    const history = [
      req('denied', { n: 1, at: PERIOD.since - 1, decideS: 10 }),
      req('denied', { n: 2, at: PERIOD.since, decideS: 20 }),
      req('denied', { n: 3, at: PERIOD.until - 1, decideS: 30 }),
      req('denied', { n: 4, at: PERIOD.until, decideS: 40 }),
    ];
    const { overall } = computeFigures(history, PERIOD, UTC_EVERYWHERE);
    expect(overall.requests).toBe(2);
    expect(overall.decisionSeconds).toEqual({ median: 20, p90: 30 });
  });

  it('leaves rule decisions out of the decision times and counts a first vote that did not decide', () => {
    const history = [
      req('active', { n: 1, at: WED_10, kind: 'auto', grantS: 1 }),
      req('active', { n: 2, at: WED_10, kind: 'break_glass', grantS: 1 }),
      // 1 of 2 approvals, then it timed out: the first vote still answered after 45 s.
      req('timed_out', { n: 3, at: WED_10, decideS: 45, approvalsRequired: 2 }),
      // Two votes: the first decision is the earlier one.
      req('expired', {
        n: 4,
        at: WED_10,
        approvalsRequired: 2,
        grantS: 200,
        votes: [aVote({ by: alan, at: WED_10 + 150 * S }), aVote({ by: grace, at: WED_10 + 20 * S })],
      }),
    ];
    const { overall } = computeFigures(history, PERIOD, UTC_EVERYWHERE);
    expect(overall.decisionSeconds).toEqual({ median: 20, p90: 45 });
    expect(overall.grantSeconds).toEqual({ median: 1, p90: 200 });
    expect(overall.breakGlassAcknowledged).toBe(0);
  });

  it('takes the acknowledgement time when a request records it', () => {
    const history = [
      {
        ...req('expired', { n: 1, at: WED_10, kind: 'break_glass', grantS: 2, acknowledged: true }),
        acknowledgedAt: WED_10 + 602 * S,
      },
      {
        ...req('active', { n: 2, at: WED_10, kind: 'break_glass', grantS: 2, acknowledged: true }),
        acknowledgedAt: WED_10 + 122 * S,
      },
      req('active', { n: 3, at: WED_10, kind: 'break_glass', grantS: 2 }),
    ];
    const { overall } = computeFigures(history, PERIOD, UTC_EVERYWHERE);
    expect(overall).toMatchObject({ breakGlass: 3, breakGlassAcknowledged: 2 });
    expect(overall.acknowledgeSeconds).toEqual({ median: 120, p90: 600 });
  });

  describe('after-hours share, in the approver channel’s time zone', () => {
    const zones: Record<string, string> = { ops: 'Europe/Berlin', sf: 'America/Los_Angeles' };
    const opts: FigureOptions = { timeZoneOf: (channel) => zones[channel] };
    const at = (iso: string, channel: string, n: number) =>
      req('pending', { n, at: Date.parse(iso), channel });
    const outside = (r: AccessRequest, o: FigureOptions = opts) =>
      computeFigures([r], { since: 0, until: Infinity }, o).overall.afterHoursShare === 1;

    it('reads the local hour and weekday', () => {
      expect(outside(at('2026-11-18T07:59:59Z', 'ops', 1))).toBe(true); // 08:59 in Berlin (CET)
      expect(outside(at('2026-11-18T08:00:00Z', 'ops', 2))).toBe(false); // 09:00
      expect(outside(at('2026-11-18T16:59:59Z', 'ops', 3))).toBe(false); // 17:59
      expect(outside(at('2026-11-18T17:00:00Z', 'ops', 4))).toBe(true); // 18:00
      expect(outside(at('2026-11-18T17:00:00Z', 'sf', 5))).toBe(false); // 09:00 in San Francisco
      expect(outside(at('2026-11-21T18:00:00Z', 'sf', 6))).toBe(true); // Saturday 10:00
      // Monday 09:00 in Berlin is midnight in San Francisco.
      expect(outside(at('2026-11-23T08:00:00Z', 'ops', 7))).toBe(false);
      expect(outside(at('2026-11-23T08:00:00Z', 'sf', 8))).toBe(true);
      // Friday 15:30 in San Francisco is already Saturday in Berlin.
      expect(outside(at('2026-11-20T23:30:00Z', 'sf', 9))).toBe(false);
      expect(outside(at('2026-11-20T23:30:00Z', 'ops', 10))).toBe(true);
    });

    it('follows daylight saving time', () => {
      expect(outside(at('2026-03-30T07:30:00Z', 'ops', 1))).toBe(false); // 09:30 CEST
      expect(outside(at('2026-11-30T07:30:00Z', 'ops', 2))).toBe(true); // 08:30 CET
    });

    it('takes other working hours, and UTC for a channel without a (valid) zone', () => {
      const saturdays = { ...opts, workingHours: { start: 8, end: 16, days: [1, 2, 3, 4, 5, 6] } };
      expect(outside(at('2026-11-21T07:30:00Z', 'ops', 1), saturdays)).toBe(false); // Sat 08:30
      expect(outside(at('2026-11-18T15:00:00Z', 'ops', 2), saturdays)).toBe(true); // Wed 16:00
      const noZone: FigureOptions = { timeZoneOf: (c) => (c === 'ops' ? undefined : 'Not/AZone') };
      expect(outside(at('2026-11-18T08:30:00Z', 'ops', 3), noZone)).toBe(true); // 08:30 UTC
      expect(outside(at('2026-11-18T09:00:00Z', 'sf', 4), noZone)).toBe(false); // 09:00 UTC
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 1,000 generated requests against a reference computation written the plain way.

/** mulberry32: a small seeded generator, so the history is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated(count: number): AccessRequest[] {
  const next = random(18);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const statuses: Status[] = [
    'pending',
    'approved',
    'active',
    'expired',
    'released',
    'revoked',
    'denied',
    'cancelled',
    'timed_out',
    'failed',
  ];
  const approvers = [
    grace,
    alan,
    anApprover({ id: '00000000-0000-4000-8000-00000000b003', name: 'Edsger Dijkstra' }),
  ];
  return Array.from({ length: count }, (_, n) => {
    const status = pick(statuses);
    const granted = ['active', 'expired', 'released', 'revoked'].includes(status);
    const byRule = ['approved', 'active', 'expired', 'released', 'revoked'].includes(status) && next() < 0.2;
    const kind: RequestKind = byRule ? pick(['auto', 'break_glass'] as const) : 'standard';
    const decided = kind === 'standard' && !['pending', 'timed_out', 'cancelled'].includes(status);
    const decideS = decided || next() < 0.2 ? 1 + Math.floor(next() * 900) : undefined;
    return req(status, {
      n,
      // 40 days around the 30-day period, at any millisecond.
      at: PERIOD.since - 5 * DAY + Math.floor(next() * 40 * DAY),
      alias: pick(['db-read', 'web-admin', 'vault']),
      channel: pick(['ops', 'sf', 'delhi', 'nowhere']),
      kind,
      decideS: kind === 'standard' ? decideS : undefined,
      by: pick(approvers),
      grantS: granted ? (decideS ?? 0) + 1 + Math.floor(next() * 30) : undefined,
      requestedS: pick([900, 1800, 3600, 7200, 14_400]),
      usedS: 60 + Math.floor(next() * 800),
      extendedS: next() < 0.1 ? 1800 : undefined,
      reminded: next() < 0.15,
      escalated: n % 7 === 0,
      acknowledged: kind === 'break_glass' && next() < 0.5,
    });
  });
}

const GENERATED_ZONES: Record<string, string> = {
  ops: 'Europe/Berlin',
  sf: 'America/Los_Angeles',
  delhi: 'Asia/Kolkata',
};

function referenceFigures(all: AccessRequest[]): Omit<Figures, 'approvers' | 'acknowledgeSeconds'> & {
  approvers: Array<[string, number]>;
} {
  const rs = all.filter((r) => r.createdAt >= PERIOD.since && r.createdAt < PERIOD.until);
  const q = (ms: number[]) => {
    const s = [...ms].sort((a, b) => a - b);
    const at = (p: number) => (s.length ? s[Math.ceil(p * s.length) - 1]! / 1000 : null);
    return { median: at(0.5), p90: at(0.9) };
  };
  const is =
    (...statuses: Status[]) =>
    (r: AccessRequest) =>
      statuses.includes(r.status);
  const approvedOnce = is('approved', 'active', 'expired', 'released', 'revoked', 'failed');
  const ended = rs.filter((r) => r.grantedAt !== undefined && is('expired', 'released', 'revoked')(r));
  const local = (r: AccessRequest) => {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: GENERATED_ZONES[r.approverChannel] ?? 'UTC',
      weekday: 'short',
      hour: 'numeric',
      hourCycle: 'h23',
    }).formatToParts(r.createdAt);
    const get = (type: string) => parts.find((p) => p.type === type)!.value;
    return { weekday: get('weekday'), hour: Number(get('hour')) };
  };
  const afterHours = rs.filter((r) => {
    const { weekday, hour } = local(r);
    return weekday === 'Sat' || weekday === 'Sun' || hour < 9 || hour >= 18;
  }).length;
  const firstDecision = (r: AccessRequest) =>
    r.votes.length
      ? Math.min(...r.votes.map((v) => v.at))
      : r.status === 'denied' || r.status === 'approved'
        ? r.resolution?.at
        : undefined;
  const votes = rs.flatMap((r) => r.votes.map((v) => v.by.name));
  const byName = new Map<string, number>();
  for (const name of votes) byName.set(name, (byName.get(name) ?? 0) + 1);
  return {
    requests: rs.length,
    approved: rs.filter(approvedOnce).length,
    autoApproved: rs.filter((r) => approvedOnce(r) && r.kind === 'auto').length,
    denied: rs.filter(is('denied')).length,
    timedOut: rs.filter(is('timed_out')).length,
    cancelled: rs.filter(is('cancelled')).length,
    failed: rs.filter(is('failed')).length,
    pending: rs.filter(is('pending')).length,
    breakGlass: rs.filter((r) => r.kind === 'break_glass').length,
    breakGlassAcknowledged: rs.filter((r) => r.kind === 'break_glass' && r.acknowledgedBy).length,
    decisionSeconds: q(
      rs
        .filter((r) => r.kind === 'standard' && firstDecision(r) !== undefined)
        .map((r) => firstDecision(r)! - r.createdAt),
    ),
    grantSeconds: q(rs.filter((r) => r.grantedAt !== undefined).map((r) => r.grantedAt! - r.createdAt)),
    requestedVsUsed: {
      grants: ended.length,
      requestedSeconds: q(ended.map((r) => r.durationMs)),
      usedSeconds: q(ended.map((r) => Math.min(r.resolution!.at, r.expiresAt!) - r.grantedAt!)),
      releasedEarly: ended.filter(is('released')).length,
      extended: ended.filter((r) => r.extensions.length > 0).length,
    },
    reminders: rs.filter((r) => r.remindedAt !== undefined).length,
    escalations: rs.filter((r) => r.escalatedAt !== undefined).length,
    afterHoursShare: rs.length ? afterHours / rs.length : null,
    approvers: [...byName.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  };
}

describe('insights figures of 1,000 generated requests', () => {
  const history = generated(1000);
  const result = computeFigures(history, PERIOD, { timeZoneOf: (c) => GENERATED_ZONES[c] });

  const compare = (figures: Figures, expected: ReturnType<typeof referenceFigures>) => {
    const { approvers, acknowledgeSeconds, ...rest } = figures;
    const { approvers: expectedApprovers, ...expectedRest } = expected;
    expect(rest).toEqual(expectedRest);
    expect(approvers.map((a) => [a.name, a.decisions])).toEqual(expectedApprovers);
    expect(approvers.reduce((sum, a) => sum + a.share, 0)).toBeCloseTo(approvers.length ? 1 : 0);
    expect(acknowledgeSeconds).toEqual({ median: null, p90: null });
  };

  it('match the reference overall', () => {
    expect(result.overall.requests).toBeGreaterThan(600); // most of the 40 days are in the period
    compare(result.overall, referenceFigures(history));
  });

  it('match the reference for each group', () => {
    expect(Object.keys(result.groups)).toEqual(['db-read', 'vault', 'web-admin']);
    for (const [alias, figures] of Object.entries(result.groups))
      compare(figures, referenceFigures(history.filter((r) => r.group.alias === alias)));
  });

  it('are the same from the insight projection of each request, and the same fed in batches', () => {
    const opts = { timeZoneOf: (c: string) => GENERATED_ZONES[c] };
    const acknowledged = history.map((r, i) =>
      r.kind === 'break_glass' && r.acknowledgedBy
        ? { ...r, acknowledgedAt: (r.grantedAt ?? r.createdAt) + i * S }
        : r,
    );
    const whole = computeFigures(acknowledged, PERIOD, opts);
    expect(whole.overall.acknowledgeSeconds.median).not.toBeNull();
    expect(computeFigures(acknowledged.map(insightRecordOf), PERIOD, opts)).toEqual(whole);
    const builder = new FiguresBuilder(PERIOD, opts);
    for (let i = 0; i < acknowledged.length; i += 97)
      builder.add(acknowledged.slice(i, i + 97).map(insightRecordOf));
    expect(builder.figures()).toEqual(whole);
  });
});

describe('insightRecordOf', () => {
  it('keeps only what the figures read: no justification, cards, people other than the voters', () => {
    const r = {
      ...aRequestIn('expired', { justification: 'secret incident details', ticket: 'INC-1' }),
      votes: [aVote({ by: grace, at: T0 + 5 * S })],
      acknowledgedBy: alan,
      acknowledgedAt: T0 + 9 * S,
      resolution: { at: T0 + 3600 * S, by: alan, reason: 'The time was up.' },
      extensions: [{ addedMs: 3600 * S, at: T0 + 1800 * S, by: grace, reason: 'more secret details' }],
    } satisfies AccessRequest;
    const slim = insightRecordOf(r);
    expect(Object.keys(slim).sort()).toEqual(
      [
        'acknowledgedAt',
        'acknowledgedBy',
        'approverChannel',
        'createdAt',
        'durationMs',
        'expiresAt',
        'extensions',
        'grantedAt',
        'group',
        'id',
        'kind',
        'resolution',
        'status',
        'votes',
      ].sort(),
    );
    expect(slim).toMatchObject({
      group: { alias: r.group.alias },
      acknowledgedBy: { id: alan.id },
      resolution: { at: T0 + 3600 * S },
      votes: [{ by: { id: grace.id, name: grace.name }, at: T0 + 5 * S }],
      extensions: [{}],
    });
    expect(JSON.stringify(slim)).not.toMatch(/secret|INC-1|The time was up/);
    expect(insightRecordOf(slim)).toEqual(slim);
  });
});
