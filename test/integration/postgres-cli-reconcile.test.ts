import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { stringify } from 'yaml';
import { PostgresStore } from '../../src/adapters/store/postgres/postgres-store';
import { registerReconcileCommand } from '../../src/cli/reconcile';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../src/dev/local-directory/server';
import { runCli } from '../helpers/cli-runner';
import { useEmbeddedPostgres } from '../helpers/embedded-postgres';
import { testPolicy, testSeed } from '../helpers/harness';
import { anOverdueGrant } from '../helpers/overdue-grant';

/**
 * Issue 13: `timebox reconcile --dry-run` next to replicas on PostgreSQL reads the database
 * read-only (DATABASE_URL; createStore's read-only PostgresStore): it reports what a pass would
 * do and changes nothing, not a row, while the bot's store goes on writing.
 */
const pg = useEmbeddedPostgres();

/** Every row of every table, as text: equal before and after means nothing was written. */
async function snapshot(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const out: string[] = [];
    const tables = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(tables.rows.length).toBeGreaterThan(5);
    // NB: the names come from the catalogue, quoted as identifiers by the server (format %I).
    for (const { name } of tables.rows) {
      const sql = (
        await client.query<{ q: string }>("SELECT format('SELECT * FROM %I ORDER BY 1', $1::text) AS q", [
          name,
        ])
      ).rows[0]!.q;
      out.push(`${name}: ${JSON.stringify((await client.query(sql)).rows)}`);
    }
    return out.join('\n');
  } finally {
    await client.end();
  }
}

describe('reconcile --dry-run on PostgreSQL', () => {
  let directory: LocalDirectoryHandle;
  let root: string;
  beforeAll(async () => {
    directory = await startLocalDirectory({ seed: testSeed() });
    root = mkdtempSync(path.join(tmpdir(), 'timebox-pg-reconcile-'));
  });
  afterAll(async () => {
    await directory.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports an overdue grant in the database and writes nothing; the bot’s store still writes afterwards', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    const writer = pg.track(new PostgresStore(db.url));
    await writer.open();
    const grant = anOverdueGrant();
    await writer.commit({ request: grant, expectedVersion: null, events: [] });
    const policy = path.join(root, 'policy.yaml');
    writeFileSync(policy, stringify(testPolicy()));
    const before = await snapshot(db.url);

    const run = await runCli(registerReconcileCommand, ['reconcile', '--dry-run', '--exit-code'], {
      TIMEBOX_POLICY: policy,
      DATABASE_URL: db.url,
      TIMEBOX_DATA_DIR: path.join(root, 'not-used'),
      GRAPH_BASE_URL: directory.url,
      MicrosoftAppId: undefined,
      TIMEBOX_DEV: undefined,
    });
    expect(run.out).toMatch(/^Dry run at /);
    expect(run.out).toMatch(/would · expire: R-OVERDUE1: .* grant of sandbox ended/);
    expect(run.code).toBe(4); // --exit-code: a pass would act
    expect(await snapshot(db.url)).toBe(before);
    // The bot's store is not held up by the CLI's snapshot: it still commits.
    await writer.commit({
      request: { ...grant, status: 'expired', version: 1, updatedAt: Date.now() },
      expectedVersion: 1,
      events: [],
    });
    expect(await writer.get('R-OVERDUE1')).toMatchObject({ status: 'expired', version: 2 });
    await writer.close();
  });
});
