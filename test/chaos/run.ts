import { parseArgs } from 'node:util';
import { FULL, REPLICAS, runChaos, summarize, type ChaosOptions } from './harness';

// npm run test:chaos [-- --replicas 3 --store postgres --db-kills 2 --requests 300 --kills 20 --min-grant 10 --max-grant 60 --graph-faults 0.3 --connector-faults 0.1 --open 1000 --seed 42 --keep --verbose]
const { values } = parseArgs({
  options: {
    requests: { type: 'string' },
    kills: { type: 'string' },
    'min-grant': { type: 'string' },
    'max-grant': { type: 'string' },
    'graph-faults': { type: 'string' },
    'throttle-share': { type: 'string' },
    'retry-after': { type: 'string' },
    'connector-faults': { type: 'string' },
    people: { type: 'string' },
    open: { type: 'string' },
    seed: { type: 'string' },
    runner: { type: 'string' },
    runs: { type: 'string' },
    replicas: { type: 'string' },
    store: { type: 'string' },
    'db-kills': { type: 'string' },
    json: { type: 'boolean' },
    keep: { type: 'boolean' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  console.log(`Crash-and-fault run of Timebox (docs/reliability.md).
  --requests N          scenarios, one request each (default ${FULL.requests})
  --kills N             SIGKILLs of the bot, each followed by a restart (default ${FULL.kills})
  --min-grant S, --max-grant S   grant lengths in seconds (default ${FULL.minGrantS}-${FULL.maxGrantS})
  --graph-faults R      share of Graph calls answered 429 (Retry-After) or 503 (default ${FULL.graphFaultRate})
  --throttle-share R    of those, the share answered 429 with Retry-After; the rest 503 (default ${FULL.throttleShare})
  --retry-after S       Retry-After of those 429s (default ${FULL.retryAfterS})
  --connector-faults R  share of Bot Connector calls answered 502 (default ${FULL.connectorFaultRate})
  --people N            requesters working in parallel (default ${FULL.people})
  --open N              grants held open for the whole run: N more people in one more group,
                        seeded in the store before the bot starts, ending hours after the run;
                        left out of the figures, checked still active and in place at the end (default ${FULL.open})
  --seed N              workload and kill timing (default: from the clock; printed)
  --runner bundle|tsx   how the bot starts (default bundle: esbuild once, then plain node)
  --runs N              runs one after another; stops at the first failure (default 1)
  --store lowdb|postgres  lowdb: one bot on its data directory (default); postgres: the bots share
                        one embedded PostgreSQL through DATABASE_URL, read back from it for the checks
  --replicas N          bot processes at once, activities spread over them (default 1; above 1 needs
                        --store postgres); each kill hits a random one, restarted while the others serve
  --db-kills N          SIGKILLs of PostgreSQL itself, restarted on its data after 1-2 s
                        (--store postgres; default ${REPLICAS.dbKills})
  --json                also print each result as one JSON line (CHAOS_RESULT ...)
  --keep                keep the store, audit log and bot log of a passing run
  --verbose             print what happens as it happens`);
  process.exit(0);
}

const number = (text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`not a number: ${text}`);
    process.exit(2);
  }
  return n;
};

async function main(): Promise<void> {
  const runs = number(values.runs, 1);
  const store = values.store ?? 'lowdb';
  if (store !== 'lowdb' && store !== 'postgres') {
    console.error(`--store must be lowdb or postgres, not ${JSON.stringify(store)}`);
    process.exit(2);
  }
  const replicas = Math.floor(number(values.replicas, 1));
  if (replicas < 1 || (replicas > 1 && store !== 'postgres')) {
    console.error(
      '--replicas must be at least 1, and above 1 only with --store postgres (one LowdbStore has one writer)',
    );
    process.exit(2);
  }
  const dbKills = store === 'postgres' ? Math.floor(number(values['db-kills'], REPLICAS.dbKills)) : 0;
  if (store !== 'postgres' && values['db-kills'] !== undefined) {
    console.error('--db-kills needs --store postgres');
    process.exit(2);
  }
  const base: ChaosOptions = {
    ...FULL,
    requests: number(values.requests, FULL.requests),
    kills: number(values.kills, FULL.kills),
    minGrantS: number(values['min-grant'], FULL.minGrantS),
    maxGrantS: number(values['max-grant'], FULL.maxGrantS),
    graphFaultRate: number(values['graph-faults'], FULL.graphFaultRate),
    throttleShare: Math.min(1, number(values['throttle-share'], FULL.throttleShare)),
    retryAfterS: number(values['retry-after'], FULL.retryAfterS),
    connectorFaultRate: number(values['connector-faults'], FULL.connectorFaultRate),
    people: number(values.people, FULL.people),
    open: Math.floor(number(values.open, FULL.open)),
    runner: values.runner === 'tsx' ? 'tsx' : 'bundle',
    keep: values.keep === true,
    verbose: values.verbose === true,
    store,
    replicas,
    dbKills,
  };
  let failed = false;
  for (let run = 1; run <= runs && !failed; run++) {
    const options = {
      ...base,
      seed: values.seed !== undefined ? number(values.seed, 0) + run - 1 : (Date.now() + run) % 1_000_000,
    };
    console.log(
      `chaos run ${run}/${runs}: ${store === 'postgres' ? `${replicas} replicas on PostgreSQL (${dbKills} database kills), ` : ''}${options.requests} requests, ${options.kills} kills, grants ${options.minGrantS}-${options.maxGrantS} s, Graph faults ${Math.round(options.graphFaultRate * 100)}% (${Math.round(options.throttleShare * 100)}% of them 429), Bot Connector 502s ${Math.round(options.connectorFaultRate * 100)}%, ${options.open} grants held open, seed ${options.seed}`,
    );
    const result = await runChaos(options);
    console.log(summarize(result));
    if (values.json)
      console.log(
        `CHAOS_RESULT ${JSON.stringify({ ...result, lives: undefined, analysis: { ...result.analysis, overstays: undefined } })}`,
      );
    failed = !result.passed;
  }
  process.exit(failed ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
