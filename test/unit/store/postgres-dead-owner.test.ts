import { Client } from 'pg';
import { PostgresStore } from '../../../src/adapters/store/postgres/postgres-store';
import { LEASE_POLL_MS } from '../../../src/adapters/store/postgres/outbox';
import { placeEffect } from '../../../src/app/effects';
import { ErrorCodes } from '../../../src/domain/errors';
import { aRequest } from '../../helpers/domain-builders';
import { useEmbeddedPostgres, type TestDatabase } from '../../helpers/embedded-postgres';

/**
 * Product contract §10: "when a replica dies mid-effect another finishes the work within the 5 s
 * overstay bound". A lease alone makes the others wait for its end (3 s), on top of whatever
 * Graph's Retry-After already cost; the replica chaos run saw 5.8 s. So a lease names its
 * holder's long-lived connection, and a holder whose connection is gone is dead at once.
 */
const pg = useEmbeddedPostgres();
const LONG_LEASE_MS = 60_000;

async function opened(db: TestDatabase): Promise<PostgresStore> {
  await db.ready;
  const store = pg.track(new PostgresStore({ connectionString: db.url, max: 4 }));
  await store.open();
  return store;
}

/** Subscribed, so that its change feed (its sign of life) is connected; resolves once it is. */
async function listening(store: PostgresStore): Promise<() => void> {
  let told = 0;
  const unsubscribe = store.onChange(() => told++);
  const started = Date.now();
  while (told === 0) {
    if (Date.now() - started > 5_000) throw new Error('the change feed did not connect');
    await new Promise((r) => setTimeout(r, 10));
  }
  return unsubscribe;
}

async function sql<T extends Record<string, unknown>>(
  db: TestDatabase,
  text: string,
  values: unknown[] = [],
) {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** One effect in the outbox, due now. */
async function anEffect(store: PostgresStore, id: string): Promise<void> {
  const now = Date.now();
  const request = aRequest({ id, version: 0, createdAt: now, updatedAt: now });
  await store.commit({
    request,
    expectedVersion: null,
    events: [],
    effects: [placeEffect({ kind: 'directory.remove' }, request)],
  });
}

describe('an effect whose holder died is taken over at once, not at its lease’s end', () => {
  it('while its holder lives, nobody else claims it and the others look again every LEASE_POLL_MS; once its connection is gone, another claims it at once and the dead holder’s token is refused', async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db), opened(db)]);
    const stopA = await listening(a);
    const stopB = await listening(b);
    await anEffect(a, 'R-DEAD01');
    const [held] = await a.claim('a', Date.now(), LONG_LEASE_MS, 1);
    expect(held).toBeDefined();
    const [row] = await sql<{ lease_pid: number | null }>(db, 'SELECT lease_pid FROM effects');
    expect(row!.lease_pid).toEqual(expect.any(Number));

    // Alive: B gets nothing, and is told to look again soon rather than in a minute.
    expect(await b.claim('b', Date.now(), LONG_LEASE_MS, 1)).toEqual([]);
    const before = Date.now();
    const next = await b.nextEffectAt();
    expect(next).toBeGreaterThan(before);
    expect(next).toBeLessThanOrEqual(Date.now() + LEASE_POLL_MS);
    // A itself is not told to poll its own lease.
    expect(await a.nextEffectAt()).toBe(held!.lease.until);

    // A's process dies: its connections go with it (here: its feed's backend, its sign of life).
    await sql(db, 'SELECT pg_terminate_backend($1)', [row!.lease_pid]);
    const deadline = Date.now() + 5_000;
    let taken: Awaited<ReturnType<PostgresStore['claim']>> = [];
    while (taken.length === 0 && Date.now() < deadline) {
      // The backend takes a moment to leave pg_stat_activity.
      taken = await b.claim('b', Date.now(), LONG_LEASE_MS, 1);
      if (taken.length === 0) {
        expect(await b.nextEffectAt()).toBeLessThanOrEqual(Date.now() + LEASE_POLL_MS);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(taken).toHaveLength(1);
    expect(taken[0]!.id).toBe(held!.id);
    expect(taken[0]!.lease.token).not.toBe(held!.lease.token);
    expect(taken[0]!.lease.until).toBeLessThan(held!.lease.until + LONG_LEASE_MS);
    await expect(a.completeEffect(held!.id, held!.lease.token)).rejects.toMatchObject({
      code: ErrorCodes.STORE_LEASE_LOST,
    });
    await b.completeEffect(taken[0]!.id, taken[0]!.lease.token);
    expect(await b.listEffects()).toEqual([]);
    stopA();
    stopB();
    await Promise.all([a.close(), b.close()]);
  });

  it('after a server restart a lease taken before it is judged by its end only (every connection is new then)', async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db), opened(db)]);
    const stopA = await listening(a);
    await anEffect(a, 'R-DEAD02');
    const [held] = await a.claim('a', Date.now(), LONG_LEASE_MS, 1);
    expect(held).toBeDefined();
    await pg.pause();
    await pg.resume();
    // A's old connection is gone, but so is everyone's: no proof that A died.
    const deadline = Date.now() + 10_000;
    let claimed: Awaited<ReturnType<PostgresStore['claim']>> | undefined;
    while (!claimed && Date.now() < deadline) {
      claimed = await b.claim('b', Date.now(), LONG_LEASE_MS, 1).catch(() => undefined);
      if (!claimed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(claimed).toEqual([]);
    expect(await b.nextEffectAt()).toBe(held!.lease.until);
    // At the lease's end it is anyone's, as before.
    const [late] = await b.claim('b', held!.lease.until, LONG_LEASE_MS, 1);
    expect(late?.id).toBe(held!.id);
    stopA();
    await Promise.all([a.close(), b.close()]);
  });

  it('a holder without a change feed (no sign of life) is judged by its lease’s end only', async () => {
    const db = pg.freshDatabase();
    const [a, b] = await Promise.all([opened(db), opened(db)]);
    await anEffect(a, 'R-DEAD03');
    const [held] = await a.claim('a', Date.now(), LONG_LEASE_MS, 1);
    const [row] = await sql<{ lease_pid: number | null }>(db, 'SELECT lease_pid FROM effects');
    expect(row!.lease_pid).toBeNull();
    expect(await b.claim('b', Date.now(), LONG_LEASE_MS, 1)).toEqual([]);
    expect(await b.nextEffectAt()).toBe(held!.lease.until);
    await Promise.all([a.close(), b.close()]);
  });
});
