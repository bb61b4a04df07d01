import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startHarness, CHANNEL } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';
import { GENESIS_HASH, hashRecord, toAuditRecord } from '../../src/adapters/store/audit-log';
import { verifyAuditFile } from '../../src/adapters/store/audit-verify';
import { csvField, exportAudit, parseTimeBound } from '../../src/adapters/store/audit-export';
import type { RequestEvent } from '../../src/domain/request';
import type { AuditRecord } from '../../src/ports/store';

const ROOT = path.join(__dirname, '../..');

function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/cli.ts'), ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(
      () => (child.kill('SIGKILL'), reject(new Error(`timebox ${args.join(' ')} timed out`))),
      90_000,
    );
    child.on('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const records = (file: string) => lines(file).map((l) => JSON.parse(l) as AuditRecord);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.join('\n') + '\n');

describe('tamper-evident audit log', () => {
  let dir: string;
  let original: string;
  let store: string;
  let n = 0;

  /** A fresh copy of the real log (and the store beside it) for one tampering. */
  const copy = () => {
    const sub = path.join(dir, `case-${n++}`);
    mkdirSync(sub);
    copyFileSync(original, path.join(sub, 'audit.jsonl'));
    copyFileSync(store, path.join(sub, 'timebox.json'));
    return path.join(sub, 'audit.jsonl');
  };

  beforeAll(async () => {
    // A real log, written by the real bot: requests, a vote, a denial, refusals.
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-audit-'));
    const h = await startHarness();
    try {
      await h.teams.say(users.alex, 'request db-read for 1h because audited work');
      await h.teams.say(users.adele, 'request sandbox for 1h because sandbox work');
      await waitFor(async () => (await h.bot.store.listOpen()).length === 2, 'two requests');
      const open = await h.bot.store.listOpen();
      const dbRead = open.find((r) => r.group.alias === 'db-read')!;
      const sandbox = open.find((r) => r.group.alias === 'sandbox')!;
      await h.teams.click(
        users.lynne,
        'approve',
        { requestId: dbRead.id },
        { conversationId: CHANNEL.channelId },
      );
      await h.teams.click(
        users.megan,
        'deny',
        { requestId: dbRead.id, reason: 'use the replica' },
        { conversationId: CHANNEL.channelId },
      );
      await h.teams.click(
        users.alex,
        'approve',
        { requestId: sandbox.id },
        { conversationId: CHANNEL.channelId },
      );
      await h.bot.settled();
      await h.bot.stop();
      original = path.join(dir, 'audit.jsonl');
      store = path.join(dir, 'timebox.json');
      copyFileSync(path.join(h.dataDir, 'data', 'audit.jsonl'), original);
      copyFileSync(path.join(h.dataDir, 'data', 'timebox.json'), store);
    } finally {
      await h.close().catch(() => undefined);
    }
    expect(lines(original).length).toBeGreaterThanOrEqual(9);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the intact log verifies, and `timebox audit verify` says so with its head', async () => {
    const file = copy();
    const result = await verifyAuditFile(file, { storeFile: path.join(path.dirname(file), 'timebox.json') });
    expect(result).toMatchObject({ ok: true, records: lines(file).length });
    const cli = await runCli(['audit', 'verify', '--file', file]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(
        `${lines(file).length} record\\(s\\), chain verified\\. Head: ${result.head!.seq}:${result.head!.hash}`,
      ),
    );
  }, 120_000);

  // Each tampering → the first broken record, as `timebox audit verify` names it (exit code 3).
  const cases: Array<[string, (ls: string[]) => string[], RegExp]> = [
    [
      'an edited reason',
      (ls) =>
        ls.map((l, i) => (i === 2 ? JSON.stringify({ ...JSON.parse(l), reason: 'nothing to see' }) : l)),
      /record 3 \(line 3\) was changed/,
    ],
    [
      'an edited actor',
      (ls) =>
        ls.map((l, i) =>
          i === 1
            ? JSON.stringify({
                ...JSON.parse(l),
                actor: { id: users.megan.aadObjectId, name: 'Megan Bowen' },
              })
            : l,
        ),
      /record 2 \(line 2\) was changed/,
    ],
    [
      'an edit with its own hash recomputed',
      (ls) =>
        ls.map((l, i) => {
          if (i !== 2) return l;
          const { hash: _hash, ...content } = JSON.parse(l) as AuditRecord;
          const forged = { ...content, reason: 'rewritten' };
          return JSON.stringify({ ...forged, hash: hashRecord(forged) });
        }),
      /record 4 \(line 4\) does not follow the record before it/,
    ],
    [
      'a deleted record',
      (ls) => ls.filter((_, i) => i !== 3),
      /record 5 \(line 4\) does not follow the record before it/,
    ],
    [
      'the first record deleted',
      (ls) => ls.slice(1),
      /record 2 \(line 1\) does not follow the record before it/,
    ],
    [
      "the last record deleted (caught by the store's numbering)",
      (ls) => ls.slice(0, -1),
      /the log ends at record \d+, but the store has written records up to \d+: records were removed from the end/,
    ],
    [
      'an inserted record with a bogus hash',
      (ls) => [
        ...ls.slice(0, 2),
        JSON.stringify({ ...JSON.parse(ls[1]!), seq: 3, type: 'approved', hash: 'f'.repeat(64) }),
        ...ls.slice(2),
      ],
      /record 3 \(line 3\) was changed/,
    ],
    [
      'a well-forged inserted record (valid hash, chained to the one before)',
      (ls) => {
        const prev = JSON.parse(ls[1]!) as AuditRecord;
        const forged = toAuditRecord(
          {
            type: 'approved',
            requestId: prev.requestId ?? 'R-X',
            at: Date.parse(prev.at) + 1,
            actor: { id: users.megan.aadObjectId, name: 'Megan Bowen' },
          },
          prev.seq + 1,
          prev.hash,
        );
        return [...ls.slice(0, 2), JSON.stringify(forged), ...ls.slice(2)];
      },
      /record 3 \(line 4\) does not follow the record before it/,
    ],
    [
      'two records swapped',
      (ls) => [...ls.slice(0, 2), ls[3]!, ls[2]!, ...ls.slice(4)],
      /record 4 \(line 3\) does not follow the record before it/,
    ],
    [
      'a record replayed',
      (ls) => [...ls.slice(0, 3), ls[2]!, ...ls.slice(3)],
      /record 3 \(line 4\) does not follow the record before it/,
    ],
    [
      'a torn line',
      (ls) => [...ls.slice(0, 4), ls[4]!.slice(0, 30), ...ls.slice(5)],
      /line 5 is not valid JSON/,
    ],
    ['a blank line', (ls) => [...ls.slice(0, 2), '', ...ls.slice(2)], /line 3 is empty/],
    // Issue 19, finding 7: edits the hashed content did not cover.
    [
      'a field added outside the hashed content ("approvedBy")',
      (ls) =>
        ls.map((l, i) => (i === 2 ? JSON.stringify({ ...JSON.parse(l), approvedBy: 'CISO (by phone)' }) : l)),
      /record 3 \(line 3\) has a field the audit log never writes \("approvedBy"\)/,
    ],
    [
      'a field added inside the actor',
      (ls) => ls.map((l, i) => (i === 1 ? l.replace('"actor":{', '"actor":{"onBehalfOf":"CISO",') : l)),
      /record 2 \(line 2\) has an "actor" field the audit log never writes \("onBehalfOf"\)/,
    ],
    [
      'a duplicate key (a reader sees the first "type", JSON.parse keeps the second)',
      (ls) => ls.map((l, i) => (i === 2 ? l.replace('"type":', '"type":"approved","type":') : l)),
      /record 3 \(line 3\) has the key "type" twice/,
    ],
    [
      'a duplicate key inside the actor',
      (ls) => ls.map((l, i) => (i === 1 ? l.replace('"actor":{', '"actor":{"name":"Ciso",') : l)),
      /record 2 \(line 2\) has the key "actor.name" twice/,
    ],
    [
      'a gap in seq (7 → 1000000, re-numbered and re-chained after it)',
      (ls) => {
        let prevHash = (JSON.parse(ls[6]!) as AuditRecord).hash;
        return ls.map((l, i) => {
          if (i < 7) return l;
          const { hash: _hash, ...content } = JSON.parse(l) as AuditRecord;
          const next = { ...content, seq: 1_000_000 + i - 7, prevHash };
          prevHash = hashRecord(next);
          return JSON.stringify({ ...next, hash: prevHash });
        });
      },
      /record 1000000 \(line 8\) leaves a gap after record 7: seq must go up by exactly one/,
    ],
  ];

  it.each(cases)('%s: verify names the first broken record', async (_name, tamper, expected) => {
    const file = copy();
    writeLines(file, tamper(lines(file)));
    const result = await verifyAuditFile(file, { storeFile: path.join(path.dirname(file), 'timebox.json') });
    expect(result.ok).toBe(false);
    expect(result.problem).toMatch(expected);
  });

  it('`timebox audit verify` names the first broken record and exits 3 for an edit, a deletion, an insertion and a reordering', async () => {
    const picked = cases.filter(([name]) =>
      [
        'an edited reason',
        'a deleted record',
        'a well-forged inserted record (valid hash, chained to the one before)',
        'two records swapped',
        "the last record deleted (caught by the store's numbering)",
      ].includes(name),
    );
    expect(picked).toHaveLength(5);
    const runs = await Promise.all(
      picked.map(async ([, tamper, expected]) => {
        const file = copy();
        writeLines(file, tamper(lines(file)));
        return { expected, run: await runCli(['audit', 'verify', '--file', file]) };
      }),
    );
    for (const { expected, run } of runs) {
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(expected);
      expect(run.stderr).toMatch(/Last good record: \d+:[0-9a-f]{64}/);
    }
  }, 120_000);

  it('a log rewritten from the tampered record on verifies by itself, but not against an anchor taken before', async () => {
    const file = copy();
    const before = await verifyAuditFile(file);
    const anchor = before.head!;
    // The attacker edits record 2 and recomputes every hash after it: a hash chain alone cannot tell.
    let prevHash = GENESIS_HASH;
    const rewritten = records(file).map((r) => {
      const { hash: _hash, ...content } = r;
      const next = { ...content, prevHash, ...(r.seq === 2 ? { reason: 'history rewritten' } : {}) };
      const hash = hashRecord(next);
      prevHash = hash;
      return JSON.stringify({ ...next, hash });
    });
    writeLines(file, rewritten);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true });
    const anchored = await verifyAuditFile(file, { anchors: [anchor] });
    expect(anchored).toMatchObject({ ok: false, seq: anchor.seq });
    expect(anchored.problem).toMatch(/is not the one anchored .*: the log was rewritten/);
    const cli = await runCli(['audit', 'verify', '--file', file, '--anchor', `${anchor.seq}:${anchor.hash}`]);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(/the log was rewritten/);
  }, 120_000);

  it('a log cut before an anchor is reported even without the store file', async () => {
    const file = copy();
    const head = (await verifyAuditFile(file)).head!;
    writeLines(file, lines(file).slice(0, -2));
    rmSync(path.join(path.dirname(file), 'timebox.json'));
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true }); // a chain alone cannot see a cut tail
    expect((await verifyAuditFile(file, { anchors: [head] })).problem).toMatch(
      new RegExp(`record ${head.seq} \\(anchored\\) is missing`),
    );
  });
});

describe('timebox audit export', () => {
  let dir: string;
  let file: string;
  const T = Date.UTC(2026, 10, 1, 12, 0, 0);
  const DAY = 86_400_000;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-export-'));
    file = path.join(dir, 'audit.jsonl');
    const megan = { id: users.megan.aadObjectId, name: 'Megan Bowen', upn: 'meganb@example.com' };
    const alex = { id: users.alex.aadObjectId, name: 'Alex Wilber', upn: 'alex@example.com' };
    const events: RequestEvent[] = [
      {
        type: 'submitted',
        requestId: 'R-AAAAA1',
        at: T,
        actor: alex,
        reason: '=HYPERLINK("https://evil.example","click")',
        detail: { group: 'db-read', duration: '1h' },
      },
      {
        type: 'approved',
        requestId: 'R-AAAAA1',
        at: T + 60_000,
        actor: megan,
        detail: { approvals: 1, required: 1 },
      },
      {
        type: 'submitted',
        requestId: 'R-BBBBB2',
        at: T + DAY,
        actor: alex,
        reason: 'multi\nline, with "quotes"',
        detail: { group: 'sandbox', duration: '2h' },
      },
      {
        type: 'refused',
        requestId: 'R-BBBBB2',
        at: T + DAY + 1000,
        actor: megan,
        reason: '+cmd|calc',
        detail: { action: 'approve', code: 'AUTH.NOT_APPROVER' },
      },
      {
        type: 'submitted',
        requestId: 'R-CCCCC3',
        at: T + 2 * DAY,
        actor: alex,
        reason: '@SUM(A1)',
        detail: { group: 'db-read', duration: '30m' },
      },
      { type: 'expired', requestId: 'R-AAAAA1', at: T + 2 * DAY + 5, detail: {} },
    ];
    let prev = GENESIS_HASH;
    const out = events.map((e, i) => {
      const r = toAuditRecord(e, i + 1, prev);
      prev = r.hash;
      return JSON.stringify(r);
    });
    writeFileSync(file, out.join('\n') + '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const collect = async (options: Parameters<typeof exportAudit>[1]) => {
    let text = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    const result = await exportAudit(file, options, out);
    return { text, ...result };
  };

  it('CSV: a header, one row per record, RFC 4180 quoting, and no formula can run in a spreadsheet', async () => {
    const { text, exported } = await collect({ format: 'csv' });
    expect(exported).toBe(6);
    const [header] = text.split('\r\n');
    expect(header).toBe('seq,at,type,requestId,group,actorId,actorName,actorUpn,reason,detail,prevHash,hash');
    expect(text).toContain(`'=HYPERLINK(""https://evil.example"",""click"")`);
    expect(text).toContain(`"multi\nline, with ""quotes"""`);
    expect(text).toContain(`'+cmd|calc`);
    expect(text).toContain(`'@SUM(A1)`);
    // Every row's group comes from its request's submission.
    expect(text).toMatch(/\r\n6,2026-11-03T12:00:00\.005Z,expired,R-AAAAA1,db-read,/);
    for (const cell of ['=1+1', '+1', '-1', '@x', '\tx', '\rx'])
      expect(csvField(cell).replace(/^"/, '')).toMatch(/^'/);
  });

  it('JSON: an array of the records exactly as stored (hashes included)', async () => {
    const { text } = await collect({ format: 'json' });
    const parsed = JSON.parse(text) as AuditRecord[];
    expect(parsed).toEqual(records(file));
    expect(JSON.parse((await collect({ format: 'json', group: 'nothing' })).text)).toEqual([]);
  });

  it('JSON carries only the fields a record has: an added "approvedBy" is dropped, and the line counted as one verify refuses', async () => {
    const edited = path.join(dir, 'edited.jsonl');
    writeLines(
      edited,
      lines(file).map((l, i) =>
        i === 1
          ? JSON.stringify({
              ...JSON.parse(l),
              approvedBy: 'CISO (by phone)',
              actor: { ...JSON.parse(l).actor, via: 'phone' },
            })
          : l,
      ),
    );
    let text = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    const result = await exportAudit(edited, { format: 'json' }, out);
    expect(result).toMatchObject({ exported: 6, nonconforming: 1 });
    expect(text).not.toMatch(/approvedBy|CISO|via/);
    expect(JSON.parse(text)).toEqual(records(file));
    const cli = await runCli(['audit', 'export', '--file', edited, '--format', 'json']);
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(
      /warning: .*record 2 \(line 2\) has a field the audit log never writes \("approvedBy"\)/,
    );
    expect(cli.stderr).toMatch(/6 record\(s\) exported, 1 of them from lines verify refuses/);
    expect(cli.stdout).not.toMatch(/approvedBy/);
  }, 120_000);

  it('--since, --until and --group filter (since inclusive, until exclusive)', async () => {
    const seqs = async (options: Parameters<typeof exportAudit>[1]) =>
      (JSON.parse((await collect({ ...options, format: 'json' })).text) as AuditRecord[]).map((r) => r.seq);
    expect(await seqs({ format: 'json', since: T + DAY })).toEqual([3, 4, 5, 6]);
    expect(await seqs({ format: 'json', until: T + DAY })).toEqual([1, 2]);
    expect(await seqs({ format: 'json', since: T + DAY, until: T + 2 * DAY })).toEqual([3, 4]);
    expect(await seqs({ format: 'json', group: 'db-read' })).toEqual([1, 2, 5, 6]);
    expect(await seqs({ format: 'json', group: 'SANDBOX' })).toEqual([3, 4]);
    expect(await seqs({ format: 'json', group: 'db-read', since: T + DAY })).toEqual([5, 6]);
  });

  it('parses time bounds as dates, date-times and durations back from now', () => {
    const now = T + 10 * DAY;
    expect(parseTimeBound('2026-11-01', now)).toBe(Date.UTC(2026, 10, 1));
    expect(parseTimeBound('2026-11-01T12:00:00Z', now)).toBe(T);
    expect(parseTimeBound('7d', now)).toBe(now - 7 * DAY);
    for (const bad of ['yesterday', '2026-13-45', '', '7 days'])
      expect(() => parseTimeBound(bad, now)).toThrow(/is not a time/);
  });

  it('through the CLI: csv to stdout, json to a file, filters applied', async () => {
    const out = path.join(dir, 'export.json');
    const [csv, json] = await Promise.all([
      runCli([
        'audit',
        'export',
        '--file',
        file,
        '--format',
        'csv',
        '--group',
        'db-read',
        '--since',
        '2026-11-02',
      ]),
      runCli([
        'audit',
        'export',
        '--file',
        file,
        '--format',
        'json',
        '--until',
        '2026-11-02T12:00:01.001Z',
        '--out',
        out,
      ]),
    ]);
    expect(csv.code).toBe(0);
    expect(
      csv.stdout
        .trim()
        .split('\r\n')
        .map((l) => l.split(',')[0]),
    ).toEqual(['seq', '5', '6']);
    expect(csv.stderr).toContain('2 record(s) exported');
    expect(json.code).toBe(0);
    expect((JSON.parse(readFileSync(out, 'utf8')) as AuditRecord[]).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
  }, 120_000);

  it('through the CLI: a bad format or time is refused with a message; a broken chain is exported with a warning and exit 3', async () => {
    const broken = path.join(dir, 'broken.jsonl');
    writeFileSync(broken, readFileSync(file, 'utf8').replace('R-BBBBB2', 'R-ZZZZZ9'));
    const [badFormat, badTime, exported] = await Promise.all([
      runCli(['audit', 'export', '--file', file, '--format', 'xml']),
      runCli(['audit', 'export', '--file', file, '--since', 'last tuesday']),
      runCli(['audit', 'export', '--file', broken, '--format', 'json']),
    ]);
    expect(badFormat.code).not.toBe(0);
    expect(badFormat.stderr).toMatch(/csv or json/);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toMatch(/--since: "last tuesday" is not a time/);
    expect(exported.code).toBe(3);
    expect(exported.stderr).toMatch(/warning: .*record 3 \(line 3\) was changed/);
    expect((JSON.parse(exported.stdout) as AuditRecord[]).length).toBe(6);
  }, 120_000);
});
