import { DomainError, ErrorCodes } from './errors';
import { formatDuration } from './duration';

export const Status = {
  PENDING: 'pending',
  APPROVED: 'approved',
  ACTIVE: 'active',
  EXPIRED: 'expired',
  RELEASED: 'released',
  REVOKED: 'revoked',
  DENIED: 'denied',
  CANCELLED: 'cancelled',
  TIMED_OUT: 'timed_out',
  FAILED: 'failed',
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** States from which nothing more happens. */
export const CLOSED_STATUSES: readonly Status[] = [
  Status.EXPIRED,
  Status.RELEASED,
  Status.REVOKED,
  Status.DENIED,
  Status.CANCELLED,
  Status.TIMED_OUT,
  Status.FAILED,
];
export const isClosed = (status: Status): boolean => CLOSED_STATUSES.includes(status);

const TRANSITIONS: Record<Status, readonly Status[]> = {
  pending: [Status.APPROVED, Status.DENIED, Status.CANCELLED, Status.TIMED_OUT],
  approved: [Status.ACTIVE, Status.FAILED, Status.REVOKED],
  active: [Status.EXPIRED, Status.RELEASED, Status.REVOKED],
  expired: [],
  released: [],
  revoked: [],
  denied: [],
  cancelled: [],
  timed_out: [],
  failed: [],
};

export type RequestKind = 'standard' | 'auto' | 'break_glass';

export interface Person {
  /** Entra object id (`from.aadObjectId`). */
  id: string;
  name: string;
  upn?: string;
}

export interface Vote {
  by: Person;
  decision: 'approve' | 'deny';
  at: number;
  reason?: string;
}

export interface Extension {
  by: Person;
  at: number;
  addedMs: number;
  reason?: string;
}

/** Where the cards of a request live in Teams; filled in by the worker once posted. */
export interface MessageLocation {
  serviceUrl: string;
  conversationId: string;
  activityId: string;
}

export interface AccessRequest {
  id: string;
  /** Incremented by every write; conditional updates compare it. */
  version: number;
  tenantId?: string;
  requester: Person;
  group: { alias: string; id: string; displayName: string };
  approverChannel: string;
  durationMs: number;
  justification: string;
  ticket?: string;
  kind: RequestKind;
  status: Status;
  createdAt: number;
  updatedAt: number;
  approvalsRequired: number;
  votes: Vote[];
  /** Who closed or decided it, when, and why (deny reason, revoke reason, failure). */
  resolution?: { by?: Person; at: number; reason?: string };
  grantedAt?: number;
  expiresAt?: number;
  /** The person was already a member before Timebox added them: never remove them. */
  standingMember?: boolean;
  extensions: Extension[];
  /** A pending extension offer (needs approval) on an active grant. */
  pendingExtension?: { by: Person; at: number; addedMs: number; reason?: string; votes: Vote[] };
  remindedAt?: number;
  warnedAt?: number;
  acknowledgedBy?: Person;
  claimedBy?: Person;
  failure?: { code: string; message: string };
  /** Set once the worker has taken the membership away again (or found nothing to remove). */
  membershipRemovedAt?: number;
  approvalCard?: MessageLocation;
  receiptCard?: MessageLocation;
}

/** One thing that happened to a request: the unit of the audit log and of side effects. */
export interface RequestEvent {
  type:
    | 'submitted'
    | 'voted'
    | 'approved'
    | 'auto_approved'
    | 'break_glass'
    | 'denied'
    | 'cancelled'
    | 'timed_out'
    | 'granted'
    | 'failed'
    | 'expired'
    | 'released'
    | 'revoked'
    | 'extended'
    | 'extension_requested'
    | 'reminded'
    | 'warned'
    | 'acknowledged'
    | 'claimed'
    | 'member_removed'
    | 'member_kept'
    | 'notify_failed'
    | 'refused';
  requestId: string;
  at: number;
  actor?: Person;
  reason?: string;
  detail?: Record<string, unknown>;
}

export interface Transition {
  request: AccessRequest;
  events: RequestEvent[];
}

function assertCanMove(request: AccessRequest, to: Status): void {
  if (TRANSITIONS[request.status].includes(to)) return;
  if (isClosed(request.status) || (request.status !== Status.PENDING && to !== Status.REVOKED)) {
    throw new DomainError(
      ErrorCodes.REQUEST_ALREADY_RESOLVED,
      `Request ${request.id} is already ${describeStatus(request.status)}.`,
      { status: request.status },
    );
  }
  throw new DomainError(
    ErrorCodes.REQUEST_ILLEGAL_TRANSITION,
    `Request ${request.id} is ${describeStatus(request.status)} and cannot become ${describeStatus(to)}.`,
    { from: request.status, to },
  );
}

function move(
  request: AccessRequest,
  to: Status,
  now: number,
  event: Omit<RequestEvent, 'requestId' | 'at'>,
  changes: Partial<AccessRequest> = {},
): Transition {
  assertCanMove(request, to);
  const next: AccessRequest = { ...request, ...changes, status: to, updatedAt: now };
  return { request: next, events: [{ ...event, requestId: request.id, at: now }] };
}

export function describeStatus(status: Status): string {
  return status === Status.TIMED_OUT ? 'timed out' : status;
}

export interface NewRequest {
  id: string;
  tenantId?: string;
  requester: Person;
  group: { alias: string; id: string; displayName: string };
  approverChannel: string;
  durationMs: number;
  justification: string;
  ticket?: string;
  approvalsRequired: number;
  kind?: RequestKind;
}

export function createRequest(input: NewRequest, now: number): Transition {
  const request: AccessRequest = {
    ...input,
    kind: input.kind ?? 'standard',
    version: 0,
    status: Status.PENDING,
    createdAt: now,
    updatedAt: now,
    votes: [],
    extensions: [],
  };
  return {
    request,
    events: [
      {
        type: 'submitted',
        requestId: input.id,
        at: now,
        actor: input.requester,
        reason: input.justification,
        detail: { group: input.group.alias, duration: formatDuration(input.durationMs), ticket: input.ticket, kind: request.kind },
      },
    ],
  };
}

/**
 * Records an approver's vote. Authorization (is this person an approver, self-approval) is
 * decided by the caller from policy; this enforces the request's own rules: pending only,
 * one vote per person, N approvals to approve, any deny resolves.
 */
export function castVote(
  request: AccessRequest,
  voter: Person,
  decision: 'approve' | 'deny',
  now: number,
  reason?: string,
): Transition {
  if (request.status !== Status.PENDING) assertCanMove(request, decision === 'approve' ? Status.APPROVED : Status.DENIED);
  if (request.votes.some((v) => v.by.id === voter.id)) {
    throw new DomainError(ErrorCodes.ALREADY_VOTED, `You have already voted on request ${request.id}.`);
  }
  const vote: Vote = { by: voter, decision, at: now, ...(reason ? { reason } : {}) };
  const votes = [...request.votes, vote];
  if (decision === 'deny') {
    return move(request, Status.DENIED, now, { type: 'denied', actor: voter, reason }, { votes, resolution: { by: voter, at: now, reason } });
  }
  const approvals = votes.filter((v) => v.decision === 'approve').length;
  if (approvals >= request.approvalsRequired) {
    return move(
      request,
      Status.APPROVED,
      now,
      { type: 'approved', actor: voter, reason, detail: { approvals, required: request.approvalsRequired } },
      { votes, resolution: { by: voter, at: now, reason } },
    );
  }
  const next = { ...request, votes, updatedAt: now };
  return {
    request: next,
    events: [{ type: 'voted', requestId: request.id, at: now, actor: voter, detail: { approvals, required: request.approvalsRequired } }],
  };
}

/** Approval by a rule (auto-approve or break-glass) rather than by a person. */
export function approveByRule(request: AccessRequest, rule: 'auto_approved' | 'break_glass', now: number, reason: string): Transition {
  return move(request, Status.APPROVED, now, { type: rule, reason }, { resolution: { at: now, reason } });
}

export function cancel(request: AccessRequest, actor: Person, now: number): Transition {
  return move(request, Status.CANCELLED, now, { type: 'cancelled', actor }, { resolution: { by: actor, at: now } });
}

export function timeOut(request: AccessRequest, now: number): Transition {
  return move(request, Status.TIMED_OUT, now, { type: 'timed_out', reason: 'nobody decided in time' }, { resolution: { at: now, reason: 'No approver decided in time.' } });
}

/** The membership is in place: the grant starts now and ends `durationMs` (plus extensions) later. */
export function markGranted(request: AccessRequest, now: number, standingMember: boolean): Transition {
  const total = request.durationMs + request.extensions.reduce((sum, e) => sum + e.addedMs, 0);
  return move(
    request,
    Status.ACTIVE,
    now,
    { type: 'granted', detail: { expiresAt: new Date(now + total).toISOString(), standingMember } },
    { grantedAt: now, expiresAt: now + total, standingMember },
  );
}

export function markFailed(request: AccessRequest, now: number, failure: { code: string; message: string }): Transition {
  return move(request, Status.FAILED, now, { type: 'failed', reason: failure.message, detail: { code: failure.code } }, { failure, resolution: { at: now, reason: failure.message } });
}

export function expire(request: AccessRequest, now: number): Transition {
  return move(request, Status.EXPIRED, now, { type: 'expired' }, { resolution: { at: now, reason: 'The time was up.' } });
}

export function release(request: AccessRequest, actor: Person, now: number): Transition {
  return move(request, Status.RELEASED, now, { type: 'released', actor }, { resolution: { by: actor, at: now }, expiresAt: now });
}

export function revoke(request: AccessRequest, actor: Person, now: number, reason?: string): Transition {
  return move(request, Status.REVOKED, now, { type: 'revoked', actor, reason }, { resolution: { by: actor, at: now, reason }, expiresAt: request.expiresAt === undefined ? undefined : now });
}

/** Moves an active grant's end later by `addedMs`. Caps are checked by the caller's policy. */
export function extend(request: AccessRequest, actor: Person, addedMs: number, now: number, reason?: string): Transition {
  if (request.status !== Status.ACTIVE || request.expiresAt === undefined) {
    throw new DomainError(ErrorCodes.REQUEST_ILLEGAL_TRANSITION, `Only an active grant can be extended; request ${request.id} is ${describeStatus(request.status)}.`);
  }
  const extension: Extension = { by: actor, at: now, addedMs, ...(reason ? { reason } : {}) };
  const next: AccessRequest = {
    ...request,
    expiresAt: request.expiresAt + addedMs,
    extensions: [...request.extensions, extension],
    pendingExtension: undefined,
    warnedAt: undefined,
    updatedAt: now,
  };
  return {
    request: next,
    events: [{ type: 'extended', requestId: request.id, at: now, actor, reason, detail: { added: formatDuration(addedMs), expiresAt: new Date(next.expiresAt!).toISOString() } }],
  };
}

/** Total length the grant will have had once `addedMs` more is given. */
export function totalLengthWith(request: AccessRequest, addedMs: number): number {
  return request.durationMs + request.extensions.reduce((sum, e) => sum + e.addedMs, 0) + addedMs;
}

/** Marks a side-notice as sent (reminder, expiry warning) without changing the status. */
export function note(request: AccessRequest, type: 'reminded' | 'warned', now: number): Transition {
  const changes = type === 'reminded' ? { remindedAt: now } : { warnedAt: now };
  return { request: { ...request, ...changes, updatedAt: now }, events: [{ type, requestId: request.id, at: now }] };
}
