/**
 * Insights over a long history (PRODUCT.md §13; issue 18: a 30-day report of 100k history
 * ≤ 1 s): 100,000 closed requests, one every 30 s (about 35 days, so most of them — 86k —
 * fall in the report's 30 days: the hard case; a year of history would put a tenth there).
 *
 *   npx tsx bench/insights.ts [--closed 100000] [--rounds 5] [--store lowdb|postgres]
 *
 * Two figures:
 * - the report, end to end as `timebox report --since 30d` builds it (app/report.ts
 *   `buildReport`): the requests of the period read from the store, when each group was last
 *   requested, where the history begins, the figures and the suggestions. LowdbStore (opened
 *   read-only, as the CLI opens it next to a running bot) on a data directory seeded with the
 *   history's files; `--store postgres` copies it into an embedded PostgreSQL first (`timebox
 *   store copy`) and reads that;
 * - the figures alone (`computeFigures` over the same requests in memory): what the pure core
 *   costs of it.
 * The history mixes outcomes (expired, released, denied, timed out, break-glass) so that every
 * figure has data to sort, and its approver channel has a time zone with summer time, so that
 * after-hours is computed in earnest. One warm-up round, then the median of `--rounds`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { copyStore } from '../src/adapters/store/copy-store';
import { buildReport } from '../src/app/report';
import { validatePolicy } from '../src/domain/policy';
import type { Store } from '../src/ports/store';
import { systemClock } from '../src/ports/clock';
import { LowdbStore } from '../src/adapters/store/lowdb-store';
import { computeFigures } from '../src/domain/insights';
import type { AccessRequest } from '../src/domain/request';
import {
  APPROVER,
  arg,
  benchPolicy,
  closedGrant,
  count,
  duration,
  openPostgresStore,
  personOf,
  seedDataDir,
  seenGroups,
  storeArg,
  type Figure,
  type StoreKind,
} from './lib';
import { createBenchDatabase, runAlone } from './postgres';

export interface InsightsOptions {
  closed: number;
  rounds: number;
  store?: StoreKind;
}

const GROUPS = 10;
const PEOPLE = 1000;
const DAY = 86_400_000;
const GOAL_MS = 1000;

/** Request i of the history, ending `at`: mostly expired grants, with the other outcomes mixed in. */
function historyRequest(i: number, at: number): AccessRequest {
  const grant = closedGrant({ n: i, user: i % PEOPLE, groups: GROUPS, sinkUrl: 'http://127.0.0.1:1' }, at);
  const approver = personOf(APPROVER);
  const ended = (r: Partial<AccessRequest>): AccessRequest => ({ ...grant, ...r });
  switch (i % 20) {
    case 0:
      return ended({
        status: 'denied',
        votes: [{ by: approver, decision: 'deny', at: grant.createdAt + 90_000, reason: 'No.' }],
        resolution: { by: approver, at: grant.createdAt + 90_000, reason: 'No.' },
        grantedAt: undefined,
        expiresAt: undefined,
      });
    case 1:
      return ended({
        status: 'timed_out',
        votes: [],
        resolution: { at: grant.createdAt + 3_600_000 },
        grantedAt: undefined,
        expiresAt: undefined,
        remindedAt: grant.createdAt + 900_000,
      });
    case 2:
    case 3:
      return ended({
        status: 'released',
        expiresAt: grant.grantedAt! + 1_200_000 + i,
        resolution: { at: grant.grantedAt! + 1_200_000 + i },
      });
    case 4:
      return ended({ kind: 'break_glass', votes: [], acknowledgedBy: i % 40 === 4 ? approver : undefined });
    default:
      return grant;
  }
}

const NOW = Date.UTC(2026, 10, 21, 14, 0, 0);
const SINK = 'http://127.0.0.1:1';

/** The median of `rounds` timed runs of `work`, after one untimed warm-up (the JIT, Intl, the page cache). */
async function medianOf(
  rounds: number,
  work: () => Promise<unknown> | unknown,
): Promise<{ median: number; times: number[] }> {
  const times: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const started = performance.now();
    await work();
    if (round > 0) times.push(performance.now() - started);
  }
  return { median: [...times].sort((a, b) => a - b)[Math.ceil(times.length / 2) - 1]!, times };
}

const rounds = (times: number[]) => times.map((t) => duration(t)).join(', ');

export async function run(options: InsightsOptions): Promise<Figure[]> {
  const history = `${count(options.closed)} closed requests`;
  const kind = options.store ?? 'lowdb';
  console.log(`\ninsights over ${history}`);
  const make = (i: number) => historyRequest(i, NOW - (options.closed - i) * 30_000);
  const period = { since: NOW - 30 * DAY, until: NOW };
  const policy = validatePolicy(
    {
      ...benchPolicy(GROUPS),
      approverChannels: { ops: { ...benchPolicy(GROUPS).approverChannels.ops!, timeZone: 'Europe/Berlin' } },
    },
    'bench policy',
  );

  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-bench-insights-'));
  const figures: Figure[] = [];
  try {
    const seeding = Date.now();
    const closed = { count: options.closed, make };
    await seedDataDir(
      dir,
      { open: [], closed, chatsOf: [], sinkUrl: SINK, baselines: seenGroups(GROUPS) },
      'files',
    );
    let store: Store = new LowdbStore(dir, { readOnly: true });
    let dropDatabase: (() => Promise<void>) | undefined;
    if (kind === 'postgres') {
      const database = await createBenchDatabase();
      dropDatabase = database.drop;
      await copyStore({ from: dir, to: database.url, toLabel: 'bench database' });
      // As a database in service is: vacuumed and analysed (else autovacuum runs during the rounds).
      const client = new Client({ connectionString: database.url });
      await client.connect();
      await client.query('VACUUM ANALYZE');
      await client.end();
      store = openPostgresStore(database.url);
    }
    console.log(`      seeded ${history} (${kind}) in ${duration(Date.now() - seeding)}`);
    try {
      await store.open();
      let inPeriod = 0;
      let suggestions = 0;
      const report = await medianOf(options.rounds, async () => {
        const built = await buildReport(store, policy, systemClock, period);
        inPeriod = built.overall.requests;
        suggestions = built.suggestions.length;
      });
      const label = `${count(options.closed / 1000)}k`;
      console.log(
        `insights: report of 30 days of ${label} history, ${kind}: ${duration(report.median)} (anchor ≤ 1 s)`,
      );
      console.log(
        `      ${count(inPeriod)} requests in the period, ${GROUPS} groups, ${suggestions} suggestions; rounds ${rounds(report.times)}`,
      );
      figures.push({
        figure: `insights report, 30 days of ${history} (${kind})`,
        goal: '≤ 1 s',
        measured: duration(report.median),
        pass: report.median <= GOAL_MS,
      });
    } finally {
      await store.close();
      await dropDatabase?.();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const requests = Array.from({ length: options.closed }, (_, i) => make(i));
  const opts = { timeZoneOf: () => 'Europe/Berlin' };
  const compute = await medianOf(options.rounds, () => computeFigures(requests, period, opts));
  console.log(
    `insights: figures alone (in memory): ${duration(compute.median)}; rounds ${rounds(compute.times)}`,
  );
  figures.push({
    figure: `insights figures alone, 30 days of ${history} in memory`,
    goal: '(part of the ≤ 1 s)',
    measured: duration(compute.median),
    pass: compute.median <= GOAL_MS,
  });
  return figures;
}

if (require.main === module) {
  runAlone(() => run({ closed: arg('closed', 100_000), rounds: arg('rounds', 5), store: storeArg() }));
}
