/**
 * Commit cost: what one transition costs the store with 10, 1,000 and 10,000 open grants.
 *
 *   npx tsx bench/commit.ts [--samples 60] [--cap 20] [--seed files|port] [--store lowdb|postgres]
 *
 * A micro-benchmark through the Store port, in this process: a data directory seeded with N
 * active grants is opened, and `commit` of one transition — the scheduler's expiry warning of
 * a grant, with the effects it causes (app/effects.ts) — is timed, each on another grant.
 * Median and p90 per size; the figure is the ratio of the medians, 10,000 vs 10. With
 * `--store postgres` the grants are in a fresh database (seeded through the port) and the
 * PostgresStore commits: one transaction over loopback instead of a file append.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { effectsFor, placeEffect } from '../src/app/effects';
import { note as noteOf } from '../src/domain/request';
import {
  activeGrant,
  arg,
  count,
  duration,
  note,
  openPostgresStore,
  openStore,
  percentile,
  report,
  seedArg,
  seenGroups,
  seedDataDir,
  seedThroughPort,
  storeArg,
  type Figure,
  type SeedVia,
  type StoreKind,
} from './lib';
import { createBenchDatabase, runAlone } from './postgres';

export interface CommitOptions {
  sizes: number[];
  /** Timed commits per size (after one to warm up), fewer when `capS` runs out (at least 3). */
  samples: number;
  /** Time budget per size, s. */
  capS: number;
  seed: SeedVia;
  store: StoreKind;
}

const SINK = 'http://127.0.0.1:9/'; // never called: no worker runs here

async function medianCommit(
  open: number,
  options: CommitOptions,
): Promise<{ median: number; p90: number; n: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-bench-commit-'));
  const database = options.store === 'postgres' ? await createBenchDatabase() : undefined;
  try {
    const expiresAt = Date.now() + 6 * 3_600_000;
    const grants = Array.from({ length: open }, (_, i) =>
      activeGrant({ n: i, user: i, groups: 10, sinkUrl: SINK }, expiresAt),
    );
    const seed = { open: grants, chatsOf: [], sinkUrl: SINK, baselines: seenGroups(10) };
    if (database) await seedThroughPort(() => openPostgresStore(database.url), seed);
    else await seedDataDir(dir, seed, options.seed);
    const store = database ? openPostgresStore(database.url) : openStore(dir);
    await store.open();
    const times: number[] = [];
    const deadline = Date.now() + options.capS * 1000;
    try {
      for (let i = 0; i <= options.samples && (i <= 3 || Date.now() < deadline); i++) {
        const current = (await store.get(grants[i % open]!.id))!;
        const { request, events } = noteOf({ ...current, warnedAt: undefined }, 'warned', Date.now());
        const effects = events
          .flatMap((event) => effectsFor(event, request, 'membership'))
          .map((e) => placeEffect(e, request));
        const started = performance.now();
        await store.commit({ request, expectedVersion: current.version, events, effects });
        if (i >= 1) times.push(performance.now() - started);
      }
    } finally {
      await store.close();
    }
    return { median: percentile(times, 0.5), p90: percentile(times, 0.9), n: times.length };
  } finally {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(options: CommitOptions): Promise<Figure[]> {
  const title = `commit cost, one transition, with ${options.sizes.map(count).join(' / ')} open grants`;
  console.log(`\n${title}`);
  const results = [];
  for (const size of options.sizes) {
    const result = await medianCommit(size, options);
    note(
      `${count(size).padStart(6)} open: median ${duration(result.median)}, p90 ${duration(result.p90)} (${result.n} commits)`,
    );
    results.push(result);
  }
  const ratio = results[results.length - 1]!.median / results[0]!.median;
  const measured = `median ${results.map((r) => duration(r.median)).join(' / ')} (p90 ${results.map((r) => duration(r.p90)).join(' / ')}): ${ratio.toFixed(ratio < 10 ? 1 : 0)}×`;
  return [
    report({
      figure: title,
      goal: `${count(options.sizes[options.sizes.length - 1]!)} vs ${count(options.sizes[0]!)} ≤ 2×`,
      measured,
      pass: ratio <= 2,
    }),
  ];
}

if (require.main === module) {
  runAlone(() =>
    run({
      sizes: [10, 1000, 10_000],
      samples: arg('samples', 60),
      capS: arg('cap', 20),
      seed: seedArg(),
      store: storeArg(),
    }),
  );
}
