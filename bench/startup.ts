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
import { rmSync } from 'node:fs';
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
  seenGroups,
  seedDataDir,
  startBot,
  startStack,
  teamsFor,
  userOf,
  type Figure,
  type SeedVia,
} from './lib';

export interface StartupOptions {
  closed: number;
  decisions: number;
  capS: number;
  seed: SeedVia;
}

const GROUPS = 10;
/** People the history is spread over. */
const PEOPLE = 1000;
const AT_ONCE = 10;

export async function run(options: StartupOptions): Promise<Figure[]> {
  const history = `${count(options.closed)} closed requests`;
  console.log(`\nstart-up and resident memory with ${history}`);
  const stack = await startStack({ users: Math.max(PEOPLE, options.decisions), groups: GROUPS });
  try {
    const sinkUrl = stack.sink.url;
    await seedDataDir(
      stack.dataDir,
      { open: [], chatsOf: [], sinkUrl, baselines: seenGroups(GROUPS) },
      options.seed,
    );
    const empty = await startBot(stack);
    const emptyMs = empty.readyAt - empty.spawnedAt;
    await empty.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });

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
    await seedDataDir(
      stack.dataDir,
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
      `seeded ${history} and ${count(pending.length)} pending (${options.seed}) in ${duration(Date.now() - seeding)}`,
    );

    const bot = await startBot(stack);
    const startMs = bot.readyAt - bot.spawnedAt;
    const rssAtReady = bot.rssMb();
    let decided = 0;
    let rss = Number.NaN;
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
    } finally {
      await bot.stop();
    }
    note(
      `${count(decided)} decisions (half approvals, half denials) in ${duration(Date.now() - started)}; RSS ${rssAtReady.toFixed(0)} MB at /readyz`,
    );
    const all = decided >= options.decisions;
    return [
      report({
        figure: `start-up to /readyz, ${history}`,
        goal: '≤ 3 s',
        measured: `${duration(startMs)} (empty data directory: ${duration(emptyMs)})`,
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

if (require.main === module) {
  void run({
    closed: arg('closed', 100_000),
    decisions: arg('decisions', 1000),
    capS: arg('cap', 120),
    seed: seedArg(),
  });
}
