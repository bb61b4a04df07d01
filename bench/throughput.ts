/**
 * `request` throughput: messages handled per second by Timebox, against a bare botbuilder
 * echo bot (bench/echo-bot.ts) on the same CloudAdapter + express, measured in the same run.
 *
 *   npx tsx bench/throughput.ts [--seconds 10] [--concurrency 16] [--seed files|port]
 *
 * Each bot runs as a child process; `--concurrency` clients post messages, each from another
 * person (`request g3 for 1h because …`: a new pending request each, with its card and receipt
 * posted), for `--seconds` after 2 s to warm up. A message counts once the bot has answered
 * its POST (in a personal chat, Timebox answers a request with no message of its own: the
 * worker posts the approval card and the receipt after); the echo bot's replies and Timebox's
 * approval cards at the Bot Connector sink are counted too.
 */
import {
  arg,
  count,
  note,
  rate,
  report,
  seedArg,
  storeArg,
  seenGroups,
  seedStack,
  startBot,
  startEchoBot,
  startStack,
  teamsFor,
  userOf,
  type Figure,
  type RunningProcess,
  type SeedVia,
  type StoreKind,
  type Stack,
} from './lib';
import { runAlone } from './postgres';

export interface ThroughputOptions {
  seconds: number;
  concurrency: number;
  /** People available to file requests (one open request per person and group). */
  people: number;
  seed: SeedVia;
  store: StoreKind;
}

const GROUPS = 10;
const WARM_UP_MS = 2000;

/**
 * Posts messages from `concurrency` clients, each from another person (at most `people`): for
 * 2 s to warm up, then for `seconds`; returns the messages of the second phase answered with
 * 2xx, those answered otherwise, and the time they took.
 */
async function load(
  bot: RunningProcess,
  stack: Stack,
  options: ThroughputOptions,
  people: number,
): Promise<{ handled: number; failed: number; ms: number }> {
  const teams = teamsFor(bot, stack.sink);
  let person = 0;
  const phase = async (ms: number) => {
    const counts = { handled: 0, failed: 0, ms: 0 };
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (performance.now() - started < ms && person < people) {
          const i = person++;
          const res = await teams.say(
            userOf(i),
            `request g${i % GROUPS} for 1h because load test of the request path`,
          );
          await res.arrayBuffer();
          if (res.ok) counts.handled++;
          else counts.failed++;
        }
      }),
    );
    counts.ms = performance.now() - started;
    return counts;
  };
  await phase(WARM_UP_MS);
  return phase(options.seconds * 1000);
}

export async function run(options: ThroughputOptions): Promise<Figure[]> {
  const title = '`request` messages handled per second vs a bare botbuilder echo bot, same run';
  console.log(`\n${title}`);
  const stack = await startStack({ users: options.people, groups: GROUPS, store: options.store });
  try {
    const echo = await startEchoBot();
    const echoed = await load(echo, stack, options, Number.POSITIVE_INFINITY).finally(() => echo.stop());
    const echoReplies = stack.sink.calls;

    await seedStack(
      stack,
      { open: [], chatsOf: [], sinkUrl: stack.sink.url, baselines: seenGroups(GROUPS) },
      options.seed,
    );
    const bot = await startBot(stack);
    const timebox = await load(bot, stack, options, options.people).finally(() => bot.stop());
    const cards = stack.sink.created;

    note(
      `echo bot: ${count(echoed.handled)} messages in ${(echoed.ms / 1000).toFixed(1)} s (${count(echoed.failed)} failed, ${count(echoReplies)} replies)`,
    );
    note(
      `Timebox:  ${count(timebox.handled)} messages in ${(timebox.ms / 1000).toFixed(1)} s (${count(timebox.failed)} failed, ${count(cards)} approval cards posted, warm-up incl.)`,
    );
    const ratio = timebox.handled / timebox.ms / (echoed.handled / echoed.ms);
    const measured = `Timebox ${rate(timebox.handled, timebox.ms)}, echo bot ${rate(echoed.handled, echoed.ms)}: ${ratio.toFixed(ratio < 0.1 ? 3 : 2)}×`;
    return [report({ figure: title, goal: '≥ 0.25×', measured, pass: ratio >= 0.25 })];
  } finally {
    await stack.close();
  }
}

if (require.main === module) {
  runAlone(() =>
    run({
      seconds: arg('seconds', 10),
      concurrency: arg('concurrency', 16),
      people: arg('people', 5000),
      seed: seedArg(),
      store: storeArg(),
    }),
  );
}
