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
import { wireCore, type Core } from './wire';
import { AccessTokenVerifier } from './adapters/api/access-token';
import { createApiRouter } from './adapters/api/api-router';
import {
  ApprovalTokens,
  signingKeysFromJwks,
  type ApprovalTokenOptions,
} from './adapters/api/approval-tokens';
import { newSigningKeyMaterial } from './adapters/api/stored-signing-keys';
import { loadOrCreateSigningKeys, watchSigningKeys } from './app/signing-keys';
import { sendProblem } from './adapters/api/problem';
import { requestsRoutes } from './adapters/api/requests-routes';
import { DEFAULT_APPROVAL_VALID_FOR_MS, actionRulesFor } from './domain/action-rules';
import { rulesFor, type Policy } from './domain/policy';
import { packageVersion } from './version';
import type { ApiConfig } from './config';
import type { RequestHandler } from 'express';
import { createWebhookSender } from './adapters/webhooks/http-webhook-sender';
import type { WebhookSender } from './ports/webhook-sender';

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
  /** Sends webhook deliveries (tests); built from the policy and the environment otherwise. */
  webhooks?: WebhookSender;
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
  // The webhooks' secrets, read now: a hook whose variable is unset stops the start, naming it.
  const webhooks = overrides.webhooks ?? createWebhookSender(policy.webhooks, env);
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
      webhooks,
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
          directory,
          defaultServiceUrl: config.defaultServiceUrl,
          sharedButtons: config.sharedCardButtons,
        }),
    },
    {
      mode: config.grantMode,
      worker: { defaultServiceUrl: config.defaultServiceUrl, ...overrides.worker },
      // The approver channels' daily digest (policy approverChannels.<name>.digest).
      digest: true,
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
  // The workflow API next to /api/messages: built once the listening URL is known (local mode
  // may use it as the public URL); until then, and while starting or stopping, it answers 503.
  let api: RequestHandler | undefined;
  let stopApi = (): void => undefined;
  app.use((req, res, next) => {
    if (!config.api || !(req.path.startsWith('/api/v1') || req.path === '/.well-known/jwks.json'))
      return next();
    if (!api || !accepting || !opening.isOpen())
      return sendProblem(
        res,
        { status: 503, code: 'api.unavailable', title: 'Timebox is starting or stopping; try again shortly' },
        { 'Retry-After': '5' },
      );
    api(req, res, next);
  });
  // Off: the API's paths are not there.
  if (!config.api)
    app.use('/api/v1', (_req, res) =>
      sendProblem(res, { status: 404, code: 'api.not_found', title: 'The workflow API is not enabled here' }),
    );
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  if (config.api) {
    const started = await workflowApi(config.api, config.api.publicUrl ?? url, {
      core,
      store,
      directory,
      policy,
      clock,
      logger,
    }).catch((error: unknown) => {
      // Not started after all: nothing may stay listening.
      server.close();
      throw error;
    });
    api = started.handler;
    stopApi = started.stop;
    logger.info({ audiences: config.api.audiences, issuer: config.api.publicUrl ?? url }, 'workflow API on');
  }
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
      stopApi();
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

/** The longest an approval token can live: a retired signing key stays published that long. */
function longestApprovalMs(policy: Policy): number {
  const groups = Object.keys(policy.groups).map((alias) => {
    const rules = rulesFor(policy, alias);
    return Math.max(rules.maxDurationMs, rules.extension.maxTotalMs);
  });
  const actions = Object.keys(policy.actions).map(
    (alias) => actionRulesFor(policy, alias).approvalValidForMs,
  );
  return Math.max(DEFAULT_APPROVAL_VALID_FOR_MS, ...groups, ...actions);
}

const DAY_MS = 86_400_000;

/**
 * The keys that sign approval tokens: TIMEBOX_APPROVAL_KEYS when given (the operator rotates
 * them), else the ones kept in the store — shared by every replica, created on first start,
 * rotated every 30 days, the old key published until its tokens have expired.
 */
async function approvalTokens(
  api: ApiConfig,
  options: ApprovalTokenOptions,
  deps: { store: Store; clock: Clock; logger: Logger },
): Promise<{ tokens: ApprovalTokens; stop(): void }> {
  const { store, clock, logger } = deps;
  if (api.approvalKeys)
    return {
      tokens: new ApprovalTokens(signingKeysFromJwks(api.approvalKeys, clock.now()), options),
      stop() {},
    };
  const keyOptions = {
    rotateAfterMs: 30 * DAY_MS,
    // NB: plus the reload interval, so a replica that reloads late never drops a key too soon.
    retainMs: options.retainRetiredMs + KEY_RELOAD_MS,
    activateAfterMs: 3_600_000,
    generate: newSigningKeyMaterial,
  };
  const loaded = await loadOrCreateSigningKeys(store, clock, keyOptions);
  const tokens = new ApprovalTokens(loaded.keys, options);
  const watch = watchSigningKeys({
    store,
    clock,
    options: keyOptions,
    everyMs: KEY_RELOAD_MS,
    initial: loaded,
    onKeys: (next) => tokens.replaceKeys(next.keys),
    onError: (error) =>
      logger.warn(
        { err: (error as Error).message },
        'could not reload the approval signing keys; the current ones stay in use',
      ),
  });
  return { tokens, stop: () => watch.stop() };
}

/** How often a replica reads the stored signing keys again (another may have rotated them). */
const KEY_RELOAD_MS = 10 * 60_000;

/** The workflow API (§11) on the core's service and store. */
async function workflowApi(
  api: ApiConfig,
  publicUrl: string,
  deps: {
    core: Core;
    store: Store;
    directory: Directory;
    policy: Policy;
    clock: Clock;
    logger: Logger;
  },
): Promise<{ handler: RequestHandler; stop(): void }> {
  const { core, store, directory, policy, clock, logger } = deps;
  const keys = await approvalTokens(
    api,
    { issuer: publicUrl, retainRetiredMs: longestApprovalMs(policy) },
    { store, clock, logger },
  );
  const tokens = keys.tokens;
  const handler = createApiRouter(
    {
      verifier: new AccessTokenVerifier({
        tenantId: api.tenantId,
        audiences: api.audiences,
        metadataUrl: api.metadataUrl,
      }),
      policy: () => policy,
      tokens,
      clock,
      logger,
      publicUrl,
      version: packageVersion(),
      callLimiter: api.callRateLimit && new RateLimiter(clock, api.callRateLimit),
      audit: (call) => core.service.auditApiCall(call),
    },
    requestsRoutes({
      service: core.service,
      requests: store,
      directory,
      policy: () => policy,
      tokens,
      clock,
      changes: core.changes,
    }),
  );
  return { handler, stop: keys.stop };
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
