import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { toAuditRecord } from '../../src/adapters/store/audit-log';
import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import { registerAuditCommands } from '../../src/cli/audit';
import { registerReconcileCommand } from '../../src/cli/reconcile';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../src/dev/local-directory/server';
import { parseAuditKey } from '../../src/adapters/store/audit-checkpoint';
import type { AuditRecord } from '../../src/ports/store';
import { aRequest } from '../helpers/domain-builders';
import { hashDir } from '../helpers/hash-dir';
import { testPolicy, testSeed } from '../helpers/harness';
import { runCliStreams } from '../helpers/cli-runner';
import { anOverdueGrant } from '../helpers/overdue-grant';

/**
 * Issue 12: the CLI (`audit verify`, `audit export`, `reconcile --dry-run`) reads the configured
 * store through the Store port, opened read-only (createStore), not its files — and writes
 * nothing, so it is safe next to the running bot. Each command runs in this process (a spawned
 * CLI costs seconds of CPU; test/integration/cli-edges.test.ts runs the built one).
 */
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const KEY_HEX = randomBytes(32).toString('hex');
const key = parseAuditKey(KEY_HEX);
const EVERY = 3;

/** `timebox <args>` in this process, with the audit and reconcile commands: exit code, stdout, stderr. */
const timebox = (args: string[], env: Record<string, string | undefined>) =>
  runCliStreams(
    (program) => {
      registerAuditCommands(program);
      registerReconcileCommand(program);
    },
    args,
    env,
  );

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.join('\n') + '\n');

/** A data directory as the bot leaves it: requests, a denial, refusals, signed checkpoints. `running`: the store is left open (journal not compacted). */
async function dataDir(
  root: string,
  name: string,
  running = false,
): Promise<{ dir: string; audit: string; writer: LowdbStore }> {
  const dir = path.join(root, name);
  const writer = new LowdbStore(dir, { audit: { key, checkpointEvery: EVERY } });
  await writer.open();
  for (let i = 1; i <= 4; i++) {
    const request = aRequest({
      id: `R-PORT0${i}`,
      version: 0,
      requester: { id: `c300000${i}-0000-4000-8000-000000000000`, name: `P${i}` },
      createdAt: T0,
      updatedAt: T0,
    });
    await writer.commit({
      request,
      expectedVersion: null,
      events: [{ type: 'submitted', requestId: request.id, at: T0 + i, detail: { group: 'db-read' } }],
    });
  }
  const first = (await writer.get('R-PORT01'))!;
  await writer.commit({
    request: { ...first, status: 'denied', updatedAt: T0 + 10 },
    expectedVersion: 1,
    events: [{ type: 'denied', requestId: first.id, at: T0 + 10, reason: 'use the replica' }],
  });
  await writer.appendAudit([
    { type: 'refused', requestId: '', at: T0 + 11, reason: 'not eligible' } as never,
  ]);
  if (!running) await writer.close();
  else await writer.appended(); // the files as a running bot leaves them between two writes
  return { dir, audit: path.join(dir, 'audit.jsonl'), writer };
}

describe('the CLI reads the store through the port, read-only', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'timebox-cli-port-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("audit verify (no --file) verifies the store's log and its signed checkpoints, and leaves every file as it was", async () => {
    const { dir, audit } = await dataDir(root, 'intact');
    const before = hashDir(dir);
    const plain = await timebox(['audit', 'verify'], { TIMEBOX_DATA_DIR: dir });
    const keyed = await timebox(['audit', 'verify', '--key', 'env:K', '--strict'], {
      TIMEBOX_DATA_DIR: dir,
      K: KEY_HEX,
    });
    const head = JSON.parse(lines(audit).at(-1)!) as AuditRecord;
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      `${audit}: ${lines(audit).length} record(s), chain verified. Head: ${head.seq}:${head.hash}`,
    );
    expect(plain.stdout).toMatch(
      /Signatures not checked \(no --key\).*checkpoint\(s\) in .*audit-checkpoints\.jsonl were not read/,
    );
    expect(keyed.code).toBe(0);
    expect(keyed.stdout).toMatch(
      new RegExp(
        `Signatures: \\d+ checkpoint\\(s\\) verified, the last at record ${head.seq} \\(.*, close\\); 0 record\\(s\\) after it`,
      ),
    );
    expect(hashDir(dir)).toEqual(before);
  });

  it('a tampered record is found through the port (exit 3), named as --file names it; export warns and still exports', async () => {
    const { dir, audit } = await dataDir(root, 'tampered');
    writeLines(
      audit,
      lines(audit).map((l, i) =>
        i === 2 ? JSON.stringify({ ...JSON.parse(l), reason: 'nothing to see' }) : l,
      ),
    );
    const before = hashDir(dir);
    const verify = await timebox(['audit', 'verify'], { TIMEBOX_DATA_DIR: dir });
    expect(verify.code).toBe(3);
    expect(verify.stderr).toMatch(
      new RegExp(
        `^${audit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: record 3 \\(line 3\\) was changed: its hash does not match its content\\. Last good record: 2:`,
      ),
    );
    expect(verify.stderr).toBe(
      (await timebox(['audit', 'verify', '--file', audit, '--no-store'], {})).stderr,
    );
    const out = path.join(root, 'tampered.json');
    const exported = await timebox(['audit', 'export', '--format', 'json', '--out', out], {
      TIMEBOX_DATA_DIR: dir,
    });
    expect(exported.code).toBe(3);
    expect(exported.stderr).toMatch(/warning: .*record 3 \(line 3\) was changed/);
    expect((JSON.parse(readFileSync(out, 'utf8')) as AuditRecord[]).map((r) => r.seq)).toEqual(
      lines(audit).map((_, i) => i + 1),
    );
    // A line that is not a record at all: the store refuses to read past it, and says where.
    writeLines(
      audit,
      lines(audit).map((l, i) => (i === 1 ? l.replace('"seq":', '"seq":2,"seq":') : l)),
    );
    const duplicate = await timebox(['audit', 'verify'], { TIMEBOX_DATA_DIR: dir });
    expect(duplicate.code).toBe(3);
    expect(duplicate.stderr).toMatch(/audit\.jsonl line 2 has the key "seq" twice/);
    expect(hashDir(dir)).toEqual({ ...before, 'audit.jsonl': hashDir(dir)!['audit.jsonl'] });
  });

  it("a correctly chained record forged after the shutdown passes the chain, not --key; a cut tail fails against the store's own numbering", async () => {
    const { dir, audit } = await dataDir(root, 'forged');
    const head = JSON.parse(lines(audit).at(-1)!) as AuditRecord;
    const forged = toAuditRecord(
      {
        type: 'approved',
        requestId: 'R-PORT02',
        at: Date.parse(head.at) + 1000,
        actor: { id: 'x', name: 'Megan Bowen' },
      },
      head.seq + 1,
      head.hash,
    );
    appendFileSync(audit, JSON.stringify(forged) + '\n');
    const chainOnly = await timebox(['audit', 'verify'], { TIMEBOX_DATA_DIR: dir });
    const keyed = await timebox(['audit', 'verify', '--key', 'env:K'], { TIMEBOX_DATA_DIR: dir, K: KEY_HEX });
    expect(chainOnly.code).toBe(0);
    expect(keyed.code).toBe(3);
    expect(keyed.stderr).toMatch(
      new RegExp(
        `record ${forged.seq} \\(line ${forged.seq}\\) follows record ${head.seq}, the head Timebox signed when it stopped \\(audit-checkpoints\\.jsonl line \\d+\\): it was added while Timebox was not running`,
      ),
    );

    const { dir: cutDir, audit: cutAudit } = await dataDir(root, 'cut');
    const all = lines(cutAudit);
    writeLines(cutAudit, all.slice(0, -2));
    const cut = await timebox(['audit', 'verify'], { TIMEBOX_DATA_DIR: cutDir });
    expect(cut.code).toBe(3);
    expect(cut.stderr).toMatch(
      new RegExp(
        `the log ends at record ${all.length - 2}, but the store has written records up to ${all.length}: records were removed from the end`,
      ),
    );
  });

  it('next to a running bot (journal not compacted, an append under way): verify and export pass, nothing is written, the bot goes on', async () => {
    const { dir, audit, writer } = await dataDir(root, 'running', true);
    appendFileSync(path.join(dir, 'journal.jsonl'), '{"crc":1,"entry":{"t":"com');
    appendFileSync(audit, '{"v":2,"seq":99,');
    const before = hashDir(dir);
    const verify = await timebox(['audit', 'verify', '--key', 'env:K'], {
      TIMEBOX_DATA_DIR: dir,
      K: KEY_HEX,
    });
    const out = path.join(root, 'running.csv');
    const exported = await timebox(
      ['audit', 'export', '--format', 'csv', '--group', 'db-read', '--out', out],
      { TIMEBOX_DATA_DIR: dir },
    );
    expect([verify.code, verify.stdout]).toEqual([0, expect.stringContaining('6 record(s), chain verified')]);
    expect(exported.code).toBe(0);
    expect(
      readFileSync(out, 'utf8')
        .trim()
        .split('\r\n')
        .map((l) => l.split(',')[0]),
    ).toEqual(['seq', '1', '2', '3', '4', '5']);
    expect(hashDir(dir)).toEqual(before);
    // The bot's own open mends what was torn; it never noticed the reader.
    await writer.close();
    const again = new LowdbStore(dir);
    await again.open();
    expect(await again.get('R-PORT01')).toMatchObject({ status: 'denied' });
    await again.close();
  });

  it('a DATABASE_URL that is not PostgreSQL is refused through the same factory as the bot, and a missing log keeps its message', async () => {
    const pg = await timebox(['audit', 'verify'], {
      TIMEBOX_DATA_DIR: path.join(root, 'none'),
      DATABASE_URL: 'mysql://timebox:s3cret@db.example/timebox',
    });
    expect(pg.code).toBe(2);
    expect(pg.stderr).toMatch(/DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//);
    expect(pg.stderr).not.toContain('s3cret');
    const missing = await timebox(['audit', 'export'], { TIMEBOX_DATA_DIR: path.join(root, 'none') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/none\/audit\.jsonl does not exist \(set --file or TIMEBOX_DATA_DIR\)/);
    const verifyMissing = await timebox(['audit', 'verify'], { TIMEBOX_DATA_DIR: path.join(root, 'none') });
    expect(verifyMissing.code).toBe(3);
    expect(existsSync(path.join(root, 'none'))).toBe(false);
  });

  describe('reconcile --dry-run', () => {
    let directory: LocalDirectoryHandle;
    beforeAll(async () => {
      directory = await startLocalDirectory({ seed: testSeed() });
    });
    afterAll(() => directory.close());

    it("reads the running bot's store in place, read-only: it sees a grant that is only in the journal, makes no temporary copy and writes nothing", async () => {
      const dir = path.join(root, 'reconcile');
      const policy = path.join(root, 'policy.yaml');
      writeFileSync(policy, stringify(testPolicy()));
      const writer = new LowdbStore(dir);
      await writer.open();
      // An active grant that ended an hour ago, committed (journal) but never compacted into timebox.json.
      const grant = anOverdueGrant();
      await writer.commit({ request: grant, expectedVersion: null, events: [] });
      expect(existsSync(path.join(dir, 'timebox.json'))).toBe(false);
      const before = hashDir(dir);
      const temporary = () => readdirSync(tmpdir()).filter((n) => n.startsWith('timebox-reconcile-'));
      const copiesBefore = temporary();
      const run = await timebox(['reconcile', '--dry-run', '--exit-code'], {
        TIMEBOX_POLICY: policy,
        TIMEBOX_DATA_DIR: dir,
        GRAPH_BASE_URL: directory.url,
        MicrosoftAppId: undefined,
        TIMEBOX_DEV: undefined,
      });
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^Dry run at /);
      expect(run.stdout).toMatch(/would · expire: R-OVERDUE1: .* grant of sandbox ended/);
      expect(run.code).toBe(4);
      expect(temporary()).toEqual(copiesBefore);
      expect(hashDir(dir)).toEqual(before);
      // Nothing changed for the bot: the grant is still active, and its store still writes.
      expect(await writer.get('R-OVERDUE1')).toMatchObject({ status: 'active', version: 1 });
      await writer.close();
    });
  });
});
