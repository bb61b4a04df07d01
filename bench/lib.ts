/**
 * What every benchmark shares: a tenant of N people and G groups, requests shaped like real
 * ones, a data directory seeded with them, the local directory and a Bot Connector sink on
 * loopback, and the real bot started as a child process (`timebox serve`, bundled with esbuild
 * as the chaos run does) on that data directory. The benchmarks measure from outside: HTTP
 * round trips, the directory's own log of membership removals, the process's resident memory.
 *
 * Seeding (`seedDataDir`) comes in two ways:
 * - `files` (the default): writes the data directory as today's LowdbStore lays it out
 *   (formatVersion 1 `timebox.json`, `history.jsonl`, `audit.jsonl`), with the store's own
 *   encoders for history lines and audit records. Every later store must open such a directory
 *   (issue 12: existing data directories open and are migrated), so the benchmarks keep working
 *   when the store changes; a migration at start-up is then part of start-up, as in an upgrade.
 * - `port`: the same content through the Store port (`commit`, `savePersonalChat`, ...). It
 *   needs no knowledge of any file, but on today's store a commit rewrites every open request,
 *   so 10,000 grants take hours to seed this way (2,000 took 160 s on this machine). Use it
 *   (`--seed port`) once commits cost what they change (10,000 in about 40 s on a journal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { LowdbStore } from '../src/adapters/store/lowdb-store';
import { PostgresStore } from '../src/adapters/store/postgres/postgres-store';
import { GENESIS_HASH, toAuditRecord } from '../src/adapters/store/audit-log';
import { encodeHistoryLine } from '../src/adapters/store/history';
import {
  startLocalDirectory,
  type LocalDirectoryHandle,
  type LocalDirectorySeed,
} from '../src/dev/local-directory/server';
import type { PolicyInput } from '../src/domain/policy';
import type { AccessRequest, Person, RequestEvent } from '../src/domain/request';
import type { PersonalChat } from '../src/ports/notifier';
import type { GroupBaseline, Store } from '../src/ports/store';
import { TeamsClient, type TeamsUser } from '../test/helpers/teams-client';
import { bundleEntry } from '../test/chaos/bot-process';
import { createBenchDatabase, type BenchDatabase, type StoreKind } from './postgres';
import { SERVE_NODE_FLAGS } from '../src/serve-node-flags';

export { storeArg, type StoreKind } from './postgres';

export const ROOT = path.resolve(__dirname, '..');

// ---------------------------------------------------------------------------------------------
// Figures: what every benchmark prints, next to the goal of PRODUCT.md §9.

export interface Figure {
  /** What is measured, e.g. "expiry lag, 1,000 grants ending in the same second". */
  figure: string;
  /** The goal of PRODUCT.md §9, e.g. "p99 ≤ 1 s". */
  goal: string;
  measured: string;
  pass: boolean;
}

/** Prints a figure as one line and returns it. Benchmarks report; they never fail the run. */
export function report(figure: Figure): Figure {
  console.log(
    `${figure.pass ? 'PASS' : 'MISS'}  ${figure.figure}: ${figure.measured}  (goal ${figure.goal})`,
  );
  return figure;
}

export const note = (line: string): void => console.log(`      ${line}`);

/** Nearest-rank percentile of unsorted samples (`q` in 0..1). */
export function percentile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** 0.8 ms, 32 ms, 1.42 s, 93 s, 5.2 h. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export const rate = (n: number, ms: number): string =>
  `${(n / (ms / 1000)).toFixed(n / (ms / 1000) < 10 ? 1 : 0)}/s`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `--name value` from the command line, for running one benchmark alone. */
export function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}
export const flag = (name: string): boolean => process.argv.includes(`--${name}`);
export const seedArg = (): SeedVia =>
  process.argv[process.argv.indexOf('--seed') + 1] === 'port' ? 'port' : 'files';

// ---------------------------------------------------------------------------------------------
// The tenant: people 0..N-1, groups 0..G-1 (aliases g0, g1, ...), one approver, one channel.

export const TENANT = 'd0000000-0000-4000-8000-000000000001';
const CHANNEL = { teamId: '19:bench-team@thread.tacv2', channelId: '19:bench-ops@thread.tacv2' };
const BOT_ID = '28:timebox-test-bot'; // what TeamsClient sends as the recipient
const hex12 = (n: number) => n.toString(16).padStart(12, '0');

export interface BenchUser extends TeamsUser {
  upn: string;
}
export const userOf = (i: number): BenchUser => ({
  id: `29:bench-${i}`,
  aadObjectId: `d1000000-0000-4000-8000-${hex12(i)}`,
  name: `Person ${i}`,
  upn: `user${i}@bench.example`,
});
export const APPROVER: BenchUser = {
  id: '29:bench-approver',
  aadObjectId: 'd2000000-0000-4000-8000-000000000001',
  name: 'Megan Bowen',
  upn: 'approver@bench.example',
};
export const personOf = (u: BenchUser): Person => ({ id: u.aadObjectId, name: u.name, upn: u.upn });
export const groupOf = (g: number) => ({
  alias: `g${g}`,
  id: `d3000000-0000-4000-8000-${hex12(g)}`,
  displayName: `Bench group ${g}`,
});

export function benchPolicy(groups: number): PolicyInput {
  return {
    approverChannels: { ops: CHANNEL },
    admins: { users: [APPROVER.upn], groups: [] },
    // No reminders or timeouts during a run; warnings are seeded as sent.
    defaults: {
      defaultDuration: '1h',
      maxDuration: '8h',
      pendingTimeout: '24h',
      remindAfter: '12h',
      expiryWarning: '1m',
      approvals: 1,
      requireJustification: true,
    },
    groups: Object.fromEntries(
      Array.from({ length: groups }, (_, g) => {
        const { alias, id, displayName } = groupOf(g);
        return [
          alias,
          { groupId: id, displayName, approverChannel: 'ops', approvers: { users: [APPROVER.upn] } },
        ];
      }),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Requests as real ones look: a justification, a vote, both cards posted (at the sink).

const JUSTIFICATION =
  'Investigating INC-4711: slow checkout queries since the 13:30 deploy, need to read the orders table.';
const cardAt = (sinkUrl: string, conversationId: string, n: number) => ({
  serviceUrl: sinkUrl,
  conversationId,
  activityId: String(n),
});
const personalChatId = (u: BenchUser) => `a:personal-${u.id.slice(3)}`; // as TeamsClient.say sends it

interface Shape {
  /** Request number: ids, card ids; `user` is whose it is, in group `user % groups`. */
  n: number;
  user: number;
  groups: number;
  sinkUrl: string;
}

function requestOf({ n, user, groups, sinkUrl }: Shape, id: string, createdAt: number): AccessRequest {
  const u = userOf(user);
  return {
    id,
    version: 1,
    tenantId: TENANT,
    requester: personOf(u),
    group: groupOf(user % groups),
    approverChannel: 'ops',
    durationMs: 3_600_000,
    justification: JUSTIFICATION,
    ticket: 'INC-4711',
    kind: 'standard',
    status: 'pending',
    createdAt,
    updatedAt: createdAt,
    approvalsRequired: 1,
    votes: [],
    extensions: [],
    approvalCard: cardAt(sinkUrl, `${CHANNEL.channelId};messageid=${1_000_000 + n}`, 1_000_000 + n),
    receiptCard: cardAt(sinkUrl, personalChatId(u), 5_000_000 + n),
  };
}

export function pendingRequest(shape: Shape, createdAt: number): AccessRequest {
  return requestOf(shape, `R-P${String(shape.n).padStart(6, '0')}`, createdAt);
}

/** An active grant, warned already (no warnings fall due during a run), ending at `expiresAt`. */
export function activeGrant(shape: Shape, expiresAt: number): AccessRequest {
  const grantedAt = expiresAt - 3_600_000;
  const base = requestOf(shape, `R-A${String(shape.n).padStart(6, '0')}`, grantedAt - 300_000);
  return {
    ...base,
    version: 4,
    status: 'active',
    updatedAt: grantedAt + 3_000_000,
    votes: [{ by: personOf(APPROVER), decision: 'approve', at: grantedAt - 2_000 }],
    resolution: { by: personOf(APPROVER), at: grantedAt - 2_000 },
    standingMember: false,
    addStartedAt: grantedAt - 500,
    grantedAt,
    expiresAt,
    warnedAt: grantedAt + 3_000_000,
  };
}

/** A grant that ended `at` and whose membership was removed: what history is made of. */
export function closedGrant(shape: Shape, at: number): AccessRequest {
  const active = activeGrant(shape, at);
  return {
    ...active,
    id: `R-C${String(shape.n).padStart(6, '0')}`,
    version: 9,
    status: 'expired',
    updatedAt: at,
    resolution: { at, reason: 'The time was up.' },
    membershipRemovedAt: at + 400,
  };
}

/** The audit events that led a request to its state. */
function eventsOf(r: AccessRequest): RequestEvent[] {
  const at = (type: RequestEvent['type'], when: number, extra: Partial<RequestEvent> = {}): RequestEvent => ({
    type,
    requestId: r.id,
    at: when,
    ...extra,
  });
  const events = [at('submitted', r.createdAt, { actor: r.requester, reason: r.justification })];
  if (r.grantedAt === undefined) return events;
  events.push(
    at('approved', r.grantedAt - 2_000, { actor: personOf(APPROVER) }),
    at('granted', r.grantedAt),
    at('warned', r.warnedAt ?? r.grantedAt),
  );
  if (r.status === 'expired')
    events.push(at('expired', r.updatedAt), at('member_removed', r.membershipRemovedAt ?? r.updatedAt));
  return events;
}

// ---------------------------------------------------------------------------------------------
// Seeding a data directory.

export type SeedVia = 'files' | 'port';

export interface Seed {
  open: AccessRequest[];
  /** Closed requests, made one at a time (100,000 need not all be in memory). */
  closed?: { count: number; make: (i: number) => AccessRequest };
  /** People whose personal chat with the bot is known (so notices are sent, to the sink). */
  chatsOf: BenchUser[];
  sinkUrl: string;
  /** Managed groups Timebox has seen before (else the first reconciler pass records them). */
  baselines: GroupBaseline[];
}

/** The one place that names the Store adapters. */
export const openStore = (dir: string): Store => new LowdbStore(dir);
export const openPostgresStore = (databaseUrl: string): Store => new PostgresStore(databaseUrl);

const chatOf = (u: BenchUser, sinkUrl: string): PersonalChat => ({
  serviceUrl: sinkUrl,
  tenantId: TENANT,
  conversationId: personalChatId(u),
  userId: u.id,
  botId: BOT_ID,
});

export async function seedDataDir(dir: string, seed: Seed, via: SeedVia): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (via === 'port') return seedThroughPort(() => openStore(dir), seed);
  seedFiles(dir, seed);
}

/**
 * Seeds the stack's store: its data directory as `via` says, or its database through the port
 * (PostgreSQL has no files to write; `via` is then ignored).
 */
export async function seedStack(stack: Stack, seed: Seed, via: SeedVia): Promise<void> {
  const url = stack.databaseUrl;
  if (url) return seedThroughPort(() => openPostgresStore(url), seed);
  return seedDataDir(stack.dataDir, seed, via);
}

/** How a note names the seeding that `seedStack` did: PostgreSQL is always seeded through the port. */
export const seedLabel = (stack: Stack, via: SeedVia): string =>
  stack.databaseUrl ? 'port, PostgreSQL' : via;

/** The seed as commits and saves through the Store port, on whichever store `openSeeded` opens. */
export async function seedThroughPort(openSeeded: () => Store, seed: Seed): Promise<void> {
  const store = openSeeded();
  await store.open();
  try {
    await store.saveServiceUrl(TENANT, seed.sinkUrl);
    for (const u of seed.chatsOf) await store.savePersonalChat(u.aadObjectId, chatOf(u, seed.sinkUrl));
    for (const baseline of seed.baselines) await store.saveBaseline(baseline, null);
    const closed = seed.closed;
    for (let i = 0; closed && i < closed.count; i++) {
      const r = closed.make(i);
      await store.commit({ request: r, expectedVersion: null, events: eventsOf(r) });
    }
    for (const r of seed.open) await store.commit({ request: r, expectedVersion: null, events: eventsOf(r) });
  } finally {
    await store.close();
  }
}

/** LowdbStore's hot file, formatVersion 1 (src/adapters/store/lowdb-store.ts `HotState`). */
interface HotFileV1 {
  formatVersion: 1;
  requests: Record<string, AccessRequest>;
  effects: [];
  auditQueue: [];
  nextEffectSeq: number;
  nextAuditSeq: number;
  personalChats: Record<string, PersonalChat>;
  serviceUrls: Record<string, string>;
  baselines: Record<string, GroupBaseline>;
}

/** Appends text to a file in large writes. */
class Appender {
  private readonly fd: number;
  private buffer: string[] = [];
  private size = 0;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  push(text: string): void {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size > 4_000_000) this.flush();
  }
  flush(): void {
    if (this.buffer.length) writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function seedFiles(dir: string, seed: Seed): void {
  const history = new Appender(path.join(dir, 'history.jsonl'));
  const audit = new Appender(path.join(dir, 'audit.jsonl'));
  let seq = 0;
  let prevHash = GENESIS_HASH;
  const audited = (r: AccessRequest) => {
    for (const event of eventsOf(r)) {
      const record = toAuditRecord(event, ++seq, prevHash);
      prevHash = record.hash;
      audit.push(`${JSON.stringify(record)}\n`);
    }
  };
  for (let i = 0; seed.closed && i < seed.closed.count; i++) {
    const r = seed.closed.make(i);
    // Two versions, as an expiry leaves them: expired, then membership removed.
    const { membershipRemovedAt: _removed, ...expired } = r;
    history.push(encodeHistoryLine({ ...expired, version: r.version - 1 }));
    history.push(encodeHistoryLine(r));
    audited(r);
  }
  for (const r of seed.open) audited(r);
  history.close();
  audit.close();
  const hot: HotFileV1 = {
    formatVersion: 1,
    requests: Object.fromEntries(seed.open.map((r) => [r.id, r])),
    effects: [],
    auditQueue: [],
    nextEffectSeq: 1,
    nextAuditSeq: seq + 1,
    personalChats: Object.fromEntries(seed.chatsOf.map((u) => [u.aadObjectId, chatOf(u, seed.sinkUrl)])),
    serviceUrls: { [TENANT]: seed.sinkUrl },
    baselines: Object.fromEntries(seed.baselines.map((b) => [b.groupId.toLowerCase(), b])),
  };
  writeFileSync(path.join(dir, 'timebox.json'), JSON.stringify(hot));
}

/** Baselines for groups 0..G-1 first seen a day ago, with no standing members. */
export const seenGroups = (groups: number): GroupBaseline[] =>
  Array.from({ length: groups }, (_, g) => ({
    groupId: groupOf(g).id,
    firstSeenAt: Date.now() - 86_400_000,
    members: [],
    reported: {},
  }));

// ---------------------------------------------------------------------------------------------
// The Bot Connector sink: answers what the bot posts, and only counts.

export interface Sink {
  url: string;
  /** Calls of any kind. */
  calls: number;
  /** Conversations created: approval cards posted to the channel. */
  created: number;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  let n = 9_000_000;
  const sink: Sink = { url: '', calls: 0, created: 0, close: async () => undefined };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    sink.calls++;
    const id = String(n++);
    const json = (status: number, value: unknown) =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.method === 'POST' && /^\/v3\/conversations\/?$/.test(req.url ?? '')) {
      sink.created++;
      return json(201, { id: `${CHANNEL.channelId};messageid=${id}`, activityId: id });
    }
    if (req.method === 'GET' && req.url?.includes('/pagedmembers')) return json(200, { members: [] });
    return json(200, { id });
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  sink.close = () =>
    new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return sink;
}

// ---------------------------------------------------------------------------------------------
// The stack: a work directory, the local directory, the sink, the policy.

export interface StackOptions {
  users: number;
  groups: number;
  /** Users that are members of their group (`user % groups`) at the start: those holding grants. */
  members?: number;
  /** The local directory answers membership adds and removals this late (ms). */
  writeLatencyMs?: number;
  /** Where the bot keeps its state: a data directory (lowdb, the default) or a fresh PostgreSQL database. */
  store?: StoreKind;
}

export interface Stack {
  workDir: string;
  dataDir: string;
  policyFile: string;
  directory: LocalDirectoryHandle;
  sink: Sink;
  groups: number;
  store: StoreKind;
  /** The bot's DATABASE_URL with `store: 'postgres'`: a database of its own for this stack. */
  databaseUrl?: string;
  /** When each membership was removed, as the directory answered the DELETE: `${groupId}/${userId}` (lower-case) → epoch ms. */
  removedAt: Map<string, number>;
  /** Throws the state away (data directory or database) for a fresh start; no bot may be running. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export const membershipKey = (groupId: string, userId: string): string =>
  `${groupId}/${userId}`.toLowerCase();

export async function startStack(options: StackOptions): Promise<Stack> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'timebox-bench-'));
  const users = Array.from({ length: options.users }, (_, i) => userOf(i));
  const seed: LocalDirectorySeed = {
    users: [...users, APPROVER].map((u) => ({
      id: u.aadObjectId,
      displayName: u.name,
      userPrincipalName: u.upn,
    })),
    groups: Array.from({ length: options.groups }, (_, g) => ({
      id: groupOf(g).id,
      displayName: groupOf(g).displayName,
      members: users
        .slice(0, options.members ?? 0)
        .filter((_, i) => i % options.groups === g)
        .map((u) => u.aadObjectId),
    })),
  };
  const directory = await startLocalDirectory({ seed });
  if (options.writeLatencyMs) {
    directory.faults.latency('POST /groups/*/members/$ref', options.writeLatencyMs);
    directory.faults.latency('DELETE /groups/*/members/*/$ref', options.writeLatencyMs);
  }
  const removedAt = new Map<string, number>();
  directory.onAnswered = (call) => {
    const [groups, groupId, members, userId, ref] = call.path.split('/').filter(Boolean);
    if (
      call.method === 'DELETE' &&
      groups === 'groups' &&
      members === 'members' &&
      ref === '$ref' &&
      call.status === 204 &&
      groupId &&
      userId
    ) {
      removedAt.set(membershipKey(groupId, userId), Date.now());
    }
  };
  const sink = await startSink();
  const policyFile = path.join(workDir, 'policy.yaml');
  writeFileSync(policyFile, stringify(benchPolicy(options.groups)));
  const store = options.store ?? 'lowdb';
  let database: BenchDatabase | undefined = store === 'postgres' ? await createBenchDatabase() : undefined;
  const stack: Stack = {
    workDir,
    dataDir: path.join(workDir, 'data'),
    policyFile,
    directory,
    sink,
    groups: options.groups,
    store,
    databaseUrl: database?.url,
    removedAt,
    async reset() {
      rmSync(stack.dataDir, { recursive: true, force: true });
      if (!database) return;
      await database.drop();
      database = await createBenchDatabase();
      stack.databaseUrl = database.url;
    },
    async close() {
      await directory.close();
      await sink.close();
      await database?.drop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/**
 * Removals the DELETE log did not see but the directory's model shows (a future `$batch` or
 * PIM route): recorded at the time they are first noticed. Returns how many it added.
 */
export function noticeRemovals(
  stack: Stack,
  expected: Iterable<{ groupId: string; userId: string }>,
): number {
  const members = new Map<string, Set<string>>();
  const now = Date.now();
  let added = 0;
  for (const { groupId, userId } of expected) {
    const key = membershipKey(groupId, userId);
    if (stack.removedAt.has(key)) continue;
    let set = members.get(groupId);
    if (!set)
      members.set(groupId, (set = new Set(stack.directory.members(groupId).map((m) => m.toLowerCase()))));
    if (!set.has(userId.toLowerCase())) {
      stack.removedAt.set(key, now);
      added++;
    }
  }
  return added;
}

// ---------------------------------------------------------------------------------------------
// Child processes: the bot (`timebox serve`) and the echo bot, bundled once with esbuild.

const bundles = new Map<string, Promise<string>>();

/** Bundles `entry` into build/bench/<name>.js (two levels below the root, where the card templates are found). */
function bundle(entry: string, name: string): Promise<string> {
  const known = bundles.get(name);
  if (known) return known;
  const made = bundleEntry(entry, path.join('build', 'bench'), name);
  bundles.set(name, made);
  return made;
}

export interface RunningProcess {
  url: string;
  pid: number;
  spawnedAt: number;
  /** Date.now() when GET /readyz first answered 200. */
  readyAt: number;
  /** Resident memory now (VmRSS), MB. */
  rssMb(): number;
  /** Where the resident memory is: VmRSS split into anonymous and file-backed (the node binary, mapped code), MB. */
  rssParts(): { anonMb: number; fileMb: number };
  /** CPU time the process has used so far (user + system), ms: the work, whatever else runs on the machine. */
  cpuMs(): number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A memory figure of /proc/<pid>/status (VmRSS, RssAnon, RssFile), MB. */
function procStatusMb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function spawnServer(
  file: string,
  args: string[],
  env: Record<string, string>,
  readyTimeoutMs: number,
  nodeFlags: readonly string[] = [],
): Promise<RunningProcess> {
  const port = await freePort();
  const spawnedAt = Date.now();
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each server, written there when it exits (SIGTERM).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  // BENCH_NODE_FLAGS: extra node flags for the servers (e.g. to try a V8 heap setting).
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, ...flags, ...profile, file, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString('utf8')).slice(-64 * 1024));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => ((exited = true), running.delete(child), resolve())),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = spawnedAt + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`${path.basename(file)} exited before it was ready:\n${output.slice(-4000)}`);
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `${path.basename(file)} did not answer /readyz within ${readyTimeoutMs} ms:\n${output.slice(-4000)}`,
      );
    }
    await sleep(10);
  }
  return {
    url,
    pid: child.pid!,
    spawnedAt,
    readyAt: Date.now(),
    output: () => output,
    cpuMs() {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks (100 a second on Linux).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
    rssMb: () => procStatusMb(child.pid!, 'VmRSS'),
    rssParts: () => ({
      anonMb: procStatusMb(child.pid!, 'RssAnon'),
      fileMb: procStatusMb(child.pid!, 'RssFile'),
    }),
    async stop(graceMs = 3_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** The real bot on the stack's data directory, in local mode, everything on loopback. */
export async function startBot(stack: Stack, readyTimeoutMs = 120_000): Promise<RunningProcess> {
  const file = await bundle('src/cli.ts', 'cli');
  return spawnServer(
    file,
    ['serve'],
    {
      TIMEBOX_DEV: '1',
      TIMEBOX_POLICY: stack.policyFile,
      TIMEBOX_DATA_DIR: stack.dataDir,
      ...(stack.databaseUrl ? { DATABASE_URL: stack.databaseUrl } : {}),
      GRAPH_BASE_URL: stack.directory.url,
      TIMEBOX_SERVICE_URL: stack.sink.url,
      TIMEBOX_RECONCILE_INTERVAL: 'off',
      TIMEBOX_REQUEST_RATE_LIMIT: 'off',
      TIMEBOX_SHARED_CARD_BUTTONS: '0',
      LOG_LEVEL: 'warn',
    },
    readyTimeoutMs,
    // As deployed (the echo bot, a bare botbuilder app, keeps Node's defaults).
    SERVE_NODE_FLAGS,
  );
}

/** bench/echo-bot.ts: botbuilder's CloudAdapter + express, answering each message with its text. */
export async function startEchoBot(): Promise<RunningProcess> {
  return spawnServer(await bundle('bench/echo-bot.ts', 'echo-bot'), [], {}, 30_000);
}

/** A Teams client posting to `bot` with the sink as its Bot Connector. */
export const teamsFor = (bot: RunningProcess, sink: Sink): TeamsClient =>
  new TeamsClient(bot.url, sink.url, TENANT);

/** An approver's click on a request's approval card, as Teams posts it; resolves with the round trip (ms) and whether it was answered with a card. */
export async function clickOnCard(
  teams: TeamsClient,
  verb: 'approve' | 'deny',
  request: AccessRequest,
  reason?: string,
): Promise<{ ms: number; ok: boolean }> {
  const card = request.approvalCard!;
  const started = performance.now();
  const answer = await teams.click(
    APPROVER,
    verb,
    { requestId: request.id, subject: 'request', ...(reason ? { reason } : {}) },
    { conversationId: card.conversationId, replyToId: card.activityId },
  );
  return { ms: performance.now() - started, ok: answer.status === 200 && answer.body.statusCode === 200 };
}
