import { Pool } from 'pg';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { PostgresStore } from '../../../src/adapters/store/postgres/postgres-store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/adapters/store/postgres/migrations';
import { useEmbeddedPostgres } from '../../helpers/embedded-postgres';
import { StoreOnFreshDatabase } from '../../helpers/store-on-fresh-database';
import { describeStoreContract } from '../../helpers/store-contract';
import { aRequest } from '../../helpers/domain-builders';
import { aRequestIn } from '../../helpers/builders';
import { insightRecordOf } from '../../../src/domain/insights';
import { migrate } from '../../../src/adapters/store/postgres/migrate';

const pg = useEmbeddedPostgres();

describeStoreContract('PostgresStore', () => {
  const db = pg.freshDatabase();
  const make = () => pg.track(new StoreOnFreshDatabase(db));
  // reopen: a second store on the same database, the first one dropped without close (as a
  // replica that died); readOnly: the CLI's view next to it.
  return {
    store: make(),
    reopen: make,
    readOnly: () => pg.track(new StoreOnFreshDatabase(db, { readOnly: true })),
  };
});

describe('PostgresStore scanInsights', () => {
  it('reads the period slice after slice, each request once, the edges of slices included once', async () => {
    const db = pg.freshDatabase();
    const store = pg.track(new StoreOnFreshDatabase(db, { scanSliceMs: 2000 }));
    await store.open();
    const T = Date.UTC(2026, 10, 1);
    // Created at 0, 0, 0, 1, 2, 3, 4 and 5 s after T: slices of 2 s are [0, 2), [2, 4), [4, 6).
    const at = [0, 0, 0, 1, 2, 3, 4, 5].map((s) => T + s * 1000);
    const ids = at.map((_, i) => `R-SCN00${i}`);
    for (const [i, id] of ids.entries()) {
      await store.commit({
        request: aRequest({
          id,
          group: { ...aRequest().group, alias: `g${i}` },
          createdAt: at[i],
          updatedAt: at[i],
        }),
        expectedVersion: null,
        events: [],
      });
    }
    const batches: string[][] = [];
    for await (const batch of store.scanInsights(T, T + 5000)) batches.push(batch.map((r) => r.id).sort());
    expect(batches).toEqual([ids.slice(0, 4), ids.slice(4, 6), ids.slice(6, 7)]);
    const early: string[] = [];
    for await (const batch of store.scanInsights(T, T + 6000)) {
      early.push(...batch.map((r) => r.id));
      break; // ends the scan
    }
    expect(early).toHaveLength(4);
  });
});

describe('PostgresStore schema migrations', () => {
  async function codeOf(attempt: Promise<unknown>): Promise<string> {
    try {
      await attempt;
      return 'ok';
    } catch (error) {
      return error instanceof DomainError ? error.code : String(error);
    }
  }

  it('two stores opening one new database together migrate it once', async () => {
    const db = pg.freshDatabase();
    const [a, b] = [0, 1].map(() => pg.track(new StoreOnFreshDatabase(db)));
    await Promise.all([a!.open(), b!.open()]);
    const pool = new Pool({ connectionString: db.url });
    try {
      const { rows } = await pool.query<{ version: number }>(
        'SELECT version FROM schema_version ORDER BY version',
      );
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await pool.end();
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  it('migration 8: rows already there get their insight record as they are read, or on their next write; new rows at once', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    const pool = new Pool({ connectionString: db.url });
    const client = await pool.connect();
    try {
      await migrate(
        client,
        MIGRATIONS.filter((m) => m.version <= 7),
      );
      const before = aRequestIn('expired', { id: 'R-MIG008', extensions: [] });
      await client.query(
        `INSERT INTO requests (id, status, is_open, requester_id, group_alias, group_id, created_at, updated_at, version, doc)
         VALUES ($1, $2, false, $3, $4, $5, $6, $7, 1, $8::jsonb)`,
        [
          before.id,
          before.status,
          before.requester.id.toLowerCase(),
          before.group.alias,
          before.group.id.toLowerCase(),
          before.createdAt,
          before.updatedAt,
          JSON.stringify(before),
        ],
      );
      expect(await migrate(client)).toEqual([8]);
      const insight = async () =>
        (await client.query<{ insight: unknown }>("SELECT insight FROM requests WHERE id = 'R-MIG008'"))
          .rows[0]!.insight;
      expect(await insight()).toBeNull(); // not filled by the migration (no long lock)
      const store = pg.track(new PostgresStore(db.url));
      await store.open();
      const scanned = async () => {
        const out: unknown[] = [];
        for await (const batch of store.scanInsights(0, Number.MAX_SAFE_INTEGER)) out.push(...batch);
        return out;
      };
      expect(await scanned()).toEqual([insightRecordOf(before)]);
      const later = { ...before, acknowledgedBy: before.requester, acknowledgedAt: before.updatedAt + 1 };
      await client.query("UPDATE requests SET doc = $1::jsonb WHERE id = 'R-MIG008'", [
        JSON.stringify(later),
      ]);
      expect(await insight()).toEqual(insightRecordOf(later));
      expect(await scanned()).toEqual([insightRecordOf(later)]);
      await store.close();
    } finally {
      client.release();
      await pool.end();
    }
  });

  it('a database newer than the code refuses to open, saying so, and is left as it was', async () => {
    const db = pg.freshDatabase();
    const first = pg.track(new StoreOnFreshDatabase(db));
    await first.open();
    await first.close();
    const pool = new Pool({ connectionString: db.url });
    try {
      await pool.query("INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')", [
        SCHEMA_VERSION + 1,
      ]);
      const newer = pg.track(new StoreOnFreshDatabase(db));
      const refused = newer.open();
      await expect(refused).rejects.toMatchObject({
        code: ErrorCodes.STORE_CORRUPT,
        message: expect.stringContaining(`schema version ${SCHEMA_VERSION + 1}, newer than this Timebox`),
      });
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM schema_version');
      expect(Number(rows[0]!.n)).toBe(MIGRATIONS.length + 1);
    } finally {
      await pool.end();
    }
  });

  it('a read-only store never migrates: on a new database it refuses to open and creates nothing', async () => {
    const db = pg.freshDatabase();
    const reader = pg.track(new StoreOnFreshDatabase(db, { readOnly: true }));
    await expect(reader.open()).rejects.toMatchObject({
      code: ErrorCodes.STORE_CORRUPT,
      message: expect.stringContaining('read-only command does not migrate'),
    });
    const pool = new Pool({ connectionString: db.url });
    try {
      const { rows } = await pool.query<{ t: string | null }>("SELECT to_regclass('schema_version') AS t");
      expect(rows[0]!.t).toBeNull();
    } finally {
      await pool.end();
    }
  });

  it('a database that cannot be reached is STORE_UNAVAILABLE (transient), not a failed write', async () => {
    const store = pg.track(
      new PostgresStore({
        connectionString: 'postgres://x:y@127.0.0.1:1/none',
        connectionTimeoutMillis: 2000,
      }),
    );
    expect(await codeOf(store.open())).toBe(ErrorCodes.STORE_UNAVAILABLE);
  });
});
