import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import { PostgresStore } from '../../src/adapters/store/postgres/postgres-store';
import type { Report } from '../../src/app/report';
import { registerReportCommand } from '../../src/cli/report';
import { runCliStreams } from '../helpers/cli-runner';
import { useEmbeddedPostgres } from '../helpers/embedded-postgres';
import {
  REPORT_EXPECTED,
  REPORT_SINCE,
  REPORT_UNTIL,
  reportPolicy,
  writeReportHistory,
} from '../helpers/report-history';

/**
 * Issue 18: `timebox report` reads the configured store read-only (TIMEBOX_DATA_DIR or
 * DATABASE_URL) and prints the insights report of a period, checked against figures worked out
 * by hand (test/helpers/report-history.ts); both stores give the same JSON.
 */
const pg = useEmbeddedPostgres();
const iso = (at: number) => new Date(at).toISOString();
const PERIOD = ['--since', iso(REPORT_SINCE), '--until', iso(REPORT_UNTIL)];

const timebox = (args: string[], env: Record<string, string | undefined>) =>
  runCliStreams(registerReportCommand, ['report', ...args], env);

describe('timebox report', () => {
  let root: string;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'timebox-report-'));
    const policyFile = path.join(root, 'policy.yaml');
    writeFileSync(policyFile, stringify(reportPolicy()));
    const dataDir = path.join(root, 'data');
    const store = new LowdbStore(dataDir);
    await store.open();
    await writeReportHistory(store);
    await store.close();
    env = {
      TIMEBOX_DATA_DIR: dataDir,
      TIMEBOX_POLICY: policyFile,
      DATABASE_URL: undefined,
      TIMEBOX_DEV: '1',
    };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const jsonOf = async (args: string[], e = env): Promise<Report> => {
    const run = await timebox([...args, '--format', 'json'], e);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as Report;
  };

  it('--format json: every figure and suggestion as worked out by hand', async () => {
    const report = await jsonOf(PERIOD);
    expect(report.since).toBe(iso(REPORT_SINCE));
    expect(report.until).toBe(iso(REPORT_UNTIL));
    expect(Object.keys(report.groups)).toEqual(['db-read', 'prod-admin', 'sandbox']);
    expect(report.groups).toMatchObject(REPORT_EXPECTED.groups);
    expect(report.overall).toMatchObject(REPORT_EXPECTED.overall);
    expect(report.suggestions).toEqual(REPORT_EXPECTED.suggestions);
  });

  it('--group: that group only, its suggestions only', async () => {
    const report = await jsonOf([...PERIOD, '--group', 'sandbox']);
    expect(Object.keys(report.groups)).toEqual(['sandbox']);
    expect(report.overall).toMatchObject(REPORT_EXPECTED.groups.sandbox);
    expect(report.suggestions.map((s) => s.kind)).toEqual(['timeouts']);
  });

  it('--format table: a line per group, overall, the suggestions with their change', async () => {
    const run = await timebox(PERIOD, env);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`Report ${iso(REPORT_SINCE)} … ${iso(REPORT_UNTIL)}`);
    expect(lines[2]).toMatch(/^group\s+requests\s+approved/);
    const row = (name: string) => lines.find((l) => l.startsWith(name))!.split(/\s{2,}/);
    expect(row('db-read').slice(0, 3)).toEqual(['db-read', '20', '20']);
    expect(row('db-read')).toContain('1m40s / 3m');
    expect(row('sandbox').slice(0, 2)).toEqual(['sandbox', '11']);
    expect(row('(overall)').slice(0, 2)).toEqual(['(overall)', '32']);
    expect(run.stdout).toContain('Suggestions (4):');
    expect(run.stdout).toContain(
      '- timeouts · sandbox: 3 of 11 requests timed out (27 %) after pendingTimeout 1h',
    );
    expect(run.stdout).toContain('    change: groups.db-read.maxDuration: 1h');
  });

  it('--format csv: a header, one row per group, then overall', async () => {
    const run = await timebox([...PERIOD, '--format', 'csv'], env);
    expect(run.code).toBe(0);
    const rows = run.stdout.trimEnd().split('\r\n');
    expect(rows).toHaveLength(5);
    expect(
      rows[0]!.startsWith('scope,group,since,until,requests,approved,autoApproved,denied,timedOut'),
    ).toBe(true);
    expect(rows[1]!.startsWith(`group,db-read,${iso(REPORT_SINCE)},${iso(REPORT_UNTIL)},20,20,0,0,0`)).toBe(
      true,
    );
    expect(rows[3]!.startsWith('group,sandbox,')).toBe(true);
    expect(rows[4]!.startsWith('overall,,')).toBe(true);
  });

  it.each([
    [['--since', 'yesterday'], /--since: "yesterday" is not a time/],
    [['--since', '2026-11-21', '--until', '2026-11-01'], /--since must be before --until/],
    [[...PERIOD, '--group', 'nope'], /There is no group "nope"/],
    [['--format', 'xml'], /--format: "xml" is not a format/],
  ])('bad input %j: a clear error, exit 2', async (args, message) => {
    const run = await timebox(args, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('PostgreSQL (DATABASE_URL): the same JSON', async () => {
    const db = pg.freshDatabase();
    await db.ready;
    const store = pg.track(new PostgresStore(db.url));
    await store.open();
    await writeReportHistory(store);
    await store.close();
    const fromPg = await jsonOf(PERIOD, { ...env, DATABASE_URL: db.url, TIMEBOX_DATA_DIR: undefined });
    expect(fromPg).toEqual(await jsonOf(PERIOD));
  });
});
