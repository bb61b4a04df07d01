import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliStreams } from '../helpers/cli-runner';
import { startHarness, CHANNEL } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';
import { GENESIS_HASH, hashRecord, toAuditRecord } from '../../src/adapters/store/audit-log';
import {
  CHECKPOINT_FILE,
  parseAuditKey,
  signCheckpoint,
  type Checkpoint,
} from '../../src/adapters/store/audit-checkpoint';
import { verifyAuditFile } from '../../src/adapters/store/audit-verify';
import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import { registerAuditCommands } from '../../src/cli/audit';
import type { Logger } from '../../src/ports/logger';
import type { AuditRecord } from '../../src/ports/store';

/**
 * Issue 19, finding 7: a hash chain has no secret, so whoever can write the data directory can
 * append, cut or rewrite it and recompute every hash. The bot signs its head (HMAC, a key kept
 * outside the data directory); `timebox audit verify --key` checks those signatures.
 */
const ROOT = path.join(__dirname, '../..');
const EVERY = 3;

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

/**
 * The same commands in this process (a spawned tsx CLI costs seconds of CPU each): what
 * `timebox audit <args>` prints and its exit code (a DomainError is 2, as src/cli.ts maps it).
 */
const runAudit = (args: string[], env: Record<string, string> = {}) =>
  runCliStreams(registerAuditCommands, ['audit', ...args], env);

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const writeLines = (file: string, ls: string[]) => writeFileSync(file, ls.length ? ls.join('\n') + '\n' : '');
const lastRecord = (file: string) => JSON.parse(lines(file).at(-1)!) as AuditRecord;
const checkpoints = (dir: string) =>
  lines(path.join(dir, CHECKPOINT_FILE)).map((l) => JSON.parse(l) as Checkpoint);
/** A record anyone can make: right form, right hash, chained to the log's last record. */
const forgedAfter = (previous: AuditRecord, type = 'approved') =>
  toAuditRecord(
    {
      type: type as 'approved',
      requestId: previous.requestId ?? 'R-FORGED',
      at: Date.parse(previous.at) + 1000,
      actor: { id: users.megan.aadObjectId, name: 'Megan Bowen' },
    },
    previous.seq + 1,
    previous.hash,
  );

describe('signed audit checkpoints (TIMEBOX_AUDIT_KEY)', () => {
  const secret = randomBytes(32);
  const KEY_HEX = secret.toString('hex');
  const key = parseAuditKey(KEY_HEX);
  let root: string;
  let original: string;
  let n = 0;

  /** A fresh copy of the real data directory (audit log, checkpoints, store) for one tampering. */
  const copy = (): { dir: string; audit: string; checkpointFile: string } => {
    const dir = path.join(root, `case-${n++}`);
    mkdirSync(dir);
    for (const name of ['audit.jsonl', CHECKPOINT_FILE, 'timebox.json', 'history.jsonl']) {
      if (existsSync(path.join(original, name)))
        copyFileSync(path.join(original, name), path.join(dir, name));
    }
    return { dir, audit: path.join(dir, 'audit.jsonl'), checkpointFile: path.join(dir, CHECKPOINT_FILE) };
  };
  const verify = (audit: string, extra: Parameters<typeof verifyAuditFile>[1] = {}) =>
    verifyAuditFile(audit, { keys: [key], ...extra });
  const startStoreOn = async (dir: string) => {
    const store = new LowdbStore(dir, { audit: { key, checkpointEvery: EVERY } });
    try {
      await store.open();
    } finally {
      await store.close().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    // A real data directory, written by the real bot with a key: requests, votes, a restart.
    root = mkdtempSync(path.join(tmpdir(), 'timebox-signed-'));
    original = path.join(root, 'original');
    const h = await startHarness({
      env: { TIMEBOX_AUDIT_KEY: KEY_HEX, TIMEBOX_AUDIT_CHECKPOINT_EVERY: String(EVERY) },
    });
    try {
      await h.teams.say(users.alex, 'request db-read for 1h because signed work');
      await h.teams.say(users.adele, 'request sandbox for 1h because sandbox work');
      await waitFor(async () => (await h.bot.store.listOpen()).length === 2, 'two requests');
      const open = await h.bot.store.listOpen();
      await h.teams.click(
        users.lynne,
        'approve',
        { requestId: open.find((r) => r.group.alias === 'db-read')!.id },
        { conversationId: CHANNEL.channelId },
      );
      await h.bot.settled();
      await h.restart();
      await h.teams.click(
        users.alex,
        'approve',
        { requestId: open.find((r) => r.group.alias === 'sandbox')!.id },
        { conversationId: CHANNEL.channelId },
      );
      await h.teams.say(users.isaiah, 'request sandbox for 1h because after the restart');
      await waitFor(
        async () => (await h.bot.store.listOpen()).some((r) => r.requester.id === users.isaiah.aadObjectId),
        'third request',
      );
      await h.bot.settled();
      await h.bot.stop();
      mkdirSync(original);
      for (const name of ['audit.jsonl', CHECKPOINT_FILE, 'timebox.json', 'history.jsonl']) {
        const from = path.join(h.dataDir, 'data', name);
        if (existsSync(from)) copyFileSync(from, path.join(original, name));
      }
    } finally {
      await h.close().catch(() => undefined);
    }
    writeFileSync(path.join(root, 'audit.key'), KEY_HEX + '\n');
    expect(lines(path.join(original, 'audit.jsonl')).length).toBeGreaterThanOrEqual(2 * EVERY + 2);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('the bot signs a checkpoint at least every N records, at shutdown and at the next start; verify --key --strict passes', async () => {
    const { dir, audit } = copy();
    const signed = checkpoints(dir);
    const head = lastRecord(audit);
    // The shutdown: the last line signs the head.
    expect(signed.at(-1)).toMatchObject({
      seq: head.seq,
      hash: head.hash,
      reason: 'close',
      every: EVERY,
      keyId: key.id,
    });
    // The restart: a close, then an open at the same record.
    const restart = signed.findIndex((c) => c.reason === 'close');
    expect(restart).toBeLessThan(signed.length - 1);
    expect(signed[restart + 1]).toMatchObject({
      reason: 'open',
      seq: signed[restart]!.seq,
      hash: signed[restart]!.hash,
    });
    // At least every N: never more than N - 1 records unsigned after an append, so no two checkpoints further apart than a batch allows.
    const every = signed.filter((c) => c.reason === 'every');
    expect(every.length).toBeGreaterThanOrEqual(1);
    let previous = 0;
    for (const c of signed) {
      if (c.reason === 'every') expect(c.seq - previous).toBeGreaterThanOrEqual(EVERY);
      previous = c.seq;
    }
    // Each signed hash is the record's at that seq.
    const bySeq = new Map(
      lines(audit)
        .map((l) => JSON.parse(l) as AuditRecord)
        .map((r) => [r.seq, r.hash]),
    );
    for (const c of signed) expect(bySeq.get(c.seq)).toBe(c.hash);
    const result = await verify(audit, { strict: true, storeFile: path.join(dir, 'timebox.json') });
    expect(result).toMatchObject({
      ok: true,
      records: lines(audit).length,
      signatures: {
        checked: true,
        verified: signed.length,
        unsignedTail: 0,
        every: EVERY,
        last: { seq: head.seq, reason: 'close' },
      },
    });
  });

  it('`timebox audit verify --key` (@file, env:NAME, or bare for $TIMEBOX_AUDIT_KEY) reports the signatures; a bad key is refused without echoing it', async () => {
    const { audit } = copy();
    const keyFile = path.join(root, 'audit.key');
    // The real CLI once; the other forms in this process.
    const fromFile = await runCli(['audit', 'verify', '--file', audit, '--key', `@${keyFile}`, '--strict']);
    const fromEnv = await runAudit(['verify', '--file', audit, '--key', 'env:MY_AUDIT_KEY'], {
      MY_AUDIT_KEY: KEY_HEX,
    });
    const bare = await runAudit(['verify', '--key', '--file', audit], { TIMEBOX_AUDIT_KEY: KEY_HEX });
    const withoutKey = await runAudit(['verify', '--file', audit]);
    const wrongKey = await runAudit(['verify', '--file', audit, '--key', 'env:OTHER'], {
      OTHER: randomBytes(32).toString('base64'),
    });
    const shortKey = await runAudit(['verify', '--file', audit, '--key', 'env:SHORT'], {
      SHORT: 'ab'.repeat(16),
    });
    const strictWithoutKey = await runAudit(['verify', '--file', audit, '--strict']);
    const head = lastRecord(audit);
    for (const run of [fromFile, fromEnv, bare]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`chain verified\\. Head: ${head.seq}:${head.hash}`));
      expect(run.stdout).toMatch(
        new RegExp(
          `Signatures: \\d+ checkpoint\\(s\\) verified, the last at record ${head.seq} \\(.*, close\\); 0 record\\(s\\) after it are not covered by a signature\\.`,
        ),
      );
    }
    expect(withoutKey.code).toBe(0);
    expect(withoutKey.stdout).toMatch(
      /Signatures not checked \(no --key\).*\d+ checkpoint\(s\) in .*audit-checkpoints\.jsonl were not read/,
    );
    // Another key: none of the checkpoints is its, so nothing vouches for the records.
    expect(wrongKey.code).toBe(3);
    expect(wrongKey.stderr).toMatch(
      new RegExp(
        `none of the \\d+ checkpoint\\(s\\) in audit-checkpoints\\.jsonl is signed with the given key \\(they name key id\\(s\\) ${key.id}\\)`,
      ),
    );
    expect(shortKey.code).toBe(2);
    expect(shortKey.stderr).toMatch(/SHORT is 16 byte\(s\); it must be at least 32/);
    expect(shortKey.stderr).not.toContain('ab'.repeat(16));
    expect(strictWithoutKey.code).toBe(2);
    expect(strictWithoutKey.stderr).toMatch(/--strict needs --key/);
  }, 120_000);

  it('a correctly chained record forged after shutdown passes the chain and an anchor, not the signatures; the bot refuses to start on it', async () => {
    const { dir, audit } = copy();
    const head = lastRecord(audit);
    writeLines(audit, [...lines(audit), JSON.stringify(forgedAfter(head))]);
    // What finding 7 found: the chain alone, even anchored at the head, cannot tell.
    expect(await verifyAuditFile(audit, { anchors: [{ seq: head.seq, hash: head.hash }] })).toMatchObject({
      ok: true,
    });
    const result = await verify(audit);
    expect(result).toMatchObject({ ok: false, seq: head.seq + 1, line: lines(audit).length });
    expect(result.problem).toMatch(
      new RegExp(
        `record ${head.seq + 1} \\(line \\d+\\) follows record ${head.seq}, the head Timebox signed when it stopped .*: it was added while Timebox was not running`,
      ),
    );
    const signedBefore = readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8');
    await expect(startStoreOn(dir)).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringMatching(/1 record\(s\) were added while it was not running/),
    });
    // The refused start (and its close) signed nothing over the forged record.
    expect(readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8')).toBe(signedBefore);
    const cli = await runAudit(['verify', '--file', audit, '--key', 'env:K'], { K: KEY_HEX });
    expect(cli.code).toBe(3);
    expect(cli.stderr).toMatch(/it was added while Timebox was not running/);
  });

  it('a forged tail after a crash (no shutdown checkpoint): fewer than N records are reported as not covered, N or more fail, --strict fails any', async () => {
    const { audit, checkpointFile } = copy();
    // What a SIGKILL leaves: the checkpoints up to the last interval one, no shutdown's.
    const signed = lines(checkpointFile);
    let kept = signed.slice(0, -1);
    while ((JSON.parse(kept.at(-1)!) as Checkpoint).reason !== 'every') kept = kept.slice(0, -1);
    writeLines(checkpointFile, kept);
    const lastSigned = (JSON.parse(kept.at(-1)!) as Checkpoint).seq;
    const records = lines(audit);
    let head = lastRecord(audit);
    // Forge records until N - 1 are unsigned.
    while (head.seq - lastSigned < EVERY - 1) {
      const forged = forgedAfter(head);
      records.push(JSON.stringify(forged));
      head = forged;
    }
    writeLines(audit, records);
    const loose = await verify(audit);
    expect(loose).toMatchObject({
      ok: true,
      signatures: { unsignedTail: EVERY - 1, last: { seq: lastSigned } },
    });
    const strict = await verify(audit, { strict: true });
    expect(strict).toMatchObject({ ok: false, head: { seq: lastSigned } });
    expect(strict.problem).toMatch(
      new RegExp(
        `${EVERY - 1} record\\(s\\) after the last signed checkpoint \\(record ${lastSigned}\\) are not covered by a signature \\(--strict\\)`,
      ),
    );
    // One more: more than the bot ever leaves unsigned.
    writeLines(audit, [...records, JSON.stringify(forgedAfter(head))]);
    const long = await verify(audit);
    expect(long).toMatchObject({ ok: false, head: { seq: lastSigned } });
    expect(long.problem).toMatch(
      new RegExp(
        `${EVERY} record\\(s\\) after the last signed checkpoint \\(record ${lastSigned}\\), but Timebox signs at least every ${EVERY}: records were added to the log without the key, or checkpoints were removed`,
      ),
    );
  });

  it('a log cut before its last checkpoint is caught with the key, even without the store file; the bot refuses to start on it', async () => {
    const { dir, audit } = copy();
    writeLines(audit, lines(audit).slice(0, -2));
    rmSync(path.join(dir, 'timebox.json'));
    expect(await verifyAuditFile(audit)).toMatchObject({ ok: true }); // the chain alone cannot see a cut tail
    const result = await verify(audit);
    expect(result.ok).toBe(false);
    expect(result.problem).toMatch(
      /the log ends at record \d+, but audit-checkpoints\.jsonl line \d+ signs records up to \d+: records were removed from the end/,
    );
    writeFileSync(path.join(dir, 'timebox.json'), readFileSync(path.join(original, 'timebox.json')));
    await expect(startStoreOn(dir)).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringMatching(
        /but a signed checkpoint covers records up to \d+: records were removed from its end/,
      ),
    });
  });

  it('a record rewritten and every hash after it recomputed (someone who can write the data directory): the chain verifies, the signatures do not', async () => {
    const { dir, audit } = copy();
    let prevHash = GENESIS_HASH;
    const rewritten = lines(audit).map((l) => {
      const { hash: _hash, ...content } = JSON.parse(l) as AuditRecord;
      const next = { ...content, prevHash, ...(content.seq === 2 ? { reason: 'history rewritten' } : {}) };
      prevHash = hashRecord(next);
      return JSON.stringify({ ...next, hash: prevHash });
    });
    writeLines(audit, rewritten);
    expect(await verifyAuditFile(audit, { storeFile: path.join(dir, 'timebox.json') })).toMatchObject({
      ok: true,
    });
    const result = await verify(audit);
    expect(result.ok).toBe(false);
    // The first checkpoint at or after the edit names it.
    const first = checkpoints(dir)[0]!;
    expect(result.seq).toBe(first.seq);
    expect(result.problem).toMatch(
      new RegExp(
        `record ${first.seq} \\(line \\d+\\) is not the one signed in audit-checkpoints\\.jsonl line 1 .*: the log was rewritten`,
      ),
    );
    // Re-signing needs the key: a forger's own key under ours' id does not verify.
    const forger = parseAuditKey(randomBytes(32).toString('hex'));
    const resigned = checkpoints(dir).map((c) => {
      const r = JSON.parse(
        rewritten.find((l) => (JSON.parse(l) as AuditRecord).seq === c.seq)!,
      ) as AuditRecord;
      return JSON.stringify({
        ...signCheckpoint(forger, { seq: c.seq, hash: r.hash }, Date.parse(c.at), c.every, c.reason),
        keyId: key.id,
      });
    });
    writeLines(path.join(dir, CHECKPOINT_FILE), resigned);
    expect((await verify(audit)).problem).toMatch(
      /audit-checkpoints\.jsonl line 1 \(record \d+\) has a signature that does not verify: it was forged or altered/,
    );
    await expect(startStoreOn(dir)).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringMatching(/signature does not verify/),
    });
  });

  it('the checkpoint file edited: an altered seq, a duplicate key, an unknown field, a start checkpoint removed', async () => {
    const cases: Array<[string, (cs: string[]) => string[], RegExp]> = [
      [
        'an altered seq',
        (cs) => cs.map((l, i) => (i === 0 ? JSON.stringify({ ...JSON.parse(l), seq: 1 }) : l)),
        /line 1 \(record 1\) has a signature that does not verify/,
      ],
      [
        'a duplicate key',
        (cs) => cs.map((l, i) => (i === 0 ? l.replace('"seq":', '"seq":1,"seq":') : l)),
        /line 1 has the key "seq" twice: the checkpoint file was edited/,
      ],
      [
        'an unknown field',
        (cs) => cs.map((l, i) => (i === 0 ? JSON.stringify({ ...JSON.parse(l), note: 'ok' }) : l)),
        /line 1 has a field a checkpoint never has \("note"\)/,
      ],
      [
        'the start checkpoint after a shutdown removed',
        (cs) =>
          cs.filter(
            (l, i) =>
              !(
                i > 0 &&
                (JSON.parse(l) as Checkpoint).reason === 'open' &&
                (JSON.parse(cs[i - 1]!) as Checkpoint).reason === 'close'
              ),
          ),
        /line \d+ follows a shutdown's checkpoint \(line \d+, record \d+\) with no start checkpoint between/,
      ],
    ];
    // Two checkpoints swapped (two of different records, not after a shutdown's).
    const cs = lines(path.join(original, CHECKPOINT_FILE)).map((l) => JSON.parse(l) as Checkpoint);
    const i = cs.findIndex(
      (c, j) => j + 1 < cs.length && cs[j + 1]!.seq > c.seq && (j === 0 || cs[j - 1]!.reason !== 'close'),
    );
    expect(i).toBeGreaterThanOrEqual(0);
    cases.push([
      'two checkpoints swapped',
      (ls) => [...ls.slice(0, i), ls[i + 1]!, ls[i]!, ...ls.slice(i + 2)],
      new RegExp(
        `line ${i + 2} \\(record \\d+\\) comes after the checkpoint before it .*: checkpoints were moved or replayed`,
      ),
    ]);
    for (const [name, tamper, expected] of cases) {
      const { audit, checkpointFile } = copy();
      writeLines(checkpointFile, tamper(lines(checkpointFile)));
      const result = await verify(audit);
      expect({ name, ok: result.ok }).toEqual({ name, ok: false });
      expect({ name, problem: result.problem }).toEqual({ name, problem: expect.stringMatching(expected) });
    }
  });
});

describe('without TIMEBOX_AUDIT_KEY', () => {
  it('the bot logs one warning at start and writes no checkpoints; verify says signatures were not checked', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      info() {},
      debug() {},
      error() {},
      warn: (_obj, msg) => void warnings.push(msg ?? ''),
    };
    const h = await startHarness({ overrides: { logger } });
    let audit: string;
    try {
      await h.teams.say(users.alex, 'request sandbox for 1h because unsigned work');
      await waitFor(async () => (await h.bot.store.listOpen()).length === 1, 'a request');
      await h.bot.settled();
      await h.bot.stop();
      audit = path.join(h.dataDir, 'data', 'audit.jsonl');
      expect(warnings.filter((w) => /TIMEBOX_AUDIT_KEY is not set/.test(w))).toHaveLength(1);
      expect(existsSync(path.join(h.dataDir, 'data', CHECKPOINT_FILE))).toBe(false);
      const result = await verifyAuditFile(audit);
      expect(result).toMatchObject({ ok: true, signatures: { checked: false, checkpoints: 0 } });
      const cli = await runAudit(['verify', '--file', audit]);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(
        /Signatures not checked \(no --key\): the chain alone can be recomputed by whoever can write the data directory\./,
      );
    } finally {
      await h.close().catch(() => undefined);
    }
  }, 120_000);
});
