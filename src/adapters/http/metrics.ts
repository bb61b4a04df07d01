import type { Server } from 'node:http';
import express from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Observer } from './instrument';
import type { Clock } from '../../ports/clock';
import type { Store } from '../../ports/store';
import { Status } from '../../domain/request';

/**
 * Prometheus metrics. Gauges are read from the store at scrape time, so every replica reports
 * the truth rather than its own memory: open requests by status, the outbox depth, and how
 * long the oldest pending side effect has waited (a stuck Graph or Teams shows here first).
 * While the store cannot be read (a database outage) those gauges are NaN, "unknown" rather
 * than a 0 that would say all is well, and the scrape still answers: `timebox_ready` 0 then
 * raises TimeboxNotReady, not TimeboxDown for a process that is up.
 */
/** What the store answered, or undefined when it could not answer (the gauge then says NaN). */
async function unknownIfUnreadable<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch {
    return undefined;
  }
}

export function createMetrics(deps: { store: Store; clock: Clock; ready?: () => Promise<{ ok: boolean }> }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'timebox_process_' });
  const activities = new Counter({
    name: 'timebox_activities_total',
    help: 'Teams activities received, by type and outcome',
    labelNames: ['type', 'status'],
    registers: [registry],
  });
  new Gauge({
    name: 'timebox_requests_open',
    help: 'Open requests by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const statuses = [Status.PENDING, Status.APPROVED, Status.ACTIVE];
      const open = await unknownIfUnreadable(deps.store.listOpen());
      for (const status of statuses)
        this.set({ status }, open ? open.filter((r) => r.status === status).length : NaN);
    },
  });
  new Gauge({
    name: 'timebox_overdue_grants',
    help: 'Active grants past their end (should be 0 but for a few seconds)',
    registers: [registry],
    async collect() {
      const now = deps.clock.now();
      const active = await unknownIfUnreadable(deps.store.listOpen({ statuses: [Status.ACTIVE] }));
      this.set(active ? active.filter((r) => r.expiresAt !== undefined && r.expiresAt < now).length : NaN);
    },
  });
  new Gauge({
    name: 'timebox_outbox_oldest_due_seconds',
    help: 'How long the oldest due side effect has been waiting',
    registers: [registry],
    async collect() {
      const next = await unknownIfUnreadable(deps.store.nextEffectAt().then((at) => ({ at })));
      if (!next) this.set(NaN);
      else this.set(next.at === undefined ? 0 : Math.max(0, (deps.clock.now() - next.at) / 1000));
    },
  });
  new Gauge({
    name: 'timebox_outbox_depth',
    help: 'Side effects waiting in the outbox, by lane (directory: Graph; teams: Bot Connector)',
    labelNames: ['lane'],
    registers: [registry],
    async collect() {
      const effects = await unknownIfUnreadable(deps.store.listEffects());
      for (const lane of ['directory', 'teams'] as const)
        this.set({ lane }, effects ? effects.filter((e) => e.lane === lane).length : NaN);
    },
  });
  if (deps.ready) {
    const ready = deps.ready;
    new Gauge({
      name: 'timebox_ready',
      help: '1 when /readyz answers ready, 0 when not',
      registers: [registry],
      async collect() {
        this.set((await ready().catch(() => ({ ok: false }))).ok ? 1 : 0);
      },
    });
  }
  const decisions = new Histogram({
    name: 'timebox_decision_seconds',
    help: 'Time from a request to its first decision (approved, denied, auto-approved, break-glass), by outcome',
    labelNames: ['outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });
  const removalLag = new Histogram({
    name: 'timebox_removal_lag_seconds',
    help: 'Time from the end of a grant (expiry, release, revoke) to the membership being gone',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const graphCalls = new Histogram({
    name: 'timebox_graph_request_duration_seconds',
    help: 'Microsoft Graph calls through the directory port (retries inside), by operation and outcome (ok or the error code, e.g. DIRECTORY.PERMISSION_MISSING for a 403)',
    labelNames: ['operation', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const connectorCalls = new Histogram({
    name: 'timebox_connector_request_duration_seconds',
    help: 'Proactive Bot Connector calls (posts, card updates, thread replies, personal notices), by operation and outcome',
    labelNames: ['operation', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const observer: Observer = {
    directoryCall: (operation, outcome, seconds) => graphCalls.observe({ operation, outcome }, seconds),
    connectorCall: (operation, outcome, seconds) => connectorCalls.observe({ operation, outcome }, seconds),
    decision: (outcome, seconds) => decisions.observe({ outcome }, seconds),
    removalLag: (seconds) => removalLag.observe(seconds),
  };
  return {
    activities,
    observer,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/**
 * /metrics on a port of its own (TIMEBOX_METRICS_PORT), so that it is not public next to
 * /api/messages: nothing else is served there.
 */
export function createMetricsApp(render: () => Promise<{ contentType: string; body: string }>) {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await render();
    res.type(contentType).send(body);
  });
  return {
    listen(port: number, host: string): Promise<Server> {
      return new Promise((resolve, reject) => {
        const server = app.listen(port, host, () => resolve(server));
        server.once('error', reject);
      });
    },
  };
}
