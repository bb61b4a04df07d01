import { Status, type AccessRequest, type Person, type Vote } from '../../src/domain/request';
import type { GroupRules } from '../../src/domain/policy';

/** 2026-11-21 14:00:00 UTC: a fixed "now" so that rendered times and snapshots are stable. */
export const T0 = Date.UTC(2026, 10, 21, 14, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export function aPerson(overrides: Partial<Person> = {}): Person {
  return {
    id: '00000000-0000-4000-8000-00000000a001',
    name: 'Ada Lovelace',
    upn: 'ada@contoso.com',
    ...overrides,
  };
}

export const anApprover = (overrides: Partial<Person> = {}): Person =>
  aPerson({
    id: '00000000-0000-4000-8000-00000000b001',
    name: 'Grace Hopper',
    upn: 'grace@contoso.com',
    ...overrides,
  });

export const aSecondApprover = (overrides: Partial<Person> = {}): Person =>
  aPerson({
    id: '00000000-0000-4000-8000-00000000b002',
    name: 'Alan Turing',
    upn: 'alan@contoso.com',
    ...overrides,
  });

export function aVote(overrides: Partial<Vote> = {}): Vote {
  return { by: anApprover(), decision: 'approve', at: T0 + 5 * MINUTE, ...overrides };
}

/** A valid pending request for db-read, 2h, filed 10 minutes before T0; override anything. */
export function aRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  const createdAt = overrides.createdAt ?? T0 - 10 * MINUTE;
  return {
    id: 'req-7f3a9c',
    version: 1,
    tenantId: '00000000-0000-4000-8000-0000000000t1',
    requester: aPerson(),
    group: {
      alias: 'db-read',
      id: '00000000-0000-4000-8000-0000000000g1',
      displayName: 'Production DB (read)',
    },
    approverChannel: 'ops',
    durationMs: 2 * HOUR,
    justification: 'Investigating INC-4711: slow checkout queries since the 13:30 deploy.',
    ticket: 'INC-4711',
    kind: 'standard',
    status: Status.PENDING,
    createdAt,
    updatedAt: createdAt,
    approvalsRequired: 1,
    votes: [],
    extensions: [],
    ...overrides,
  };
}

/**
 * A request as it looks once it has reached `status` the ordinary way (votes, resolution,
 * grant times filled in consistently); `overrides` win.
 */
export function aRequestIn(
  status: AccessRequest['status'],
  overrides: Partial<AccessRequest> = {},
): AccessRequest {
  const base = aRequest(overrides);
  const approver = anApprover();
  const decidedAt = base.createdAt + 5 * MINUTE;
  const grantedAt = decidedAt + 2_000;
  const approved: Partial<AccessRequest> = {
    votes: [aVote({ at: decidedAt })],
    resolution: { by: approver, at: decidedAt },
  };
  const granted: Partial<AccessRequest> = {
    ...approved,
    grantedAt,
    expiresAt: grantedAt + base.durationMs,
    standingMember: false,
  };
  const byStatus: Record<AccessRequest['status'], Partial<AccessRequest>> = {
    pending: {},
    scheduled: { ...approved, startsAt: base.createdAt + 8 * HOUR },
    approved,
    active: granted,
    expired: { ...granted, resolution: { at: grantedAt + base.durationMs, reason: 'The time was up.' } },
    released: {
      ...granted,
      expiresAt: grantedAt + 30 * MINUTE,
      resolution: { by: base.requester, at: grantedAt + 30 * MINUTE },
    },
    revoked: {
      ...granted,
      expiresAt: grantedAt + 20 * MINUTE,
      resolution: { by: approver, at: grantedAt + 20 * MINUTE, reason: 'Incident closed.' },
    },
    denied: {
      votes: [aVote({ decision: 'deny', at: decidedAt, reason: 'Use the read replica.' })],
      resolution: { by: approver, at: decidedAt, reason: 'Use the read replica.' },
    },
    cancelled: { resolution: { by: base.requester, at: decidedAt } },
    timed_out: { resolution: { at: base.createdAt + HOUR, reason: 'No approver decided in time.' } },
    failed: {
      ...approved,
      failure: {
        code: 'DIRECTORY.PERMISSION_MISSING',
        message: 'Insufficient privileges to complete the operation.',
      },
      resolution: { at: grantedAt, reason: 'Insufficient privileges to complete the operation.' },
    },
  };
  const changes = byStatus[status];
  const updatedAt = changes.resolution?.at ?? base.updatedAt;
  return { ...base, ...changes, status, updatedAt, ...overrides };
}

/** The service principal of the policy's `github-deploy` client, as the API names it a requester. */
export const aPipeline = (overrides: Partial<Person> = {}): Person => ({
  id: '00000000-0000-4000-8000-00000000sp01',
  name: 'GitHub deploy',
  kind: 'service_principal',
  ...overrides,
});

/**
 * A request for the action gate `deploy-prod` from a pipeline, in `status`: as the domain keeps
 * it, an approved action's approval is its grant (valid from the decision for durationMs).
 */
export function anActionRequestIn(
  status: AccessRequest['status'],
  overrides: Partial<AccessRequest> = {},
): AccessRequest {
  const base = aRequestIn(status, {
    requester: aPipeline(),
    group: { alias: 'deploy-prod', id: '', displayName: 'Deploy to production' },
    targetKind: 'action',
    durationMs: 15 * MINUTE,
    justification: 'Release 4.2 to production',
    client: { appId: '6f1d2c3b-0000-4000-8000-00000000c1e1', name: 'github-deploy' },
    context: {
      repository: 'contoso/shop',
      runUrl: 'https://github.com/contoso/shop/actions/runs/1234567890',
      commit: '3f2a9c1d4e5b6a7f8091a2b3c4d5e6f708192a3b',
      environment: 'production',
      pipeline: 'deploy.yml',
    },
  });
  const decidedAt = base.resolution?.at;
  const approvedOnce =
    ['approved', 'expired', 'released', 'revoked'].includes(status) && decidedAt !== undefined;
  const window: Partial<AccessRequest> = approvedOnce
    ? {
        grantedAt: base.createdAt + 5 * MINUTE,
        expiresAt:
          status === 'approved' || status === 'expired'
            ? base.createdAt + 5 * MINUTE + base.durationMs
            : base.resolution!.at,
        standingMember: undefined,
      }
    : { grantedAt: undefined, expiresAt: undefined, standingMember: undefined };
  const ended: Partial<AccessRequest> =
    status === 'expired'
      ? {
          resolution: {
            at: base.createdAt + 5 * MINUTE + base.durationMs,
            reason: 'The approval is no longer valid.',
          },
        }
      : status === 'released' || status === 'revoked'
        ? {
            resolution: { ...base.resolution!, at: base.createdAt + 10 * MINUTE },
            expiresAt: base.createdAt + 10 * MINUTE,
          }
        : {};
  const r = { ...base, ...window, ...ended };
  return { ...r, updatedAt: r.resolution?.at ?? r.updatedAt, ...overrides };
}

/** Group rules as `rulesFor` produces them for a plain group; override anything. */
export function aGroupRules(overrides: Partial<GroupRules> = {}): GroupRules {
  return {
    alias: 'db-read',
    groupId: '00000000-0000-4000-8000-0000000000g1',
    displayName: 'Production DB (read)',
    approverChannel: 'ops',
    approvers: { users: ['grace@contoso.com'], groups: [] },
    defaultDurationMs: HOUR,
    maxDurationMs: 4 * HOUR,
    pendingTimeoutMs: HOUR,
    remindAfterMs: 15 * MINUTE,
    expiryWarningMs: 10 * MINUTE,
    approvals: 1,
    requireJustification: true,
    allowSelfApproval: false,
    allowDelegation: true,
    requireTicket: false,
    extension: { requireApproval: true, maxTotalMs: 12 * HOUR },
    maxScheduleAheadMs: 7 * 24 * HOUR,
    enforce: 'report',
    revokeSessionsOnEnd: false,
    ...overrides,
  };
}
