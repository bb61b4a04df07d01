import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudAdapter } from 'botbuilder';
import type { ServiceClientCredentialsFactory } from 'botframework-connector';
import pino from 'pino';
import { AccessService } from './app/access-service';
import { RateLimiter } from './app/rate-limit';
import { GrantWorker, type WorkerOptions } from './app/grant-worker';
import { Scheduler } from './app/scheduler';
import { CardPresenter } from './adapters/teams/card-presenter';
import { TeamRoster } from './adapters/teams/team-roster';
import { TimeboxBot } from './adapters/teams/timebox-bot';
import { TimeboxBotAuthentication } from './adapters/teams/bot-authentication';
import { TeamsNotifier } from './adapters/teams/teams-notifier';
import { createHttpApp } from './adapters/http/http-app';
import { createMetrics } from './adapters/http/metrics';
import { LowdbStore } from './adapters/store/lowdb-store';
import { createDirectoryFromEnv } from './adapters/graph/create-directory';
import { loadPolicyFile } from './policy-file';
import type { Config } from './config';
import { systemClock, type Clock } from './ports/clock';
import type { Directory } from './ports/directory';
import type { Logger } from './ports/logger';
import type { Notifier } from './ports/notifier';
import type { Store } from './ports/store';

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
}

export interface RunningTimebox {
  url: string;
  port: number;
  service: AccessService;
  store: Store;
  worker: GrantWorker;
  scheduler: Scheduler;
  /** Waits until the worker and the scheduler have nothing running (for tests). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** The composition root: the one place adapters are built and wired together. */
export async function startTimebox(config: Config, overrides: Overrides = {}): Promise<RunningTimebox> {
  const env = overrides.env ?? process.env;
  const logger: Logger = overrides.logger ?? pino({ level: config.logLevel, redact: ['*.password', '*.secret', '*.token', 'MicrosoftAppPassword', 'AZURE_CLIENT_SECRET'] });
  const clock = overrides.clock ?? systemClock;
  const policy = await loadPolicyFile(config.policyFile);
  const store = overrides.store ?? new LowdbStore(config.dataDir);
  await store.open();
  const directory = overrides.directory ?? createDirectoryFromEnv({ ...env, GRAPH_BASE_URL: config.graphBaseUrl });

  // botbuilder's own JWT validation of every activity (off only in local mode, where there is no app id).
  const auth = new TimeboxBotAuthentication(env, overrides.botCredentials);
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (context, error) => {
    logger.error({ err: error }, 'turn failed');
    if (context.activity.type === 'message') {
      await context.sendActivity("Something went wrong on Timebox's side, and nothing was changed. Try again.").catch(() => undefined);
    }
  };
  let botId = config.appId ? `28:${config.appId}` : '';
  const notifier = overrides.notifier ?? new TeamsNotifier(adapter, config.appId, () => botId);

  // The service tells the loops about each commit; the loops need the service: tie the knot here.
  const loops: { worker?: GrantWorker; scheduler?: Scheduler } = {};
  const rateLimiter = config.requestRateLimit ? new RateLimiter(clock, config.requestRateLimit) : undefined;
  const service = new AccessService({ store, directory, policy, clock, mode: config.grantMode, rateLimiter, onCommit: () => (loops.worker?.kick(), loops.scheduler?.poke()) });
  const roster = new TeamRoster(adapter, config.appId, () => botId, clock, logger);
  const presenter = new CardPresenter({ clock, store, service, roster, defaultServiceUrl: config.defaultServiceUrl });
  const worker = (loops.worker = new GrantWorker({ store, directory, notifier, service, policy, clock, presenter, logger }, { defaultServiceUrl: config.defaultServiceUrl, ...overrides.worker }));
  const scheduler = (loops.scheduler = new Scheduler({ store, service, clock, logger }));
  const bot = new TimeboxBot({ service, store, directory, logger, clock, tenantId: config.tenantId, onBotId: (id) => (botId = id) });

  const metrics = createMetrics({ store, clock });
  const app = createHttpApp({
    adapter,
    bot,
    logger,
    ready: async () => ({ ok: true }),
    metrics: () => metrics.render(),
    onActivity: (type, status) => metrics.activities.inc({ type, status: String(status) }),
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info({ url, dev: config.dev, mode: config.grantMode, policy: config.policyFile }, 'timebox listening');
  if (!config.dev && !config.tenantId) {
    logger.warn({}, 'MicrosoftAppTenantId is not set: activities from any tenant are accepted (people unknown to the directory are still refused). Set it to serve one tenant only.');
  }

  // Work left from before a restart: overdue expiries first (scheduler), then the outbox.
  scheduler.poke();
  worker.kick();

  return {
    url,
    port,
    service,
    store,
    worker,
    scheduler,
    async settled() {
      await scheduler.settled();
      await worker.settled();
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await scheduler.stop();
      await worker.stop();
      await store.close();
    },
  };
}
