import { randomInt } from 'node:crypto';
import { DomainError, ErrorCodes } from '../domain/errors';
import { isConflict, retryOnConflict } from './retry-on-conflict';
import { rulesFor, type GroupRules, type Policy } from '../domain/policy';
import { actionAsTargetRules, findTargetAlias, targetKind } from '../domain/action-rules';
import { extensionNeedsApproval, mayApproveOwnExtension } from '../domain/extension-rules';
import { breakGlassNotNeededError, overlapWaitingError } from './overlap';
import { personTimeZone } from './presenter';
import { formatDuration, truncateForMessage } from '../domain/duration';
import { newRequestId, normalizeId } from '../domain/ids';
import { checkSubmit } from '../domain/submit-rules';
import * as lifecycle from '../domain/request';
import { dueAtOf } from '../domain/timing';
import {
  Status,
  type AccessRequest,
  type Person,
  type RequestClient,
  type Transition,
  type WorkflowContext,
} from '../domain/request';
import type { Clock } from '../ports/clock';
import type { Directory } from '../ports/directory';
import type { CompletedEffect, Store } from '../ports/store';
import { Authorizer } from './authorization';
import { effectsFor, placeEffect } from './effects';
import { webhookEffectsFor } from './webhook-effects';
import { currentDelegations } from './delegations';
import type { RequestLimiter } from './rate-limit';

export type GrantMode = 'membership' | 'pim';

export interface AccessServiceDeps {
  store: Store;
  directory: Directory;
  policy: Policy;
  clock: Clock;
  mode?: GrantMode;
  /** Called after every commit, so the worker and the scheduler look again. */
  onCommit?: () => void;
  /** Limits new requests per person (a flood would bury the approvers' channel); none = no limit. */
  rateLimiter?: RequestLimiter;
}

export interface SubmitInput {
  requester: Person;
  tenantId?: string;
  group: string;
  durationMs?: number;
  justification?: string;
  ticket?: string;
  breakGlass?: boolean;
  /** The API client filing it (absent = asked in Teams). */
  client?: RequestClient;
  context?: WorkflowContext;
  /**
   * A caller-chosen id (the API's idempotency): used as is; when it is taken, nothing is filed
   * and REQUEST_ID_TAKEN says so. Absent = a random id.
   */
  id?: string;
  idempotency?: { key: string; bodyHash: string };
  /** A scheduled start (`request … at <time>`): decided now, granted then. */
  startsAt?: number;
}

/** One call of the workflow API, for the audit log. */
export interface ApiCallRecord {
  client: RequestClient;
  /** The client's own service principal, when the token named it. */
  actor?: Person;
  method: string;
  path: string;
  status: number;
  code?: string;
  requestId?: string;
}

export interface SubmitResult {
  request: AccessRequest;
  /** `extension`: the person already held the group, so the ask became an extension of that grant. */
  outcome: 'created' | 'extension';
}

const MAX_CONFLICT_RETRIES = 5;
const DAY_MS = 24 * 3_600_000;
const MIN_SCHEDULE_AHEAD_MS = 60_000;
/** How many of a person's latest closed requests the auto-approve budget looks through (far above any maxPerDay). */
const RECENT_FOR_BUDGET = 500;

/**
 * The use cases. State always comes from the store; the actor always comes from the
 * authenticated activity. Every change is one conditional commit with its side effects.
 */
export class AccessService {
  readonly authorizer: Authorizer;
  readonly mode: GrantMode;
  /**
   * The tail of each (requester, group)'s queue of submits, so that in one process a second ask
   * becomes an extension or a duplicate notice rather than losing a race. Across processes the
   * store's constraint (REQUEST_OPEN_EXISTS) is what holds.
   */
  private readonly submitting = new Map<string, Promise<void>>();

  constructor(private readonly deps: AccessServiceDeps) {
    this.authorizer = new Authorizer(deps.policy, deps.directory);
    this.mode = deps.mode ?? 'membership';
  }

  get policy(): Policy {
    return this.deps.policy;
  }

  /** The rules of a group, or of an action in a group's shape (`targetKind: 'action'`). */
  rules(alias: string): GroupRules {
    return targetKind(this.deps.policy, alias) === 'action'
      ? actionAsTargetRules(this.deps.policy, alias)
      : rulesFor(this.deps.policy, alias);
  }

  /** Resolves a group or an action typed by a person (alias or display name). */
  resolveGroup(text: string): GroupRules {
    const alias = findTargetAlias(this.deps.policy, text);
    if (!alias) {
      const actions = Object.keys(this.deps.policy.actions);
      const known = Object.keys(this.deps.policy.groups).join(', ');
      const also = actions.length ? `; actions: ${actions.join(', ')}` : '';
      throw new DomainError(
        ErrorCodes.GROUP_UNKNOWN,
        `There is no group "${truncateForMessage(text)}". Groups you can ask for: ${known}${also}.`,
        { text },
      );
    }
    return this.rules(alias);
  }

  /** Groups a person may request (policy `eligible`). */
  async requestableGroups(person: Person): Promise<GroupRules[]> {
    const out: GroupRules[] = [];
    for (const alias of Object.keys(this.deps.policy.groups)) {
      const rules = this.rules(alias);
      if (await this.authorizer.isEligible(rules, person)) out.push(rules);
    }
    return out;
  }

  /**
   * Files a request. Submits of one person for one group run one at a time: the duplicate and
   * overlap checks below read the store, and two racing submits must not both pass them.
   */
  async submit(input: SubmitInput): Promise<SubmitResult> {
    const key = `${input.requester.id.toLowerCase()}/${findTargetAlias(this.deps.policy, input.group) ?? input.group}`;
    const previous = this.submitting.get(key) ?? Promise.resolve();
    const run = previous.then(
      () => this.submitNow(input),
      () => this.submitNow(input),
    );
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.submitting.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.submitting.get(key) === tail) this.submitting.delete(key);
    }
  }

  private async submitNow(input: SubmitInput): Promise<SubmitResult> {
    const now = this.deps.clock.now();
    const rules = this.resolveGroup(input.group);
    const requester = input.requester;
    // NB: a client's own service principal is eligible by the client's `may`, which the API
    // checked; `eligible` lists name people (and a person asked for through onBehalfOf is one).
    const machine = requester.kind === 'service_principal';
    if (machine && !input.client)
      throw new DomainError(ErrorCodes.NOT_ELIGIBLE, 'A service principal asks through the API only.');
    // NB: PIM for Groups assigns people and groups, not service principals: say so before filing.
    if (machine && this.mode === 'pim' && rules.targetKind !== 'action')
      throw new DomainError(
        ErrorCodes.NOT_ELIGIBLE,
        `${rules.alias} is granted through PIM for Groups, which does not take service principals; ask on behalf of a person (onBehalfOf) or for an action instead.`,
      );
    if (!machine && !(await this.authorizer.isEligible(rules, requester))) {
      throw new DomainError(
        ErrorCodes.NOT_ELIGIBLE,
        `You are not eligible to request ${rules.alias}. Ask an admin to add you to its eligible list.`,
      );
    }
    // The policy's rules on an ask, one check each (domain/submit-rules.ts).
    const { durationMs, justification, ticket } = checkSubmit(rules, input);
    if (input.startsAt !== undefined) checkStart(rules, input, now);

    const mine = await this.deps.store.listOpen({ requesterId: requester.id, groupAlias: rules.alias });
    const active = mine.find((r) => r.status === Status.ACTIVE);
    // NB: the refusals below print the grant's end, in the zone the person's Teams told.
    const zone = active ? await personTimeZone(this.deps.store, requester.id) : undefined;
    if (active && input.breakGlass) throw breakGlassNotNeededError(active, now, zone);
    if (active?.pendingExtension) throw overlapWaitingError(active, now, zone);
    if (active && input.startsAt !== undefined)
      throw new DomainError(
        ErrorCodes.REQUEST_DUPLICATE,
        `You hold ${rules.alias} now (request ${active.id}); a scheduled request cannot overlap it. Extend it instead, or schedule once it has ended.`,
      );
    if (active) {
      // Overlap: a second ask for a group the person holds becomes an extension of that grant.
      const extended = await this.extend({
        requestId: active.id,
        actor: requester,
        addedMs: durationMs,
        reason: justification,
      });
      return { request: extended, outcome: 'extension' };
    }
    const waiting = mine.find((r) => r.status === Status.PENDING || r.status === Status.APPROVED);
    if (waiting) throw duplicateError(waiting, rules.alias);

    const qualifies =
      !input.breakGlass && (await this.authorizer.qualifiesForAutoApprove(rules, requester, durationMs));
    const autoApproveSkipped = qualifies
      ? await this.autoApproveBudgetSpent(rules, requester, now)
      : undefined;
    const kind = input.breakGlass ? 'break_glass' : qualifies && !autoApproveSkipped ? 'auto' : 'standard';
    // Taken only for a request that will really be filed (not for refusals, and not for an extension).
    // Awaited: the shared (database) limiter answers asynchronously; a refusal throws before anything is filed.
    const refund = await this.deps.rateLimiter?.take(requester.id);
    for (let attempt = 0; ; attempt++) {
      const created = lifecycle.createRequest(
        {
          id: input.id ?? newRequestId(randomInt),
          targetKind: rules.targetKind,
          client: input.client,
          context: input.context,
          idempotency: input.idempotency,
          autoApproveSkipped,
          startsAt: input.startsAt,
          tenantId: input.tenantId,
          requester,
          group: { alias: rules.alias, id: rules.groupId, displayName: rules.displayName },
          approverChannel: rules.approverChannel,
          durationMs,
          justification,
          ticket,
          approvalsRequired: rules.approvals,
          kind,
        },
        now,
      );
      let transition: Transition = created;
      if (kind !== 'standard') {
        const rule = kind === 'auto' ? 'auto_approved' : 'break_glass';
        const reason = kind === 'auto' ? 'auto-approve rule of the group' : justification;
        const approved = lifecycle.approveByRule(created.request, rule, now, reason);
        transition = { request: approved.request, events: [...created.events, ...approved.events] };
      }
      try {
        const stored = await this.commitTransition(transition, null);
        return { request: stored, outcome: 'created' };
      } catch (error) {
        if (error instanceof DomainError && error.code === ErrorCodes.REQUEST_OPEN_EXISTS) {
          // The store's constraint: another open request of this person for this group was filed
          // meanwhile (another process, or a race the checks above lost). Say so as the check does.
          refund?.();
          throw await this.duplicateOf(requester, rules.alias, error);
        }
        // A conflict on create is an id collision: draw another id (a caller's id stays its own).
        if (isConflict(error) && input.id !== undefined) {
          refund?.();
          throw new DomainError(ErrorCodes.REQUEST_ID_TAKEN, `Request id ${input.id} is already taken.`, {
            id: input.id,
          });
        }
        if (!isConflict(error) || attempt >= 3) {
          refund?.();
          throw error;
        }
      }
    }
  }

  /**
   * `autoApprove.maxPerDay`: whether the person has used up the group's auto-approvals of the
   * last 24 hours (rolling, so no time zone decides where a day ends). Undefined = within
   * budget; else why the request goes to people, for its card. NB: one process counts exactly
   * (submits of one person and group run one at a time); replicas racing may each let one more through.
   */
  private async autoApproveBudgetSpent(
    rules: GroupRules,
    requester: Person,
    now: number,
  ): Promise<string | undefined> {
    const max = rules.autoApprove?.maxPerDay;
    if (max === undefined) return undefined;
    const since = now - DAY_MS;
    const mine = [
      ...(await this.deps.store.listOpen({ requesterId: requester.id, groupAlias: rules.alias })),
      ...(await this.deps.store.listRecentClosed(requester.id, RECENT_FOR_BUDGET)),
    ];
    const used = new Set(
      mine
        .filter((r) => r.group.alias === rules.alias && r.kind === 'auto' && r.createdAt > since)
        .map((r) => r.id),
    ).size;
    if (used < max) return undefined;
    return `Not approved automatically: ${requester.name} already had ${used} auto-approved request${used === 1 ? '' : 's'} for ${rules.alias} in the last 24 hours (autoApprove.maxPerDay: ${max}), so an approver decides this one.`;
  }

  /** The refusal for a submit the store's one-open-request constraint turned down: the same words as the check's. */
  private async duplicateOf(requester: Person, alias: string, cause: DomainError): Promise<DomainError> {
    const open = await this.deps.store
      .listOpen({ requesterId: requester.id, groupAlias: alias })
      .catch(() => []);
    const other = open[0];
    if (other) return duplicateError(other, alias);
    return new DomainError(
      ErrorCodes.REQUEST_DUPLICATE,
      `You already have an open request for ${alias}. Cancel it first, or wait for it.`,
      cause.details,
    );
  }

  /**
   * An approver's click: a vote on the request, or on its pending extension once it is active.
   * A deny needs a reason (REASON_REQUIRED), checked after who may decide and in what state.
   * `subject`: what the clicked button decides (card clicks always give one; a click from a
   * card without one counts as `request`). When it is not the decision pending now, nothing
   * changes (DECISION_STALE): an old Approve never decides a later extension.
   */
  async decide(
    requestId: string,
    actor: Person,
    decision: 'approve' | 'deny',
    reason?: string,
    subject?: lifecycle.DecisionSubject,
  ): Promise<AccessRequest> {
    const trimmed = reason?.trim() || undefined;
    return this.change(requestId, async (request, now) => {
      const rules = this.rulesOf(request);
      // Not an approver: perhaps an approver's delegate (one level, never on their own request).
      const approver = await this.mayDecide(request, rules, actor);
      const forWhom = approver
        ? undefined
        : await this.authorizer.standsInFor(
            actor,
            rules,
            request,
            await currentDelegations(this.deps.store, now),
            now,
          );
      if (!approver && !forWhom) {
        throw new DomainError(
          ErrorCodes.NOT_APPROVER,
          `Only approvers of ${request.group.alias} can ${decision} it; nothing was changed.`,
        );
      }
      if (subject !== undefined) assertDecidingPending(request, subject);
      if (request.status === Status.ACTIVE && request.pendingExtension) {
        // NB: delegation covers decisions on requests; an extension is decided by the approvers.
        if (forWhom)
          throw new DomainError(
            ErrorCodes.NOT_APPROVER,
            `You stand in for ${forWhom.name} on new requests; an extension is decided by the approvers of ${request.group.alias} themselves. Nothing was changed.`,
          );
        return this.decideExtension(request, actor, decision, now, trimmed);
      }
      if (decision === 'approve' && isSelf(request, actor) && !rules.allowSelfApproval) {
        throw new DomainError(
          ErrorCodes.SELF_APPROVAL,
          'You cannot approve your own request; another approver has to.',
        );
      }
      return lifecycle.castVote(request, actor, decision, now, trimmed, forWhom);
    });
  }

  async cancel(requestId: string, actor: Person): Promise<AccessRequest> {
    return this.change(requestId, async (request, now) => {
      if (!isSelf(request, actor)) {
        throw new DomainError(
          ErrorCodes.NOT_REQUESTER,
          `Request ${request.id} is not yours: only the person who asked for it can cancel it (approvers can deny it).`,
        );
      }
      return lifecycle.cancel(request, actor, now);
    });
  }

  /** Ends one's own grant now (active, or approved and still being added). */
  async release(requestId: string, actor: Person): Promise<AccessRequest> {
    return this.change(requestId, async (request, now) => {
      if (!isSelf(request, actor)) {
        throw new DomainError(
          ErrorCodes.NOT_REQUESTER,
          `Request ${request.id} is not yours: only the person who holds the grant can release it (approvers and admins can revoke it).`,
        );
      }
      return lifecycle.release(request, actor, now);
    });
  }

  /** Ends someone's grant now: the group's approvers and admins may. */
  async revoke(requestId: string, actor: Person, reason?: string): Promise<AccessRequest> {
    return this.change(requestId, async (request) => {
      const allowed =
        (await this.authorizer.isApprover(this.rulesOf(request), actor)) ||
        (await this.authorizer.isAdmin(actor));
      if (!allowed)
        throw new DomainError(
          ErrorCodes.NOT_APPROVER,
          `Only approvers of ${request.group.alias} and admins can revoke it; ask one of them in the approvers' channel.`,
        );
      // NB: the grant ends when the revoke is decided, after the approver check (Graph calls that
      // may wait out a Retry-After), not when the click came in: expiresAt is what the 5 s
      // removal bound is counted from, and it must not lie before the decision.
      return lifecycle.revoke(request, actor, this.deps.clock.now(), reason?.trim() || undefined);
    });
  }

  /** An approver says "I'm reviewing": shown on the card for everyone; changes no decision. */
  async claim(requestId: string, actor: Person): Promise<AccessRequest> {
    return this.change(requestId, async (request, now) => {
      const rules = this.rulesOf(request);
      if (!(await this.mayDecide(request, rules, actor))) {
        throw new DomainError(
          ErrorCodes.NOT_APPROVER,
          `Only approvers of ${request.group.alias} can claim it.`,
        );
      }
      // NB: a requester who is also an approver "reviewing" their own request would tell the
      // other approvers that someone is on it, and hold up a real review.
      if (isSelf(request, actor) && !rules.allowSelfApproval) {
        throw new DomainError(
          ErrorCodes.SELF_APPROVAL,
          'You cannot review your own request; another approver has to.',
        );
      }
      if (request.status !== Status.PENDING) {
        throw new DomainError(
          ErrorCodes.REQUEST_ALREADY_RESOLVED,
          `Request ${request.id} is already ${lifecycle.describeStatus(request.status)}.`,
        );
      }
      if (request.claimedBy && lifecycle.sameId(request.claimedBy.id, actor.id))
        throw new DomainError(ErrorCodes.REQUEST_DUPLICATE, 'You are already reviewing it.');
      return {
        request: { ...request, claimedBy: actor, updatedAt: now },
        events: [{ type: 'claimed', requestId: request.id, at: now, actor }],
      };
    });
  }

  /** An approver or admin acknowledges a break-glass grant after the fact (audited). */
  async acknowledge(requestId: string, actor: Person): Promise<AccessRequest> {
    return this.change(requestId, async (request, now) => {
      const allowed =
        (await this.authorizer.isApprover(this.rulesOf(request), actor)) ||
        (await this.authorizer.isAdmin(actor));
      if (!allowed)
        throw new DomainError(
          ErrorCodes.NOT_APPROVER,
          `Only approvers of ${request.group.alias} and admins can acknowledge it.`,
        );
      // NB: the acknowledgement is the second pair of eyes on access nobody approved beforehand;
      // the person who broke the glass cannot give it, even where self-approval is allowed.
      if (isSelf(request, actor)) {
        throw new DomainError(
          ErrorCodes.SELF_APPROVAL,
          'You cannot acknowledge your own break-glass access; another approver or an admin has to.',
        );
      }
      if (request.kind !== 'break_glass')
        throw new DomainError(
          ErrorCodes.REQUEST_ILLEGAL_TRANSITION,
          `Request ${request.id} is not a break-glass grant; only break-glass grants are acknowledged.`,
        );
      if (request.acknowledgedBy) {
        throw new DomainError(
          ErrorCodes.REQUEST_ALREADY_RESOLVED,
          `${request.acknowledgedBy.name} already acknowledged request ${request.id}.`,
        );
      }
      return {
        request: { ...request, acknowledgedBy: actor, acknowledgedAt: now, updatedAt: now },
        events: [{ type: 'acknowledged', requestId: request.id, at: now, actor }],
      };
    });
  }

  /** Extends an active grant, directly or as an offer approvers decide, as policy says. */
  async extend(input: {
    requestId: string;
    actor: Person;
    addedMs: number;
    reason?: string;
  }): Promise<AccessRequest> {
    const reason = input.reason?.trim() || undefined;
    return this.change(input.requestId, async (request, now) => {
      if (!isSelf(request, input.actor)) {
        throw new DomainError(
          ErrorCodes.NOT_REQUESTER,
          `Request ${request.id} is not yours: only the person who holds the grant can extend it.`,
        );
      }
      if (!Number.isFinite(input.addedMs) || input.addedMs <= 0) {
        throw new DomainError(
          ErrorCodes.DURATION_INVALID,
          'An extension must be longer than zero, like 30m or 1h.',
        );
      }
      if (lifecycle.isAction(request))
        throw new DomainError(
          ErrorCodes.EXTENSION_NOT_ALLOWED,
          `Request ${request.id} is an approval to ${request.group.displayName}; an approval is not extended. Ask again when you need it.`,
          { group: request.group.alias },
        );
      // NB: not the defaults of fallbackRules: a group gone from the policy has no rules for more time.
      if (!Object.hasOwn(this.deps.policy.groups, request.group.alias)) {
        throw new DomainError(
          ErrorCodes.EXTENSION_NOT_ALLOWED,
          `${request.group.alias} is no longer in the policy; its grant cannot be extended. File a new request for a group the policy has ("help" lists them), or ask an admin.`,
          { group: request.group.alias },
        );
      }
      const rules = this.rulesOf(request);
      if (request.status === Status.ACTIVE) this.assertWithinMaxTotal(request, rules, input.addedMs);
      // Break-glass and auto-approved grants always go to the approvers (guarantee 7).
      if (extensionNeedsApproval(request, rules))
        return lifecycle.requestExtension(request, input.actor, input.addedMs, now, reason);
      return lifecycle.extend(request, input.actor, input.addedMs, now, reason);
    });
  }

  /** Scheduler: the grant's time is up. */
  expire(requestId: string): Promise<AccessRequest | undefined> {
    return this.whenDue(
      requestId,
      (r, now) =>
        (r.status === Status.ACTIVE || (r.status === Status.APPROVED && lifecycle.isAction(r))) &&
        r.expiresAt !== undefined &&
        r.expiresAt <= now,
      (r, now) => lifecycle.expire(r, now),
    );
  }

  /**
   * Scheduler: a scheduled request's start. Eligibility and policy are checked again, as at
   * the ask (a person removed from `eligible` meanwhile, a group gone, a duration now over the
   * maximum): then it fails, saying why, and nothing is added. Else it is approved from now.
   */
  async start(requestId: string): Promise<AccessRequest | undefined> {
    return retryOnConflict(MAX_CONFLICT_RETRIES, async () => {
      const request = await this.deps.store.get(requestId);
      const now = this.deps.clock.now();
      if (!request || request.status !== Status.SCHEDULED || (request.startsAt ?? 0) > now) return undefined;
      const refusal = await this.startRefusal(request);
      const transition = refusal
        ? lifecycle.markFailed(request, now, { code: refusal.code, message: refusal.message }, true)
        : lifecycle.startScheduled(request, now);
      return this.commitTransition(transition, request.version);
    });
  }

  /** Why a scheduled request may no longer start, or undefined when it may. */
  private async startRefusal(request: AccessRequest): Promise<DomainError | undefined> {
    const kind = lifecycle.isAction(request) ? 'action' : 'group';
    if (targetKind(this.deps.policy, request.group.alias) !== kind)
      return new DomainError(
        ErrorCodes.GROUP_UNKNOWN,
        `${request.group.alias} is no longer in the policy, so the scheduled start was not carried out.`,
      );
    const rules = this.rules(request.group.alias);
    const machine = request.requester.kind === 'service_principal';
    if (!machine && !(await this.authorizer.isEligible(rules, request.requester)))
      return new DomainError(
        ErrorCodes.NOT_ELIGIBLE,
        `${request.requester.name} is no longer eligible for ${rules.alias}, so the scheduled start was not carried out.`,
      );
    if (request.durationMs > rules.maxDurationMs)
      return new DomainError(
        ErrorCodes.DURATION_TOO_LONG,
        `${rules.alias} now allows ${formatDuration(rules.maxDurationMs)} at most, less than the ${formatDuration(request.durationMs)} approved, so the scheduled start was not carried out.`,
      );
    return undefined;
  }

  /**
   * Scheduler (or the worker, when every approver is away): asks the escalation approvers too.
   * Once per request; the pending timeout still ends it.
   */
  escalate(
    requestId: string,
    reason: 'timeout' | 'all_away' = 'timeout',
  ): Promise<AccessRequest | undefined> {
    return this.whenDue(
      requestId,
      (r, now) => {
        const escalation = this.rulesOf(r).escalation;
        if (r.status !== Status.PENDING || r.escalatedAt !== undefined || !escalation) return false;
        return (
          reason === 'all_away' ||
          (escalation.afterMs !== undefined && now >= r.createdAt + escalation.afterMs)
        );
      },
      (r, now) => lifecycle.escalate(r, now, reason, this.rulesOf(r).escalation?.channel),
    );
  }

  /** Whether `actor` sees the decision buttons: an approver (or escalation approver), or a delegate of one. */
  async canDecide(request: AccessRequest, actor: Person): Promise<boolean> {
    const rules = this.rulesOf(request);
    if (await this.mayDecide(request, rules, actor)) return true;
    const now = this.deps.clock.now();
    const delegations = await currentDelegations(this.deps.store, now);
    return (await this.authorizer.standsInFor(actor, rules, request, delegations, now)) !== undefined;
  }

  /** Who may decide a request: its approvers, and once it escalated, the escalation approvers too. */
  async mayDecide(request: AccessRequest, rules: GroupRules, actor: Person): Promise<boolean> {
    if (await this.authorizer.isApprover(rules, actor)) return true;
    if (request.escalatedAt === undefined || !rules.escalation) return false;
    return this.authorizer.matches(rules.escalation.approvers, actor);
  }

  /** Scheduler: nobody decided within pendingTimeout. */
  timeOut(requestId: string): Promise<AccessRequest | undefined> {
    return this.whenDue(
      requestId,
      (r, now) => r.status === Status.PENDING && now >= r.createdAt + this.rulesOf(r).pendingTimeoutMs,
      (r, now) => lifecycle.timeOut(r, now),
    );
  }

  /** Scheduler: remind the approvers once, `remindAfter` after the request was filed. */
  remind(requestId: string): Promise<AccessRequest | undefined> {
    return this.whenDue(
      requestId,
      (r, now) =>
        r.status === Status.PENDING &&
        r.remindedAt === undefined &&
        now >= r.createdAt + this.rulesOf(r).remindAfterMs,
      (r, now) => lifecycle.note(r, 'reminded', now),
    );
  }

  /** Scheduler: warn the requester once, `expiryWarning` before the end. */
  warn(requestId: string): Promise<AccessRequest | undefined> {
    return this.whenDue(
      requestId,
      (r, now) =>
        r.status === Status.ACTIVE &&
        r.warnedAt === undefined &&
        r.expiresAt !== undefined &&
        now >= r.expiresAt - this.rulesOf(r).expiryWarningMs &&
        now < r.expiresAt,
      (r, now) => lifecycle.note(r, 'warned', now),
    );
  }

  /** Writes a refusal to the audit log; it changes nothing else. */
  async auditRefusal(
    requestId: string | undefined,
    actor: Person | undefined,
    action: string,
    error: DomainError,
    detail: Record<string, unknown> = {},
  ): Promise<void> {
    await this.deps.store.appendAudit([
      {
        type: 'refused',
        requestId: requestId ?? '',
        at: this.deps.clock.now(),
        actor,
        reason: error.message,
        detail: { ...detail, action, code: error.code },
      },
    ]);
  }

  /** Writes one call of the workflow API to the audit log, with the client that made it. */
  async auditApiCall(call: ApiCallRecord): Promise<void> {
    await this.deps.store.appendAudit([
      {
        type: 'api_called',
        requestId: call.requestId ?? '',
        at: this.deps.clock.now(),
        actor: call.actor ?? { id: call.client.appId, name: call.client.name, kind: 'service_principal' },
        detail: {
          client: call.client.name,
          appId: call.client.appId,
          method: call.method,
          path: call.path,
          status: call.status,
          ...(call.code ? { code: call.code } : {}),
        },
      },
    ]);
  }

  async get(requestId: string): Promise<AccessRequest> {
    const request = await this.deps.store.get(normalizeId(requestId));
    if (!request)
      throw new DomainError(
        ErrorCodes.REQUEST_NOT_FOUND,
        `There is no request ${truncateForMessage(requestId)}. "status" lists yours.`,
      );
    return request;
  }

  /** Commits a transition computed elsewhere (the worker's grant and failure transitions). */
  async commitTransition(
    transition: Transition,
    expectedVersion: number | null,
    completed?: string[] | CompletedEffect[],
  ): Promise<AccessRequest> {
    const effects = transition.events
      .flatMap((event) => [
        ...effectsFor(event, transition.request, this.mode),
        ...webhookEffectsFor(event, transition.request, this.deps.policy),
      ])
      .map((e) => placeEffect(e, transition.request));
    const done = completed?.length
      ? typeof completed[0] === 'string'
        ? { completedEffectIds: completed as string[] }
        : { completedEffects: completed as CompletedEffect[] }
      : {};
    // The scheduler's next look at the request, stored with it (so it never lists every open request).
    const dueAt = dueAtOf(transition.request, this.rulesOf(transition.request));
    const stored = await this.deps.store.commit({
      request: transition.request,
      expectedVersion,
      events: transition.events,
      effects,
      dueAt,
      ...done,
    });
    this.deps.onCommit?.();
    return stored;
  }

  rulesOf(request: AccessRequest): GroupRules {
    const kind = lifecycle.isAction(request) ? 'action' : 'group';
    return targetKind(this.deps.policy, request.group.alias) === kind
      ? this.rules(request.group.alias)
      : fallbackRules(this.deps.policy, request);
  }

  private decideExtension(
    request: AccessRequest,
    actor: Person,
    decision: 'approve' | 'deny',
    now: number,
    reason?: string,
  ): Transition {
    const rules = this.rulesOf(request);
    if (decision === 'approve') {
      if (isSelf(request, actor) && !mayApproveOwnExtension(request, rules)) {
        throw new DomainError(
          ErrorCodes.SELF_APPROVAL,
          'You cannot approve your own extension; another approver has to.',
        );
      }
      // Policy may have tightened since the extension was asked for.
      this.assertWithinMaxTotal(request, rules, request.pendingExtension!.addedMs);
    }
    return lifecycle.voteOnExtension(request, actor, decision, now, reason);
  }

  private assertWithinMaxTotal(request: AccessRequest, rules: GroupRules, addedMs: number): void {
    const total = lifecycle.totalLengthWith(request, addedMs);
    if (total <= rules.extension.maxTotalMs) return;
    const room = Math.max(0, rules.extension.maxTotalMs - lifecycle.totalLengthWith(request, 0));
    const advice =
      room >= 1000
        ? `You can add up to ${formatDuration(room)}.`
        : `It cannot be extended further; file a new request when it ends.`;
    throw new DomainError(
      ErrorCodes.EXTENSION_TOO_LONG,
      `That would make the grant ${formatDuration(total)} long; ${rules.alias} allows ${formatDuration(rules.extension.maxTotalMs)} in all. ${advice}`,
      { roomMs: room },
    );
  }

  /** Load → decide → conditional commit, again from a fresh read when someone else wrote first. */
  private async change(
    requestId: string,
    decide: (request: AccessRequest, now: number) => Promise<Transition>,
  ): Promise<AccessRequest> {
    return retryOnConflict(MAX_CONFLICT_RETRIES, async () => {
      const request = await this.get(requestId);
      const transition = await decide(request, this.deps.clock.now());
      return this.commitTransition(transition, request.version);
    });
  }

  /** A scheduler action that does nothing when the request is no longer due (already handled). */
  private async whenDue(
    requestId: string,
    due: (request: AccessRequest, now: number) => boolean,
    act: (request: AccessRequest, now: number) => Transition,
  ): Promise<AccessRequest | undefined> {
    return retryOnConflict(MAX_CONFLICT_RETRIES, async () => {
      const request = await this.deps.store.get(requestId);
      const now = this.deps.clock.now();
      if (!request || !due(request, now)) return undefined;
      return this.commitTransition(act(request, now), request.version);
    });
  }
}

/** Rules for a request whose group was removed from the policy since: the defaults, no approvers (and `extend` refuses it). */
function fallbackRules(policy: Policy, request: AccessRequest): GroupRules {
  const orphan = {
    groupId: request.group.id,
    displayName: request.group.displayName,
    approverChannel: request.approverChannel,
    approvers: { users: [], groups: [] },
  };
  const rules = rulesFor({ ...policy, groups: { [request.group.alias]: orphan } }, request.group.alias);
  return lifecycle.isAction(request) ? { ...rules, targetKind: 'action', expiryWarningMs: 0 } : rules;
}

/** A scheduled start is at least a minute ahead and at most `maxScheduleAhead`; break-glass is now or never. */
function checkStart(rules: GroupRules, input: SubmitInput, now: number): void {
  const startsAt = input.startsAt!;
  if (input.breakGlass)
    throw new DomainError(
      ErrorCodes.BREAK_GLASS_NOT_ALLOWED,
      'Break-glass access starts now; it cannot be scheduled. File a scheduled request instead.',
    );
  if (!Number.isFinite(startsAt) || startsAt < now + MIN_SCHEDULE_AHEAD_MS)
    throw new DomainError(
      ErrorCodes.START_TOO_SOON,
      'A scheduled start must be at least a minute ahead. Leave "at …" out to ask for access now.',
    );
  if (startsAt > now + rules.maxScheduleAheadMs)
    throw new DomainError(
      ErrorCodes.START_TOO_FAR,
      `${rules.alias} can be scheduled at most ${formatDuration(rules.maxScheduleAheadMs)} ahead; pick an earlier start.`,
    );
}

/**
 * Refuses a decision button for another decision than the one pending now: the request's own
 * Approve on a grant whose extension is waiting, extension 1's on extension 2, or an
 * extension's once it was decided. The request's own button with nothing pending goes on to
 * the usual "already approved/denied" refusal.
 */
function assertDecidingPending(request: AccessRequest, subject: lifecycle.DecisionSubject): void {
  const pending = lifecycle.pendingDecision(request);
  if (pending === subject || (pending === undefined && subject === 'request')) return;
  const was = `That button was for ${lifecycle.describeDecision(subject)}`;
  const message = pending
    ? `${was}; the decision pending now is ${lifecycle.describeDecision(pending, request)}. Nothing was changed; here is the current card.`
    : `${was}, which is no longer waiting for a decision. Nothing was changed; here is the current card.`;
  throw new DomainError(ErrorCodes.DECISION_STALE, message, { subject, pending });
}

function isSelf(request: AccessRequest, actor: Person): boolean {
  return lifecycle.sameId(request.requester.id, actor.id);
}

function duplicateError(waiting: AccessRequest, alias: string): DomainError {
  return new DomainError(
    ErrorCodes.REQUEST_DUPLICATE,
    `You already have request ${waiting.id} for ${alias} (${lifecycle.describeStatus(waiting.status)}). Cancel it first with "cancel ${waiting.id}", or wait for it.`,
  );
}
