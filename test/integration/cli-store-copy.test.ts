import { runCli } from '../helpers/cli-runner';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { placeEffect } from '../../src/app/effects';
import { parseAuditKey } from '../../src/adapters/store/audit-checkpoint';
import { verifyAuditRecords } from '../../src/adapters/store/audit-verify';
import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import { PostgresStore } from '../../src/adapters/store/postgres/postgres-store';
import { registerStoreCommands } from '../../src/cli/store-copy';
import type { AccessRequest, RequestEvent } from '../../src/domain/request';
import type { AuditRecord, Store } from '../../src/ports/store';
import { aPerson, aRequest } from '../helpers/domain-builders';
import { useEmbeddedPostgres, type TestDatabase } from '../helpers/embedded-postgres';
import { hashDir } from '../helpers/hash-dir';

/**
 * Issue 13: `timebox store copy --from <data dir> --to <DATABASE_URL>`. A data directory written
 * by a real LowdbStore (signed audit chain) is copied into a fresh database of the embedded
 * server, then read back through the Store port of a PostgresStore: every item equal, both
 * chains verified by the verifier `timebox audit verify` uses, the source untouched.
 */
const pg = useEmbeddedPostgres();
const KEY_HEX = randomBytes(32).toString('hex');
const key = parseAuditKey(KEY_HEX);
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'store-7eb7def');

const timebox = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(registerStoreCommands, args, env);

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'timebox-copy-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function fresh(): Promise<TestDatabase> {
  const db = pg.freshDatabase();
  await db.ready;
  return db;
}

const event = (requestId: string, type: RequestEvent['type'], at = T0): RequestEvent => ({
  type,
  requestId,
  at,
});
const IDS = { pending: 'R-PEND01', active: 'R-ACTV01', expired: 'R-EXPD01', denied: 'R-DENY01' };
const CHAT = {
  serviceUrl: 'https://smba.example/',
  conversationId: 'a:1',
  userId: '29:alex',
  botId: '28:bot',
};
const BASELINE = {
  groupId: 'B2000000-0000-4000-8000-000000000002',
  firstSeenAt: T0,
  members: ['m1'],
  reported: {},
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A data directory as a stopped bot leaves it: open (pending, active) and closed requests, effects (one retried), a baseline, chats, a signed chain. */
async function dataDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  const store = new LowdbStore(dir, { audit: { key, checkpointEvery: 3 } });
  await store.open();
  // Distinct times: the port leaves the order of equal ones to each store.
  let created = 0;
  const create = (r: AccessRequest) => {
    const at = T0 - 3_600_000 + ++created * 60_000;
    return store.commit({
      request: { ...r, createdAt: at, updatedAt: at },
      expectedVersion: null,
      events: [event(r.id, 'submitted')],
    });
  };
  const pending = await create(aRequest({ id: IDS.pending }));
  await store.markWelcomed('person:welcomed-1', T0);
  await store.commit({
    request: pending,
    expectedVersion: pending.version,
    events: [event(pending.id, 'voted')],
    effects: [placeEffect({ kind: 'thread.reply', template: 'voted', data: { n: 1 } }, pending)],
  });
  const active = await create(
    aRequest({ id: IDS.active, group: { ...aRequest().group, alias: 'db-admin' } }),
  );
  await store.commit({
    request: { ...active, status: 'active', updatedAt: T0 + 1000 },
    expectedVersion: active.version,
    events: [event(active.id, 'approved'), event(active.id, 'granted')],
    effects: [
      placeEffect({ kind: 'directory.add' }, active),
      placeEffect({ kind: 'person.notify', template: 'granted' }, active),
    ],
    dueAt: T0 + 3_600_000,
  });
  for (const [id, status, type, at] of [
    [IDS.expired, 'expired', 'expired', T0 + 2000],
    [IDS.denied, 'denied', 'denied', T0 + 3000],
  ] as const) {
    const r = await create(aRequest({ id, group: { ...aRequest().group, alias: `g-${id}` } }));
    await store.commit({
      request: { ...r, status, updatedAt: at },
      expectedVersion: r.version,
      events: [event(id, type)],
    });
  }
  // One effect retried: attempts, notBefore and lastError must survive the copy.
  const [claimed] = await store.claim('worker', Date.now() + 1e9, 60_000, 1, ['directory']);
  await store.retryEffect(claimed!.id, claimed!.lease.token, T0 + 30_000, 'Graph said 503');
  await store.saveBaseline(BASELINE, null);
  await store.savePersonalChat('alex', CHAT);
  await store.saveServiceUrl('tenant-1', 'https://smba.example/emea/');
  // Approval-token signing keys (issue 16): tokens signed before the move must still verify after it.
  await store.saveSigningKeys(
    [
      {
        kid: 'kid-1',
        privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', alg: 'ES256' },
        createdAt: T0,
        activatesAt: T0,
      },
    ],
    null,
  );
  // Delegations (issue 17): one given before the move still holds after it.
  await store.saveDelegations(
    [
      {
        id: 'D-1',
        from: aPerson('alex'),
        to: aPerson('megan'),
        since: T0,
        until: T0 + 3_600_000,
        createdAt: T0,
      },
    ],
    null,
  );
  await store.close();
  return dir;
}

async function readAll<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function withStore<T>(store: Store, use: (s: Store) => Promise<T>): Promise<T> {
  await store.open();
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Everything a caller of the port can see, for the ids and keys given. */
async function view(store: Store, ids: string[]) {
  return withStore(store, async (s) => ({
    // One at a time: a read-only PostgresStore reads on one connection.
    requests: await ids.reduce<Promise<Array<AccessRequest | undefined>>>(
      async (all, id) => [...(await all), await s.get(id)],
      Promise.resolve([]),
    ),
    open: await s.listOpen(),
    recent: await s.listRecentClosed(aPerson('alex').id, 10),
    effects: await s.listEffects(),
    due: await s.listDue(Number.MAX_SAFE_INTEGER, 100),
    nextEffectAt: await s.nextEffectAt(),
    baseline: await s.getBaseline(BASELINE.groupId),
    chat: await s.getPersonalChat('alex'),
    serviceUrl: await s.getServiceUrl('tenant-1'),
    signingKeys: await s.getSigningKeys(),
    delegations: await s.getDelegations(),
    audit: await readAll<AuditRecord>(s.readAudit()),
    chain: await verifyAuditRecords(s.readAudit(), s.readAuditCheckpoints()),
  }));
}

async function tableCounts(url: string): Promise<Record<string, number> | 'no schema'> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('requests') AS t");
    if (rows[0]?.t == null) return 'no schema';
    const out: Record<string, number> = {};
    for (const table of [
      'requests',
      'effects',
      'audit',
      'personal_chats',
      'baselines',
      'service_urls',
      'welcomes',
      'audit_checkpoints',
    ]) {
      const { rows: n } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      out[table] = Number(n[0]!.n);
    }
    return out;
  } finally {
    await client.end();
  }
}

describe('timebox store copy', () => {
  it('copies every request, effect, baseline, chat and the signed chain; reads back equal; the source untouched', async () => {
    const dir = await dataDir('full');
    const db = await fresh();
    const before = hashDir(dir);
    const copied = await timebox(['store', 'copy', '--from', dir, '--to', db.url], {
      TIMEBOX_AUDIT_KEY: KEY_HEX,
    });
    expect(copied.code).toBe(0);
    expect(hashDir(dir)).toEqual(before);
    const ids = Object.values(IDS);
    const source = await view(new LowdbStore(dir, { readOnly: true }), ids);
    const target = await view(new PostgresStore(db.url, { readOnly: true }), ids);
    expect(source.requests.every(Boolean)).toBe(true);
    expect(source.signingKeys).toMatchObject({ version: 1, keys: [{ kid: 'kid-1' }] });
    expect(source.delegations).toMatchObject({ version: 1, delegations: [{ id: 'D-1' }] });
    expect(source.effects.some((e) => e.attempts === 1 && e.lastError === 'Graph said 503')).toBe(true);
    const { chain: sourceChain, ...sourceItems } = source;
    const { chain: targetChain, ...targetItems } = target;
    expect(targetItems).toEqual(sourceItems);
    expect(sourceChain.ok && targetChain.ok).toBe(true);
    expect(targetChain.head).toEqual(sourceChain.head);
    // The source's signatures too, with the key the bot signed with.
    const signed = await withStore(new LowdbStore(dir, { readOnly: true }), (s) =>
      verifyAuditRecords(s.readAudit(), s.readAuditCheckpoints(), { keys: [key] }),
    );
    expect(signed.ok && signed.signatures.verified).toBeGreaterThan(0);
    // The checkpoints came along, and verify with that key against the database's chain.
    const sourceCheckpoints = await withStore(new LowdbStore(dir, { readOnly: true }), (s) =>
      collect(s.readAuditCheckpoints()),
    );
    const targetSigned = await withStore(new PostgresStore(db.url, { readOnly: true }), async (s) => ({
      checkpoints: await collect(s.readAuditCheckpoints()),
      verified: await verifyAuditRecords(s.readAudit(), s.readAuditCheckpoints(), { keys: [key] }),
    }));
    expect(sourceCheckpoints.length).toBeGreaterThan(0);
    expect(targetSigned.checkpoints).toEqual(sourceCheckpoints);
    expect(targetSigned.verified.ok && targetSigned.verified.signatures.verified).toBe(
      sourceCheckpoints.length,
    );
    const head = sourceChain.head!;
    expect(copied.out).toContain(
      `copied 4 requests (2 open), 3 effects, 1 baselines, 1 chats, 1 service URLs, ${source.audit.length} audit records; audit chain verified on both sides, head ${head.seq}:${head.hash}`,
    );
    expect(copied.out).toMatch(/\d+ signed checkpoints copied/);
    expect(copied.out).not.toContain(decodeURIComponent(new URL(db.url).password));
    // The copy continues the chain and the outbox numbering where the source left them.
    await withStore(new PostgresStore(db.url), async (s) => {
      // Who was welcomed came along: never welcomed again.
      expect(await s.markWelcomed('person:welcomed-1', T0 + 1)).toBe(false);
      await s.appendAudit([event(IDS.pending, 'voted', T0 + 5000)]);
      const more = await s.commit({
        request: aRequest({ id: 'R-NEW001', group: { ...aRequest().group, alias: 'fresh' } }),
        expectedVersion: null,
        events: [],
        effects: [placeEffect({ kind: 'thread.reply' }, aRequest({ id: 'R-NEW001' }))],
      });
      const effects = await s.listEffects();
      expect(Math.max(...effects.filter((e) => e.requestId === more.id).map((e) => e.seq))).toBeGreaterThan(
        Math.max(...source.effects.map((e) => e.seq)),
      );
      expect(await verifyAuditRecords(s.readAudit(), s.readAuditCheckpoints())).toMatchObject({
        ok: true,
        records: source.audit.length + 1,
      });
    });
  });

  it('refuses a database that is not empty, naming what it holds, and changes nothing', async () => {
    const dir = await dataDir('twice');
    const db = await fresh();
    expect((await timebox(['store', 'copy', '--from', dir, '--to', db.url])).code).toBe(0);
    const held = await tableCounts(db.url);
    const again = await timebox(['store', 'copy', '--from', dir], { DATABASE_URL: db.url });
    expect(again.code).toBe(2);
    expect(again.out).toMatch(
      /is not empty \(it holds 4 requests, 3 effects, \d+ audit records, 1 chats, 1 baselines, 1 welcomes\); store copy only fills an empty database/,
    );
    expect(await tableCounts(db.url)).toEqual(held);
    // One chat is enough to refuse.
    const other = await fresh();
    await withStore(new PostgresStore(other.url), (s) => s.savePersonalChat('alex', CHAT));
    const oneChat = await timebox(['store', 'copy', '--from', dir, '--to', other.url]);
    expect(oneChat.code).toBe(2);
    expect(oneChat.out).toContain('(it holds 1 chats)');
    expect(await tableCounts(other.url)).toMatchObject({ requests: 0, audit: 0, personal_chats: 1 });
  });

  it('refuses a source whose audit chain does not verify, writing nothing anywhere', async () => {
    const dir = await dataDir('tampered');
    const audit = path.join(dir, 'audit.jsonl');
    const lines = readFileSync(audit, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"type":"voted"', '"type":"approved"');
    writeFileSync(audit, lines.join('\n'));
    const before = hashDir(dir);
    const db = await fresh();
    const refused = await timebox(['store', 'copy', '--from', dir, '--to', db.url]);
    expect(refused.code).toBe(2);
    expect(refused.out).toContain('does not verify');
    expect(refused.out).toContain('was changed');
    expect(await tableCounts(db.url)).toBe('no schema');
    expect(hashDir(dir)).toEqual(before);
  });

  it('refuses a directory that is not a Timebox data directory, and bad input', async () => {
    const db = await fresh();
    const empty = mkdtempSync(path.join(root, 'empty-'));
    const notData = await timebox(['store', 'copy', '--from', empty, '--to', db.url]);
    expect(notData).toEqual({ code: 2, out: expect.stringContaining('is not a Timebox data directory') });
    const notPg = await timebox(['store', 'copy', '--from', empty, '--to', 'mysql://u:pw@h/x']);
    expect(notPg.code).toBe(2);
    expect(notPg.out).toContain('not a PostgreSQL URL');
    expect(await tableCounts(db.url)).toBe('no schema');
  });

  it('copies the data directory an old version wrote (test/fixtures/store-7eb7def), leaving it untouched', async () => {
    const dir = path.join(root, 'old');
    cpSync(FIXTURE, dir, { recursive: true });
    const before = hashDir(dir);
    const db = await fresh();
    const copied = await timebox(['store', 'copy', '--from', dir, '--to', db.url]);
    expect(copied.code).toBe(0);
    expect(hashDir(dir)).toEqual(before);
    expect(hashDir(FIXTURE)).toEqual(before);
    const ids = (await withStore(new LowdbStore(dir, { readOnly: true }), (s) => readAll(s.readAudit())))
      .map((r) => r.requestId!)
      .filter(Boolean);
    const source = await view(new LowdbStore(dir, { readOnly: true }), ids);
    const target = await view(new PostgresStore(db.url, { readOnly: true }), ids);
    expect(source.requests.filter(Boolean).length).toBeGreaterThan(1);
    expect(target.chain.ok).toBe(true);
    expect(target).toEqual(source);
  });
});
