/**
 * Expiry lag: how long after a grant's end its membership is gone from the directory.
 *
 *   npx tsx bench/expiry.ts [--grants 1000] [--latency 150] [--overdue] [--cap 120] [--seed files|port]
 *
 * N active grants (N people, in groups `person % 10`, each a member of their group) all end
 * within the same second, `--lead` seconds after they are seeded, which leaves the bot time to
 * start. The lag of each is the directory's answer to its DELETE …/members/{id}/$ref minus the
 * grant's expiresAt. `--latency`: the directory answers membership writes that late (Graph's
 * are about 150 ms). `--overdue`: the grants ended a minute before the bot starts, and the
 * figure is when the last removal lands after /readyz.
 *
 * Stops after `--cap` seconds whatever happened, and reports what was removed by then with
 * the rate and a projection.
 */
import {
  activeGrant,
  arg,
  count,
  duration,
  flag,
  membershipKey,
  noticeRemovals,
  note,
  rate,
  report,
  seedArg,
  storeArg,
  seenGroups,
  seedLabel,
  seedStack,
  sleep,
  startBot,
  startStack,
  userOf,
  type Figure,
  type SeedVia,
  type StoreKind,
} from './lib';
import { runAlone } from './postgres';

export interface ExpiryOptions {
  grants: number;
  /** Directory latency on membership adds and removals, ms. */
  latencyMs: number;
  /** The grants ended a minute before the bot starts. */
  overdue: boolean;
  /** Stop measuring this long after the grants end (or after /readyz when overdue), s. */
  capS: number;
  /** The grants end this long after they are seeded (the bot starts meanwhile), s. */
  leadS: number;
  seed: SeedVia;
  store: StoreKind;
}

const GROUPS = 10;

export async function run(options: ExpiryOptions): Promise<Figure[]> {
  const { grants, latencyMs, overdue, capS } = options;
  const title = overdue
    ? `${count(grants)} grants overdue when the bot starts`
    : `expiry lag, ${count(grants)} grants ending in the same second${latencyMs ? `, directory answering writes in ${latencyMs} ms` : ''}`;
  console.log(`\n${title}`);
  const stack = await startStack({
    users: grants,
    groups: GROUPS,
    members: grants,
    writeLatencyMs: latencyMs,
    store: options.store,
  });
  try {
    // Ends spread over one second: grant i ends i/N of a second after the first.
    const firstEnd = overdue
      ? Date.now() - 60_000
      : Math.ceil((Date.now() + options.leadS * 1000) / 1000) * 1000;
    const endOf = (i: number) => firstEnd + Math.floor((i * 1000) / grants);
    const open = Array.from({ length: grants }, (_, i) =>
      activeGrant({ n: i, user: i, groups: GROUPS, sinkUrl: stack.sink.url }, endOf(i)),
    );
    const seeding = Date.now();
    await seedStack(
      stack,
      {
        open,
        chatsOf: open.map((_, i) => userOf(i)),
        sinkUrl: stack.sink.url,
        baselines: seenGroups(GROUPS),
      },
      options.seed,
    );
    note(
      `seeded ${count(grants)} active grants (${seedLabel(stack, options.seed)}) in ${duration(Date.now() - seeding)}`,
    );

    const bot = await startBot(stack);
    note(`bot ready in ${duration(bot.readyAt - bot.spawnedAt)} (pid ${bot.pid})`);
    const expected = open.map((r) => ({ groupId: r.group.id, userId: r.requester.id }));
    const from = overdue ? bot.readyAt : firstEnd;
    const deadline = from + capS * 1000;
    let fromModel = 0;
    let cpuAtStart = 0;
    try {
      if (!overdue && bot.readyAt > firstEnd - 500) {
        return [
          report({
            figure: title,
            goal: goalOf(options),
            measured: `not measured: the bot was ready ${duration(bot.readyAt - firstEnd + 500)} too late; raise --lead`,
            pass: false,
          }),
        ];
      }
      await sleep(Math.max(0, firstEnd - Date.now()));
      cpuAtStart = bot.cpuMs();
      let lastNote = Date.now();
      while (stack.removedAt.size < grants && Date.now() < deadline) {
        await sleep(100);
        fromModel += noticeRemovals(stack, expected);
        if (Date.now() - lastNote >= 15_000) {
          lastNote = Date.now();
          note(
            `${count(stack.removedAt.size)} of ${count(grants)} removed at +${duration(Date.now() - from)}`,
          );
        }
      }
      const cpu = bot.cpuMs() - cpuAtStart;
      note(
        `bot CPU while removing: ${duration(cpu)} (${(cpu / Math.max(1, stack.removedAt.size)).toFixed(2)} ms per removal)`,
      );
    } finally {
      await bot.stop();
    }
    if (fromModel > 0)
      note(
        `${count(fromModel)} removals seen in the directory's members, not as a DELETE (timed to the 100 ms poll)`,
      );

    const removals = open.flatMap((r, i) => {
      const at = stack.removedAt.get(membershipKey(r.group.id, r.requester.id));
      return at === undefined ? [] : [{ at, lag: at - endOf(i) }];
    });
    const removed = removals.length;
    const all = removed === grants;
    const last = Math.max(...removals.map((r) => r.at));
    const spanMs = all ? last - from : Math.min(Date.now(), deadline) - from;
    const perS = removed / (Math.max(spanMs, 1) / 1000);
    const progress = `${count(removed)} of ${count(grants)} removed in ${capS} s, ${rate(removed, spanMs)}; ${perS > 0 ? `all projected after ~${duration((grants / perS) * 1000)}` : 'none removed'}`;

    if (overdue) {
      const within10 = removals.filter((r) => r.at - bot.readyAt <= 10_000).length;
      const measured = all
        ? `all removed ${duration(last - bot.readyAt)} after /readyz (${count(within10)} within 10 s), ${rate(removed, spanMs)}`
        : `${progress} (${count(within10)} within 10 s of /readyz)`;
      return [
        report({ figure: title, goal: goalOf(options), measured, pass: all && last - bot.readyAt <= 10_000 }),
      ];
    }
    // Percentiles over all N grants: one not removed by the cap lags more than the cap.
    const lags = removals.map((r) => r.lag).sort((a, b) => a - b);
    const lagAt = (q: number) => lags[Math.ceil(q * grants) - 1];
    const shown = (q: number) => {
      const lag = lagAt(q);
      return lag === undefined ? `> ${capS} s` : duration(lag);
    };
    const measured = `p50 ${shown(0.5)}, p99 ${shown(0.99)}; ${all ? rate(removed, spanMs) : progress}`;
    const p99 = lagAt(0.99) ?? Number.POSITIVE_INFINITY;
    return [
      report({
        figure: title,
        goal: goalOf(options),
        measured,
        pass: p99 <= (goalOf(options) === 'p99 ≤ 1 s' ? 1000 : 5000),
      }),
    ];
  } finally {
    await stack.close();
  }
}

function goalOf(options: ExpiryOptions): string {
  if (options.overdue) return 'all removed ≤ 10 s after /readyz';
  return options.grants === 1000 && !options.latencyMs ? 'p99 ≤ 1 s' : 'p99 ≤ 5 s';
}

if (require.main === module) {
  const grants = arg('grants', 1000);
  runAlone(() =>
    run({
      grants,
      latencyMs: arg('latency', 0),
      overdue: flag('overdue'),
      capS: arg('cap', 120),
      leadS: arg('lead', grants >= 10_000 ? 30 : 20),
      seed: seedArg(),
      store: storeArg(),
    }),
  );
}
