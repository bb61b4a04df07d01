import type { PolicyInput } from '../../src/domain/policy';
import type { AccessRequest } from '../../src/domain/request';
import type { Store } from '../../src/ports/store';
import { aPerson, aRequest } from './domain-builders';
import { CHANNEL, GROUPS, testPolicy } from './harness';

/**
 * A small generated history for the insights report (issue 18), whose figures are worked out
 * by hand in REPORT_EXPECTED (and the comments there). The approver channel works in
 * Europe/Paris (UTC+1 in November), working hours 09:00–18:00 Monday to Friday.
 *
 * - db-read: 20 requests, Nov 1..20 at 10:00 UTC (the 20th at 08:30 UTC: 09:30 in Paris, inside
 *   working hours, outside them in UTC), each approved by Megan (i+1)·10 s after, granted 5 s
 *   after that, for 1 h; every 4th (i = 0, 4, 8, 12, 16) released after 20 min, the rest
 *   expired. Nov 1, 7, 8, 14, 15 are weekends: 5 after hours.
 * - sandbox: 11 requests at 20:00 UTC (21:00 in Paris: after hours) on Nov 2..11 and 20:
 *   3 timed out after 1 h (reminded), 7 denied by Alex after 30 s, 1 still pending.
 * - prod-admin: 1 break-glass use, Nov 10 03:00 UTC, granted 2 s after, 30 min, acknowledged by
 *   Megan 7 min after the grant.
 * - Outside the period: a db-read request 40 days before its end (in the 90 days the
 *   unused-group rule looks at) and one 100 days before (where the history begins).
 * - legacy-app: in the policy, last requested 95 days before the end (denied): unused for 90 days.
 */
export const REPORT_UNTIL = Date.UTC(2026, 10, 21, 12, 0, 0);
export const REPORT_SINCE = REPORT_UNTIL - 30 * 86_400_000;
const S = 1000;
const H = 3_600_000;

export function reportPolicy(): PolicyInput {
  const base = testPolicy();
  return {
    ...base,
    approverChannels: { ops: { ...CHANNEL, timeZone: 'Europe/Paris' } },
    groups: {
      ...base.groups,
      'legacy-app': {
        groupId: LEGACY_APP_ID,
        displayName: 'Legacy app',
        approverChannel: 'ops',
        approvers: { users: ['alex@example.com'] },
      },
    },
  };
}

const people = ['alex', 'adele', 'isaiah', 'lynne', 'patti'] as const;
const sandbox = { alias: 'sandbox', id: GROUPS.sandbox, displayName: 'Sandbox' };
const prodAdmin = { alias: 'prod-admin', id: GROUPS.prodAdmin, displayName: 'Production admin' };
const LEGACY_APP_ID = GROUPS.sandbox.replace(/.$/, 'f');
const legacyApp = { alias: 'legacy-app', id: LEGACY_APP_ID, displayName: 'Legacy app' };

export function reportHistory(): AccessRequest[] {
  const megan = aPerson('megan');
  const alex = aPerson('alex');
  const out: AccessRequest[] = [];
  for (let i = 0; i < 20; i++) {
    const createdAt = i === 19 ? Date.UTC(2026, 10, 20, 8, 30) : Date.UTC(2026, 10, 1 + i, 10, 0);
    const decidedAt = createdAt + (i + 1) * 10 * S;
    const grantedAt = decidedAt + 5 * S;
    const released = i % 4 === 0;
    const end = released ? grantedAt + 20 * 60 * S : grantedAt + H;
    out.push(
      aRequest({
        id: `R-DB${String(i).padStart(4, '0')}`,
        requester: aPerson(people[i % people.length]!),
        createdAt,
        updatedAt: end,
        status: released ? 'released' : 'expired',
        votes: [{ by: megan, decision: 'approve', at: decidedAt }],
        grantedAt,
        expiresAt: end,
        resolution: { at: end },
        standingMember: false,
        membershipRemovedAt: end + S,
      }),
    );
  }
  const sandboxDays = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20];
  sandboxDays.forEach((d, i) => {
    const createdAt = Date.UTC(2026, 10, d, 20, 0);
    const requester = aPerson(people[1 + (i % 4)]!);
    const base = { id: `R-SB${String(i).padStart(4, '0')}`, requester, group: sandbox, createdAt };
    if (i < 3)
      out.push(
        aRequest({
          ...base,
          updatedAt: createdAt + H,
          status: 'timed_out',
          remindedAt: createdAt + 15 * 60 * S,
          resolution: { at: createdAt + H },
        }),
      );
    else if (i < 10)
      out.push(
        aRequest({
          ...base,
          updatedAt: createdAt + 30 * S,
          status: 'denied',
          votes: [{ by: alex, decision: 'deny', at: createdAt + 30 * S, reason: 'not now' }],
          resolution: { by: alex, at: createdAt + 30 * S, reason: 'not now' },
        }),
      );
    else out.push(aRequest({ ...base, updatedAt: createdAt, status: 'pending' }));
  });
  const bgAt = Date.UTC(2026, 10, 10, 3, 0);
  out.push(
    aRequest({
      id: 'R-BG0001',
      requester: aPerson('isaiah'),
      group: prodAdmin,
      kind: 'break_glass',
      durationMs: 30 * 60 * S,
      createdAt: bgAt,
      updatedAt: bgAt + 2 * S + 30 * 60 * S,
      status: 'expired',
      grantedAt: bgAt + 2 * S,
      expiresAt: bgAt + 2 * S + 30 * 60 * S,
      resolution: { at: bgAt + 2 * S + 30 * 60 * S },
      acknowledgedBy: megan,
      acknowledgedAt: bgAt + 2 * S + 7 * 60 * S,
      standingMember: false,
      membershipRemovedAt: bgAt + 2 * S + 30 * 60 * S + S,
    }),
  );
  for (const [id, daysBack, group] of [
    ['R-OLD040', 40, undefined],
    ['R-OLD095', 95, legacyApp],
    ['R-OLD100', 100, undefined],
  ] as const) {
    const createdAt = REPORT_UNTIL - daysBack * 86_400_000;
    out.push(
      aRequest({
        id,
        ...(group ? { group } : {}),
        requester: aPerson('lynne'),
        createdAt,
        updatedAt: createdAt + 60 * S,
        status: 'denied',
        votes: [{ by: megan, decision: 'deny', at: createdAt + 60 * S }],
        resolution: { by: megan, at: createdAt + 60 * S },
      }),
    );
  }
  return out.map((r) => ({ ...r, version: 0 }));
}

/** Writes the history into `store` (each request created as it ended up). */
export async function writeReportHistory(store: Store): Promise<void> {
  for (const request of reportHistory()) {
    await store.commit({
      request,
      expectedVersion: null,
      events: [{ type: 'submitted', requestId: request.id, at: request.createdAt }],
    });
  }
}

/** The figures of the period, worked out by hand from the history above. */
export const REPORT_EXPECTED = {
  groups: {
    'db-read': {
      requests: 20,
      approved: 20,
      denied: 0,
      timedOut: 0,
      cancelled: 0,
      pending: 0,
      // Decisions 10, 20, … 200 s: nearest rank, median = the 10th (100), p90 = the 18th (180).
      decisionSeconds: { median: 100, p90: 180 },
      // Grants 5 s after: 15 … 205.
      grantSeconds: { median: 105, p90: 185 },
      // 5 released after 20 min, 15 used their whole hour.
      requestedVsUsed: {
        grants: 20,
        requestedSeconds: { median: 3600, p90: 3600 },
        usedSeconds: { median: 3600, p90: 3600 },
        releasedEarly: 5,
        extended: 0,
      },
      reminders: 0,
      afterHoursShare: 5 / 20,
      approvers: [{ name: 'Megan Bowen', decisions: 20, share: 1 }],
    },
    'prod-admin': {
      requests: 1,
      approved: 1,
      breakGlass: 1,
      breakGlassAcknowledged: 1,
      acknowledgeSeconds: { median: 420, p90: 420 },
      afterHoursShare: 1,
    },
    sandbox: {
      requests: 11,
      approved: 0,
      denied: 7,
      timedOut: 3,
      pending: 1,
      decisionSeconds: { median: 30, p90: 30 },
      grantSeconds: { median: null, p90: null },
      reminders: 3,
      afterHoursShare: 1,
      approvers: [{ name: 'Alex Wilber', decisions: 7, share: 1 }],
    },
  },
  overall: {
    requests: 32,
    approved: 21,
    denied: 7,
    timedOut: 3,
    pending: 1,
    breakGlass: 1,
    // 27 decisions: 10, 20, 30 ×8 (7 denials at 30 s), 40 … 200; the 14th is 70, the 25th 180.
    decisionSeconds: { median: 70, p90: 180 },
    // 21 grants: 2 (break-glass), 15, 25 … 205; the 11th is 105, the 19th 185.
    grantSeconds: { median: 105, p90: 185 },
    reminders: 3,
    // 5 (db-read) + 11 (sandbox) + 1 (break-glass at 04:00 in Paris) of 32.
    afterHoursShare: 17 / 32,
    approvers: [
      { name: 'Megan Bowen', decisions: 20, share: 20 / 27 },
      { name: 'Alex Wilber', decisions: 7, share: 7 / 27 },
    ],
  },
  suggestions: [
    {
      kind: 'max-duration',
      group: 'db-read',
      evidence: 'p90 of the time used is 1h over 20 ended grants, under half of maxDuration 4h',
      change: 'groups.db-read.maxDuration: 1h',
    },
    {
      kind: 'one-approver',
      group: 'db-read',
      evidence: 'Megan Bowen made 20 of 20 decisions (100 %)',
      change: 'groups.db-read.approvers: make sure the other approvers decide too, or name ones who will',
    },
    {
      kind: 'unused-group',
      group: 'legacy-app',
      evidence: 'last requested 2026-08-18, 95 days ago',
      change: 'groups.legacy-app: remove it, or tell the people who need it that it exists',
    },
    {
      kind: 'timeouts',
      group: 'sandbox',
      evidence: '3 of 11 requests timed out (27 %) after pendingTimeout 1h',
      change: 'groups.sandbox.escalateAfter: 30m, escalateTo: { channel: <a channel that answers> }',
    },
  ],
};
