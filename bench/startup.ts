/**
 * Start-up and memory with a long history: 100,000 closed requests (two history versions and
 * six audit records each, as an expiry leaves them), plus 1,000 pending requests to decide.
 *
 *   npx tsx bench/startup.ts [--closed 100000] [--decisions 1000] [--cap 120] [--seed files|port]
 *
 * Start-up is from spawning `timebox serve` to its first 200 on /readyz (for scale: the same on
 * an empty data directory first). Then 1,000 decisions (clicks on Approve and Deny, 10 at a
 * time) and the bot's resident memory (VmRSS) right after. Stops deciding after `--cap` s.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  arg,
  clickOnCard,
  closedGrant,
  count,
  duration,
  note,
  pendingRequest,
  report,
  seedArg,
  storeArg,
  seenGroups,
  seedLabel,
  seedStack,
  startBot,
  startStack,
  teamsFor,
  userOf,
  type Figure,
  type RunningProcess,
  type SeedVia,
  type StoreKind,
} from './lib';
import { runAlone } from './postgres';

export interface StartupOptions {
  closed: number;
  decisions: number;
  capS: number;
  seed: SeedVia;
  store: StoreKind;
}

const GROUPS = 10;
/** People the history is spread over. */
const PEOPLE = 1000;
const AT_ONCE = 10;

export async function run(options: StartupOptions): Promise<Figure[]> {
  const history = `${count(options.closed)} closed requests`;
  console.log(`\nstart-up and resident memory with ${history}`);
  const stack = await startStack({
    users: Math.max(PEOPLE, options.decisions),
    groups: GROUPS,
    store: options.store,
  });
  try {
    const sinkUrl = stack.sink.url;
    await seedStack(stack, { open: [], chatsOf: [], sinkUrl, baselines: seenGroups(GROUPS) }, options.seed);
    const empty = await startBot(stack);
    const emptyMs = empty.readyAt - empty.spawnedAt;
    await empty.stop();
    await stack.reset();

    const now = Date.now();
    const seeding = Date.now();
    const pending = Array.from({ length: options.decisions }, (_, i) =>
      pendingRequest({ n: i, user: i, groups: GROUPS, sinkUrl }, now - 60_000 + i),
    );
    const closed = {
      count: options.closed,
      make: (i: number) =>
        closedGrant({ n: i, user: i % PEOPLE, groups: GROUPS, sinkUrl }, now - (options.closed - i) * 30_000),
    };
    await seedStack(
      stack,
      {
        open: pending,
        closed,
        chatsOf: pending.map((_, i) => userOf(i)),
        sinkUrl,
        baselines: seenGroups(GROUPS),
      },
      options.seed,
    );
    note(
      `seeded ${history} and ${count(pending.length)} pending (${seedLabel(stack, options.seed)}) in ${duration(Date.now() - seeding)}`,
    );

    const bot = await startBot(stack);
    const startMs = bot.readyAt - bot.spawnedAt;
    const rssAtReady = bot.rssMb();
    let decided = 0;
    let rss = Number.NaN;
    let where = '';
    const started = Date.now();
    try {
      const teams = teamsFor(bot, stack.sink);
      const deadline = started + options.capS * 1000;
      let next = 0;
      await Promise.all(
        Array.from({ length: AT_ONCE }, async () => {
          while (next < pending.length && Date.now() < deadline) {
            const i = next++;
            const { ok } = await clickOnCard(
              teams,
              i % 2 ? 'deny' : 'approve',
              pending[i]!,
              i % 2 ? 'Not during the freeze.' : undefined,
            );
            if (ok) decided++;
          }
        }),
      );
      rss = bot.rssMb();
      where = await memoryParts(bot);
      // BENCH_HEAP_SNAPSHOT=<dir>: a V8 heap snapshot of the bot after the decisions, written there.
      if (process.env.BENCH_HEAP_SNAPSHOT) await heapSnapshot(bot, process.env.BENCH_HEAP_SNAPSHOT);
    } finally {
      await bot.stop();
    }
    note(
      `${count(decided)} decisions (half approvals, half denials) in ${duration(Date.now() - started)}; RSS ${rssAtReady.toFixed(0)} MB at /readyz`,
    );
    note(`after them: ${where}`);
    const all = decided >= options.decisions;
    return [
      report({
        figure: `start-up to /readyz, ${history}`,
        goal: '≤ 3 s',
        measured: `${duration(startMs)} (empty ${stack.databaseUrl ? 'database' : 'data directory'}: ${duration(emptyMs)})`,
        pass: startMs <= 3000,
      }),
      report({
        figure: `resident memory after ${count(options.decisions)} decisions, ${history}`,
        goal: '≤ 200 MB',
        measured: `${rss.toFixed(0)} MB${all ? '' : ` (after only ${count(decided)} decisions: the cap of ${options.capS} s)`}`,
        pass: all && rss <= 200,
      }),
    ];
  } finally {
    await stack.close();
  }
}

/** Asks the bot (started with --heapsnapshot-signal) for a heap snapshot and waits until it is written. */
async function heapSnapshot(bot: RunningProcess, dir: string): Promise<void> {
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  process.kill(bot.pid, 'SIGUSR2');
  for (let waited = 0; waited < 120_000; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const made = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // Written once the bot answers again (writing it blocks the event loop).
    if (
      made &&
      (await fetch(`${bot.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      note(`heap snapshot: ${path.join(dir, made)}`);
      return;
    }
  }
  throw new Error(
    'no heap snapshot written in 120 s (is BENCH_NODE_FLAGS set to --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>?)',
  );
}

/** The resident memory split by where it is: the V8 heap, memory outside it, and mapped files (the node binary). */
async function memoryParts(bot: RunningProcess): Promise<string> {
  const metrics = await fetch(`${bot.url}/metrics`).then((r) => r.text());
  const mb = (name: string) =>
    Number(new RegExp(`^timebox_process_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN) / 2 ** 20;
  const { anonMb, fileMb } = bot.rssParts();
  return `anonymous ${anonMb.toFixed(0)} MB + file-backed ${fileMb.toFixed(0)} MB; V8 heap ${mb('nodejs_heap_size_used_bytes').toFixed(0)} MB used of ${mb('nodejs_heap_size_total_bytes').toFixed(0)} MB, external ${mb('nodejs_external_memory_bytes').toFixed(0)} MB`;
}

if (require.main === module) {
  runAlone(() =>
    run({
      closed: arg('closed', 100_000),
      decisions: arg('decisions', 1000),
      capS: arg('cap', 120),
      seed: seedArg(),
      store: storeArg(),
    }),
  );
}
