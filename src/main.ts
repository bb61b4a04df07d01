import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceClientCredentialsFactory } from 'botframework-connector';
import pino, { type DestinationStream } from 'pino';
import type { AccessService } from './app/access-service';
import { RateLimiter } from './app/rate-limit';
import { openOrRetry } from './app/store-opening';
import type { GrantWorker, WorkerOptions } from './app/grant-worker';
import type { Scheduler } from './app/scheduler';
import type { Reconciler } from './app/reconciler';
import { CardPresenter } from './adapters/teams/card-presenter';
import { TeamRoster } from './adapters/teams/team-roster';
import { TimeboxBot } from './adapters/teams/timebox-bot';
import { TimeboxBotAuthentication } from './adapters/teams/bot-authentication';
import { TimeboxAdapter } from './adapters/teams/timebox-adapter';
import { TeamsNotifier } from './adapters/teams/teams-notifier';
import { createHttpApp } from './adapters/http/http-app';
import { createMetrics, createMetricsApp } from './adapters/http/metrics';
import { instrumentDirectory, instrumentNotifier, observeStore } from './adapters/http/instrument';
import { createStore } from './adapters/store/open-store';
import { PostgresStore } from './adapters/store/postgres/postgres-store';
import { createDirectoryFromEnv } from './adapters/graph/create-directory';
import { loadPolicyFile } from './policy-file';
import { policyWarnings } from './domain/policy';
import { DomainError, ErrorCodes } from './domain/errors';
import type { Config } from './config';
import { systemClock, type Clock } from './ports/clock';
import type { Directory } from './ports/directory';
import type { Logger } from './ports/logger';
import type { Notifier } from './ports/notifier';
import type { Store } from './ports/store';
import { wireCore } from './wire';

export interface Overrides {
  clock?: Clock;
  directory?: Directory;
  store?: Store;
  notifier?: Notifier;
  logger?: Logger;
  worker?: Partial<WorkerOptions>;
  env?: NodeJS.ProcessEnv;
  /** The bot's credentials for outbound calls (tests: a token endpoint on loopback); botbuilder's from the env otherwise. */
  botCredentials?: ServiceClientCredentialsFactory;
  /** Where the real (pino) logger writes, when no `logger` is given (tests: a buffer). */
  logDestination?: DestinationStream;
}

/**
 * The production logger. Secrets are never passed to it; the redaction is a second line for
 * credentials that may sit inside an error or a request a dependency attached to one.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: {
      paths: [
        '*.password',
        '*.secret',
        '*.token',
        '*.accessToken',
        '*.clientSecret',
        '*.client_secret',
        '*.authorization',
        '*.Authorization',
        '*.headers.authorization',
        '*.headers.Authorization',
        '*.*.headers.authorization',
        '*.*.headers.Authorization',
        'MicrosoftAppPassword',
        'AZURE_CLIENT_SECRET',
        'CertificatePrivateKey',
        '*.MicrosoftAppPassword',
        '*.AZURE_CLIENT_SECRET',
        '*.CertificatePrivateKey',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export interface RunningTimebox {
  url: string;
  port: number;
  /** Where /metrics is served when TIMEBOX_METRICS_PORT is set (else on `url`). */
  metricsUrl?: string;
  service: AccessService;
  store: Store;
  worker: GrantWorker;
  scheduler: Scheduler;
  reconciler: Reconciler;
  /** Waits until the worker and the scheduler have nothing running (for tests). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** The composition root: the one place adapters are built and wired together. */
export async function startTimebox(config: Config, overrides: Overrides = {}): Promise<RunningTimebox> {
  const env = overrides.env ?? process.env;
  const logger: Logger = overrides.logger ?? createLogger(config.logLevel, overrides.logDestination);
  const clock = overrides.clock ?? systemClock;
  // The audit head is signed with TIMEBOX_AUDIT_KEY; each checkpoint is logged too, a copy outside the data directory.
  // NB: chosen (not opened) before the policy is read: a bad DATABASE_URL is refused first, whatever else is wrong.
  const rawStore =
    overrides.store ??
    createStore(config, {
      onCheckpoint: (c) =>
        logger.info(
          { auditCheckpoint: { seq: c.seq, hash: c.hash, at: c.at, reason: c.reason } },
          'audit checkpoint signed',
        ),
      onProblem: (message) => logger.warn({}, message),
    });
  const policy = await loadPolicyFile(config.policyFile);
  for (const warning of policyWarnings(policy))
    logger.warn({ policy: config.policyFile, path: warning.path }, warning.message);
  if (!overrides.store && !config.auditKey) {
    logger.warn(
      {},
      'TIMEBOX_AUDIT_KEY is not set: the audit log is hash-chained but not signed, so whoever can write the data directory can rewrite it undetectably. Set it (32+ random bytes, hex or base64) from a secret store.',
    );
  }
  const opening = await openOrRetry(rawStore, logger);
  // Metrics, and an info log of every transition, Graph and Bot Connector call (adapters/http/instrument.ts).
  let accepting = true;
  // Ready: not stopping, the store open and reachable now (a database that went away makes the
  // replica unready, not dead: it serves again when the database is back, no restart).
  const readiness = async (): Promise<{ ok: boolean; detail?: Record<string, unknown> }> => {
    if (!accepting) return { ok: false, detail: { reason: 'stopping' } };
    if (!opening.isOpen()) return { ok: false, detail: { reason: 'store unavailable' } };
    const health = await rawStore.health?.();
    return health && !health.ok ? { ok: false, detail: { reason: 'store unavailable' } } : { ok: true };
  };
  const metrics = createMetrics({ store: rawStore, clock, ready: readiness });
  const store = observeStore(rawStore, metrics.observer, logger);
  const directory = instrumentDirectory(
    overrides.directory ?? createDirectoryFromEnv({ ...env, GRAPH_BASE_URL: config.graphBaseUrl }),
    metrics.observer,
  );

  // botbuilder's own JWT validation of every activity (off only in local mode, where there is no app id).
  const auth = new TimeboxBotAuthentication(env, overrides.botCredentials);
  const adapter = new TimeboxAdapter(auth, {
    logger,
    tenantId: config.tenantId,
    onForeignActivity: ({ reason, ...detail }) =>
      service.auditRefusal(
        undefined,
        undefined,
        'activity',
        foreignActivityError(reason, detail.channelId),
        detail,
      ),
  });
  adapter.onTurnError = async (context, error) => {
    logger.error({ err: error }, 'turn failed');
    if (context.activity.type === 'message') {
      await context
        .sendActivity("Something went wrong on Timebox's side, and nothing was changed. Try again.")
        .catch(() => undefined);
    }
  };
  let botId = config.appId ? `28:${config.appId}` : '';
  const notifier = instrumentNotifier(
    overrides.notifier ?? new TeamsNotifier(adapter, config.appId, () => botId),
    metrics.observer,
  );

  const roster = new TeamRoster(adapter, config.appId, () => botId, clock, logger);
  const core = wireCore(
    {
      store,
      directory,
      notifier,
      policy,
      clock,
      logger,
      // Several replicas share one limit through the database; one process keeps it in memory.
      rateLimiter: !config.requestRateLimit
        ? undefined
        : rawStore instanceof PostgresStore
          ? rawStore.sharedRateLimiter(clock, config.requestRateLimit)
          : new RateLimiter(clock, config.requestRateLimit),
      presenter: (service) =>
        new CardPresenter({
          clock,
          store,
          service,
          roster,
          defaultServiceUrl: config.defaultServiceUrl,
          sharedButtons: config.sharedCardButtons,
        }),
    },
    {
      mode: config.grantMode,
      worker: { defaultServiceUrl: config.defaultServiceUrl, ...overrides.worker },
      reconcile: {
        intervalMs: config.reconcileIntervalMs,
        tenantId: config.tenantId,
        defaultServiceUrl: config.defaultServiceUrl,
      },
    },
  );
  const { service, worker, scheduler, reconciler } = core;
  const bot = new TimeboxBot({
    service,
    store,
    directory,
    logger,
    clock,
    tenantId: config.tenantId,
    onBotId: (id) => (botId = id),
  });

  const app = createHttpApp({
    adapter,
    bot,
    logger,
    ready: readiness,
    // Before the store is open nothing can be recorded: Teams gets 503 and retries.
    refusing: () => (!accepting ? 'stopping' : opening.isOpen() ? undefined : 'starting'),
    // With TIMEBOX_METRICS_PORT, /metrics is served on that port only (not next to /api/messages).
    metrics: config.metricsPort === undefined ? () => metrics.render() : undefined,
    onActivity: (type, status) => metrics.activities.inc({ type, status: String(status) }),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await createMetricsApp(() => metrics.render()).listen(config.metricsPort, config.host);
  const metricsUrl =
    metricsServer &&
    `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${(metricsServer.address() as AddressInfo).port}`;
  logger.info(
    { url, dev: config.dev, mode: config.grantMode, policy: config.policyFile },
    'timebox listening',
  );
  if (!config.dev && !config.tenantId) {
    logger.warn(
      {},
      'MicrosoftAppTenantId is not set: activities from any tenant are accepted (people unknown to the directory are still refused). Set it to serve one tenant only.',
    );
  }

  // Work left from before a restart: overdue expiries first (scheduler), then the outbox; then
  // the store against the directory, at start (not holding those up) and on a schedule. A
  // store still being opened (the database not up yet) starts them once it is open.
  void opening.opened.then(() => {
    if (accepting) core.start();
  });

  return {
    url,
    port,
    metricsUrl,
    service,
    store,
    worker,
    scheduler,
    reconciler,
    settled: () => core.settled(),
    /**
     * Graceful stop, within 10 s (`serve` exits with 1 past that): take no new work (activities
     * get 503, the listener closes), give turns under way up to 2 s, stop the loops, give side
     * effects under way up to 5 s and hand the rest back (they stay in the outbox and run at the
     * next start; every one is idempotent), then let the store finish its last write.
     */
    async stop() {
      accepting = false;
      opening.cancel();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections?.();
      await Promise.race([closed, delay(2_000)]);
      server.closeAllConnections?.();
      const { handedBack } = await core.stop({ reconcilerMs: 1_000, workerMs: 5_000 });
      await store
        .close()
        .catch((error: unknown) => logger.warn({ err: error }, 'the store did not close cleanly'));
      metricsServer?.closeAllConnections?.();
      metricsServer?.close();
      logger.info({ handedBack }, 'timebox stopped');
    },
  };
}

function foreignActivityError(reason: 'channel' | 'tenant', channelId: string): DomainError {
  return reason === 'channel'
    ? new DomainError(
        ErrorCodes.NOT_TEAMS,
        `An activity from the "${channelId}" channel: Timebox acts only on Microsoft Teams.`,
      )
    : new DomainError(
        ErrorCodes.WRONG_TENANT,
        'An activity that does not name this tenant in conversation.tenantId.',
      );
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
