import { DomainError, ErrorCodes, isTransient } from '../domain/errors';
import * as lifecycle from '../domain/request';
import { Status, type AccessRequest } from '../domain/request';
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

/** Thrown by a handler when the effect cannot run yet or ever; `permanent` skips the retries. */
class EffectSkipped extends Error {}

/**
 * Runs the outbox: every side effect of every transition, at least once, idempotently, with
 * bounded retries and backoff. What it does next always depends on the request as stored now.
 */
export class GrantWorker {
  private readonly options: WorkerOptions;
  private running = false;
  private again = false;
  private stopped = false;
  private cancelTimer?: () => void;
  private idle?: Promise<void>;

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

  /** Looks for due effects now (called after every commit and at start). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.drain().finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Stops taking new work and waits for the effects under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.idle;
  }

  /** Resolves once nothing is running (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.running) await this.idle;
  }

  /** Whether a pass is running or about to (for tests that wait until nothing moves). */
  get busy(): boolean {
    return this.running || this.again;
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const due = await this.deps.store.dueEffects(this.deps.clock.now(), 16);
        if (due.length === 0) break;
        await Promise.all(due.map((effect) => this.run(effect)));
      }
      await this.sleepUntilNext();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'worker loop failed; retrying in 1s');
      this.cancelTimer = this.deps.clock.setTimer(1000, () => this.kick());
    }
  }

  private async sleepUntilNext(): Promise<void> {
    this.cancelTimer?.();
    const next = await this.deps.store.nextEffectAt();
    if (next === undefined || this.stopped) return;
    this.cancelTimer = this.deps.clock.setTimer(Math.max(0, next - this.deps.clock.now()), () => this.kick());
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
        const target = effect.template === 'receipt' ? request.receiptCard : request.approvalCard;
        if (!target) return store.completeEffect(effect.id);
        const card = effect.template === 'receipt' ? await presenter.receiptCard(request) : await presenter.approvalCard(request);
        await notifier.updateCard(target, card);
        return store.completeEffect(effect.id);
      }
      case 'thread.reply': {
        if (!request.approvalCard) return store.completeEffect(effect.id);
        await notifier.replyInThread(request.approvalCard, await presenter.notice(effect.template ?? 'update', request, 'channel'));
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
          return this.patch(request.id, effect.id, { receiptCard: ref });
        }
        await notifier.sendToPerson(chat, await presenter.notice(effect.template ?? 'update', request, 'requester'));
        return store.completeEffect(effect.id);
      }
    }
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
      const recorded = await this.patchWhile(request.id, (r) => r.status === Status.APPROVED, { standingMember: standing });
      if (!recorded) return store.completeEffect(effect.id);
      return this.add(effect, recorded);
    }
    if (this.deps.service.mode === 'pim' && !request.standingMember) {
      await directory.assignTimeBound({ groupId: request.group.id, userId: request.requester.id, start: clock.now(), durationMs: lifecycle.totalLengthWith(request, 0), justification: `${request.id}: ${request.justification}`.slice(0, 500) });
    } else if (!request.standingMember) {
      await directory.addMember(request.group.id, request.requester.id);
    }
    await this.markGranted(effect, request.id);
  }

  /**
   * The membership is in place: the grant starts now. Someone else's write in between (a
   * card location, a revoke) is read again rather than retried later, so the grant is not
   * held up by a backoff; a request closed meanwhile has its removal queued behind this add.
   */
  private async markGranted(effect: Effect, requestId: string): Promise<void> {
    const { store, service, clock } = this.deps;
    for (let attempt = 0; ; attempt++) {
      const current = (await store.get(requestId))!;
      if (current.status !== Status.APPROVED) return store.completeEffect(effect.id);
      try {
        await service.commitTransition(lifecycle.markGranted(current, clock.now(), current.standingMember === true), current.version, [effect.id]);
        return;
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCodes.REQUEST_CONFLICT) || attempt >= 10) throw error;
      }
    }
  }

  /**
   * A member before we add them is standing, unless one of our own requests may have put them
   * there (an add decided on and not yet taken back). Membership effects of one person and
   * group run one at a time, so no other add or removal of it is under way now.
   */
  private async wasStandingMember(request: AccessRequest): Promise<boolean> {
    if (!(await this.deps.directory.isMember(request.group.id, request.requester.id))) return false;
    const mine = [
      ...(await this.deps.store.listOpen({ requesterId: request.requester.id })),
      ...(await this.deps.store.listRecentClosed(request.requester.id, 200)),
    ];
    const ours = mine.some((r) => r.id !== request.id && lifecycle.sameId(r.group.id, request.group.id) && lifecycle.mayHoldMembership(r));
    return !ours;
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
      return store.retryEffect(effect.id, clock.now() + this.backoff(Math.min(attempts, 30)), message);
    }
    if (transient && attempts < limit) return store.retryEffect(effect.id, clock.now() + this.backoff(attempts), message);
    if (effect.kind === 'directory.add') {
      const fresh = (await store.get(request.id))!;
      const code = error instanceof DomainError ? error.code : ErrorCodes.DIRECTORY_UNAVAILABLE;
      if (fresh.status !== Status.APPROVED) return store.completeEffect(effect.id);
      // A refusal by the directory (403, no such group, dynamic group) means nothing was added;
      // anything else (retries spent, a store failure after the add) may have left a membership.
      const nothingAdded = !transient && error instanceof DomainError && error.code.startsWith('DIRECTORY.');
      await this.deps.service.commitTransition(lifecycle.markFailed(fresh, clock.now(), { code, message }, nothingAdded), fresh.version, [effect.id]);
      return;
    }
    const event: lifecycle.RequestEvent = { type: 'notify_failed', requestId: request.id, at: clock.now(), reason: message, detail: { effect: effect.kind, template: effect.template } };
    await this.patch(request.id, effect.id, {}, [event]);
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
    for (let attempt = 0; ; attempt++) {
      const current = (await this.deps.store.get(requestId))!;
      if (!still(current)) return undefined;
      try {
        return await this.deps.store.commit({ request: { ...current, ...fields }, expectedVersion: current.version, events: [] });
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCodes.REQUEST_CONFLICT) || attempt >= 10) throw error;
      }
    }
  }

  /** Writes fields the worker learned (card locations, standing membership), racing nobody. */
  private async patch(requestId: string, effectId: string | undefined, fields: Partial<AccessRequest>, events: lifecycle.RequestEvent[] = []): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = (await this.deps.store.get(requestId))!;
      try {
        await this.deps.store.commit({ request: { ...current, ...fields }, expectedVersion: current.version, events, completedEffectIds: effectId ? [effectId] : [] });
        return;
      } catch (error) {
        if (!(error instanceof DomainError && error.code === ErrorCodes.REQUEST_CONFLICT) || attempt >= 5) throw error;
      }
    }
  }

  private async channelOf(request: AccessRequest): Promise<ChannelTarget> {
    const channel = this.deps.policy.approverChannels[request.approverChannel];
    if (!channel) throw new EffectSkipped(`approver channel "${request.approverChannel}" is not in the policy`);
    const serviceUrl = (request.tenantId && (await this.deps.store.getServiceUrl(request.tenantId))) || this.options.defaultServiceUrl;
    if (!serviceUrl) throw new EffectSkipped('no Bot Connector service URL is known for this tenant yet');
    return { serviceUrl, tenantId: request.tenantId, teamId: channel.teamId, channelId: channel.channelId };
  }

  private backoff(attempts: number): number {
    const exp = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempts - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }
}
