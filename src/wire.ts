import { AccessService, type GrantMode } from './app/access-service';
import { DigestLoop } from './app/digest';
import { GrantWorker, type WorkerOptions } from './app/grant-worker';
import type { Presenter } from './app/presenter';
import type { RequestLimiter } from './app/rate-limit';
import { Reconciler, type ReconcilerOptions } from './app/reconciler';
import { Scheduler } from './app/scheduler';
import type { Policy } from './domain/policy';
import type { Clock } from './ports/clock';
import type { Directory } from './ports/directory';
import type { Logger } from './ports/logger';
import type { Notifier } from './ports/notifier';
import type { Store } from './ports/store';
import type { WebhookSender } from './ports/webhook-sender';

/** The ports the core runs on, built by the caller (main.ts, the test rig, the CLI). */
export interface CoreDeps {
  store: Store;
  directory: Directory;
  /** The worker's cards and messages, and the reconciler's drift alerts. */
  notifier: Notifier;
  /** The worker's view of requests; built once the service exists (list cards read through it). */
  presenter: (service: AccessService) => Presenter;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  rateLimiter?: RequestLimiter;
  /** Sends the policy's `webhooks:` deliveries (adapters/webhooks): needed when the policy has any. */
  webhooks?: WebhookSender;
}

export interface CoreOptions {
  mode?: GrantMode;
  worker?: Partial<WorkerOptions>;
  /** The reconciler's schedule; without it the reconciler is built (for `runOnce`) but `start` does not start it. */
  reconcile?: ReconcilerOptions;
  /**
   * Runs the approver channels' daily digests (policy `digest:`, app/digest.ts) from `start`;
   * off unless asked (the bot asks; the test rig and the CLI do not).
   */
  digest?: boolean;
}

/** The use cases and the loops that carry them out, wired to each other. */
export interface Core {
  service: AccessService;
  worker: GrantWorker;
  scheduler: Scheduler;
  reconciler: Reconciler;
  /** The daily digests, when `CoreOptions.digest` asked for them. */
  digest?: DigestLoop;
  /**
   * "Something was committed" — here, or on another replica once started (`Store.onChange`):
   * what a long-poll of the API waits on (it reads the store again; a notice carries nothing).
   */
  changes: Changes;
  /**
   * Starts the loops on the work left from before (a restart): overdue expiries first
   * (scheduler), then the outbox (worker), then — with `reconcile` options — a reconciliation
   * pass (which holds up neither) and its schedule. With a store shared by several processes
   * (`Store.onChange`), their changes wake the loops too, until `stop`.
   */
  start(): void;
  /** Waits until the scheduler and the worker have nothing running (for tests). */
  settled(): Promise<void>;
  /**
   * Stops the loops: the reconciler (a pass under way waited for at most `reconcilerMs`), the
   * scheduler, then the worker (effects under way waited for at most `workerMs`; the rest stay
   * in the outbox for the next start). Default: wait for everything. The store stays open.
   */
  stop(budget?: { reconcilerMs?: number; workerMs?: number }): Promise<{ handedBack: number }>;
}

/** A set of listeners told of every commit. A listener that throws does not stop the others. */
export class Changes {
  private readonly listeners = new Set<() => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // a listener's own problem: the commit and the other listeners go on
      }
    }
  }
}

/**
 * The one wiring of AccessService, GrantWorker, Scheduler and Reconciler, for the bot
 * (main.ts), the test rig and the CLI alike.
 *
 * NB: the service tells the loops about each commit (the worker runs the effects it queued, the
 * scheduler looks at the new due time), and the loops need the service: the knot is tied here,
 * once. The reconciler's commits (requeued effects) kick the worker.
 */
export function wireCore(deps: CoreDeps, options: CoreOptions = {}): Core {
  const { store, directory, notifier, policy, clock, logger } = deps;
  const loops: { worker?: GrantWorker; scheduler?: Scheduler } = {};
  const changes = new Changes();
  const service = new AccessService({
    store,
    directory,
    policy,
    clock,
    mode: options.mode,
    rateLimiter: deps.rateLimiter,
    onCommit: () => (loops.worker?.kick(), loops.scheduler?.poke(), changes.emit()),
  });
  const worker = (loops.worker = new GrantWorker(
    {
      store,
      directory,
      notifier,
      service,
      policy,
      clock,
      presenter: deps.presenter(service),
      logger,
      webhooks: deps.webhooks,
    },
    options.worker,
  ));
  const scheduler = (loops.scheduler = new Scheduler({ store, service, clock, logger }));
  let unsubscribe: (() => void) | undefined;
  const reconciler = new Reconciler(
    {
      store,
      directory,
      service,
      policy,
      clock,
      logger,
      notifier,
      onCommit: () => (worker.kick(), changes.emit()),
    },
    options.reconcile ?? { intervalMs: 0 },
  );
  const digest = options.digest
    ? new DigestLoop({
        store,
        notifier,
        policy,
        clock,
        logger,
        defaultServiceUrl: options.worker?.defaultServiceUrl,
      })
    : undefined;
  return {
    service,
    worker,
    scheduler,
    reconciler,
    digest,
    changes,
    start() {
      scheduler.poke();
      worker.kick();
      // Another replica's commit (a new effect, a new due time) wakes our loops at once.
      unsubscribe ??= store.onChange?.(() => (worker.kick(), scheduler.poke(), changes.emit()));
      if (options.reconcile) reconciler.start();
      digest?.start();
    },
    async settled() {
      await scheduler.settled();
      await worker.settled();
    },
    async stop(budget = {}) {
      unsubscribe?.();
      unsubscribe = undefined;
      await reconciler.stop(budget.reconcilerMs);
      await digest?.stop();
      await scheduler.stop();
      return worker.stop(budget.workerMs);
    },
  };
}

/**
 * A notifier and a presenter for a process that posts nothing to Teams (`reconcile --dry-run`):
 * its core's worker must never run, and any call says so rather than posting.
 */
export function postsNothing(): Pick<CoreDeps, 'notifier' | 'presenter'> {
  const refuse = async (): Promise<never> => {
    throw new Error('This Timebox process posts nothing to Teams (it runs no worker).');
  };
  return {
    notifier: { postToChannel: refuse, updateCard: refuse, replyInThread: refuse, sendToPerson: refuse },
    presenter: () => ({ approvalCard: refuse, receiptCard: refuse, notice: refuse, listCard: refuse }),
  };
}
