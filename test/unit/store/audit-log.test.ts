import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  AuditLog,
  GENESIS_HASH,
  hashRecord,
  legacyHashRecord,
  toAuditRecord,
} from '../../../src/adapters/store/audit-log';
import {
  CHECKPOINT_FILE,
  parseAuditKey,
  signCheckpoint,
  type Checkpoint,
} from '../../../src/adapters/store/audit-checkpoint';
import { verifyAuditFile } from '../../../src/adapters/store/audit-verify';
import { canonicalJson, findDuplicateKey } from '../../../src/adapters/store/canonical-json';
import { loadConfig } from '../../../src/config';
import type { RequestEvent } from '../../../src/domain/request';
import type { AuditRecord } from '../../../src/ports/store';

const KEY = parseAuditKey('11'.repeat(32));
const OTHER_KEY = parseAuditKey(Buffer.alloc(32, 7).toString('base64'));
const T = Date.UTC(2026, 10, 1, 12);

const event = (n: number): RequestEvent => ({
  type: 'submitted',
  requestId: `R-${String(n).padStart(6, '0')}`,
  at: T + n,
  actor: { id: 'a1', name: 'Alex Wilber' },
  reason: `work ${n}`,
  detail: { group: 'sandbox', n },
});
const numbered = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, event: event(from + i) }));
const checkpointsOf = (dir: string): Checkpoint[] =>
  existsSync(path.join(dir, CHECKPOINT_FILE))
    ? readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Checkpoint)
    : [];

describe('canonical JSON and duplicate keys', () => {
  it('canonicalJson sorts keys (UTF-16 order), at every depth, with no whitespace, whatever the insertion order', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 1.5 }], é: 'e', Z: 0 })).toBe(
      '{"Z":0,"a":[true,null,{"c":1.5,"d":"x"}],"b":1,"é":"e"}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/not a JSON number/);
  });

  it('findDuplicateKey finds a key twice in one object, at any depth, decoded, and nothing in distinct objects', () => {
    expect(findDuplicateKey('{"a":1,"b":2}')).toBeUndefined();
    expect(findDuplicateKey('{"a":1,"a":2}')).toBe('a');
    expect(findDuplicateKey('{"a":1,"\\u0061":2}')).toBe('a');
    expect(findDuplicateKey('{"actor":{"id":"x","name":"a","name":"b"}}')).toBe('actor.name');
    expect(
      findDuplicateKey('{"x":[{"k":1},{"k":2}],"y":{"k":1},"k":"{\\"k\\":1,\\"k\\":2}"}'),
    ).toBeUndefined();
    expect(findDuplicateKey('{"d":{"list":[{"k":1,"k":2}]}}')).toBe('d.list[].k');
  });
});

describe('audit log hash forms', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-auditlog-'));
    file = path.join(dir, 'audit.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a new record carries v 2 and its hash covers every field, an unknown one included', () => {
    const record = toAuditRecord(event(1), 1, GENESIS_HASH);
    expect(record.v).toBe(2);
    const { hash, ...content } = record;
    expect(hash).toBe(hashRecord(content));
    expect(hashRecord({ ...content, approvedBy: 'CISO (by phone)' } as typeof content)).not.toBe(hash);
    // The legacy form ignored such a field; the new one does not.
    expect(legacyHashRecord({ ...content, approvedBy: 'CISO (by phone)' } as typeof content)).toBe(
      legacyHashRecord(content),
    );
  });

  it('a data dir written before the hash form: its old records verify by the old rule, and new ones chain on from them', async () => {
    // Written as the old code did: no "v", the legacy hash.
    let prevHash = GENESIS_HASH;
    const old = [1, 2, 3].map((seq) => {
      const { v: _v, hash: _h, ...content } = toAuditRecord(event(seq), seq, prevHash);
      const record = { ...content, hash: legacyHashRecord(content) };
      prevHash = record.hash;
      return JSON.stringify(record);
    });
    writeFileSync(file, old.join('\n') + '\n');
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 3 });
    const log = new AuditLog(file);
    await log.open();
    await log.append(numbered(4, 5));
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as AuditRecord).v)).toEqual([
      undefined,
      undefined,
      undefined,
      2,
      2,
    ]);
    expect(await verifyAuditFile(file)).toMatchObject({ ok: true, records: 5, head: { seq: 5 } });
    // An old-form record may not follow a new one: a downgrade would escape the canonical hash.
    const {
      v: _v,
      hash: _h,
      ...content
    } = toAuditRecord(event(6), 6, (JSON.parse(lines[4]!) as AuditRecord).hash);
    appendFileSync(file, JSON.stringify({ ...content, hash: legacyHashRecord(content) }) + '\n');
    expect((await verifyAuditFile(file)).problem).toMatch(
      /record 6 \(line 6\) has no "v" \(the old hash form\) after records of form 2/,
    );
  });

  it('a record of an unknown hash form fails', async () => {
    const { hash: _h, ...content } = toAuditRecord(event(1), 1, GENESIS_HASH);
    const forged = { ...content, v: 3 };
    writeFileSync(file, JSON.stringify({ ...forged, hash: hashRecord(forged) }) + '\n');
    expect((await verifyAuditFile(file)).problem).toMatch(
      /record 1 \(line 1\) has hash form "v": 3, which this Timebox does not know/,
    );
  });
});

describe('audit checkpoints (AuditLog)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-checkpoint-'));
    file = path.join(dir, 'audit.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const openLog = async (key = KEY, every = 3) => {
    const log = new AuditLog(file, { key, checkpointEvery: every, now: () => T });
    await log.open();
    return log;
  };

  it('signs the head at least every N records (a batch counts whole), once at close and once at the next open', async () => {
    const told: Array<[number, string]> = [];
    const options = {
      key: KEY,
      checkpointEvery: 3,
      now: () => T,
      onCheckpoint: (c: Checkpoint) => told.push([c.seq, c.reason]),
    };
    let log = new AuditLog(file, options);
    await log.open();
    for (let seq = 1; seq <= 7; seq++) await log.append(numbered(seq, seq));
    expect(checkpointsOf(dir).map((c) => [c.seq, c.reason])).toEqual([
      [3, 'every'],
      [6, 'every'],
    ]);
    await log.append(numbered(8, 12)); // one batch of 5: 12 - 6 >= 3
    // A shutdown is signed even at a head signed already (it says the bot stopped there), once.
    await log.checkpoint('close');
    await log.checkpoint('close');
    log = new AuditLog(file, options);
    await log.open();
    await log.append(numbered(13, 13));
    await log.checkpoint('close');
    const head = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as AuditRecord;
    expect(checkpointsOf(dir).at(-1)).toMatchObject({
      v: 1,
      seq: 13,
      hash: head.hash,
      reason: 'close',
      every: 3,
      keyId: KEY.id,
      at: new Date(T).toISOString(),
    });
    const expected = [
      [3, 'every'],
      [6, 'every'],
      [12, 'every'],
      [12, 'close'],
      [12, 'open'],
      [13, 'close'],
    ];
    expect(checkpointsOf(dir).map((c) => [c.seq, c.reason])).toEqual(expected);
    expect(told).toEqual(expected);
    expect(await verifyAuditFile(file, { keys: [KEY], strict: true })).toMatchObject({
      ok: true,
      records: 13,
      signatures: { checked: true, verified: 6, unsignedTail: 0, every: 3 },
    });
  });

  it('without a key writes no checkpoint file', async () => {
    const log = new AuditLog(file, { checkpointEvery: 1 });
    await log.open();
    await log.append(numbered(1, 5));
    await log.checkpoint('close');
    expect(existsSync(path.join(dir, CHECKPOINT_FILE))).toBe(false);
    const result = await verifyAuditFile(file);
    expect(result).toMatchObject({ ok: true, signatures: { checked: false } });
  });

  it('a start after a clean shutdown signs an open checkpoint; the store refuses to start on a log changed while it was stopped', async () => {
    let log = await openLog();
    await log.append(numbered(1, 3));
    await log.append(numbered(4, 4));
    await log.checkpoint('close');
    log = await openLog();
    expect(checkpointsOf(dir).map((c) => [c.seq, c.reason])).toEqual([
      [3, 'every'],
      [4, 'close'],
      [4, 'open'],
    ]);
    await log.append(numbered(5, 5));
    await log.checkpoint('close');
    expect(await verifyAuditFile(file, { keys: [KEY], strict: true })).toMatchObject({ ok: true });
    // Someone appends a well-chained record while it is stopped.
    const head = JSON.parse(readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as AuditRecord;
    appendFileSync(file, JSON.stringify(toAuditRecord(event(6), 6, head.hash)) + '\n');
    await expect(openLog()).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringMatching(/1 record\(s\) were added while it was not running/),
    });
  });

  it("key rotation: another key's checkpoints are not checked and vouch for nothing; the new key's first checkpoint covers all before it", async () => {
    let log = await openLog(OTHER_KEY);
    await log.append(numbered(1, 3));
    await log.append(numbered(4, 4));
    await log.checkpoint('close');
    log = await openLog(KEY);
    await log.append(numbered(5, 6));
    await log.checkpoint('close');
    expect(checkpointsOf(dir).map((c) => [c.seq, c.reason, c.keyId === KEY.id])).toEqual([
      [3, 'every', false],
      [4, 'close', false],
      [4, 'open', true],
      [6, 'close', true],
    ]);
    expect(await verifyAuditFile(file, { keys: [KEY], strict: true })).toMatchObject({
      ok: true,
      signatures: { verified: 2, otherKeys: 2, unsignedTail: 0 },
    });
    expect(await verifyAuditFile(file, { keys: [OTHER_KEY, KEY], strict: true })).toMatchObject({
      ok: true,
      signatures: { verified: 4, otherKeys: 0 },
    });
    // With the old key only, records 5 and 6 follow its shutdown checkpoint.
    expect((await verifyAuditFile(file, { keys: [OTHER_KEY] })).problem).toMatch(
      /record 5 \(line 5\) follows record 4, the head Timebox signed when it stopped/,
    );
  });

  it('a torn last checkpoint line (a crash mid-append) is cut at start and ignored by verify', async () => {
    const log = await openLog();
    await log.append(numbered(1, 3));
    appendFileSync(path.join(dir, CHECKPOINT_FILE), '{"v":1,"seq":');
    expect(await verifyAuditFile(file, { keys: [KEY], strict: true })).toMatchObject({
      ok: true,
      signatures: { checkpoints: 1, verified: 1 },
    });
    await openLog();
    expect(readFileSync(path.join(dir, CHECKPOINT_FILE), 'utf8').endsWith('}\n')).toBe(true);
  });

  it('a checkpoint signed by a forger who kept our key id fails, at start and in verify', async () => {
    const log = await openLog();
    await log.append(numbered(1, 3));
    const forger = parseAuditKey('22'.repeat(32));
    const head = checkpointsOf(dir)[0]!;
    const forged = { ...signCheckpoint(forger, head, T, 3, 'every'), keyId: KEY.id };
    appendFileSync(path.join(dir, CHECKPOINT_FILE), JSON.stringify(forged) + '\n');
    expect((await verifyAuditFile(file, { keys: [KEY] })).problem).toMatch(
      /audit-checkpoints\.jsonl line 2 \(record 3\) has a signature that does not verify: it was forged or altered/,
    );
    await expect(openLog()).rejects.toMatchObject({
      code: 'STORE.CORRUPT',
      message: expect.stringMatching(/signature does not verify/),
    });
  });
});

describe('configuration of the audit key', () => {
  const base = { TIMEBOX_DEV: '1' };

  it('reads TIMEBOX_AUDIT_KEY (hex or base64, 32+ bytes) and TIMEBOX_AUDIT_CHECKPOINT_EVERY (default 100)', () => {
    const hex = 'ab'.repeat(32);
    expect(loadConfig(base)).toMatchObject({ auditCheckpointEvery: 100 });
    expect(loadConfig(base).auditKey).toBeUndefined();
    expect(
      loadConfig({ ...base, TIMEBOX_AUDIT_KEY: hex, TIMEBOX_AUDIT_CHECKPOINT_EVERY: '25' }),
    ).toMatchObject({ auditKey: { id: parseAuditKey(hex).id }, auditCheckpointEvery: 25 });
    const b64 = Buffer.from('ab'.repeat(32), 'hex').toString('base64');
    expect(loadConfig({ ...base, TIMEBOX_AUDIT_KEY: b64 }).auditKey!.secret).toEqual(Buffer.from(hex, 'hex'));
    expect(loadConfig({ ...base, TIMEBOX_AUDIT_KEY: `base64:${b64}` }).auditKey!.id).toBe(
      parseAuditKey(hex).id,
    );
  });

  it('a parsed key shows only its id when the config is logged or printed', () => {
    const hex = 'ef'.repeat(32);
    const config = loadConfig({ ...base, TIMEBOX_AUDIT_KEY: hex });
    expect(config.auditKey!.secret.toString('hex')).toBe(hex);
    const shown = [
      JSON.stringify(config),
      inspect(config, { depth: 5 }),
      JSON.stringify(config.auditKey),
    ].join('\n');
    expect(shown).toContain(config.auditKey!.id);
    expect(shown).not.toContain('efef');
    expect(shown).not.toContain(Buffer.from(hex, 'hex').toString('base64').slice(0, 16));
    expect(shown).not.toMatch(/secret|Buffer/);
  });

  it('refuses a short or malformed key without repeating it, and a checkpoint interval below 1', () => {
    const short = 'cd'.repeat(16);
    expect(() => loadConfig({ ...base, TIMEBOX_AUDIT_KEY: short })).toThrow(
      /TIMEBOX_AUDIT_KEY is 16 byte\(s\); it must be at least 32/,
    );
    expect(() => loadConfig({ ...base, TIMEBOX_AUDIT_KEY: short })).not.toThrow(new RegExp(short));
    expect(() => loadConfig({ ...base, TIMEBOX_AUDIT_KEY: 'not a key!' })).toThrow(
      /TIMEBOX_AUDIT_KEY is neither hex nor base64/,
    );
    for (const bad of ['0', '-5', 'ten', '1.5'])
      expect(() => loadConfig({ ...base, TIMEBOX_AUDIT_CHECKPOINT_EVERY: bad })).toThrow(
        /TIMEBOX_AUDIT_CHECKPOINT_EVERY must be a whole number/,
      );
  });
});
