import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../../ports/clock';
import type { Store } from '../../ports/store';
import { Status } from '../../domain/request';

/**
 * Prometheus metrics. Gauges are read from the store at scrape time, so every replica reports
 * the truth rather than its own memory: open requests by status, the outbox depth, and how
 * long the oldest pending side effect has waited (a stuck Graph or Teams shows here first).
 */
export function createMetrics(deps: { store: Store; clock: Clock }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'timebox_process_' });
  const activities = new Counter({ name: 'timebox_activities_total', help: 'Teams activities received, by type and outcome', labelNames: ['type', 'status'], registers: [registry] });
  new Gauge({
    name: 'timebox_requests_open',
    help: 'Open requests by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const open = await deps.store.listOpen();
      for (const status of [Status.PENDING, Status.APPROVED, Status.ACTIVE]) this.set({ status }, open.filter((r) => r.status === status).length);
    },
  });
  new Gauge({
    name: 'timebox_overdue_grants',
    help: 'Active grants past their end (should be 0 but for a few seconds)',
    registers: [registry],
    async collect() {
      const now = deps.clock.now();
      this.set((await deps.store.listOpen({ statuses: [Status.ACTIVE] })).filter((r) => r.expiresAt !== undefined && r.expiresAt < now).length);
    },
  });
  new Gauge({
    name: 'timebox_outbox_oldest_due_seconds',
    help: 'How long the oldest due side effect has been waiting',
    registers: [registry],
    async collect() {
      const next = await deps.store.nextEffectAt();
      this.set(next === undefined ? 0 : Math.max(0, (deps.clock.now() - next) / 1000));
    },
  });
  return {
    activities,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
