/**
 * Every benchmark of PRODUCT.md §9, one after the other, then a summary table.
 *
 *   npm run bench              all of them (under 15 minutes even on today's store, by the caps)
 *   npm run bench:quick        a subset in under 3 minutes: 1,000 grants ending, commit cost,
 *                              approve round trip, `request` throughput
 *   npm run bench -- --seed port   seed through the Store port instead of the data files
 *   npm run bench -- --store postgres   the bot on PostgreSQL (DATABASE_URL): one embedded
 *                              server for the run, a fresh database per benchmark, seeded
 *                              through the port; stopped at the end, even after an error
 *
 * Benchmarks report; they never fail on a figure (MISS is printed, the exit code stays 0). A
 * benchmark that could not run at all (an exception) is printed as ERROR and sets exit code 1.
 */
import os from 'node:os';
import { duration, flag, seedArg, storeArg, type Figure } from './lib';
import { stopBenchPostgres } from './postgres';
import * as approve from './approve';
import * as commit from './commit';
import * as expiry from './expiry';
import * as insights from './insights';
import * as startup from './startup';
import * as throughput from './throughput';

const quick = flag('quick');
const seed = seedArg();
const store = storeArg();

interface Bench {
  name: string;
  run(): Promise<Figure[]>;
}

const benches: Bench[] = [
  {
    name: 'expiry 1,000',
    run: () =>
      expiry.run({
        grants: 1000,
        latencyMs: 0,
        overdue: false,
        capS: quick ? 45 : 90,
        leadS: 20,
        seed,
        store,
      }),
  },
  ...(quick
    ? []
    : [
        {
          name: 'expiry 1,000 at 150 ms',
          run: () =>
            expiry.run({ grants: 1000, latencyMs: 150, overdue: false, capS: 90, leadS: 20, seed, store }),
        },
      ]),
  ...(quick
    ? []
    : [
        {
          name: 'expiry 10,000',
          run: () =>
            expiry.run({ grants: 10_000, latencyMs: 0, overdue: false, capS: 60, leadS: 30, seed, store }),
        },
      ]),
  ...(quick
    ? []
    : [
        {
          name: 'overdue 10,000',
          run: () =>
            expiry.run({ grants: 10_000, latencyMs: 0, overdue: true, capS: 60, leadS: 0, seed, store }),
        },
      ]),
  {
    name: 'commit cost',
    run: () =>
      commit.run({ sizes: [10, 1000, 10_000], samples: quick ? 15 : 60, capS: quick ? 6 : 20, seed, store }),
  },
  {
    name: 'approve',
    run: () =>
      approve.run({
        open: 300,
        closed: 1000,
        sequential: quick ? 30 : 100,
        rounds: quick ? 4 : 15,
        batch: 10,
        capS: quick ? 20 : 60,
        seed,
        store,
      }),
  },
  {
    name: 'throughput',
    run: () => throughput.run({ seconds: quick ? 5 : 10, concurrency: 16, people: 5000, seed, store }),
  },
  { name: 'insights 100,000', run: () => insights.run({ closed: 100_000, rounds: quick ? 3 : 5 }) },
  ...(quick
    ? []
    : [
        {
          name: 'start-up 100,000',
          run: () => startup.run({ closed: 100_000, decisions: 1000, capS: 120, seed, store }),
        },
      ]),
];

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `Timebox benchmarks (${quick ? 'quick' : 'all'}), ${new Date().toISOString()}, ${os.cpus().length} cores, node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, seed via ${seed}${store === 'lowdb' ? '' : `, store ${store}`}`,
  );
  const figures: Figure[] = [];
  for (const bench of benches) {
    try {
      figures.push(...(await bench.run()));
    } catch (error) {
      console.log(
        `ERROR ${bench.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      figures.push({ figure: bench.name, goal: '', measured: 'ERROR (see above)', pass: false });
      process.exitCode = 1;
    }
  }
  console.log(`\n| figure (PRODUCT.md §9) | must reach | measured | |\n| --- | --- | --- | --- |`);
  for (const f of figures)
    console.log(`| ${f.figure} | ${f.goal} | ${f.measured} | ${f.pass ? 'PASS' : 'MISS'} |`);
  console.log(
    `\n${figures.filter((f) => f.pass).length} of ${figures.length} figures reach their goal; ${duration(Date.now() - started)} in all, load average now ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

// The PostgreSQL server (if any) is stopped whatever happened; it also stops if this process dies.
void main().finally(() => stopBenchPostgres());
