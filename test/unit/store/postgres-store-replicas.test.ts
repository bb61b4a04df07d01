import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { parseAuditKey, type Checkpoint } from '../../../src/adapters/store/audit-checkpoint';
import { verifyAuditRecords } from '../../../src/adapters/store/audit-verify';
import { createStore, describeStore } from '../../../src/adapters/store/open-store';
import {
  PostgresStore,
  type PostgresStoreOptions,
} from '../../../src/adapters/store/postgres/postgres-store';
import { placeEffect } from '../../../src/app/effects';
import { parseRateLimit } from '../../../src/app/rate-limit';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import type { RequestEvent } from '../../../src/domain/request';
import type { Store } from '../../../src/ports/store';
import { aRequest } from '../../helpers/domain-builders';
import { useEmbeddedPostgres, type TestDatabase } from '../../helpers/embedded-postgres';
import { StoreOnFreshDatabase } from '../../helpers/store-on-fresh-database';
import { FakeClock } from '../../helpers/fake-clock';
import { describeStoreContract } from '../../helpers/store-contract';

/**
 * Issue 13, second slice: what several PostgresStores on one database (several replicas) share
 * besides the contract — signed checkpoints, the request rate limit, wake-ups — and how the
 * configuration chooses the store.
 */
const pg = useEmbeddedPostgres();
const key = parseAuditKey(randomBytes(32).toString('hex'));
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

const signing = (every: number, onCheckpoint?: (c: Checkpoint) => void): PostgresStoreOptions => ({
  audit: { key, checkpointEvery: every, ...(onCheckpoint ? { onCheckpoint } : {}) },
});

describeStoreContract('PostgresStore signing its audit head, with a read-only view', () => {
  const db = pg.freshDatabase();
  const make = () => pg.track(new StoreOnFreshDatabase(db, signing(2)));
  return {
    store: make(),
    reopen: make,
    readOnly: () => pg.track(new StoreOnFreshDatabase(db, { readOnly: true })),
    signs: true,
  };
});

const refusal = (n: number): RequestEvent =>
  ({ type: 'refused', requestId: '', at: T0 + n, reason: `r${n}` }) as unknown as RequestEvent;

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function opened(db: TestDatabase, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const store = pg.track(new StoreOnFreshDatabase(db, options));
  await store.open();
  return store;
}

const verify = (store: Store, url: string) =>
  verifyAuditRecords(store.readAudit(), store.readAuditCheckpoints!(), {
    keys: [key],
    names: describeStore({ dataDir: '/unused', databaseUrl: url }).names,
  });

describe('signed audit checkpoints with several replicas', () => {
  it('two replicas appending at once: one checkpoint per crossing, in seq order, and the chain verifies with the key', async () => {
    const db = pg.freshDatabase();
    const told: Checkpoint[] = [];
    const [a, b] = await Promise.all([
      opened(
        db,
        signing(3, (c) => told.push(c)),
      ),
      opened(db, signing(3)),
    ]);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).appendAudit([refusal(i), refusal(100 + i)])),
    );
    const checkpoints = await all(a.readAuditCheckpoints());
    const seqs = checkpoints.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    // 40 records, at least one checkpoint every 3: never more than 2 unsigned between them.
    expect(checkpoints.length).toBeGreaterThanOrEqual(Math.floor(40 / 4));
    expect(told.length).toBeGreaterThan(0);
    expect(told.every((c) => seqs.includes(c.seq))).toBe(true);
    const result = await verify(a, db.url);
    expect(result).toMatchObject({ ok: true, records: 40, signatures: { checked: true } });
    expect(result.signatures.verified).toBe(checkpoints.length);
    await Promise.all([a.close(), b.close()]);
  });

  it('one replica stopping while another goes on: a start checkpoint follows the shutdown one, and the chain still verifies', async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db, signing(100)), opened(db, signing(100))]);
    await a.appendAudit([refusal(1), refusal(2)]);
    await a.close();
    await b.appendAudit([refusal(3)]);
    const reasons = (await all(b.readAuditCheckpoints())).map((c) => [c.reason, c.seq]);
    expect(reasons).toEqual([
      ['close', 2],
      ['open', 2],
    ]);
    expect(await verify(b, db.url)).toMatchObject({ ok: true, records: 3 });
    await b.close();
    const again = await opened(db, signing(100));
    expect((await all(again.readAuditCheckpoints())).map((c) => c.reason)).toEqual([
      'close',
      'open',
      'close',
      'open',
    ]);
    await again.close();
  });

  it('a checkpoint altered in the database: the next open refuses (STORE_CORRUPT), and verify names it', async () => {
    const db = pg.freshDatabase();
    const store = await opened(db, signing(2));
    await store.appendAudit([refusal(1), refusal(2), refusal(3)]);
    await store.close();
    const pool = new Pool({ connectionString: db.url });
    try {
      const { rows } = await pool.query<{ n: string; checkpoint: string }>(
        'SELECT n, checkpoint FROM audit_checkpoints ORDER BY n DESC LIMIT 1',
      );
      const forged = { ...(JSON.parse(rows[0]!.checkpoint) as Checkpoint), at: new Date(T0).toISOString() };
      await pool.query('UPDATE audit_checkpoints SET checkpoint = $2 WHERE n = $1', [
        rows[0]!.n,
        JSON.stringify(forged),
      ]);
    } finally {
      await pool.end();
    }
    const next = pg.track(new StoreOnFreshDatabase(db, signing(2)));
    await expect(next.open()).rejects.toMatchObject({
      code: ErrorCodes.STORE_CORRUPT,
      message: expect.stringContaining('whose signature does not verify'),
    });
    const reader = await opened(db, { readOnly: true });
    const result = await verify(reader, db.url);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatch(/^checkpoint \d+ \(record \d+\) has a signature that does not verify/);
    await reader.close();
  });

  it('an audit record rewritten in the database: verify names it as "audit record N"', async () => {
    const db = pg.freshDatabase();
    const store = await opened(db, signing(100));
    await store.appendAudit([refusal(1), refusal(2), refusal(3)]);
    const pool = new Pool({ connectionString: db.url });
    try {
      const { rows } = await pool.query<{ record: string }>('SELECT record FROM audit WHERE seq = 2');
      const record = { ...(JSON.parse(rows[0]!.record) as { reason: string }), reason: 'rewritten' };
      await pool.query('UPDATE audit SET record = $1 WHERE seq = 2', [JSON.stringify(record)]);
    } finally {
      await pool.end();
    }
    const result = await verify(store, db.url);
    expect(result.ok).toBe(false);
    expect(result.problem).toContain('audit record 2');
    await store.close();
  });
});

describe('the request rate limit shared through the database', () => {
  it('two replicas share one quota; a slot given back is free again; the refusal says when the next frees up', async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db), opened(db)]);
    const clock = new FakeClock(T0);
    const limit = parseRateLimit('3/10m')!;
    const [onA, onB] = [a.sharedRateLimiter(clock, limit), b.sharedRateLimiter(clock, limit)];
    await onA.take('alex');
    await clock.advance(60_000);
    await onB.take('alex');
    const giveBack = await onA.take('alex');
    const refused = onB.take('alex');
    await expect(refused).rejects.toMatchObject({
      code: ErrorCodes.REQUEST_RATE_LIMITED,
      message: expect.stringMatching(/filed 3 requests in the last 10m.*Try again in 9m/),
      details: { retryAfterMs: 9 * 60_000 },
    });
    await expect(onA.take('megan')).resolves.toEqual(expect.any(Function));
    giveBack();
    await expect(onA.take('alex')).resolves.toEqual(expect.any(Function));
    await clock.advance(9 * 60_000 + 1);
    await expect(onB.take('alex')).resolves.toEqual(expect.any(Function));
    await Promise.all([a.close(), b.close()]);
  });

  it('ten takes at once on two replicas for the last three slots: exactly three are granted', async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db), opened(db)]);
    const clock = new FakeClock(T0);
    const limit = parseRateLimit('3/10m')!;
    const limiters = [a.sharedRateLimiter(clock, limit), b.sharedRateLimiter(clock, limit)];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => limiters[i % 2]!.take('alex')),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    for (const o of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected'))
      expect(o.reason).toMatchObject({ code: ErrorCodes.REQUEST_RATE_LIMITED });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('wake-ups across replicas (onChange: LISTEN/NOTIFY)', () => {
  const within = (ms: number, woken: () => number, atLeast = 1) =>
    new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        if (woken() >= atLeast) {
          clearInterval(timer);
          resolve(Date.now() - started);
        } else if (Date.now() - started > ms) {
          clearInterval(timer);
          reject(new Error(`not woken within ${ms} ms`));
        }
      }, 5);
    });

  it("another replica's commit and retry wake the listener at once; its own commits and a refused commit do not", async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db), opened(db)]);
    let woken = 0;
    const unsubscribe = a.onChange(() => woken++);
    await within(2_000, () => woken); // the feed tells once when it starts listening
    woken = 0;
    const request = aRequest({ id: 'R-WAKE01', version: 0, createdAt: T0, updatedAt: T0 });
    await a.commit({ request, expectedVersion: null, events: [], effects: [] });
    const stored = await b.commit({
      request: { ...request, updatedAt: T0 + 1 },
      expectedVersion: 1,
      events: [],
      effects: [placeEffect({ kind: 'card.post' }, request)],
    });
    const tookMs = await within(1_000, () => woken);
    expect(tookMs).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 150));
    expect(woken).toBe(1); // B's commit only, not A's own
    woken = 0;
    const refused = b.commit({ request: stored, expectedVersion: 1, events: [] });
    await expect(refused).rejects.toMatchObject({ code: ErrorCodes.REQUEST_CONFLICT });
    await new Promise((r) => setTimeout(r, 200));
    expect(woken).toBe(0);
    const [claimed] = await b.claim('b', T0 + 10, 30_000, 1);
    await b.retryEffect(claimed!.id, claimed!.lease.token, T0 + 1_000, 'Teams said no');
    await within(1_000, () => woken);
    unsubscribe();
    await Promise.all([a.close(), b.close()]);
  });

  it('after the database was away, the feed listens again by itself and tells once; then wakes as before', async () => {
    const db = pg.freshDatabase();
    const a = await opened(db);
    let woken = 0;
    a.onChange(() => woken++);
    await within(2_000, () => woken);
    await pg.pause();
    woken = 0;
    await pg.resume();
    await within(15_000, () => woken);
    const b = await opened(db);
    woken = 0;
    const request = aRequest({ id: 'R-WAKE02', version: 0, createdAt: T0, updatedAt: T0 });
    await b.commit({ request, expectedVersion: null, events: [] });
    await within(1_000, () => woken);
    await Promise.all([a.close(), b.close()]);
  }, 40_000);
});

describe('a connection the server drops while it is checked out', () => {
  it('is an error of its query, never of the process (no unhandled error event), and the store goes on', async () => {
    const db = pg.freshDatabase();
    const store = await opened(db);
    // A transaction under way on one of the store's connections, as a commit would hold it.
    const client = await (store as unknown as { pool: Pool }).pool.connect();
    await client.query('BEGIN');
    const admin = new Pool({ connectionString: db.url });
    try {
      // As the server does when it is killed or restarted: FATAL 57P01 on every connection.
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      // The server's goodbye reaches the idle, checked-out connection before any query of it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      client.release(true);
      await admin.end();
    }
    expect(await store.get('R-NOSUCH')).toBeUndefined();
  });
});

describe('health, and the choice of the store', () => {
  it('health: ok while the database answers; not ok (quickly, with why) while it is away; ok again after', async () => {
    const db = pg.freshDatabase();
    const store = await opened(db);
    expect(await store.health()).toEqual({ ok: true });
    await pg.pause();
    await new Promise((r) => setTimeout(r, 1_100)); // past the cached answer
    const started = Date.now();
    const down = await store.health();
    expect(down.ok).toBe(false);
    expect(down.detail).toEqual(expect.any(String));
    expect(Date.now() - started).toBeLessThan(2_500);
    // A command meanwhile: the port's transient error, in words a person can act on.
    const failed = store.listOpen();
    await expect(failed).rejects.toMatchObject({
      code: ErrorCodes.STORE_UNAVAILABLE,
      message: expect.stringMatching(/could not record that.*nothing was changed\. Try again/),
    });
    await pg.resume();
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await store.health()).toEqual({ ok: true });
    expect(await store.listOpen()).toEqual([]);
    await store.close();
  }, 30_000);

  it('createStore: DATABASE_URL chooses PostgresStore (read-only too); describeStore names the database without its password', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    const config = { dataDir: '/nonexistent', databaseUrl: db.url, auditKey: key, auditCheckpointEvery: 2 };
    const writer = pg.track(createStore(config));
    expect(writer).toBeInstanceOf(PostgresStore);
    await writer.open();
    await writer.appendAudit([refusal(1), refusal(2)]);
    expect(await all(writer.readAuditCheckpoints!())).toHaveLength(1);
    const reader = pg.track(createStore(config, { readOnly: true }));
    await reader.open();
    await expect(reader.appendAudit([refusal(3)])).rejects.toMatchObject({
      code: ErrorCodes.STORE_WRITE_FAILED,
    });
    expect(reader.onChange).toBeDefined();
    await Promise.all([reader.close(), writer.close()]);
    const where = describeStore(config);
    const { password } = new URL(db.url);
    expect(password).not.toBe('');
    for (const text of [where.audit, where.checkpoints, where.names.record(17), where.names.checkpoint(3)])
      expect(text).not.toContain(password);
    expect([where.names.record(17), where.names.checkpoint(3)]).toEqual(['audit record 17', 'checkpoint 3']);
    expect(where.audit).toMatch(/^the audit table of postgres:\/\/127\.0\.0\.1:\d+\/contract_\d+$/);
    expect(where.exists()).toBe(true);
    expect(() => createStore({ dataDir: '/x', databaseUrl: 'mysql://u:p@h/db' })).toThrow(DomainError);
  });
});
