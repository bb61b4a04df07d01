/**
 * Approve round trip: an approver's click on Approve, from the POST to /api/messages to the
 * invoke response (the updated card), with 300 open requests and 1,000 closed ones.
 *
 *   npx tsx bench/approve.ts [--sequential 100] [--rounds 15] [--cap 60] [--seed files|port]
 *
 * The 300 open are pending, each with its card posted; 5 clicks warm up, then `--sequential`
 * clicks one at a time, then `--rounds` rounds of 10 at once (each click timed on its own).
 * The worker adds each approved membership meanwhile, as it would. Stops after `--cap` s.
 */
import {
  arg,
  clickOnCard,
  closedGrant,
  count,
  duration,
  note,
  pendingRequest,
  percentile,
  report,
  seedArg,
  storeArg,
  seenGroups,
  seedStack,
  sleep,
  startBot,
  startStack,
  teamsFor,
  userOf,
  type Figure,
  type SeedVia,
  type StoreKind,
  type Stack,
} from './lib';
import { runAlone } from './postgres';

export interface ApproveOptions {
  open: number;
  closed: number;
  sequential: number;
  /** Rounds of `batch` clicks at once. */
  rounds: number;
  batch: number;
  capS: number;
  seed: SeedVia;
  store: StoreKind;
}

const GROUPS = 10;
const WARM_UP = 5;

/**
 * Waits (at most 20 s) until the directory got one add per click and the Bot Connector sink has
 * had nothing new for 300 ms (the card updates and notices that follow each add); returns the adds.
 */
async function settled(stack: Stack, clicks: number): Promise<number> {
  const adds = () =>
    stack.directory.calls.filter(
      (c) => c.method === 'POST' && c.path.endsWith('/members/$ref') && c.status === 204,
    ).length;
  const end = Date.now() + 20_000;
  while (adds() < clicks && Date.now() < end) await sleep(50);
  for (let seen = -1; seen !== stack.sink.calls && Date.now() < end;) {
    seen = stack.sink.calls;
    await sleep(300);
  }
  return adds();
}

export async function run(options: ApproveOptions): Promise<Figure[]> {
  const context = `${count(options.open)} open, ${count(options.closed)} closed`;
  console.log(`\napprove invoke round trip (${context})`);
  const stack = await startStack({ users: options.open, groups: GROUPS, store: options.store });
  try {
    const now = Date.now();
    const shape = (i: number) => ({ n: i, user: i % options.open, groups: GROUPS, sinkUrl: stack.sink.url });
    const pending = Array.from({ length: options.open }, (_, i) =>
      pendingRequest(shape(i), now - 60_000 + i),
    );
    const closed = {
      count: options.closed,
      make: (i: number) => closedGrant(shape(i), now - (options.closed - i) * 60_000),
    };
    await seedStack(
      stack,
      {
        open: pending,
        closed,
        chatsOf: pending.map((_, i) => userOf(i)),
        sinkUrl: stack.sink.url,
        baselines: seenGroups(GROUPS),
      },
      options.seed,
    );
    const bot = await startBot(stack);
    note(`bot ready in ${duration(bot.readyAt - bot.spawnedAt)}`);
    const teams = teamsFor(bot, stack.sink);
    const deadline = Date.now() + options.capS * 1000;
    let next = 0;
    let refused = 0;
    const click = async () => {
      if (next >= pending.length) throw new Error(`more clicks than the ${pending.length} pending requests`);
      const { ms, ok } = await clickOnCard(teams, 'approve', pending[next++]!);
      if (!ok) refused++;
      return ms;
    };
    const sequential: number[] = [];
    const together: number[] = [];
    try {
      for (let i = 0; i < WARM_UP; i++) await click();
      const cpuAtStart = bot.cpuMs();
      for (let i = 0; i < options.sequential && Date.now() < deadline; i++) sequential.push(await click());
      // What one approval costs the bot, with the worker's effects (add, card update, notices) it causes.
      await settled(stack, next);
      const perClick = (bot.cpuMs() - cpuAtStart) / Math.max(1, sequential.length);
      note(`bot CPU ${perClick.toFixed(1)} ms per approval, its effects included`);
      for (let round = 0; round < options.rounds && Date.now() < deadline; round++) {
        together.push(...(await Promise.all(Array.from({ length: options.batch }, click))));
      }
      const adds = await settled(stack, next);
      note(
        `${count(next)} clicks, ${count(refused)} not answered with a card; ${count(adds)} memberships added`,
      );
    } finally {
      await bot.stop();
    }
    const line = (samples: number[]) =>
      samples.length
        ? `p50 ${duration(percentile(samples, 0.5))}, p99 ${duration(percentile(samples, 0.99))} (${count(samples.length)} clicks)`
        : 'no clicks within the cap';
    return [
      report({
        figure: `approve round trip, one at a time (${context})`,
        goal: 'p99 ≤ 20 ms',
        measured: line(sequential),
        pass: sequential.length > 0 && percentile(sequential, 0.99) <= 20,
      }),
      report({
        figure: `approve round trip, ${options.batch} at once (${context})`,
        goal: 'p99 ≤ 100 ms',
        measured: line(together),
        pass: together.length > 0 && percentile(together, 0.99) <= 100,
      }),
    ];
  } finally {
    await stack.close();
  }
}

if (require.main === module) {
  runAlone(() =>
    run({
      open: 300,
      closed: 1000,
      sequential: arg('sequential', 100),
      rounds: arg('rounds', 15),
      batch: 10,
      capS: arg('cap', 60),
      seed: seedArg(),
      store: storeArg(),
    }),
  );
}
