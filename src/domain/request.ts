import { DomainError, ErrorCodes } from './errors';
import { formatDuration } from './duration';
import { hasVisibleContent } from './text';

export const Status = {
  PENDING: 'pending',
  /** Approved ahead of its start (`startsAt`): granted by the scheduler then, not before. */
  SCHEDULED: 'scheduled',
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

/** States a request reaches only through an approval (by people, a rule or break-glass). */
export const APPROVED_STATUSES: readonly Status[] = [
  Status.SCHEDULED,
  Status.APPROVED,
  Status.ACTIVE,
  Status.EXPIRED,
  Status.RELEASED,
  Status.REVOKED,
  Status.FAILED,
];
export const wasApproved = (status: Status): boolean => APPROVED_STATUSES.includes(status);

const TRANSITIONS: Record<Status, readonly Status[]> = {
  pending: [Status.APPROVED, Status.SCHEDULED, Status.DENIED, Status.CANCELLED, Status.TIMED_OUT],
  // At the start: approved (the add follows), or failed when policy no longer allows it.
  scheduled: [Status.APPROVED, Status.CANCELLED, Status.REVOKED, Status.FAILED],
  // An approved action gate stays approved until its approval is no longer valid (expired).
  approved: [Status.ACTIVE, Status.FAILED, Status.REVOKED, Status.RELEASED, Status.EXPIRED],
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
  /** Entra object id (`from.aadObjectId`; a service principal's object id for a machine). */
  id: string;
  name: string;
  upn?: string;
  /** A workload identity (an API client's own service principal); absent = a person. */
  kind?: 'service_principal';
}

/** The workflow's own facts an API client sends, shown on the approvers' card (§11). */
export interface WorkflowContext {
  repository?: string;
  /** An https link to the run (checked by the API). */
  runUrl?: string;
  commit?: string;
  environment?: string;
  pipeline?: string;
}

/** The API client (policy `clients:`) that filed a request. */
export interface RequestClient {
  appId: string;
  name: string;
}

export interface Vote {
  by: Person;
  /** The approver `by` stood in for (`delegate to … until …`): "by B for A"; one vote for both. */
  for?: Person;
  decision: 'approve' | 'deny';
  at: number;
  reason?: string;
}

export interface Extension {
  by: Person;
  at: number;
  addedMs: number;
  reason?: string;
  /** The approvers who agreed, when policy asked for approval. */
  approvedBy?: Person[];
  /** Its number on the request (`extensionNumber`); absent in records written before it existed. */
  n?: number;
}

/**
 * A pending extension offer. `n` is its number on the request: the nth extension asked on it,
 * denied ones included, so that a decision button names exactly one offer (`extension:<n>`).
 * Absent in offers stored before it existed (see `extensionNumber`).
 */
export interface PendingExtension {
  by: Person;
  at: number;
  addedMs: number;
  reason?: string;
  votes: Vote[];
  n?: number;
}

/** Where the cards of a request live in Teams; filled in by the worker once posted. */
export interface MessageLocation {
  serviceUrl: string;
  conversationId: string;
  activityId: string;
}

/** Which list a list card is: an approver's `pending`, a requester's `status`. */
export type ListKind = 'pending' | 'status';

/**
 * A list card (`pending`, `status`) that shows this request: updated in place, rendered again
 * for its viewer from the store, whenever the request changes (effects.ts, the worker).
 */
export interface ListCardRef extends MessageLocation {
  list: ListKind;
  /** Whose list it is. */
  viewer: Person;
  /** The viewer's Teams id (29:...), for the card's `refresh.userIds`. */
  userId?: string;
}

/** At most this many list cards are kept per request (the newest); older ones are left as they are. */
export const MAX_LIST_CARDS = 10;

export interface AccessRequest {
  id: string;
  /** Incremented by every write; conditional updates compare it. */
  version: number;
  tenantId?: string;
  requester: Person;
  /**
   * What is asked for. NB: named `group` from before action gates: for an action
   * (`targetKind: 'action'`) it is `{ alias, id: '', displayName }` and nothing is added anywhere.
   */
  group: { alias: string; id: string; displayName: string };
  /** `action`: an approval gate with no membership (§11); absent = a group. */
  targetKind?: 'action';
  /** The API client that filed it; absent = asked in Teams. */
  client?: RequestClient;
  context?: WorkflowContext;
  /**
   * When a scheduled request starts (§12): decided ahead, granted at this time, counted from
   * the add as always. Absent = as soon as it is approved.
   */
  startsAt?: number;
  /** Why a request the auto-approve rule would have approved went to people (its daily budget was used up). */
  autoApproveSkipped?: string;
  /** The API's `Idempotency-Key` this request was filed under, and a hash of its body. */
  idempotency?: { key: string; bodyHash: string };
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
  /**
   * When the first add of the membership began (recorded with `standingMember`, before the
   * call). If a later attempt finds the membership already there, an earlier attempt landed
   * before a crash or a timeout, and the grant counts from here: never longer than approved.
   */
  addStartedAt?: number;
  extensions: Extension[];
  /** A pending extension offer (needs approval) on an active grant. */
  pendingExtension?: PendingExtension;
  /** How many extensions were asked on this request, denied ones included (numbers them). */
  extensionsAsked?: number;
  /** The list cards that show this request, to update when it changes. */
  listCards?: ListCardRef[];
  remindedAt?: number;
  /** When it was escalated (`escalateTo`): once per request, and why. */
  escalatedAt?: number;
  escalation?: { reason: 'timeout' | 'all_away'; channel?: string };
  /** The approval card posted in the escalation channel, updated with the original. */
  escalationCard?: MessageLocation;
  warnedAt?: number;
  acknowledgedBy?: Person;
  /** When `acknowledgedBy` acknowledged the break-glass grant (absent on requests acknowledged before it was recorded). */
  acknowledgedAt?: number;
  claimedBy?: Person;
  failure?: { code: string; message: string };
  /** Set once the worker has taken the membership away again (or found nothing to remove). */
  membershipRemovedAt?: number;
  approvalCard?: MessageLocation;
  receiptCard?: MessageLocation;
  /**
   * The newest "Access ends soon" message sent to the requester, updated when the grant ends or
   * changes so that its Extend / Release buttons never outlive it. Absent on older requests.
   */
  warningCard?: MessageLocation;
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
    // A scheduled request's start: approved from now on (its membership is added next).
    | 'started'
    | 'failed'
    | 'expired'
    | 'released'
    | 'revoked'
    | 'extended'
    | 'extension_requested'
    | 'extension_denied'
    | 'reminded'
    | 'escalated'
    | 'warned'
    | 'acknowledged'
    | 'claimed'
    | 'member_removed'
    | 'member_kept'
    // After a removal (policy revokeSessionsOnEnd): the person's sign-in sessions ended, or the directory refused.
    | 'sessions_revoked'
    | 'sessions_revoke_failed'
    | 'notify_failed'
    | 'refused'
    // The reconciler's findings (app/reconciler.ts): a lost effect queued again, a managed
    // group's members first recorded, a member no grant explains reported or removed.
    | 'reconciled'
    | 'baseline_recorded'
    | 'drift_detected'
    | 'drift_removed'
    // A call of the workflow API (adapters/api), with the client that made it.
    | 'api_called'
    // An approver handed their approvals to a delegate until a time, or took them back (requestId '').
    | 'delegated'
    | 'delegation_ended';
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
  if (
    isClosed(request.status) ||
    (request.status !== Status.PENDING && to !== Status.REVOKED && to !== Status.RELEASED)
  ) {
    throw new DomainError(
      ErrorCodes.REQUEST_ALREADY_RESOLVED,
      `Request ${request.id} is already ${describeStatus(request.status)}; nothing was changed.${insteadHint(request.status, to)}`,
      { status: request.status },
    );
  }
  throw new DomainError(
    ErrorCodes.REQUEST_ILLEGAL_TRANSITION,
    `Request ${request.id} is ${describeStatus(request.status)} and cannot be ${describeStatus(to)}.${insteadHint(request.status, to)}`,
    { from: request.status, to },
  );
}

/** What the person can do instead of a move that the request's state does not allow. */
function insteadHint(from: Status, to: Status): string {
  if (from === Status.PENDING && (to === Status.RELEASED || to === Status.REVOKED)) {
    return to === Status.RELEASED
      ? ' It was not granted yet: cancel it instead.'
      : ' It was not granted yet: deny it instead.';
  }
  if ((from === Status.ACTIVE || from === Status.APPROVED) && to === Status.CANCELLED)
    return ' It was already approved: release it instead.';
  if (isClosed(from)) return ' File a new request if access is still needed.';
  return '';
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

/**
 * Whether Timebox may have put the person in the group for this request and not yet taken
 * them out: the add was decided on (no standing membership recorded) and no removal has been
 * recorded. A member found before an add counts as standing unless such a request explains it.
 */
export function mayHoldMembership(request: AccessRequest): boolean {
  return request.standingMember === false && request.membershipRemovedAt === undefined;
}

function requireReason(reason: string | undefined, what: string): string {
  const trimmed = reason?.trim();
  if (!trimmed || !hasVisibleContent(trimmed))
    throw new DomainError(ErrorCodes.REASON_REQUIRED, `Say why you ${what}: the requester sees the reason.`);
  return trimmed;
}

/** What a caller decides about a new request; the rest starts out empty. */
export type NewRequest = Pick<
  AccessRequest,
  | 'id'
  | 'tenantId'
  | 'requester'
  | 'group'
  | 'approverChannel'
  | 'durationMs'
  | 'justification'
  | 'ticket'
  | 'approvalsRequired'
  | 'targetKind'
  | 'client'
  | 'context'
  | 'idempotency'
  | 'autoApproveSkipped'
  | 'startsAt'
> & { kind?: RequestKind };

/** Whether a request is for an action gate (approval only, no membership). */
export const isAction = (request: Pick<AccessRequest, 'targetKind'>): boolean =>
  request.targetKind === 'action';

/**
 * An approved action's approval is its grant: valid from the decision for `durationMs` (at
 * most the action's `approvalValidFor`), then it expires. A group's grant starts once the
 * membership is in place (`markGranted`).
 */
function approvalWindow(request: AccessRequest, now: number): Partial<AccessRequest> {
  return isAction(request) ? { grantedAt: now, expiresAt: now + request.durationMs } : {};
}

export function createRequest(input: NewRequest, now: number): Transition {
  // The workflow fields only when given: a chat request stores what it always stored.
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as NewRequest;
  const request: AccessRequest = {
    ...given,
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
        detail: {
          group: input.group.alias,
          duration: formatDuration(input.durationMs),
          ticket: input.ticket,
          kind: request.kind,
          ...(input.targetKind ? { target: input.targetKind } : {}),
          ...(input.client ? { client: input.client.name, appId: input.client.appId } : {}),
          ...(input.requester.kind ? { requesterKind: input.requester.kind } : {}),
        },
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
  forWhom?: Person,
): Transition {
  if (request.status !== Status.PENDING)
    assertCanMove(request, decision === 'approve' ? Status.APPROVED : Status.DENIED);
  // NB: a delegate and the approver they stand in for are one vote, whichever of them casts it.
  const mine = [voter.id, ...(forWhom ? [forWhom.id] : [])];
  const counted = (v: Vote) =>
    [v.by.id, ...(v.for ? [v.for.id] : [])].some((id) => mine.some((m) => sameId(m, id)));
  if (request.votes.some(counted)) {
    throw new DomainError(
      ErrorCodes.ALREADY_VOTED,
      forWhom
        ? `${forWhom.name}'s vote on request ${request.id} is already counted (by them or their delegate); another approver has to give the next approval.`
        : `You have already voted on request ${request.id}; another approver has to give the next approval.`,
    );
  }
  if (decision === 'deny') reason = requireReason(reason, 'deny it');
  const vote: Vote = {
    by: voter,
    ...(forWhom ? { for: forWhom } : {}),
    decision,
    at: now,
    ...(reason ? { reason } : {}),
  };
  const onBehalf = forWhom ? { for: forWhom.name, forId: forWhom.id } : {};
  const votes = [...request.votes, vote];
  if (decision === 'deny') {
    return move(
      request,
      Status.DENIED,
      now,
      { type: 'denied', actor: voter, reason, ...(forWhom ? { detail: onBehalf } : {}) },
      { votes, resolution: { by: voter, at: now, reason } },
    );
  }
  const approvals = votes.filter((v) => v.decision === 'approve').length;
  if (approvals >= request.approvalsRequired) {
    const later = startsLater(request, now);
    return move(
      request,
      later ? Status.SCHEDULED : Status.APPROVED,
      now,
      {
        type: 'approved',
        actor: voter,
        reason,
        detail: {
          approvals,
          required: request.approvalsRequired,
          ...startDetail(request, later),
          ...onBehalf,
        },
      },
      { votes, resolution: { by: voter, at: now, reason }, ...(later ? {} : approvalWindow(request, now)) },
    );
  }
  const next = { ...request, votes, updatedAt: now };
  return {
    request: next,
    events: [
      {
        type: 'voted',
        requestId: request.id,
        at: now,
        actor: voter,
        detail: { approvals, required: request.approvalsRequired, ...onBehalf },
      },
    ],
  };
}

/** Approval by a rule (auto-approve or break-glass) rather than by a person. */
export function approveByRule(
  request: AccessRequest,
  rule: 'auto_approved' | 'break_glass',
  now: number,
  reason: string,
): Transition {
  const later = startsLater(request, now);
  return move(
    request,
    later ? Status.SCHEDULED : Status.APPROVED,
    now,
    { type: rule, reason, ...(later ? { detail: startDetail(request, later) } : {}) },
    { resolution: { at: now, reason }, ...(later ? {} : approvalWindow(request, now)) },
  );
}

/** Whether an approval now waits for the request's start. */
function startsLater(request: AccessRequest, now: number): boolean {
  return request.startsAt !== undefined && request.startsAt > now;
}

function startDetail(request: AccessRequest, later: boolean): Record<string, string> {
  return later ? { startsAt: new Date(request.startsAt!).toISOString() } : {};
}

/**
 * A scheduled request's start has come: it is approved from now on (the worker adds the
 * membership next; an action's approval is valid from now). The caller checked policy again.
 */
export function startScheduled(request: AccessRequest, now: number): Transition {
  return move(
    request,
    Status.APPROVED,
    now,
    { type: 'started', detail: { startsAt: new Date(request.startsAt ?? now).toISOString() } },
    approvalWindow(request, now),
  );
}

export function cancel(request: AccessRequest, actor: Person, now: number): Transition {
  return move(
    request,
    Status.CANCELLED,
    now,
    { type: 'cancelled', actor },
    { resolution: { by: actor, at: now } },
  );
}

export function timeOut(request: AccessRequest, now: number): Transition {
  return move(
    request,
    Status.TIMED_OUT,
    now,
    { type: 'timed_out', reason: 'nobody decided in time' },
    { resolution: { at: now, reason: 'No approver decided in time.' } },
  );
}

/** The membership is in place: the grant starts now and ends `durationMs` (plus extensions) later. */
/**
 * The membership is in place. It counts from `since` (default: now): the moment it was added,
 * which is earlier than now when an attempt's answer was lost and the add found later.
 */
export function markGranted(
  request: AccessRequest,
  now: number,
  standingMember: boolean,
  since = now,
): Transition {
  const total = request.durationMs + request.extensions.reduce((sum, e) => sum + e.addedMs, 0);
  const start = Math.min(since, now);
  const detail = {
    expiresAt: new Date(start + total).toISOString(),
    standingMember,
    ...(start < now ? { since: new Date(start).toISOString() } : {}),
  };
  return move(
    request,
    Status.ACTIVE,
    now,
    { type: 'granted', detail },
    { grantedAt: start, expiresAt: start + total, standingMember },
  );
}

/**
 * The membership cannot be added. `nothingAdded`: the directory refused outright, so there is
 * nothing to take back; otherwise an add may have landed before the failure and is removed.
 */
export function markFailed(
  request: AccessRequest,
  now: number,
  failure: { code: string; message: string },
  nothingAdded = false,
): Transition {
  const removed =
    nothingAdded && request.membershipRemovedAt === undefined ? { membershipRemovedAt: now } : {};
  return move(
    request,
    Status.FAILED,
    now,
    { type: 'failed', reason: failure.message, detail: { code: failure.code } },
    { failure, resolution: { at: now, reason: failure.message }, ...removed },
  );
}

export function expire(request: AccessRequest, now: number): Transition {
  // NB: approved → expired is an action's end only; an approved group's grant has not started.
  if (request.status === Status.APPROVED && !isAction(request))
    throw new DomainError(
      ErrorCodes.REQUEST_ILLEGAL_TRANSITION,
      `Request ${request.id} is approved and its membership is still being added; it cannot expire yet.`,
      { from: request.status, to: Status.EXPIRED },
    );
  const reason = isAction(request) ? 'The approval is no longer valid.' : 'The time was up.';
  return move(
    request,
    Status.EXPIRED,
    now,
    { type: 'expired' },
    { resolution: { at: now, reason }, pendingExtension: undefined },
  );
}

/** The requester ends their grant now (also while the membership is still being added). */
export function release(request: AccessRequest, actor: Person, now: number): Transition {
  const ended = request.expiresAt === undefined ? {} : { expiresAt: now };
  return move(
    request,
    Status.RELEASED,
    now,
    { type: 'released', actor },
    { resolution: { by: actor, at: now }, pendingExtension: undefined, ...ended },
  );
}

/** An approver or admin ends a grant now; the reason is shown to the requester and audited. */
export function revoke(request: AccessRequest, actor: Person, now: number, reason?: string): Transition {
  assertCanMove(request, Status.REVOKED);
  const why = requireReason(reason, 'revoke it');
  const ended = request.expiresAt === undefined ? {} : { expiresAt: now };
  return move(
    request,
    Status.REVOKED,
    now,
    { type: 'revoked', actor, reason: why },
    { resolution: { by: actor, at: now, reason: why }, pendingExtension: undefined, ...ended },
  );
}

function assertExtendable(request: AccessRequest): void {
  if (request.status !== Status.ACTIVE || request.expiresAt === undefined) {
    throw new DomainError(
      ErrorCodes.REQUEST_ILLEGAL_TRANSITION,
      `Only an active grant can be extended; request ${request.id} is ${describeStatus(request.status)}.${isClosed(request.status) ? ' File a new request instead.' : ' Wait until the membership is in place.'}`,
    );
  }
}

/**
 * Moves an active grant's end later by `addedMs`. Caps are checked by the caller's policy.
 * `approvedBy`: the approvers who agreed (when policy asked them); the event's actor is the
 * last of them, or the requester when no approval was needed.
 */
export function extend(
  request: AccessRequest,
  actor: Person,
  addedMs: number,
  now: number,
  reason?: string,
  approvedBy?: Person[],
): Transition {
  assertExtendable(request);
  // An approved offer keeps its number; a direct extension is the next one asked.
  const n =
    request.pendingExtension && approvedBy?.length ? extensionNumber(request)! : nextExtensionNumber(request);
  const extension: Extension = {
    by: actor,
    at: now,
    addedMs,
    ...(reason ? { reason } : {}),
    ...(approvedBy?.length ? { approvedBy } : {}),
    n,
  };
  const next: AccessRequest = {
    ...request,
    expiresAt: request.expiresAt! + addedMs,
    extensions: [...request.extensions, extension],
    pendingExtension: undefined,
    extensionsAsked: Math.max(n, request.extensionsAsked ?? 0),
    warnedAt: undefined,
    updatedAt: now,
  };
  const by = approvedBy?.length ? approvedBy[approvedBy.length - 1]! : actor;
  return {
    request: next,
    events: [
      {
        type: 'extended',
        requestId: request.id,
        at: now,
        actor: by,
        reason,
        detail: {
          added: formatDuration(addedMs),
          expiresAt: new Date(next.expiresAt!).toISOString(),
          requestedBy: actor.id,
          extension: n,
        },
      },
    ],
  };
}

/** The requester asks for more time on an active grant; approvers decide it (`voteOnExtension`). */
export function requestExtension(
  request: AccessRequest,
  actor: Person,
  addedMs: number,
  now: number,
  reason?: string,
): Transition {
  assertExtendable(request);
  if (request.pendingExtension) {
    throw new DomainError(
      ErrorCodes.REQUEST_DUPLICATE,
      `An extension of request ${request.id} is already waiting for approval; wait for the approvers' decision.`,
    );
  }
  const n = nextExtensionNumber(request);
  const next: AccessRequest = {
    ...request,
    pendingExtension: { by: actor, at: now, addedMs, ...(reason ? { reason } : {}), votes: [], n },
    extensionsAsked: n,
    updatedAt: now,
  };
  return {
    request: next,
    events: [
      {
        type: 'extension_requested',
        requestId: request.id,
        at: now,
        actor,
        reason,
        detail: { added: formatDuration(addedMs), extension: n },
      },
    ],
  };
}

/**
 * An approver's vote on a pending extension: the same rules as on the request itself — one
 * vote per person, `approvalsRequired` approvals extend, any deny (with a reason) drops it.
 */
export function voteOnExtension(
  request: AccessRequest,
  voter: Person,
  decision: 'approve' | 'deny',
  now: number,
  reason?: string,
): Transition {
  assertExtendable(request);
  const offer = request.pendingExtension;
  if (!offer)
    throw new DomainError(
      ErrorCodes.REQUEST_ALREADY_RESOLVED,
      `Request ${request.id} is already active and no extension is waiting; nothing was changed.`,
    );
  if (offer.votes.some((v) => sameId(v.by.id, voter.id))) {
    throw new DomainError(
      ErrorCodes.ALREADY_VOTED,
      `You have already voted on this extension of ${request.id}; another approver has to give the next approval.`,
    );
  }
  if (decision === 'deny') {
    const why = requireReason(reason, 'deny the extension');
    return {
      request: { ...request, pendingExtension: undefined, updatedAt: now },
      events: [
        {
          type: 'extension_denied',
          requestId: request.id,
          at: now,
          actor: voter,
          reason: why,
          detail: { added: formatDuration(offer.addedMs), extension: extensionNumber(request) },
        },
      ],
    };
  }
  const votes = [...offer.votes, { by: voter, decision, at: now, ...(reason ? { reason } : {}) }];
  if (votes.length >= request.approvalsRequired) {
    return extend(
      request,
      offer.by,
      offer.addedMs,
      now,
      offer.reason,
      votes.map((v) => v.by),
    );
  }
  return {
    request: { ...request, pendingExtension: { ...offer, votes }, updatedAt: now },
    events: [
      {
        type: 'voted',
        requestId: request.id,
        at: now,
        actor: voter,
        detail: { extension: true, approvals: votes.length, required: request.approvalsRequired },
      },
    ],
  };
}

/**
 * What a decision button decides: the request itself, or its extension number n. Card action
 * data carries it, so that a click decides only what its card showed (PRODUCT.md §4).
 */
export type DecisionSubject = 'request' | `extension:${number}`;

export const DECISION_SUBJECT_PATTERN = /^(request|extension:[1-9][0-9]{0,3})$/;

/**
 * The number of the extension waiting for approval: the nth extension asked on the request.
 * An offer stored before offers were numbered counts as the one after those granted.
 */
function extensionNumber(request: AccessRequest): number | undefined {
  const offer = request.pendingExtension;
  if (!offer) return undefined;
  return offer.n ?? request.extensions.length + 1;
}

/** The number the next extension asked on this request gets (denied ones are counted too). */
export function nextExtensionNumber(request: AccessRequest): number {
  return Math.max(request.extensionsAsked ?? 0, request.extensions.length, extensionNumber(request) ?? 0) + 1;
}

/** The decision approvers can take on the request now, if any. */
export function pendingDecision(request: AccessRequest): DecisionSubject | undefined {
  if (request.status === Status.PENDING) return 'request';
  if (request.status === Status.ACTIVE && request.pendingExtension)
    return `extension:${extensionNumber(request)!}`;
  return undefined;
}

/** A decision subject in words: "the request itself", "extension 2 (3h30m more)". */
export function describeDecision(subject: DecisionSubject, request?: AccessRequest): string {
  if (subject === 'request') return 'the request itself';
  const n = subject.slice('extension:'.length);
  const offer = request && pendingDecision(request) === subject ? request.pendingExtension : undefined;
  return offer ? `extension ${n} (${formatDuration(offer.addedMs)} more)` : `extension ${n}`;
}

/** Object ids compare without regard to case (Graph returns them lower-case, people may not). */
export function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Total length the grant will have had once `addedMs` more is given. */
export function totalLengthWith(request: AccessRequest, addedMs: number): number {
  return request.durationMs + request.extensions.reduce((sum, e) => sum + e.addedMs, 0) + addedMs;
}

/**
 * Nobody decided within `escalateAfter` (or every approver is away): the escalation approvers
 * are asked too. Once per request; it stays pending, and the pending timeout still ends it.
 */
export function escalate(
  request: AccessRequest,
  now: number,
  reason: 'timeout' | 'all_away',
  channel?: string,
): Transition {
  if (request.status !== Status.PENDING || request.escalatedAt !== undefined)
    throw new DomainError(
      ErrorCodes.REQUEST_ALREADY_RESOLVED,
      `Request ${request.id} is ${request.escalatedAt !== undefined ? 'already escalated' : describeStatus(request.status)}; nothing was changed.`,
    );
  const escalation = { reason, ...(channel ? { channel } : {}) };
  return {
    request: { ...request, escalatedAt: now, escalation, updatedAt: now },
    events: [{ type: 'escalated', requestId: request.id, at: now, reason, detail: { ...escalation } }],
  };
}

/** Marks a side-notice as sent (reminder, expiry warning) without changing the status. */
export function note(request: AccessRequest, type: 'reminded' | 'warned', now: number): Transition {
  const changes = type === 'reminded' ? { remindedAt: now } : { warnedAt: now };
  return {
    request: { ...request, ...changes, updatedAt: now },
    events: [{ type, requestId: request.id, at: now }],
  };
}
