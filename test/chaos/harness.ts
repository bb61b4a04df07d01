import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../src/dev/local-directory/server';
import { FakeConnector } from '../helpers/fake-connector';
import { analyze, type Analysis, type Life, type Span } from './analysis';
import { buildBot, freePort, spawnBot, type BotProcess, type Runner } from './bot-process';
import { ChaosTeams } from './client';
import { chaosFixture, GROUP_IDS, HELD, prng, REVOKE_SESSIONS, type ManagedGroup } from './fixture';
import { seedHeld, type HeldGrants } from './held';
import { startChaosPostgres, type ChaosPostgres } from './postgres-server';
import { lowdbSource, postgresSource, type StoreSource } from './store-source';
import { sleep, Workload, type Scenario } from './workload';

export interface ChaosOptions {
  /** Scenarios to play; each files one request (≥ 300 for the full run). */
  requests: number;
  /** SIGKILLs of the bot, each followed by a restart (≥ 20 for the full run). */
  kills: number;
  minGrantS: number;
  maxGrantS: number;
  /** Share of Graph calls answered 429 (Retry-After) or 503. */
  graphFaultRate: number;
  /** Of those, the share answered 429 (the rest 503). */
  throttleShare: number;
  /** Retry-After of the 429s, seconds. */
  retryAfterS: number;
  /** Share of Bot Connector calls answered 502. */
  connectorFaultRate: number;
  /** People filing requests in parallel. */
  people: number;
  /**
   * Grants held open for the whole run (`--open N`): seeded in the store before the bot first
   * starts, N more people in one more managed group (`held`), each ending hours after the run.
   * Left out of the workload's figures; at the end each must still be active, its member still
   * in the group, nothing of it in the outbox. 0: none, no `held` group.
   */
  open: number;
  /** Pause of each person between scenarios, ms. */
  thinkMs: [number, number];
  /** How far ahead the `scheduled` scenario's requests start, seconds (at least a minute, as the product wants). */
  scheduleAheadS: [number, number];
  /** The `scheduled` scenario is only picked in this first share of the scenarios, so that its starts fall within the run. */
  scheduledWithin: number;
  /** Time between kills, ms (a share of them aimed right at a grant's end instead). */
  killGapMs: [number, number];
  /** How long the bot stays down after a kill, ms. */
  downtimeMs: [number, number];
  /** Share of kills aimed just before a grant's end, so that it ends while the bot is down. */
  aimedKills: number;
  /** Share of kills aimed at the moment Graph answers a membership add, before the bot can record it. */
  addKills: number;
  /** The overstay bound checked (PRODUCT.md §8.2: 5 s). */
  overstayLimitMs: number;
  seed: number;
  runner: Runner;
  /** Keep the working directory (store, audit, bot log) even when the run passes. */
  keep: boolean;
  verbose: boolean;
  /** Hard cap on the whole run. */
  maxRunMs: number;
  /** Bot processes at once (`--replicas`); more than one needs the postgres store. */
  replicas: number;
  /** lowdb: one bot on its data directory; postgres: the replicas on one embedded PostgreSQL. */
  store: 'lowdb' | 'postgres';
  /** SIGKILLs of PostgreSQL itself (postgres store), each restarted on its data after `dbDowntimeMs`. */
  dbKills: number;
  dbDowntimeMs: [number, number];
}

/** Graph's JSON batching envelope: its requests are faulted one by one, never it as a whole. */
export const BATCH = 'POST /$batch';

export const FULL: ChaosOptions = {
  requests: 300,
  kills: 20,
  minGrantS: 10,
  maxGrantS: 60,
  // 32 % configured, so that the share measured over a run (±1 % at 2,300 calls) stays ≥ 30 %.
  graphFaultRate: 0.32,
  // A third 429 (Retry-After: 1), two thirds 503. Five 429s in a row are five seconds of waiting
  // Graph asked for, whatever the bot does; with half the faults 429s that alone fails about one
  // full run in twenty (docs/reliability.md). --throttle-share 0.5 runs that harsher mix.
  throttleShare: 1 / 3,
  retryAfterS: 1,
  connectorFaultRate: 0.12,
  people: 30,
  open: 0,
  thinkMs: [1000, 4000],
  scheduleAheadS: [65, 100],
  scheduledWithin: 0.6,
  killGapMs: [3000, 9000],
  downtimeMs: [200, 2500],
  aimedKills: 0.35,
  addKills: 0.2,
  overstayLimitMs: 5000,
  seed: Date.now() % 1_000_000,
  runner: 'bundle',
  keep: false,
  verbose: false,
  maxRunMs: 15 * 60_000,
  replicas: 1,
  store: 'lowdb',
  dbKills: 0,
  dbDowntimeMs: [1000, 2000],
};

/** `--replicas 3 --store postgres`: three bots on one database, PostgreSQL itself killed twice. */
export const REPLICAS: ChaosOptions = { ...FULL, replicas: 3, store: 'postgres', dbKills: 2 };

/** What `npm test` runs (test/integration/chaos-short.test.ts): ≥ 5 kills, ≥ 50 requests, about a minute. */
export const SHORT: ChaosOptions = {
  ...FULL,
  requests: 50,
  kills: 5,
  minGrantS: 10,
  maxGrantS: 16,
  people: 14,
  thinkMs: [500, 2000],
  // Starts as close as allowed, asked early: the short run stays about a minute longer, not two.
  scheduleAheadS: [63, 70],
  scheduledWithin: 0.35,
  killGapMs: [2500, 6000],
  downtimeMs: [200, 1500],
  maxRunMs: 4 * 60_000,
};

/** test/integration/chaos-replicas-short.test.ts: two replicas, ≥ 5 kills, the database killed once, about a minute. */
export const REPLICAS_SHORT: ChaosOptions = { ...SHORT, replicas: 2, store: 'postgres', dbKills: 1 };

export interface ChaosResult {
  options: ChaosOptions;
  passed: boolean;
  violations: string[];
  durationMs: number;
  kills: number;
  /** Kills sent the moment Graph answered a membership add. */
  killsAtAdd: number;
  lives: Life[];
  bootMs: { min: number; avg: number; max: number };
  scenarios: Record<Scenario, number>;
  workload: {
    scenarios: number;
    learned: number;
    clicks: number;
    refusedClicks: number;
    acked: number;
    noCard: number;
    resent: number;
    undelivered: number;
    retriedPosts: number;
  };
  connector: { calls: number; failed: number; faultRate: number };
  drift: { removed: boolean; reported: boolean };
  finalStop: { code: number | null; ms: number };
  /** SIGKILLs of PostgreSQL, and how long each outage lasted until a replica answered ready again. */
  dbKills: number;
  outages: Span[];
  analysis: Analysis;
  workDir: string;
}

/**
 * The crash-and-fault run: the real bot as a child process (`timebox serve`), against the
 * local directory with Graph faults and a fake Bot Connector with 502s (both in this process,
 * where their call logs can be read), a workload of people in Teams over HTTP, and SIGKILLs at
 * random moments — some aimed just before a grant ends, so it ends while the bot is down —
 * each followed by a restart. Then it lets everything settle, stops the bot with SIGTERM and
 * checks the guarantees from the files and the directory's own call log.
 */
export async function runChaos(
  options: ChaosOptions,
  print: (line: string) => void = console.log,
): Promise<ChaosResult> {
  const started = Date.now();
  const hardEnd = started + options.maxRunMs;
  const rand = prng(options.seed);
  const workDir = mkdtempSync(path.join(tmpdir(), 'timebox-chaos-'));
  const dataDir = path.join(workDir, 'data');
  const fixture = chaosFixture(options.people, options.maxGrantS, options.open);
  writeFileSync(path.join(workDir, 'policy.yaml'), stringify(fixture.policy));
  const log = createWriteStream(path.join(workDir, 'bot.log'), { flags: 'a' });
  const note = (line: string) => {
    const stamped = `[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`;
    log.write(`${stamped}\n`);
    if (options.verbose) print(stamped);
  };
  const violations: string[] = [];

  // Graph: 429 with Retry-After for `throttleShare` of the faulty calls, 503 for the rest. The
  // second fault is only looked at when the first did not hit, hence its conditional probability.
  // NB: each request of a JSON batch is faulted, as a single call would be, but never the batch
  // envelope itself: Graph evaluates a batch's requests individually against its throttling
  // limits. Faulting both made a batched removal fail twice as often as a single call.
  const p429 = options.graphFaultRate * options.throttleShare;
  const p503 = options.graphFaultRate - p429;
  const replicated = options.store === 'postgres';
  if (options.replicas > 1 && !replicated) throw new Error('--replicas above 1 needs --store postgres');
  if (replicated && options.open > 0) throw new Error('--open seeds a LowdbStore: use it with --store lowdb');
  const directory: LocalDirectoryHandle = await startLocalDirectory({
    seed: fixture.seed,
    faults: [
      ...(options.graphFaultRate > 0
        ? [
            { status: 429, retryAfterSeconds: options.retryAfterS, probability: p429, except: BATCH },
            { status: 503, probability: p503 / (1 - p429), except: BATCH },
          ]
        : []),
      // Membership calls answered a little late now and then: an effect run by two replicas at
      // once then shows as two calls in flight together (the overlap check), not two instants.
      ...(replicated
        ? [
            { route: 'POST /groups/*/members/$ref', latencyMs: 80, probability: 0.5 },
            { route: 'DELETE /groups/*/members/*/$ref', latencyMs: 80, probability: 0.5 },
          ]
        : []),
    ],
  });
  const connector = await new FakeConnector().start();
  connector.chaos = {
    probability: options.connectorFaultRate,
    status: 502,
    routes: ['create', 'send', 'update'],
  };
  const bundle = options.runner === 'bundle' ? await buildBot() : undefined;
  let database: ChaosPostgres | undefined;
  if (replicated) {
    database = await startChaosPostgres();
    note(`embedded PostgreSQL up: ${database.url.replace(/:[^:@/]*@/, ':…@')}`);
  }
  const source: StoreSource = database ? postgresSource(database.url) : lowdbSource(dataDir);
  const slots: Slot[] = [];
  for (let i = 0; i < options.replicas; i++) slots.push({ index: i, port: await freePort() });
  const env = {
    ...(database ? { DATABASE_URL: database.url } : {}),
    TIMEBOX_DEV: '1',
    TIMEBOX_POLICY: path.join(workDir, 'policy.yaml'),
    TIMEBOX_DATA_DIR: dataDir,
    GRAPH_BASE_URL: directory.url,
    TIMEBOX_SERVICE_URL: connector.url,
    TIMEBOX_RECONCILE_INTERVAL: '10s',
    TIMEBOX_REQUEST_RATE_LIMIT: 'off',
    LOG_LEVEL: 'warn',
  };

  const lives: Life[] = [];
  let stopping = false;
  // With PostgreSQL a replica counts as up once the store is reachable (/readyz), as Teams' load balancer sees it.
  const readyPath = replicated ? '/readyz' : '/healthz';
  const start = async (slot: Slot): Promise<void> => {
    const port = slot.port;
    const current = spawnBot({ bundle, runner: options.runner, port, env, maxOutput: 4096, readyPath });
    const mine: Life = { spawnAt: current.spawnedAt, killed: false, replica: slot.index };
    slot.bot = current;
    slot.life = mine;
    lives.push(mine);
    const number = lives.length;
    current.child.stdout!.pipe(log as WriteStream, { end: false });
    current.child.stderr!.pipe(log as WriteStream, { end: false });
    void current.exited.then((exit) => {
      if (mine.endAt === undefined) {
        mine.endAt = exit.at;
        if (!stopping)
          violations.push(
            `the bot exited by itself (code ${exit.code}, signal ${exit.signal}) — see ${path.join(workDir, 'bot.log')}`,
          );
      }
    });
    mine.readyAt = await current.ready(30_000);
    note(
      `bot ${number}${replicated ? ` (replica ${slot.index + 1})` : ''} up (pid ${current.pid}) in ${mine.readyAt - mine.spawnAt} ms`,
    );
  };
  const kill = async (slot: Slot, why: string): Promise<void> => {
    const { bot, life } = slot;
    if (!bot || !life) return;
    const number = lives.indexOf(life) + 1;
    life.endAt = Date.now();
    life.killed = true;
    slot.bot = undefined;
    bot.child.kill('SIGKILL');
    await bot.exited;
    note(`SIGKILL ${number}${replicated ? ` (replica ${slot.index + 1})` : ''} (${why})`);
  };
  const live = () => slots.filter((x) => x.bot !== undefined);
  // Replicas the killer may hit: serving ones (as with one bot, never one still booting).
  const serving = () => live().filter((x) => x.life?.readyAt !== undefined);
  // Which replica Teams sends an activity to: any live one (it retries another on a refusal or a 5xx).
  const pickReplica = prng(options.seed + 1);
  const botUrl = (): string => {
    const up = live();
    const slot = up.length ? up[Math.floor(pickReplica() * up.length)]! : slots[0]!;
    return `http://127.0.0.1:${slot.port}`;
  };
  // Restarts under way after a kill (replicas: each in the background while the others serve).
  const restarts = new Set<Promise<void>>();
  const outages: Span[] = [];
  let dbKills = 0;
  /** SIGKILL of PostgreSQL, a restart on its data, and the time until a replica answers ready again. */
  const killDatabase = async (): Promise<void> => {
    const outage: Span = { from: Date.now(), to: Number.POSITIVE_INFINITY };
    outages.push(outage);
    await database!.kill();
    dbKills++;
    note(`SIGKILL PostgreSQL (${dbKills})`);
    await sleep(options.dbDowntimeMs[0] + rand() * (options.dbDowntimeMs[1] - options.dbDowntimeMs[0]));
    await database!.restart();
    note('PostgreSQL restarted on its data');
    outage.to = await firstReady(slots, Math.min(hardEnd, Date.now() + 60_000));
    note(`a replica ready again ${outage.to - outage.from} ms after the database's kill`);
  };

  let result: ChaosResult | undefined;
  let held: HeldGrants | undefined;
  try {
    if (options.open > 0) {
      held = await seedHeld(dataDir, fixture);
      note(
        `${held.grants.size} grants held open in ${HELD.alias} (seeded through the Store port in ${held.seedMs} ms; the first ends ${new Date(held.firstEnd).toISOString()})`,
      );
    }
    await Promise.all(slots.map((slot) => start(slot)));
    const teams = new ChaosTeams(replicated ? botUrl : `http://127.0.0.1:${slots[0]!.port}`, connector.url);
    const workload = new Workload({
      fixture,
      teams,
      connector,
      rand,
      requests: options.requests,
      minGrantS: options.minGrantS,
      maxGrantS: options.maxGrantS,
      thinkMs: options.thinkMs,
      scheduleAheadS: options.scheduleAheadS,
      scheduledWithin: options.scheduledWithin,
      log: note,
    });
    let workloadDone = false;
    const playing = workload.run().finally(() => {
      workloadDone = true;
      note(`workload done: ${workload.scenarios} scenarios`);
    });

    // Drift: memberships added behind Timebox's back once the groups' baselines exist: one in the
    // enforce: remove group (must be removed), one in a report group (must be reported).
    const drift = { enforce: fixture.approvers[2]!.aadObjectId, report: fixture.approvers[3]!.aadObjectId };
    const reportedDrift: Array<{ group: ManagedGroup; userId: string }> = [
      { group: 'std', userId: drift.report },
    ];
    const injectDrift = (async () => {
      // NB: a member added before the group's baseline is taken is standing, not drift.
      const baselined = async () =>
        new Set(
          (await source.audit().catch(() => []))
            .filter((r) => r.type === 'baseline_recorded')
            .map((r) => String(r.detail?.group)),
        );
      while (Date.now() < hardEnd) {
        if (workload.scenarios >= options.requests / 3) {
          const groups = await baselined();
          if (['std', 'enforce'].every((g) => groups.has(g))) break;
        }
        await sleep(500);
      }
      await addBehindTheBack(directory.url, GROUP_IDS.enforce, drift.enforce);
      await addBehindTheBack(directory.url, GROUP_IDS.std, drift.report);
      note('drift injected');
    })();

    // The killer (and, spread over the run, the database's killer).
    let kills = 0;
    let killsAtAdd = 0;
    const dbKillAfter = new Set(
      Array.from({ length: database ? options.dbKills : 0 }, (_, i) =>
        Math.max(1, Math.round(((i + 1) * options.kills) / (options.dbKills + 1))),
      ),
    );
    while (
      Date.now() < hardEnd &&
      !(kills >= options.kills && workloadDone && dbKills >= (database ? options.dbKills : 0))
    ) {
      const gap = options.killGapMs[0] + rand() * (options.killGapMs[1] - options.killGapMs[0]);
      const pick = rand();
      const aimed =
        pick < options.aimedKills ? await nextExpiry(source, Date.now() + 300, Date.now() + gap) : undefined;
      let why =
        aimed !== undefined
          ? `aimed at a grant ending or starting ${new Date(aimed).toISOString()}`
          : 'random';
      if (pick >= 1 - options.addKills) {
        // The moment Graph answers an add (within the gap), before the bot writes "granted".
        if (await nextAdd(directory, gap)) {
          why = 'as Graph answered a membership add';
          killsAtAdd++;
        }
      } else {
        await sleep(aimed !== undefined ? Math.max(0, aimed - Date.now() - rand() * 300) : gap);
      }
      if (workloadDone && kills >= options.kills && dbKills >= (database ? options.dbKills : 0)) break;
      const downtime = options.downtimeMs[0] + rand() * (options.downtimeMs[1] - options.downtimeMs[0]);
      if (!replicated) {
        await kill(slots[0]!, why);
        kills++;
        await sleep(downtime);
        await start(slots[0]!);
        continue;
      }
      // A random live replica; its restart runs while the others serve (and the killer goes on).
      const up = serving();
      if (up.length > 0) {
        const slot = up[Math.floor(rand() * up.length)]!;
        await kill(slot, why);
        kills++;
        const restart: Promise<void> = sleep(downtime)
          .then(() => start(slot))
          .catch(
            (error: unknown) =>
              void violations.push(`replica ${slot.index + 1} did not start again: ${String(error)}`),
          )
          .finally(() => restarts.delete(restart));
        restarts.add(restart);
      } else await sleep(200);
      if (dbKillAfter.has(kills) && dbKills < options.dbKills) {
        dbKillAfter.delete(kills);
        await killDatabase();
      }
    }
    await Promise.all(restarts);
    await playing;
    await injectDrift;

    // Let everything settle: no open request (but the held ones), nothing in the outbox, the drift handled.
    const settleEnd = Math.min(hardEnd, Date.now() + (options.maxGrantS + 120) * 1000);
    let settled = false;
    while (Date.now() < settleEnd) {
      const read = await Promise.all([source.read(), source.audit()]).catch(() => undefined);
      if (!read) {
        await sleep(500);
        continue;
      }
      const [{ requests, effects }, audit] = read;
      const open = [...requests.values()].filter(
        (r) => ['pending', 'scheduled', 'approved', 'active'].includes(r.status) && !held?.grants.has(r.id),
      );
      const enforced = !directory
        .members(GROUP_IDS.enforce)
        .map((m) => m.toLowerCase())
        .includes(drift.enforce.toLowerCase());
      const reported = audit.some(
        (r) =>
          r.type === 'drift_detected' &&
          String(r.detail?.userId).toLowerCase() === drift.report.toLowerCase(),
      );
      if (open.length === 0 && effects.length === 0 && enforced && reported) {
        settled = true;
        break;
      }
      await sleep(500);
    }
    if (!settled)
      violations.push(
        'the bot did not settle (open requests, outbox entries or drift left) before the deadline',
      );

    // The last stop is a graceful one, of every replica at once (the slowest one's time is reported).
    stopping = true;
    const signalled = Date.now();
    const stops = await Promise.all(
      live().map(async (slot) => {
        const bot = slot.bot!;
        slot.life!.endAt = signalled;
        bot.child.kill('SIGTERM');
        const exit = await Promise.race([bot.exited, sleep(15_000).then(() => undefined)]);
        if (!exit) {
          bot.child.kill('SIGKILL');
          violations.push('SIGTERM: the bot did not exit within 15 s');
        }
        if (exit && exit.code !== 0) violations.push(`SIGTERM: exit code ${exit.code}`);
        return { code: exit?.code ?? null, ms: (exit?.at ?? Date.now()) - signalled };
      }),
    );
    const finalStop = stops.reduce((a, b) => (b.ms > a.ms || b.code !== 0 ? b : a), { code: 0, ms: 0 });
    if (finalStop.ms > 10_000) violations.push(`SIGTERM: took ${finalStop.ms} ms (limit 10 s)`);

    const analysis = await analyze({
      source,
      outages,
      fixture,
      calls: directory.calls,
      members: (g) => directory.members(g),
      lives,
      acked: workload.acked,
      reportedDrift,
      held,
    });
    const audit = await source.audit();
    const driftResult = {
      removed:
        audit.some(
          (r) =>
            r.type === 'drift_removed' &&
            String(r.detail?.userId).toLowerCase() === drift.enforce.toLowerCase(),
        ) &&
        !directory
          .members(GROUP_IDS.enforce)
          .map((m) => m.toLowerCase())
          .includes(drift.enforce.toLowerCase()),
      reported: audit.some(
        (r) =>
          r.type === 'drift_detected' &&
          String(r.detail?.userId).toLowerCase() === drift.report.toLowerCase(),
      ),
    };
    if (!driftResult.removed)
      violations.push('drift in the enforce: remove group was not removed (with an audit record)');
    if (!driftResult.reported) violations.push('drift in a report group was not reported in the audit log');

    if (replicated) {
      if (analysis.concurrentEffects.length)
        violations.push(
          `effects run by two replicas at once: ${analysis.concurrentEffects.slice(0, 20).join('; ')}`,
        );
      if (analysis.addsPerGrant.repeatedWithoutKill.length)
        violations.push(
          `Graph adds repeated with no kill: ${analysis.addsPerGrant.repeatedWithoutKill.join('; ')}`,
        );
      if (dbKills < options.dbKills)
        violations.push(`only ${dbKills} kills of PostgreSQL (wanted ${options.dbKills})`);
    }
    const limit = options.overstayLimitMs;
    if (kills < options.kills) violations.push(`only ${kills} kills (wanted ${options.kills})`);
    if (analysis.requests < options.requests)
      violations.push(`only ${analysis.requests} requests in the store (wanted ${options.requests})`);
    if (analysis.maxOverstayRunningMs > limit)
      violations.push(`max overstay while running ${analysis.maxOverstayRunningMs} ms > ${limit} ms`);
    if (analysis.maxOverstayAfterStartMs > limit)
      violations.push(`max overstay after a start ${analysis.maxOverstayAfterStartMs} ms > ${limit} ms`);
    for (const o of analysis.overstays.filter((x) => x.removedAt === undefined))
      violations.push(`never removed: ${o.group}/${o.userId} (${o.requestIds.join(', ')})`);
    if (analysis.unexplained.length)
      violations.push(`memberships no grant explains: ${analysis.unexplained.join(', ')}`);
    if (analysis.standingRemoved.length)
      violations.push(`standing members removed: ${analysis.standingRemoved.join(', ')}`);
    if (analysis.decidedTwice.length) violations.push(`decided twice: ${analysis.decidedTwice.join('; ')}`);
    if (analysis.lateClocks.length)
      violations.push(`grants counted from after their add: ${analysis.lateClocks.join('; ')}`);
    if (analysis.missingFromAudit.length)
      violations.push(`missing from the audit: ${analysis.missingFromAudit.slice(0, 20).join('; ')}`);
    if (analysis.lostDecisions.length)
      violations.push(`acknowledged decisions lost: ${analysis.lostDecisions.join('; ')}`);
    if (!analysis.audit.ok) violations.push(`audit chain: ${analysis.audit.problem}`);
    const sched = analysis.scheduled;
    if (sched.early.length)
      violations.push(`granted before their start: ${sched.early.slice(0, 20).join('; ')}`);
    if (sched.maxStartLagRunningMs > limit)
      violations.push(`max scheduled start lag while running ${sched.maxStartLagRunningMs} ms > ${limit} ms`);
    if (sched.maxStartLagAfterStartMs > limit)
      violations.push(
        `max scheduled start lag after a start ${sched.maxStartLagAfterStartMs} ms > ${limit} ms`,
      );
    if (sched.neverStarted.length)
      violations.push(`scheduled starts never carried out: ${sched.neverStarted.slice(0, 20).join('; ')}`);
    const sessions = analysis.sessions;
    if (sessions.beforeRemoval.length)
      violations.push(
        `sessions revoked before the removal: ${sessions.beforeRemoval.slice(0, 20).join('; ')}`,
      );
    if (sessions.forStanding.length)
      violations.push(
        `sessions revoked for standing members: ${sessions.forStanding.slice(0, 20).join('; ')}`,
      );
    if (sessions.missing.length)
      violations.push(`removals no revocation followed: ${sessions.missing.slice(0, 20).join('; ')}`);
    if (sessions.failed.length)
      violations.push(
        `session revocations given up (only transient faults are injected): ${sessions.failed.slice(0, 20).join('; ')}`,
      );
    for (const problem of analysis.held?.problems.slice(0, 20) ?? [])
      violations.push(`held grant: ${problem}`);
    if ((analysis.held?.problems.length ?? 0) > 20)
      violations.push(`held grant: … and ${analysis.held!.problems.length - 20} more`);
    // The faults are random: the measured share may fall short of the configured one by chance, not by more than 3 σ.
    const short = (p: number, n: number, measured: number) =>
      n > 0 && measured < p - 3 * Math.sqrt((p * (1 - p)) / n);
    if (short(options.graphFaultRate, analysis.graph.calls, analysis.graph.faultRate))
      violations.push(
        `Graph fault rate was ${(analysis.graph.faultRate * 100).toFixed(1)}% (configured ${options.graphFaultRate * 100}%)`,
      );
    const connectorRate = connector.stats.calls ? connector.stats.failed / connector.stats.calls : 0;
    if (short(options.connectorFaultRate, connector.stats.calls, connectorRate))
      violations.push(
        `Bot Connector fault rate was ${(connectorRate * 100).toFixed(1)}% (configured ${options.connectorFaultRate * 100}%)`,
      );

    const boots = lives.filter((l) => l.readyAt !== undefined).map((l) => l.readyAt! - l.spawnAt);
    result = {
      options,
      passed: violations.length === 0,
      violations,
      durationMs: Date.now() - started,
      kills,
      killsAtAdd,
      lives,
      bootMs: {
        min: Math.min(...boots),
        avg: Math.round(boots.reduce((a, b) => a + b, 0) / boots.length),
        max: Math.max(...boots),
      },
      scenarios: workload.started,
      workload: {
        scenarios: workload.scenarios,
        learned: workload.requestIds.size,
        clicks: workload.clicks,
        refusedClicks: workload.refusedClicks,
        acked: workload.acked.length,
        noCard: workload.noCard,
        resent: workload.resent,
        undelivered: workload.undelivered,
        retriedPosts: teams.retried,
      },
      connector: {
        calls: connector.stats.calls,
        failed: connector.stats.failed,
        faultRate: connector.stats.calls ? connector.stats.failed / connector.stats.calls : 0,
      },
      drift: driftResult,
      finalStop,
      dbKills,
      outages,
      analysis,
      workDir,
    };
    writeFileSync(path.join(workDir, 'result.json'), JSON.stringify(result, null, 2));
    writeFileSync(path.join(workDir, 'graph-calls.json'), JSON.stringify(directory.calls));
    if (database && (!result.passed || options.keep)) {
      // The database goes with its server: what the figures were computed from, kept beside them.
      const { requests, effects } = await source.read();
      writeFileSync(
        path.join(workDir, 'store.json'),
        JSON.stringify({ requests: [...requests.values()], effects }),
      );
      writeFileSync(path.join(workDir, 'audit.jsonl'), audit.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
    return result;
  } finally {
    stopping = true;
    await Promise.allSettled(restarts);
    for (const { bot } of slots) {
      if (bot && bot.child.exitCode === null && bot.child.signalCode === null) {
        bot.child.kill('SIGKILL');
        await bot.exited;
      }
    }
    await source.close().catch(() => undefined);
    await database?.close();
    await connector.stop();
    await directory.close();
    await new Promise<void>((resolve) => log.end(() => resolve()));
    if (result?.passed && !options.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

/** Resolves true the moment the directory answers a membership add with 204 (false after `ms`). */
function nextAdd(directory: LocalDirectoryHandle, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), ms);
    const done = (hit: boolean) => {
      clearTimeout(timer);
      directory.onAnswered = undefined;
      resolve(hit);
    };
    directory.onAnswered = (call) => {
      if (call.method === 'POST' && call.status === 204 && call.path.endsWith('/members/$ref')) done(true);
    };
  });
}

/** One bot process's place: its port, and the process running there now (undefined while it is down). */
interface Slot {
  index: number;
  port: number;
  bot?: BotProcess;
  life?: Life;
}

/** Date.now() when a running replica first answers /readyz 200 (the deadline if none does). */
async function firstReady(slots: Slot[], deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    const answers = await Promise.all(
      slots
        .filter((s) => s.bot !== undefined)
        .map((s) =>
          fetch(`http://127.0.0.1:${s.port}/readyz`, { signal: AbortSignal.timeout(1000) })
            .then((res) => res.ok)
            .catch(() => false),
        ),
    );
    if (answers.some(Boolean)) return Date.now();
    await sleep(50);
  }
  return deadline;
}

/** The earliest end of an active grant, or start of a scheduled one, within [from, to], read from the bot's store. */
async function nextExpiry(store: StoreSource, from: number, to: number): Promise<number | undefined> {
  try {
    const { requests } = await store.read();
    const within = (t: number | undefined): t is number => t !== undefined && t >= from && t <= to;
    const ends = [...requests.values()].flatMap((r) =>
      r.status === 'active' && within(r.expiresAt)
        ? [r.expiresAt]
        : r.status === 'scheduled' && within(r.startsAt)
          ? [r.startsAt]
          : [],
    );
    return ends.length ? Math.min(...ends) : undefined;
  } catch {
    return undefined; // read while it was being written: a random kill instead
  }
}

/** What an admin does in the Entra portal: a membership Timebox knows nothing of (retried through the injected faults). */
async function addBehindTheBack(graphUrl: string, groupId: string, userId: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await fetch(`${graphUrl}/groups/${groupId}/members/$ref`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}` }),
    });
    if (res.status === 204 || res.status === 400) return;
    await sleep(300);
  }
  throw new Error(`could not add ${userId} to ${groupId} behind the bot's back`);
}

/** The figures, as printed at the end of a run (and pasted in docs/reliability.md). */
export function summarize(result: ChaosResult): string {
  const a = result.analysis;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows: Array<[string, string]> = [
    ['result', result.passed ? 'PASS' : 'FAIL'],
    ['seed', String(result.options.seed)],
    ['duration', s(result.durationMs)],
    [
      'kills (SIGKILL + restart)',
      `${result.kills} (${result.killsAtAdd} as Graph answered an add; ${result.lives.filter((l) => l.killed).length} killed lives; boot ${result.bootMs.min}/${result.bootMs.avg}/${result.bootMs.max} ms min/avg/max, runner ${result.options.runner})`,
    ],
    [
      'requests',
      `${a.requests} (${Object.entries(a.byStatus)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    ],
    ['grants (membership added)', String(a.grants)],
    [
      'grants held open (--open)',
      a.held
        ? `${a.held.grants} in ${HELD.alias}, left out of the figures above and below: at the end ${a.held.active} active, ${a.held.members} still members, ${a.held.removalsTried} removals tried, ${a.held.problems.length} problems`
        : String(result.options.open),
    ],
    [
      'scenarios',
      Object.entries(result.scenarios)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    [
      'max overstay while running',
      `${s(a.maxOverstayRunningMs)} (limit ${s(result.options.overstayLimitMs)}; ${a.overstays.length - a.endedDuringDowntime} grant ends)`,
    ],
    [
      'max overstay after start',
      `${s(a.maxOverstayAfterStartMs)} (limit ${s(result.options.overstayLimitMs)}; ${a.endedDuringDowntime} grants ended while the bot was down)`,
    ],
    ['max wall-clock overstay', `${s(a.maxWallOverstayMs)} (downtime included)`],
    [
      'longest removals',
      [...a.overstays]
        .sort((x, y) => y.upMs - x.upMs)
        .slice(0, 3)
        .map(
          (o) =>
            `${o.requestIds.join('+')} ${o.group} ${s(o.upMs)}${o.duringDowntime ? ' after start' : ''}${o.throttled ? ` (${o.throttled} × 429)` : ''}`,
        )
        .join('; '),
    ],
    [
      'scheduled starts',
      `${a.scheduled.started} of ${a.scheduled.requests} scheduled (${a.scheduled.cancelled} cancelled before the start, ${a.scheduled.failed} failed); max start lag ${s(a.scheduled.maxStartLagRunningMs)} while running, ${s(a.scheduled.maxStartLagAfterStartMs)} after a start (${a.scheduled.startedDuringDowntime} starts fell while the bot was down; limit ${s(result.options.overstayLimitMs)}); ${a.scheduled.early.length} granted before their start`,
    ],
    [
      'sessions revoked',
      `${a.sessions.revoked} (${a.sessions.audited} audited, ${a.sessions.failed.length} given up) after ${a.sessions.removals} removals from ${REVOKE_SESSIONS.join('/')}; removal → revocation max ${s(a.sessions.maxLagMs)} (${s(a.sessions.maxLagRunningMs)} running); ${a.sessions.beforeRemoval.length} before a removal, ${a.sessions.forStanding.length} for standing members, ${a.sessions.missing.length} removals not followed; ${a.sessions.repeated.afterKill + a.sessions.repeated.other} run again (${a.sessions.repeated.afterKill} after a kill, ${a.sessions.repeated.other} with no kill between)`,
    ],
    ['memberships no grant explains', String(a.unexplained.length)],
    ['standing members removed', String(a.standingRemoved.length)],
    ['requests decided twice', String(a.decidedTwice.length)],
    [
      'grants counted from after a kill',
      `${a.lateClocks.length} (grant start − add: max ${a.maxClockLagMs} ms; ${a.clockFromEarlierAttempt} grants count from an attempt whose answer was lost)`,
    ],
    ['transitions missing from the audit', String(a.missingFromAudit.length)],
    ['acknowledged decisions lost', `${a.lostDecisions.length} (of ${result.workload.acked})`],
    ['audit chain', a.audit.ok ? `verified (${a.audit.records} records)` : `BROKEN: ${a.audit.problem}`],
    [
      'drift (reconciler)',
      `enforce: remove → ${result.drift.removed ? 'removed' : 'NOT removed'}; report → ${result.drift.reported ? 'reported' : 'NOT reported'}`,
    ],
    [
      'Graph calls',
      `${a.graph.calls}, ${pct(a.graph.faultRate)} faulted (${a.graph.throttled} × 429 Retry-After ${result.options.retryAfterS} s, ${a.graph.unavailable} × 503)`,
    ],
    ['Bot Connector calls', `${result.connector.calls}, ${pct(result.connector.faultRate)} answered 502`],
    ['final SIGTERM', `exit ${result.finalStop.code} in ${result.finalStop.ms} ms`],
    [
      'workload',
      `${result.workload.clicks} clicks (${result.workload.refusedClicks} refused as stale/duplicate), ${result.workload.retriedPosts} posts retried across restarts, ${result.workload.undelivered} undelivered, ${result.workload.resent} requests sent again after "try again", ${result.workload.noCard} without a card`,
    ],
  ];
  if (result.options.store === 'postgres') {
    const outages = result.outages.map((o) => o.to - o.from);
    rows.splice(
      4,
      0,
      ['replicas', `${result.options.replicas} bot processes on one embedded PostgreSQL (DATABASE_URL)`],
      [
        'kills of PostgreSQL',
        `${result.dbKills} (SIGKILL, restarted on its data; until a replica was ready again: ${outages.map((ms) => s(ms)).join(', ') || '-'})`,
      ],
    );
    rows.push(
      ['effects run by two replicas at once', String(a.concurrentEffects.length)],
      [
        'Graph adds per grant',
        `max ${a.addsPerGrant.max}; ${a.addsPerGrant.repeated} grants added more than once, ${a.addsPerGrant.repeatedWithoutKill.length} of them with no kill in between`,
      ],
    );
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  if (result.violations.length)
    lines.push('', '  violations:', ...result.violations.map((v) => `    - ${v}`));
  if (!result.passed || result.options.keep)
    lines.push('', `  store, audit and bot log kept in ${result.workDir}`);
  return lines.join('\n');
}
