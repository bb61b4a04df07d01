import { Pool } from 'pg';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { PostgresStore } from '../../../src/adapters/store/postgres/postgres-store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/adapters/store/postgres/migrations';
import { useEmbeddedPostgres } from '../../helpers/embedded-postgres';
import { StoreOnFreshDatabase } from '../../helpers/store-on-fresh-database';
import { describeStoreContract } from '../../helpers/store-contract';

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
