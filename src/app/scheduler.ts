import { Status } from '../domain/request';
import { dueActions, dueAtOf, rank, type TimedAction } from '../domain/timing';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';
import type { AccessService } from './access-service';
import { PassLoop, type NextPass } from './pass-loop';

/** Due times stored at once by the start-up rebuild. */
const REBUILD_CHUNK = 1000;
/** Requests taken from the store's due index per pass. */
const DUE_BATCH = 500;
/**
 * Requests acted on at once. NB: one at a time, each expiry waited for its own fsync (~10 ms),
 * so 1,000 grants ending together took 10 s to expire before any removal; side by side, the
 * store writes them with one group commit.
 */
const CONCURRENCY = 64;

/**
 * Time-driven transitions — expiries, expiry warnings, reminders, pending timeouts. Each
 * commit stores the request's next due time (`dueAtOf`, domain/timing.ts); the scheduler takes
 * what is due from the store's index (`listDue`) and sleeps until `nextDueAt`, so a pass costs
 * what is due, not what is open. At start it rebuilds every open request's due time once from
 * the policy (which may have changed while we were down), so a grant that ended meanwhile is
 * handled right after start. One timer, set to the earliest.
 */
export class Scheduler {
  private readonly loop: PassLoop;
  private rebuilt = false;

  constructor(private readonly deps: { store: Store; service: AccessService; clock: Clock; logger: Logger }) {
    this.loop = new PassLoop(deps.clock, () => this.tick());
  }

  /** Recomputes what is due; runs what is due now and sleeps until the next. */
  poke(): void {
    this.loop.poke();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  settled(): Promise<void> {
    return this.loop.settled();
  }

  /** Whether a pass is running or about to (for tests that wait until nothing moves). */
  get busy(): boolean {
    return this.loop.busy;
  }

  /**
   * Stores every open request's due time again from the policy as it is now (once, at start:
   * a changed timeout or warning applies to requests made before it). The one pass that lists
   * every open request.
   */
  async rebuild(): Promise<void> {
    const { store, service } = this.deps;
    const open = await store.listOpen({ statuses: [Status.PENDING, Status.APPROVED, Status.ACTIVE] });
    // NB: side by side, so the store writes them in a few group commits: one at a time, each
    // waited for its own fsync, and 10,000 grants overdue at start waited 40 s for their removal.
    for (let i = 0; i < open.length; i += REBUILD_CHUNK) {
      await Promise.all(
        open
          .slice(i, i + REBUILD_CHUNK)
          .map((request) => store.setDueAt(request.id, dueAtOf(request, service.rulesOf(request)))),
      );
    }
    this.rebuilt = true;
  }

  /** One pass: what is due now is done; answers when the next is due. */
  private async tick(): Promise<NextPass> {
    const { store, service, clock, logger } = this.deps;
    try {
      if (!this.rebuilt) await this.rebuild();
      const now = clock.now();
      const listed = await store.listDue(now, DUE_BATCH);
      // Expiries first across the whole batch: ending access on time matters more than any notice.
      const due: Array<{ requestId: string; dueAt: number; action: TimedAction }> = [];
      for (const { requestId, dueAt } of listed) {
        const request = await store.get(requestId);
        const actions = request ? dueActions(request, service.rulesOf(request), now) : [];
        if (request && actions.length === 0) {
          // The stored time is stale (the policy changed, or it was done already): store the real one.
          await store.setDueAt(requestId, dueAtOf(request, service.rulesOf(request)));
          continue;
        }
        for (const action of actions) due.push({ requestId, dueAt, action });
      }
      due.sort((a, b) => rank(a.action) - rank(b.action) || a.dueAt - b.dueAt);
      // One request's actions in order (an expiry before its warning); requests side by side,
      // taken in that order (expiries first, the oldest first).
      const byRequest = new Map<string, TimedAction[]>();
      for (const item of due)
        byRequest.set(item.requestId, [...(byRequest.get(item.requestId) ?? []), item.action]);
      const queue = [...byRequest.entries()];
      let acted = 0;
      let failed = 0;
      const lane = async (): Promise<void> => {
        for (let next = queue.shift(); next && !this.loop.stopped; next = queue.shift()) {
          const [requestId, actions] = next;
          for (const action of actions) {
            if (this.loop.stopped) return;
            try {
              if (await service[action](requestId)) acted++;
              else await this.refresh(requestId);
            } catch (error) {
              failed++;
              logger.error({ err: error, requestId, action }, 'scheduled action failed; will retry');
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, lane));
      if (this.loop.stopped) return undefined;
      // What was done may have made more due (or moved the next time).
      if (acted > 0 || listed.length >= DUE_BATCH) return 'now';
      const upcoming = await store.nextDueAt();
      // Still due now: only what just failed is (the rest was done or refreshed): look again in a second.
      return upcoming === undefined
        ? failed > 0
          ? now + 1000
          : undefined
        : upcoming <= now
          ? now + 1000
          : failed > 0
            ? Math.min(now + 1000, upcoming)
            : upcoming;
    } catch (error) {
      logger.error({ err: error }, 'scheduler failed; retrying in 1s');
      return clock.now() + 1000;
    }
  }

  /** An action that found nothing to do: the request's stored due time is brought up to date. */
  private async refresh(requestId: string): Promise<void> {
    const request = await this.deps.store.get(requestId);
    if (request)
      await this.deps.store.setDueAt(requestId, dueAtOf(request, this.deps.service.rulesOf(request)));
  }
}
