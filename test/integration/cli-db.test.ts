import { runCli } from '../helpers/cli-runner';
import { Client } from 'pg';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/adapters/store/postgres/migrations';
import { registerDbCommands, runMigrate } from '../../src/cli/db';
import { useEmbeddedPostgres, type TestDatabase } from '../helpers/embedded-postgres';

/**
 * Issue 13: `timebox db migrate | status` against a real PostgreSQL (one embedded server for
 * this file, a fresh database per test). Each command runs in this process, exit codes as
 * src/cli.ts maps them (a DomainError is 2, anything else 1).
 */
const pg = useEmbeddedPostgres();

const timebox = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(registerDbCommands, args, env);

async function fresh(): Promise<TestDatabase> {
  const db = pg.freshDatabase();
  await db.ready;
  return db;
}

async function versions(url: string): Promise<number[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_version ORDER BY version',
    );
    return rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);

describe('timebox db migrate', () => {
  it('migrates an empty database, names what it applied, and never prints the password', async () => {
    const db = await fresh();
    expect(passwordOf(db.url).length).toBeGreaterThan(0);
    const first = await timebox(['db', 'migrate', '--database-url', db.url]);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`applied ${MIGRATIONS.length} migration`);
    expect(first.out).toContain(`1 ${MIGRATIONS[0]!.name}`);
    expect(first.out).toContain(`Now at version ${SCHEMA_VERSION}`);
    expect(first.out).not.toContain(passwordOf(db.url));
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('a second migrate (DATABASE_URL) says the database is up to date and changes nothing', async () => {
    const db = await fresh();
    await timebox(['db', 'migrate', '--database-url', db.url]);
    const second = await timebox(['db', 'migrate'], { DATABASE_URL: db.url });
    expect(second).toEqual({
      code: 0,
      out: expect.stringContaining(`the database is up to date at version ${SCHEMA_VERSION}`),
    });
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('two migrates at once apply each migration once: one applies, the other finds it done', async () => {
    const db = await fresh();
    const results = await Promise.all([runMigrate(db.url), runMigrate(db.url)]);
    expect(results.filter((r) => r.includes('applied'))).toHaveLength(1);
    expect(results.filter((r) => r.includes('up to date'))).toHaveLength(1);
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('refuses a database newer than the code (exit 2), migrate and status alike, and leaves it as it was', async () => {
    const db = await fresh();
    await timebox(['db', 'migrate', '--database-url', db.url]);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query("INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')", [
      SCHEMA_VERSION + 1,
    ]);
    await client.end();
    for (const command of ['migrate', 'status']) {
      const refused = await timebox(['db', command, '--database-url', db.url]);
      expect(refused.code).toBe(2);
      expect(refused.out).toContain(
        `schema version ${SCHEMA_VERSION + 1}, newer than this Timebox understands`,
      );
    }
    expect(await versions(db.url)).toEqual([...MIGRATIONS.map((m) => m.version), SCHEMA_VERSION + 1]);
  });
});

describe('timebox db status', () => {
  it('prints the version and the pending migrations, creating nothing; then "up to date"', async () => {
    const db = await fresh();
    const before = await timebox(['db', 'status', '--database-url', db.url]);
    expect(before.code).toBe(0);
    expect(before.out).toContain('schema version 0');
    expect(before.out).toContain(`${MIGRATIONS.length} pending migration`);
    expect(before.out).not.toContain(passwordOf(db.url));
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('schema_version') AS t");
    await client.end();
    expect(rows[0]?.t).toBeNull();
    await timebox(['db', 'migrate', '--database-url', db.url]);
    const after = await timebox(['db', 'status', '--database-url', db.url]);
    expect(after.out).toContain(`schema version ${SCHEMA_VERSION}`);
    expect(after.out).toContain('up to date');
  });
});

describe('bad input', () => {
  it('no database, a URL that is not PostgreSQL, and an unreachable one are refused (exit 2), the password unprinted', async () => {
    expect(await timebox(['db', 'migrate'], { DATABASE_URL: undefined })).toEqual({
      code: 2,
      out: expect.stringContaining('set DATABASE_URL'),
    });
    const https = await timebox(['db', 'status', '--database-url', 'https://u:hunter2@example.com/x']);
    expect(https.code).toBe(2);
    expect(https.out).toContain('is not a PostgreSQL URL');
    expect(https.out).not.toContain('hunter2');
    // Port 1 on the loopback: nothing listens there.
    const down = await timebox(['db', 'migrate', '--database-url', 'postgres://u:hunter2@127.0.0.1:1/x']);
    expect(down.code).toBe(2);
    expect(down.out).toContain('Cannot connect to postgres://u@127.0.0.1:1/x');
    expect(down.out).not.toContain('hunter2');
  });
});
