import { DomainError, ErrorCodes, isTransient } from '../domain/errors';
import { retryOnConflict } from './retry-on-conflict';
import * as lifecycle from '../domain/request';
import { Status, type AccessRequest, type ListCardRef } from '../domain/request';
import { sameMessage, trackListCard } from './list-cards';
import type { Policy } from '../domain/policy';
import type { Clock } from '../ports/clock';
import type { Directory } from '../ports/directory';
import type { ChannelTarget, Notifier } from '../ports/notifier';
import type { Effect, Store } from '../ports/store';
import type { Logger } from '../ports/logger';
import type { AccessService } from './access-service';
import type { Presenter } from './presenter';

export interface WorkerOptions {
  /** Attempts before a Teams effect is given up (it never blocks a grant or a removal). */
  maxTeamsAttempts: number;
  /** Attempts before a failing membership add fails the request. */
  maxAddAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Serving URL of the Bot Connector when none was learned from the tenant yet. */
  defaultServiceUrl?: string;
}

const DEFAULTS: WorkerOptions = { maxTeamsAttempts: 8, maxAddAttempts: 8, baseDelayMs: 500, maxDelayMs: 60_000 };

/** Effects that may run at once per lane (directory, teams). */
const LANE_SLOTS = 16;

/** Thrown by a handler when the effect cannot run yet or ever; `permanent` skips the retries. */
class EffectSkipped extends Error {}

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
  /** Effects under way, by id: each runs on its own, so a slow one holds up nothing else. */
  private readonly inFlight = new Map<string, { lane: Effect['lane']; done: Promise<void> }>();
  /** Effects whose run broke outside their handler (e.g. the store failed): not before this time. */
  private readonly held = new Map<string, number>();

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
    },
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
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
    if (this.inFlight.size > 0) this.deps.logger.warn({ effects: [...this.inFlight.keys()] }, 'stopping: effects still under way are handed back to the outbox');
    return { handedBack: this.inFlight.size };
  }

  /** Resolves once nothing is running (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.pumping || this.inFlight.size > 0) await Promise.all([this.pass, ...[...this.inFlight.values()].map((f) => f.done)]);
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
   * One pass: starts every due effect that is not under way yet, up to LANE_SLOTS per lane, and
   * arms the timer for the next one. NB: effects run on their own rather than in batches that
   * wait for their slowest member: a card post sitting in a Bot Connector backoff must never
   * hold up a removal that fell due meanwhile (guarantee 2 of PRODUCT.md §8). Membership
   * changes come first and have their own slots.
   */
  private async pump(): Promise<void> {
    try {
      if (this.stopped) return;
      const now = this.deps.clock.now();
      // Heads of all queues, earliest first (in-flight heads included: they stay in the outbox until done).
      const heads = await this.deps.store.dueEffects(Number.MAX_SAFE_INTEGER, this.inFlight.size + 2 * LANE_SLOTS + 64);
      const free = { directory: LANE_SLOTS, teams: LANE_SLOTS };
      for (const f of this.inFlight.values()) free[f.lane]--;
      let next = Number.POSITIVE_INFINITY;
      const waiting = heads.filter((e) => !this.inFlight.has(e.id));
      for (const effect of [...waiting.filter((e) => e.lane === 'directory'), ...waiting.filter((e) => e.lane !== 'directory')]) {
        const notBefore = Math.max(effect.notBefore, this.held.get(effect.id) ?? 0);
        if (notBefore > now) {
          next = Math.min(next, notBefore);
          continue;
        }
        if (free[effect.lane] <= 0 || this.stopped) continue; // a finished effect kicks another pass
        free[effect.lane]--;
        this.start(effect);
      }
      this.cancelTimer?.();
      if (next !== Number.POSITIVE_INFINITY && !this.stopped) this.cancelTimer = this.deps.clock.setTimer(Math.max(0, next - now), () => this.kick());
    } catch (error) {
      this.deps.logger.error({ err: error }, 'worker loop failed; retrying in 1s');
      this.cancelTimer?.();
      if (!this.stopped) this.cancelTimer = this.deps.clock.setTimer(1000, () => this.kick());
    }
  }

  private start(effect: Effect): void {
    this.held.delete(effect.id);
    const done = this.run(effect)
      .catch((error: unknown) => {
        // Not a failure of the side effect (those are recorded by `failed`) but of the run
        // itself, e.g. the store could not record the outcome: try again in a second, not at once.
        this.deps.logger.error({ err: error, effect: effect.id, kind: effect.kind }, 'running a side effect failed; retrying in 1s');
        this.held.set(effect.id, this.deps.clock.now() + 1000);
      })
      .finally(() => {
        this.inFlight.delete(effect.id);
        this.kick();
      });
    this.inFlight.set(effect.id, { lane: effect.lane, done });
  }

  private async run(effect: Effect): Promise<void> {
    const request = await this.deps.store.get(effect.requestId);
    if (!request) {
      await this.deps.store.completeEffect(effect.id);
      return;
    }
    try {
      await this.handle(effect, request);
    } catch (error) {
      await this.failed(effect, request, error);
    }
  }

  private async handle(effect: Effect, request: AccessRequest): Promise<void> {
    const { store, notifier, presenter } = this.deps;
    switch (effect.kind) {
      case 'directory.add':
        return this.add(effect, request);
      case 'directory.remove':
        return this.remove(effect, request);
      case 'directory.extend':
        await this.deps.directory.extendTimeBound({ groupId: request.group.id, userId: request.requester.id, start: request.grantedAt!, durationMs: request.expiresAt! - request.grantedAt!, justification: request.justification });
        return store.completeEffect(effect.id);
      case 'card.post': {
        if (request.approvalCard) return store.completeEffect(effect.id);
        const ref = await notifier.postToChannel(await this.channelOf(request), { card: await presenter.approvalCard(request) });
        // NB: if we crash between the post and this commit, the retry posts a second card;
        // Teams has no idempotency key for new threads, and a duplicate beats a lost card.
        return this.patch(request.id, effect.id, { approvalCard: ref });
      }
      case 'card.update': {
        if (effect.template === 'lists') return this.updateLists(effect, request);
        const target = effect.template === 'receipt' ? request.receiptCard : request.approvalCard;
        // A message the connector gave no id for cannot be updated; the next notice tells the news.
        if (!target?.activityId) return store.completeEffect(effect.id);
        const card = effect.template === 'receipt' ? await presenter.receiptCard(request) : await presenter.approvalCard(request);
        await notifier.updateCard(target, card);
        return store.completeEffect(effect.id);
      }
      case 'thread.reply': {
        if (!request.approvalCard) return store.completeEffect(effect.id);
        await notifier.replyInThread(request.approvalCard, await presenter.notice(effect.template ?? 'update', request, 'channel', effect.data));
        return store.completeEffect(effect.id);
      }
      case 'person.notify': {
        const chat = await store.getPersonalChat(request.requester.id);
        if (!chat) {
          this.deps.logger.warn({ requestId: request.id }, 'no personal chat with the requester yet; notice not sent');
          return store.completeEffect(effect.id);
        }
        if (effect.template === 'receipt') {
          if (request.receiptCard) return store.completeEffect(effect.id);
          const ref = await notifier.sendToPerson(chat, { card: await presenter.receiptCard(request) });
          return this.patch(request.id, effect.id, ref.activityId ? { receiptCard: ref } : {});
        }
        await notifier.sendToPerson(chat, await presenter.notice(effect.template ?? 'update', request, 'requester', effect.data));
        return store.completeEffect(effect.id);
      }
    }
  }

  /**
   * Updates in place each list card (`pending`, `status`) that shows the request, rendered again
   * for its viewer from the store. A card that no longer shows the request is forgotten by it;
   * requests it shows now learn of it; a card Teams refuses to update (deleted) is dropped.
   */
  private async updateLists(effect: Effect, request: AccessRequest): Promise<void> {
    const { store, notifier, presenter, logger } = this.deps;
    const forget: ListCardRef[] = [];
    for (const ref of request.listCards ?? []) {
      const { card, shownIds } = await presenter.listCard(ref);
      try {
        await notifier.updateCard(ref, card);
      } catch (error) {
        if (isTransient(error)) throw error; // all of them again later: updates are idempotent
        logger.warn({ requestId: request.id, err: error instanceof Error ? error.message : String(error) }, 'a list card cannot be updated; forgetting it');
        forget.push(ref);
        continue;
      }
      if (!shownIds.includes(request.id)) forget.push(ref);
      await trackListCard(store, ref, shownIds.filter((id) => id !== request.id));
    }
    if (forget.length === 0) return store.completeEffect(effect.id);
    await retryOnConflict(5, async () => {
      const current = (await store.get(request.id))!;
      const listCards = (current.listCards ?? []).filter((ref) => !forget.some((gone) => sameMessage(gone, ref)));
      await store.commit({ request: { ...current, listCards }, expectedVersion: current.version, events: [], completedEffectIds: [effect.id] });
    });
  }

  /**
   * Adds the membership in three durable steps, so that a crash anywhere neither loses the
   * grant nor mistakes our own earlier add for a standing membership.
   */
  private async add(effect: Effect, request: AccessRequest): Promise<void> {
    const { directory, store, clock } = this.deps;
    if (request.status !== Status.APPROVED) return store.completeEffect(effect.id);
    if (request.standingMember === undefined) {
      const standing = await this.wasStandingMember(request);
      const fields = standing ? { standingMember: true } : { standingMember: false, addStartedAt: clock.now() };
      const recorded = await this.patchWhile(request.id, (r) => r.status === Status.APPROVED, fields);
      if (!recorded) return store.completeEffect(effect.id);
      return this.add(effect, recorded);
    }
    let landedEarlier = false;
    if (this.deps.service.mode === 'pim' && !request.standingMember) {
      // Entra ends the assignment itself, counting from `start`.
      await directory.assignTimeBound({ groupId: request.group.id, userId: request.requester.id, start: clock.now(), durationMs: lifecycle.totalLengthWith(request, 0), justification: `${request.id}: ${request.justification}`.slice(0, 500) });
    } else if (!request.standingMember) {
      landedEarlier = (await directory.addMember(request.group.id, request.requester.id)) === 'already-member';
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
  private async markGranted(effect: Effect, requestId: string, landedSince?: number): Promise<void> {
    const { store, service, clock } = this.deps;
    await retryOnConflict(10, async () => {
      const current = (await store.get(requestId))!;
      if (current.status !== Status.APPROVED) return store.completeEffect(effect.id);
      const now = clock.now();
      await service.commitTransition(lifecycle.markGranted(current, now, current.standingMember === true, landedSince ?? now), current.version, [effect.id]);
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
    return !ours.some((r) => r.id !== request.id);
  }

  /**
   * Takes the membership away unless it is not ours to take: the person was a standing member,
   * another active grant still covers them, or nothing was ever added.
   */
  private async remove(effect: Effect, request: AccessRequest): Promise<void> {
    const { directory, store, service, clock } = this.deps;
    const now = clock.now();
    if (request.membershipRemovedAt !== undefined) return store.completeEffect(effect.id);
    if (request.standingMember === undefined) {
      // The add never got as far as looking at the membership: there is nothing of ours to remove.
      return this.patch(request.id, effect.id, { membershipRemovedAt: now });
    }
    const others = (await store.listOpen({ requesterId: request.requester.id, statuses: [Status.ACTIVE] })).filter(
      (r) => r.id !== request.id && lifecycle.sameId(r.group.id, request.group.id),
    );
    const keep = request.standingMember ? 'standing member' : others.length > 0 ? `still granted by ${others.map((r) => r.id).join(', ')}` : undefined;
    if (!keep) {
      if (service.mode === 'pim') {
        await directory.removeTimeBound(request.group.id, request.requester.id, `${request.id} ended`);
        // Entra ends the assignment itself; we still check that the member is gone.
        if (await directory.isMember(request.group.id, request.requester.id)) await directory.removeMember(request.group.id, request.requester.id);
      } else {
        await directory.removeMember(request.group.id, request.requester.id);
      }
    }
    const event: lifecycle.RequestEvent = keep
      ? { type: 'member_kept', requestId: request.id, at: now, reason: keep }
      : { type: 'member_removed', requestId: request.id, at: now, detail: { groupId: request.group.id, userId: request.requester.id } };
    await this.patch(request.id, effect.id, { membershipRemovedAt: now }, [event]);
  }

  private async failed(effect: Effect, request: AccessRequest, error: unknown): Promise<void> {
    const { store, clock, logger } = this.deps;
    const attempts = effect.attempts + 1;
    const message = error instanceof Error ? error.message : String(error);
    const transient = isTransient(error) && !(error instanceof EffectSkipped);
    const limit = effect.lane === 'directory' ? this.options.maxAddAttempts : this.options.maxTeamsAttempts;
    logger.warn({ requestId: request.id, effect: effect.kind, attempts, err: message }, 'side effect failed');
    if (effect.kind === 'directory.remove' || effect.kind === 'directory.extend') {
      // NB: a removal is never given up: access must end. It keeps trying at the slowest pace.
      if (attempts === limit) await this.alertRemovalTrouble(request, message);
      return store.retryEffect(effect.id, clock.now() + this.backoff(Math.min(attempts, 30), error), message);
    }
    if (transient && attempts < limit) return store.retryEffect(effect.id, clock.now() + this.backoff(attempts, error), message);
    if (effect.kind === 'directory.add') {
      const fresh = (await store.get(request.id))!;
      const code = error instanceof DomainError ? error.code : ErrorCodes.DIRECTORY_UNAVAILABLE;
      if (fresh.status !== Status.APPROVED) return store.completeEffect(effect.id);
      // A refusal by the directory (403, no such group, dynamic group) means this attempt added
      // nothing, but an earlier one may have landed before a crash: only a membership check
      // tells. Anything else (retries spent, a store failure after the add) may have left one.
      const refused = !transient && error instanceof DomainError && error.code.startsWith('DIRECTORY.');
      const nothingAdded = refused && !(await this.mayHaveAdded(fresh));
      await this.deps.service.commitTransition(lifecycle.markFailed(fresh, clock.now(), { code, message }, nothingAdded), fresh.version, [effect.id]);
      return;
    }
    const event: lifecycle.RequestEvent = { type: 'notify_failed', requestId: request.id, at: clock.now(), reason: message, detail: { effect: effect.kind, template: effect.template } };
    await this.patch(request.id, effect.id, {}, [event]);
  }

  /** Whether the person is in the group now (when the directory cannot say: assume so, and remove). */
  private async mayHaveAdded(request: AccessRequest): Promise<boolean> {
    try {
      return await this.deps.directory.isMember(request.group.id, request.requester.id);
    } catch (error) {
      this.deps.logger.warn({ err: error, requestId: request.id }, 'cannot tell whether a failed add left a membership; removing to be sure');
      return true;
    }
  }

  private async alertRemovalTrouble(request: AccessRequest, message: string): Promise<void> {
    if (!request.approvalCard) return;
    try {
      await this.deps.notifier.replyInThread(request.approvalCard, { text: `⚠️ Removing ${request.requester.name} from ${request.group.displayName} keeps failing: ${message}. Timebox keeps trying; remove the membership by hand if this persists.` });
    } catch (error) {
      this.deps.logger.error({ err: error, requestId: request.id }, 'could not post the removal alert');
    }
  }

  /** Writes `fields` while `still(request)` holds; returns the stored request, or undefined when it no longer held. */
  private async patchWhile(requestId: string, still: (request: AccessRequest) => boolean, fields: Partial<AccessRequest>): Promise<AccessRequest | undefined> {
    return retryOnConflict(10, async () => {
      const current = (await this.deps.store.get(requestId))!;
      if (!still(current)) return undefined;
      return this.deps.store.commit({ request: { ...current, ...fields }, expectedVersion: current.version, events: [] });
    });
  }

  /** Writes fields the worker learned (card locations, standing membership), racing nobody. */
  private async patch(requestId: string, effectId: string | undefined, fields: Partial<AccessRequest>, events: lifecycle.RequestEvent[] = []): Promise<void> {
    await retryOnConflict(5, async () => {
      const current = (await this.deps.store.get(requestId))!;
      await this.deps.store.commit({ request: { ...current, ...fields }, expectedVersion: current.version, events, completedEffectIds: effectId ? [effectId] : [] });
    });
  }

  private async channelOf(request: AccessRequest): Promise<ChannelTarget> {
    const channel = this.deps.policy.approverChannels[request.approverChannel];
    if (!channel) throw new EffectSkipped(`approver channel "${request.approverChannel}" is not in the policy`);
    const serviceUrl = (request.tenantId && (await this.deps.store.getServiceUrl(request.tenantId))) || this.options.defaultServiceUrl;
    if (!serviceUrl) throw new EffectSkipped('no Bot Connector service URL is known for this tenant yet');
    return { serviceUrl, tenantId: request.tenantId, teamId: channel.teamId, channelId: channel.channelId };
  }

  /** Backoff with jitter; never sooner than a Retry-After the dependency asked for (`details.retryAfterMs`). */
  private backoff(attempts: number, error?: unknown): number {
    const exp = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempts - 1));
    const asked = error instanceof DomainError ? Number(error.details.retryAfterMs) : NaN;
    const jittered = Math.round(exp / 2 + Math.random() * (exp / 2));
    return Number.isFinite(asked) ? Math.max(jittered, asked) : jittered;
  }

}
