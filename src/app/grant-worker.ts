import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NOTICE_KINDS, type NoticeKind } from '../cards/notice';
import { DomainError, ErrorCodes, isTransient } from '../domain/errors';
import { backoffMs, retryAfterOf } from './backoff';
import { approverChannel } from './approver-channel';
import { MemberBatcher } from './member-batcher';
import { retryOnConflict } from './retry-on-conflict';
import * as lifecycle from '../domain/request';
import { Status, type AccessRequest, type ListCardRef, type MessageLocation } from '../domain/request';
import { sameMessage, trackListCard } from './list-cards';
import type { Policy } from '../domain/policy';
import type { Clock } from '../ports/clock';
import type { Directory } from '../ports/directory';
import type { ChannelTarget, Notifier } from '../ports/notifier';
import type {
  ClaimedEffect,
  CompletedEffect,
  EffectKind,
  EffectLane,
  QueuedEffect,
  Store,
} from '../ports/store';
import { effectsFor, placeEffect } from './effects';
import type { Logger } from '../ports/logger';
import type { WebhookSender } from '../ports/webhook-sender';
import type { AccessService } from './access-service';
import type { Presenter } from './presenter';
import { requestJson } from './request-json';
import { webhookDataOf } from './webhook-effects';
import { ShownCards } from './shown-cards';

export interface WorkerOptions {
  /** Attempts before a Teams effect is given up (it never blocks a grant or a removal). */
  maxTeamsAttempts: number;
  /** Attempts before a failing membership add fails the request. */
  maxAddAttempts: number;
  /**
   * Attempts before a webhook delivery is given up (recorded as notify_failed). More than a
   * Teams effect's: at the slowest pace (maxDelayMs) they span a receiver's restart or deploy.
   */
  maxWebhookAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Serving URL of the Bot Connector when none was learned from the tenant yet. */
  defaultServiceUrl?: string;
  /**
   * Membership effects under way at once. NB: Graph answers a write in ~150 ms; 1,000
   * removals within 5 s need 200 a second, i.e. 30+ in flight. 100 effects go out as 5 JSON
   * batches of 20 (MemberBatcher), so 1,000 removals take ~10 round trips of the lane.
   */
  directorySlots: number;
  /** Teams effects under way at once (Bot Connector posts, updates, replies, notices). */
  teamsSlots: number;
  /**
   * Teams effects under way at once while a removal is due or under way. NB: each Teams
   * effect renders a card (a few ms of CPU): 1,000 grants ending together bring 3,000 of them,
   * which at full speed took the CPU the removals needed (p99 lag 0.8 s → see docs/performance.md).
   */
  teamsSlotsWhileRemoving: number;
  /** How long a claimed effect is ours (renewed every third of it while it runs). */
  leaseMs: number;
  /** Who claims effects: one id per process (default host, pid and a random part). */
  owner?: string;
}

const DEFAULTS: WorkerOptions = {
  maxTeamsAttempts: 8,
  maxAddAttempts: 8,
  maxWebhookAttempts: 20,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  directorySlots: 100,
  teamsSlots: 16,
  teamsSlotsWhileRemoving: 2,
  // NB: short, so that another replica takes over a dead one's effect within the 5 s bound;
  // renewed every third of it while the effect runs.
  leaseMs: 3_000,
};

type Handler = (effect: ClaimedEffect, request: AccessRequest) => Promise<void>;

/** Thrown by a handler when the effect can never run (e.g. its channel is not in the policy): no retries. */
class EffectSkipped extends Error {}

/** Errors of the store itself: the run is retried as it was (no attempt counted), never turned into a failed grant. */
function isStoreTrouble(error: unknown): boolean {
  return (
    error instanceof DomainError &&
    error.code.startsWith('STORE.') &&
    error.code !== ErrorCodes.STORE_LEASE_LOST
  );
}

function isLeaseLost(error: unknown): boolean {
  return error instanceof DomainError && error.code === ErrorCodes.STORE_LEASE_LOST;
}

/** The notice an effect names (thread.reply, person.notify): one of the notice kinds, or the effect can never run. */
function noticeOf(effect: ClaimedEffect): NoticeKind {
  const template = effect.template;
  const kind = NOTICE_KINDS.find((k) => k === template);
  if (!kind) throw new EffectSkipped(`effect ${effect.id} names no notice kind ("${String(template)}")`);
  return kind;
}

/**
 * Runs the outbox: every side effect of every transition, at least once, idempotently, with
 * bounded retries and backoff. What it does next always depends on the request as stored now.
 */
export class GrantWorker {
  private readonly options: WorkerOptions;
  /** A pass looking for due effects is running (`again`: another was asked for meanwhile). */
  private pumping = false;
  private again = false;
  private stopped = false;
  private cancelTimer?: () => void;
  private pass?: Promise<void>;
  /** Who this process claims effects as. */
  readonly owner: string;
  /**
   * Effects under way here, by id: each runs on its own, so a slow one holds up nothing else.
   * (A claim hands back the heads we hold already; this is what tells them from new ones.)
   */
  private readonly inFlight = new Map<string, { lane: EffectLane; kind: EffectKind; done: Promise<void> }>();
  /** Effects whose run broke outside their handler (e.g. the store failed): not before this time. */
  private readonly held = new Map<string, number>();
  /**
   * Graph throttled a membership change (429 past the adapter's retries) until this time:
   * adds wait until then, and while a removal is due or under way (removals go first).
   */
  private throttledUntil = 0;
  private throttled = false;
  private readonly handlers: Record<EffectKind, Handler>;
  private readonly members: MemberBatcher;
  /** What the request's cards show already: an update to the same version is not sent again. */
  private readonly shownCards = new ShownCards();

  constructor(
    private readonly deps: {
      store: Store;
      directory: Directory;
      notifier: Notifier;
      service: AccessService;
      policy: Policy;
      clock: Clock;
      presenter: Presenter;
      logger: Logger;
      /** Sends the policy's `webhooks:` deliveries; required when the policy has any. */
      webhooks?: WebhookSender;
    },
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.owner = this.options.owner ?? `worker:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.members = new MemberBatcher(deps.directory);
    if (deps.policy.webhooks.length > 0 && !deps.webhooks)
      deps.logger.warn({}, 'the policy has webhooks but no sender was wired: their deliveries are given up');
    this.handlers = {
      'directory.add': (effect, request) => this.add(effect, request),
      'directory.remove': (effect, request) => this.remove(effect, request),
      'directory.extend': (effect, request) => this.extend(effect, request),
      'directory.revoke_sessions': (effect, request) => this.revokeSessions(effect, request),
      'card.post': (effect, request) => this.postCard(effect, request),
      'card.update': (effect, request) => this.updateCard(effect, request),
      'thread.reply': (effect, request) => this.reply(effect, request),
      'person.notify': (effect, request) => this.notify(effect, request),
      'webhook.deliver': (effect, request) => this.deliverWebhook(effect, request),
    };
  }

  /** Looks for due effects now (called after every commit, after every finished effect, and at start). */
  kick(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.pass = this.pump().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * Stops taking new work and waits for the effects under way, at most `budgetMs` (shutdown):
   * what is still running then is handed back, i.e. stays in the outbox and runs again at the
   * next start (every handler is idempotent).
   */
  async stop(budgetMs = Number.POSITIVE_INFINITY): Promise<{ handedBack: number }> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.pass;
    const running = Promise.all([...this.inFlight.values()].map((f) => f.done));
    if (budgetMs === Number.POSITIVE_INFINITY) await running;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs)))]);
      clearTimeout(timer);
    }
    if (this.inFlight.size > 0)
      this.deps.logger.warn(
        { effects: [...this.inFlight.keys()] },
        'stopping: effects still under way are handed back to the outbox',
      );
    return { handedBack: this.inFlight.size };
  }

  /** Resolves once nothing is running (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.pumping || this.inFlight.size > 0)
      await Promise.all([this.pass, ...[...this.inFlight.values()].map((f) => f.done)]);
  }

  /** Whether a pass or an effect is running or about to (for tests that wait until nothing moves). */
  get busy(): boolean {
    return this.pumping || this.again || this.inFlight.size > 0;
  }

  /** Effects under way now, per lane (for metrics and tests). */
  get underWay(): { directory: number; teams: number } {
    const count = { directory: 0, teams: 0 };
    for (const f of this.inFlight.values()) count[f.lane]++;
    return count;
  }

  /**
   * One pass: claims the due queue heads of each lane (up to its slots, under a lease: another
   * process never runs the same effect at once), starts those not under way here yet, and arms
   * the timer for the next one. NB: effects run on their own rather than in batches that wait
   * for their slowest member: a card post sitting in a Bot Connector backoff must never hold up
   * a removal that fell due meanwhile (guarantee 2 of PRODUCT.md §8). The store hands out
   * removals first, oldest first, then adds, then Teams work; the lanes have their own slots.
   * Under Graph throttling an add waits while any removal is due or under way.
   */
  private async pump(): Promise<void> {
    try {
      if (this.stopped) return;
      const { store, clock } = this.deps;
      const { leaseMs, directorySlots } = this.options;
      const now = clock.now();
      const membership = await store.claim(this.owner, now, leaseMs, directorySlots, ['directory']);
      const removing =
        membership.some((e) => e.kind === 'directory.remove') ||
        [...this.inFlight.values()].some((f) => f.kind === 'directory.remove');
      const teamsSlots = removing
        ? Math.min(this.options.teamsSlots, this.options.teamsSlotsWhileRemoving)
        : this.options.teamsSlots;
      const claimed = [
        ...membership,
        ...(await store.claim(this.owner, now, leaseMs, teamsSlots, ['teams'])),
      ];
      const free = { directory: directorySlots, teams: teamsSlots };
      for (const f of this.inFlight.values()) free[f.lane]--;
      const throttled = now < this.throttledUntil || (this.throttled && removing);
      let next = Number.POSITIVE_INFINITY;
      for (const effect of claimed) {
        if (this.inFlight.has(effect.id)) continue;
        const heldUntil = this.held.get(effect.id) ?? 0;
        if (heldUntil > now) {
          next = Math.min(next, heldUntil);
          continue;
        }
        if (effect.kind === 'directory.add' && throttled) {
          if (now < this.throttledUntil) next = Math.min(next, this.throttledUntil);
          continue; // a finished removal kicks another pass
        }
        if (free[effect.lane] <= 0 || this.stopped) continue; // a finished effect kicks another pass
        free[effect.lane]--;
        this.start(effect);
      }
      const upcoming = await store.nextEffectAt();
      // Past or now: due heads left for want of slots (a finished effect kicks) or ours under way.
      if (upcoming !== undefined && upcoming > now) next = Math.min(next, upcoming);
      this.cancelTimer?.();
      if (next !== Number.POSITIVE_INFINITY && !this.stopped)
        this.cancelTimer = clock.setTimer(Math.max(0, next - clock.now()), () => this.kick());
    } catch (error) {
      this.deps.logger.error({ err: error }, 'worker loop failed; retrying in 1s');
      this.cancelTimer?.();
      if (!this.stopped) this.cancelTimer = this.deps.clock.setTimer(1000, () => this.kick());
    }
  }

  private start(effect: ClaimedEffect): void {
    this.held.delete(effect.id);
    const stopRenewing = this.keepLease(effect);
    const done = this.run(effect)
      .catch((error: unknown) => {
        if (isLeaseLost(error)) {
          // Our lease ran out and another worker claimed the effect: it is theirs now.
          this.deps.logger.info(
            { effect: effect.id, kind: effect.kind },
            'lease on a side effect lost; another worker runs it',
          );
          return;
        }
        // Not a failure of the side effect (those are recorded by `failed`) but of the run
        // itself, e.g. the store could not record the outcome: try again in a second, not at once.
        this.deps.logger.error(
          { err: error, effect: effect.id, kind: effect.kind },
          'running a side effect failed; retrying in 1s',
        );
        this.held.set(effect.id, this.deps.clock.now() + 1000);
      })
      .finally(() => {
        stopRenewing();
        this.inFlight.delete(effect.id);
        this.kick();
      });
    this.inFlight.set(effect.id, { lane: effect.lane, kind: effect.kind, done });
  }

  /** Renews the effect's lease every third of it while it runs; returns what stops that. */
  private keepLease(effect: ClaimedEffect): () => void {
    const { store, clock, logger } = this.deps;
    const every = Math.max(1, Math.floor(this.options.leaseMs / 3));
    let cancel: (() => void) | undefined;
    let over = false;
    const arm = (): void => {
      cancel = clock.setTimer(every, () => {
        if (over) return;
        store.renewLease(effect.id, effect.lease.token, clock.now() + this.options.leaseMs).then(
          () => {
            if (!over) arm();
          },
          (error: unknown) => {
            // Lost: the run's own completion will be refused and dropped. A store blip: try again.
            if (isLeaseLost(error)) logger.warn({ effect: effect.id }, 'lease on a running side effect lost');
            else if (!over) arm();
          },
        );
      });
    };
    arm();
    return () => {
      over = true;
      cancel?.();
    };
  }

  private async run(effect: ClaimedEffect): Promise<void> {
    const request = await this.deps.store.get(effect.requestId);
    if (!request) return this.complete(effect);
    try {
      await this.handlers[effect.kind](effect, request);
      if (effect.lane === 'directory') this.throttled = false;
    } catch (error) {
      if (isLeaseLost(error) || isStoreTrouble(error)) throw error;
      await this.failed(effect, request, error);
    }
  }

  /** Drops a finished effect from the outbox (when no commit of its own carries the completion). */
  private complete(effect: ClaimedEffect): Promise<void> {
    return this.deps.store.completeEffect(effect.id, effect.lease.token);
  }

  private done(effect: ClaimedEffect): CompletedEffect {
    return { id: effect.id, token: effect.lease.token };
  }

  private async extend(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    if (request.grantedAt === undefined || request.expiresAt === undefined) return this.complete(effect);
    await this.deps.directory.extendTimeBound({
      groupId: request.group.id,
      userId: request.requester.id,
      start: request.grantedAt,
      durationMs: request.expiresAt - request.grantedAt,
      justification: request.justification,
    });
    return this.complete(effect);
  }

  /**
   * One webhook delivery: the request as it is now, under the event's id and time. A hook the
   * policy no longer has (or no longer subscribes to the event) after a restart gets nothing.
   */
  private async deliverWebhook(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const data = webhookDataOf(effect.data);
    if (!data) throw new EffectSkipped(`effect ${effect.id} names no webhook delivery`);
    const hook = this.deps.policy.webhooks[data.hook];
    if (!hook?.events.includes(data.event)) {
      this.deps.logger.warn(
        { requestId: request.id, hook: data.hook, event: data.event },
        'the policy no longer sends this event to this webhook; delivery dropped',
      );
      return this.complete(effect);
    }
    if (!this.deps.webhooks) throw new EffectSkipped('no webhook sender is configured (main.ts builds one)');
    const body = JSON.stringify({
      id: data.eventId,
      event: data.event,
      at: new Date(data.at).toISOString(),
      request: requestJson(request),
    });
    await this.deps.webhooks.deliver({ hook: data.hook, event: data.event, deliveryId: data.eventId, body });
    return this.complete(effect);
  }

  private async postCard(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { notifier, presenter } = this.deps;
    if (effect.template === 'escalation') return this.postEscalationCard(effect, request);
    if (request.approvalCard) return this.complete(effect);
    const ref = await notifier.postToChannel(await this.channelOf(request), {
      card: await presenter.approvalCard(request),
    });
    // NB: if we crash between the post and this commit, the retry posts a second card;
    // Teams has no idempotency key for new threads, and a duplicate beats a lost card.
    await this.patch(request.id, effect, { approvalCard: ref });
    await this.escalateIfEveryoneAway(request);
  }

  /**
   * Every approver the card names is away (automatic replies on): a request that can escalate
   * does so at once (§12), rather than wait out `escalateAfter` for people who are not there.
   * A failure here is logged only: the scheduler's escalation still comes.
   */
  private async escalateIfEveryoneAway(request: AccessRequest): Promise<void> {
    const { presenter, service, logger } = this.deps;
    if (request.status !== Status.PENDING || request.escalatedAt !== undefined) return;
    if (!service.rulesOf(request).escalation || !presenter.awayApprovers) return;
    try {
      const { away, total } = await presenter.awayApprovers(request);
      if (total > 0 && away.length === total) await service.escalate(request.id, 'all_away');
    } catch (error) {
      logger.warn(
        { err: error, requestId: request.id },
        'could not check who is away; escalation waits for its time',
      );
    }
  }

  private async updateCard(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { notifier, presenter } = this.deps;
    if (effect.template === 'lists') return this.updateLists(effect, request);
    if (effect.template === 'warning') return this.updateWarning(effect, request);
    const receipt = effect.template === 'receipt';
    // The approval card, and its copy in the escalation channel: one state, shown in both places.
    const targets = (receipt ? [request.receiptCard] : [request.approvalCard, request.escalationCard]).filter(
      // A message the connector gave no id for cannot be updated; the next notice tells the news.
      (t): t is MessageLocation => !!t?.activityId,
    );
    const which = receipt ? 'receipt' : 'approval';
    if (targets.length === 0 || this.shownCards.shows(request.id, which, request.version))
      return this.complete(effect);
    const card = receipt ? await presenter.receiptCard(request) : await presenter.approvalCard(request);
    for (const target of targets) await notifier.updateCard(target, card);
    this.shownCards.showing(request.id, which, request.version);
    return this.complete(effect);
  }

  /** The approval card, posted once more in the escalation channel (`escalateTo.channel`). */
  private async postEscalationCard(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { notifier, presenter } = this.deps;
    const channel = typeof effect.data?.channel === 'string' ? effect.data.channel : undefined;
    if (request.escalationCard || !channel) return this.complete(effect);
    const target = await this.channelOf(request, channel);
    const ref = await notifier.postToChannel(target, { card: await presenter.approvalCard(request) });
    return this.patch(request.id, effect, { escalationCard: ref });
  }

  private async reply(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    if (!request.approvalCard) return this.complete(effect);
    await this.deps.notifier.replyInThread(
      request.approvalCard,
      await this.deps.presenter.notice(noticeOf(effect), request, 'channel', effect.data),
    );
    return this.complete(effect);
  }

  private async notify(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { store, notifier, presenter } = this.deps;
    const chat = await store.getPersonalChat(request.requester.id);
    if (!chat) {
      this.deps.logger.warn(
        { requestId: request.id },
        'no personal chat with the requester yet; notice not sent',
      );
      return this.complete(effect);
    }
    if (effect.template === 'receipt') {
      if (request.receiptCard) return this.complete(effect);
      const ref = await notifier.sendToPerson(chat, { card: await presenter.receiptCard(request) });
      return this.patch(request.id, effect, ref.activityId ? { receiptCard: ref } : {});
    }
    const kind = noticeOf(effect);
    const ref = await notifier.sendToPerson(
      chat,
      await presenter.notice(kind, request, 'requester', effect.data),
    );
    // The warning's buttons must go when the grant ends: its location is kept to update it then.
    if (kind === 'expiry_warning' && ref.activityId)
      return this.patch(request.id, effect, { warningCard: ref });
    return this.complete(effect);
  }

  /** The expiry warning rendered again as the request is now: the end it came to, or the new end. */
  private async updateWarning(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    if (!request.warningCard?.activityId) return this.complete(effect);
    const message = await this.deps.presenter.notice('expiry_warning', request, 'requester');
    if (message.card) await this.deps.notifier.updateCard(request.warningCard, message.card);
    return this.complete(effect);
  }

  /**
   * Updates in place each list card (`pending`, `status`) that shows the request, rendered again
   * for its viewer from the store. A card that no longer shows the request is forgotten by it;
   * requests it shows now learn of it; a card Teams refuses to update (deleted) is dropped.
   */
  private async updateLists(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { store, notifier, presenter, logger } = this.deps;
    const forget: ListCardRef[] = [];
    for (const ref of request.listCards ?? []) {
      const { card, shownIds } = await presenter.listCard(ref);
      try {
        await notifier.updateCard(ref, card);
      } catch (error) {
        if (isTransient(error)) throw error; // all of them again later: updates are idempotent
        logger.warn(
          { requestId: request.id, err: error instanceof Error ? error.message : String(error) },
          'a list card cannot be updated; forgetting it',
        );
        forget.push(ref);
        continue;
      }
      if (!shownIds.includes(request.id)) forget.push(ref);
      await trackListCard(
        store,
        ref,
        shownIds.filter((id) => id !== request.id),
      );
    }
    if (forget.length === 0) return this.complete(effect);
    await retryOnConflict(5, async () => {
      const current = (await store.get(request.id))!;
      const listCards = (current.listCards ?? []).filter(
        (ref) => !forget.some((gone) => sameMessage(gone, ref)),
      );
      await store.commit({
        request: { ...current, listCards },
        expectedVersion: current.version,
        events: [],
        completedEffects: [this.done(effect)],
      });
    });
  }

  /**
   * Adds the membership in three durable steps, so that a crash anywhere neither loses the
   * grant nor mistakes our own earlier add for a standing membership.
   */
  private async add(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { directory, clock } = this.deps;
    if (request.status !== Status.APPROVED) return this.complete(effect);
    if (request.standingMember === undefined) {
      const standing = await this.wasStandingMember(request);
      const fields = standing
        ? { standingMember: true }
        : { standingMember: false, addStartedAt: clock.now() };
      // NB: only while nothing is recorded yet. Another run of this effect (a replica whose lease
      // ran out while it still worked) may have recorded "not a member" and added since: our
      // "already a member" would then be its add, and overwriting that with "standing" would
      // keep the membership at the end.
      const recorded = await this.patchWhile(
        request.id,
        (r) => r.status === Status.APPROVED && r.standingMember === undefined,
        fields,
      );
      if (recorded) return this.add(effect, recorded);
      const current = await this.deps.store.get(request.id);
      if (current?.status !== Status.APPROVED || current.standingMember === undefined)
        return this.complete(effect);
      return this.add(effect, current);
    }
    let landedEarlier = false;
    if (this.deps.service.mode === 'pim' && !request.standingMember) {
      // Entra ends the assignment itself, counting from `start`.
      await directory.assignTimeBound({
        groupId: request.group.id,
        userId: request.requester.id,
        start: clock.now(),
        durationMs: lifecycle.totalLengthWith(request, 0),
        justification: `${request.id}: ${request.justification}`.slice(0, 500),
        ...(request.requester.kind ? { principalKind: request.requester.kind } : {}),
      });
    } else if (!request.standingMember) {
      landedEarlier = (await this.members.add(request.group.id, request.requester.id)) === 'already-member';
    }
    // NB: "already a member" after we found them not to be one means an earlier attempt of ours
    // landed (its answer lost to a crash or a timeout): the grant counts from that attempt, not
    // from now, or the downtime would be added to the access.
    await this.markGranted(effect, request.id, landedEarlier ? request.addStartedAt : undefined);
  }

  /**
   * The membership is in place: the grant starts now, or at `landedSince` when it was in place
   * already. Someone else's write in between (a card location, a revoke) is read again rather
   * than retried later, so the grant is not held up by a backoff; a request closed meanwhile
   * has its removal queued behind this add.
   */
  private async markGranted(effect: ClaimedEffect, requestId: string, landedSince?: number): Promise<void> {
    const { store, service, clock } = this.deps;
    await retryOnConflict(10, async () => {
      const current = (await store.get(requestId))!;
      if (current.status !== Status.APPROVED) return this.complete(effect);
      const now = clock.now();
      await service.commitTransition(
        lifecycle.markGranted(current, now, current.standingMember === true, landedSince ?? now),
        current.version,
        [this.done(effect)],
      );
    });
  }

  /**
   * A member before we add them is standing, unless one of our own requests may have put them
   * there (an add decided on and not yet taken back). Membership effects of one person and
   * group run one at a time, so no other add or removal of it is under way now.
   */
  private async wasStandingMember(request: AccessRequest): Promise<boolean> {
    if (!(await this.deps.directory.isMember(request.group.id, request.requester.id))) return false;
    const ours = await this.deps.store.listHolding(request.requester.id, request.group.id);
    return !ours.some((r) => !lifecycle.sameId(r.id, request.id));
  }

  /**
   * Takes the membership away unless it is not ours to take: the person was a standing member,
   * another active grant still covers them, or nothing was ever added.
   */
  private async remove(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    const { directory, store, service, clock } = this.deps;
    const now = clock.now();
    if (request.membershipRemovedAt !== undefined) return this.complete(effect);
    if (request.standingMember === undefined) {
      // The add never got as far as looking at the membership: there is nothing of ours to remove.
      return this.patch(request.id, effect, { membershipRemovedAt: now });
    }
    const others = (
      await store.listOpen({ requesterId: request.requester.id, statuses: [Status.ACTIVE] })
    ).filter((r) => !lifecycle.sameId(r.id, request.id) && lifecycle.sameId(r.group.id, request.group.id));
    const keep = request.standingMember
      ? 'standing member'
      : others.length > 0
        ? `still granted by ${others.map((r) => r.id).join(', ')}`
        : undefined;
    if (!keep) {
      if (service.mode === 'pim') {
        await directory.removeTimeBound(request.group.id, request.requester.id, `${request.id} ended`);
        // Entra ends the assignment itself; we still check that the member is gone.
        if (await directory.isMember(request.group.id, request.requester.id))
          await directory.removeMember(request.group.id, request.requester.id);
      } else {
        // Gathered with the other removals due now into Graph JSON batches.
        await this.members.remove(request.group.id, request.requester.id);
      }
    }
    // Sessions end with the access (revokeSessionsOnEnd): queued by this event, after the removal.
    const revokeSessions =
      !keep && request.requester.kind !== 'service_principal' && service.rulesOf(request).revokeSessionsOnEnd;
    const event: lifecycle.RequestEvent = keep
      ? { type: 'member_kept', requestId: request.id, at: now, reason: keep }
      : {
          type: 'member_removed',
          requestId: request.id,
          at: now,
          detail: {
            groupId: request.group.id,
            userId: request.requester.id,
            ...(revokeSessions ? { revokeSessions: true } : {}),
          },
        };
    // The completion rides on the commit that records the outcome: one write, not two; so do
    // the effects the outcome causes (a release's confirmation to the requester).
    const follow = effectsFor(event, request, service.mode).map((e) => placeEffect(e, request));
    await this.patch(request.id, effect, { membershipRemovedAt: now }, [event], follow);
  }

  /**
   * A handler failed (never for a store error: those are retried as they are, see \`run\`).
   * Transient failures are retried with backoff; a removal is never given up; an add that
   * cannot be done fails the request; a Teams effect given up is recorded (notify_failed).
   */
  private async failed(effect: ClaimedEffect, request: AccessRequest, error: unknown): Promise<void> {
    const { store, clock, logger } = this.deps;
    const attempts = effect.attempts + 1;
    const message = error instanceof Error ? error.message : String(error);
    const transient = isTransient(error) && !(error instanceof EffectSkipped);
    const limit =
      effect.lane === 'directory'
        ? this.options.maxAddAttempts
        : effect.kind === 'webhook.deliver'
          ? this.options.maxWebhookAttempts
          : this.options.maxTeamsAttempts;
    logger.warn({ requestId: request.id, effect: effect.kind, attempts, err: message }, 'side effect failed');
    if (error instanceof DomainError && error.code === ErrorCodes.DIRECTORY_THROTTLED) {
      // Graph throttles the app as a whole: removals first, adds after the wait it asked for.
      this.throttled = true;
      this.throttledUntil = Math.max(
        this.throttledUntil,
        clock.now() + (retryAfterOf(error) ?? this.backoff(attempts)),
      );
    }
    if (effect.kind === 'directory.revoke_sessions' && !transient) {
      // A refusal (no User.RevokeSessions.All, no such user) needs an admin: said and audited
      // once, never retried (it would hold up this person's next add in the queue). The grant
      // stays ended: the membership is gone, only tokens issued before live on.
      return this.sessionsNotRevoked(effect, request, error, message);
    }
    if (
      effect.kind === 'directory.remove' ||
      effect.kind === 'directory.extend' ||
      effect.kind === 'directory.revoke_sessions'
    ) {
      // NB: a removal is never given up: access must end. It keeps trying at the slowest pace;
      // so does the revocation of sessions that follows it, through outages and throttling.
      if (attempts === limit)
        await (effect.kind === 'directory.revoke_sessions'
          ? this.alertSessionsTrouble(request, message, true)
          : this.alertRemovalTrouble(request, message));
      return store.retryEffect(
        effect.id,
        effect.lease.token,
        clock.now() + this.backoff(Math.min(attempts, 30), error),
        message,
      );
    }
    if (transient && attempts < limit)
      return store.retryEffect(
        effect.id,
        effect.lease.token,
        clock.now() + this.backoff(attempts, error),
        message,
      );
    if (effect.kind === 'directory.add') {
      const fresh = await store.get(request.id);
      const code = error instanceof DomainError ? error.code : ErrorCodes.DIRECTORY_UNAVAILABLE;
      if (fresh?.status !== Status.APPROVED) return this.complete(effect);
      // A refusal by the directory (403, no such group, dynamic group) means this attempt added
      // nothing, but an earlier one may have landed before a crash: only a membership check
      // tells. Anything else (retries spent, a store failure after the add) may have left one.
      const refused = !transient && error instanceof DomainError && error.code.startsWith('DIRECTORY.');
      const nothingAdded = refused && !(await this.mayHaveAdded(fresh));
      await this.deps.service.commitTransition(
        lifecycle.markFailed(fresh, clock.now(), { code, message }, nothingAdded),
        fresh.version,
        [this.done(effect)],
      );
      return;
    }
    const event: lifecycle.RequestEvent = {
      type: 'notify_failed',
      requestId: request.id,
      at: clock.now(),
      reason: message,
      detail: {
        effect: effect.kind,
        template: effect.template,
        ...(effect.kind === 'webhook.deliver' ? { webhook: webhookDataOf(effect.data) } : {}),
      },
    };
    await this.patch(request.id, effect, {}, [event]);
  }

  /**
   * Ends the sign-in sessions of a person whose membership was just removed (the removal
   * queued this, in the same queue, so it runs after it). Never for a service principal: it
   * has no sign-in sessions. Idempotent: a second run resets the sessions' start again.
   */
  private async revokeSessions(effect: ClaimedEffect, request: AccessRequest): Promise<void> {
    if (request.requester.kind === 'service_principal') return this.complete(effect);
    await this.deps.directory.revokeSignInSessions(request.requester.id);
    const event: lifecycle.RequestEvent = {
      type: 'sessions_revoked',
      requestId: request.id,
      at: this.deps.clock.now(),
      detail: { groupId: request.group.id, userId: request.requester.id },
    };
    await this.patch(request.id, effect, {}, [event]);
  }

  /** The directory refused to end the sessions: audited, said in the thread, and the effect done. */
  private async sessionsNotRevoked(
    effect: ClaimedEffect,
    request: AccessRequest,
    error: unknown,
    message: string,
  ): Promise<void> {
    const code = error instanceof DomainError ? error.code : ErrorCodes.DIRECTORY_UNAVAILABLE;
    const event: lifecycle.RequestEvent = {
      type: 'sessions_revoke_failed',
      requestId: request.id,
      at: this.deps.clock.now(),
      reason: message,
      detail: { groupId: request.group.id, userId: request.requester.id, code },
    };
    await this.alertSessionsTrouble(request, message, false);
    await this.patch(request.id, effect, {}, [event]);
  }

  private async alertSessionsTrouble(
    request: AccessRequest,
    message: string,
    retrying: boolean,
  ): Promise<void> {
    if (!request.approvalCard) return;
    const next = retrying
      ? 'Timebox keeps trying'
      : `revoke them by hand (Entra admin center → Users → ${request.requester.name} → Revoke sessions)`;
    try {
      await this.deps.notifier.replyInThread(request.approvalCard, {
        text: `⚠️ ${request.requester.name} is removed from ${request.group.displayName}, but ending their sign-in sessions failed: ${message}. Tokens issued before the removal stay valid until they expire (about an hour); ${next}.`,
      });
    } catch (error) {
      this.deps.logger.error(
        { err: error, requestId: request.id },
        'could not post the session revocation alert',
      );
    }
  }

  /** Whether the person is in the group now (when the directory cannot say: assume so, and remove). */
  private async mayHaveAdded(request: AccessRequest): Promise<boolean> {
    try {
      return await this.deps.directory.isMember(request.group.id, request.requester.id);
    } catch (error) {
      this.deps.logger.warn(
        { err: error, requestId: request.id },
        'cannot tell whether a failed add left a membership; removing to be sure',
      );
      return true;
    }
  }

  private async alertRemovalTrouble(request: AccessRequest, message: string): Promise<void> {
    if (!request.approvalCard) return;
    try {
      await this.deps.notifier.replyInThread(request.approvalCard, {
        text: `⚠️ Removing ${request.requester.name} from ${request.group.displayName} keeps failing: ${message}. Timebox keeps trying; remove the membership by hand if this persists.`,
      });
    } catch (error) {
      this.deps.logger.error({ err: error, requestId: request.id }, 'could not post the removal alert');
    }
  }

  /** Writes `fields` while `still(request)` holds; returns the stored request, or undefined when it no longer held. */
  private async patchWhile(
    requestId: string,
    still: (request: AccessRequest) => boolean,
    fields: Partial<AccessRequest>,
  ): Promise<AccessRequest | undefined> {
    return retryOnConflict(10, async () => {
      const current = (await this.deps.store.get(requestId))!;
      if (!still(current)) return undefined;
      return this.deps.store.commit({
        request: { ...current, ...fields },
        expectedVersion: current.version,
        events: [],
      });
    });
  }

  /** Writes fields the worker learned (card locations, the removal), with the effect's completion, racing nobody. */
  private async patch(
    requestId: string,
    effect: ClaimedEffect,
    fields: Partial<AccessRequest>,
    events: lifecycle.RequestEvent[] = [],
    effects: QueuedEffect[] = [],
  ): Promise<void> {
    await retryOnConflict(5, async () => {
      const current = await this.deps.store.get(requestId);
      if (!current) return this.complete(effect);
      await this.deps.store.commit({
        request: { ...current, ...fields },
        expectedVersion: current.version,
        events,
        ...(effects.length ? { effects } : {}),
        completedEffects: [this.done(effect)],
      });
    });
  }

  /** Where to post in `channel` (the request's approvers' channel unless named); skipped when it is unknown. */
  private async channelOf(request: AccessRequest, channel = request.approverChannel): Promise<ChannelTarget> {
    const target = await approverChannel(
      this.deps,
      channel,
      request.tenantId,
      this.options.defaultServiceUrl,
    );
    if ('missing' in target) throw new EffectSkipped(target.missing);
    return target;
  }

  private backoff(attempts: number, error?: unknown): number {
    return backoffMs(attempts, error, this.options);
  }
}
