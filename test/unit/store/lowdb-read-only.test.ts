import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  existsSync,
  promises as fsPromises,
  mkdtempSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAuditKey } from '../../../src/adapters/store/audit-checkpoint';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { createStore } from '../../../src/adapters/store/open-store';
import type { AuditCheckpoint, AuditRecord, Store } from '../../../src/ports/store';
import { aRequest } from '../../helpers/domain-builders';
import { hashDir } from '../../helpers/hash-dir';

/**
 * `new LowdbStore(dir, { readOnly: true })` (createStore's `readOnly`), what the CLI opens next
 * to a running bot: it must never write anything. Each case hashes every file of the data
 * directory (names, sizes, contents) before and after a read-only open, reads, refused writes
 * and close.
 */
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const FIXTURE = path.join(__dirname, '../../fixtures/store-7eb7def');
const key = parseAuditKey(randomBytes(32).toString('hex'));

async function all<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** Everything a reader can ask, and every kind of write (each must fail as STORE_WRITE_FAILED). */
async function readAndTryWriting(
  store: Store,
): Promise<{ records: AuditRecord[]; checkpoints: AuditCheckpoint[]; open: string[]; writes: string[] }> {
  const records = await all(store.readAudit());
  const checkpoints = await all(store.readAuditCheckpoints!());
  const open = (await store.listOpen()).map((r) => `${r.id}@${r.version}`);
  for (const r of await store.listOpen()) await store.listHolding(r.requester.id, r.group.id);
  await store.listEffects();
  await store.listDue(T0 + 10 * 3_600_000, 100);
  const writes: string[] = [];
  const attempt = async (what: string, write: () => Promise<unknown>) => {
    try {
      await write();
      writes.push(`${what}: written`);
    } catch (error) {
      writes.push(`${what}: ${(error as { code?: string }).code}`);
    }
  };
  const first = (await store.listOpen())[0];
  if (first)
    await attempt('commit', () =>
      store.commit({ request: { ...first, justification: 'x' }, expectedVersion: first.version, events: [] }),
    );
  await attempt('appendAudit', () =>
    store.appendAudit([{ type: 'refused', requestId: '', at: T0, reason: 'no' } as never]),
  );
  await attempt('saveServiceUrl', () => store.saveServiceUrl('tenant-x', 'https://smba.test/x/'));
  return { records, checkpoints, open, writes };
}

describe('LowdbStore opened read-only writes nothing', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'timebox-ro-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A running bot's data directory: commits in the journal (never compacted), a signed audit log, closed requests in the history. */
  async function runningBot(dir: string): Promise<LowdbStore> {
    const writer = new LowdbStore(dir, { audit: { key, checkpointEvery: 2 } });
    await writer.open();
    for (let i = 1; i <= 3; i++) {
      const request = aRequest({
        id: `R-RO000${i}`,
        version: 0,
        requester: { id: `c300000${i}-0000-4000-8000-000000000000`, name: `P${i}` },
        createdAt: T0,
        updatedAt: T0,
      });
      await writer.commit({
        request,
        expectedVersion: null,
        events: [{ type: 'submitted', requestId: request.id, at: T0 + i }],
        effects: [{ kind: 'card.post', lane: 'teams', queue: `${request.id}/teams` }],
        dueAt: T0 + 3_600_000,
      });
    }
    const first = (await writer.get('R-RO0001'))!;
    // Denied with its card posted (no work left): archived in history.jsonl.
    const [post] = await writer.listEffects(first.id);
    await writer.commit({
      request: { ...first, status: 'denied', updatedAt: T0 + 10 },
      expectedVersion: 1,
      events: [{ type: 'denied', requestId: first.id, at: T0 + 10 }],
      completedEffectIds: [post!.id],
    });
    await writer.appended(); // the audit file and the history as a bot between two writes leaves them
    return writer;
  }

  it('next to a running bot, with torn tails on the journal, the audit log and the checkpoints: every byte stays; reads leave out the partial lines; writes are refused', async () => {
    const dir = path.join(root, 'data');
    const writer = await runningBot(dir);
    // Appends under way (or cut by a crash): partial last lines.
    appendFileSync(path.join(dir, 'journal.jsonl'), '{"crc":12345,"entry":{"t":"com');
    appendFileSync(path.join(dir, 'audit.jsonl'), '{"v":2,"seq":5,"at":"2026-');
    appendFileSync(path.join(dir, 'audit-checkpoints.jsonl'), '{"v":1,"seq":');
    const before = hashDir(dir);
    // No snapshot yet: the state is in the journal only (a first compaction comes at close).
    expect(Object.keys(before!).sort()).toEqual([
      'audit-checkpoints.jsonl',
      'audit.jsonl',
      'history.jsonl',
      'journal.jsonl',
    ]);

    const reader = createStore({ dataDir: dir }, { readOnly: true });
    await reader.open();
    const seen = await readAndTryWriting(reader);
    await reader.close();
    expect(hashDir(dir)).toEqual(before);
    expect(seen.records.map((r) => `${r.seq}:${r.type}`)).toEqual([
      '1:submitted',
      '2:submitted',
      '3:submitted',
      '4:denied',
    ]);
    expect(seen.checkpoints.length).toBeGreaterThan(0);
    expect(seen.open).toEqual(['R-RO0002@1', 'R-RO0003@1']);
    expect(await reader.get('R-RO0001')).toMatchObject({ status: 'denied', version: 2 });
    expect(seen.writes).toEqual([
      'commit: STORE.WRITE_FAILED',
      'appendAudit: STORE.WRITE_FAILED',
      'saveServiceUrl: STORE.WRITE_FAILED',
    ]);
    await writer.close();

    // The check sees writes: a writable open of the same files cuts the tails (and compacts, and signs).
    const copy = path.join(root, 'copy');
    cpSync(dir, copy, { recursive: true });
    appendFileSync(path.join(copy, 'journal.jsonl'), '{"crc":1,"entry":');
    const copied = hashDir(copy);
    const writable = new LowdbStore(copy);
    await writable.open();
    await writable.close();
    expect(hashDir(copy)).not.toEqual(copied);
  });

  it("a store written before the journal (formatVersion 1) is read as it is, not migrated; its queued audit event is the bot's to append", async () => {
    const dir = path.join(root, 'old');
    cpSync(FIXTURE, dir, { recursive: true });
    const before = hashDir(dir);
    const reader = new LowdbStore(dir, { readOnly: true });
    await reader.open();
    expect((await reader.listOpen()).map((r) => r.id)).toEqual(['R-OLD001']);
    expect(await reader.get('R-OLD002')).toMatchObject({ status: 'denied', version: 2 });
    expect((await all(reader.readAudit())).map((r) => r.type)).toEqual([
      'submitted',
      'submitted',
      'denied',
      'reminded',
    ]);
    await reader.close();
    expect(hashDir(dir)).toEqual(before);
    expect(JSON.parse(readFileSync(path.join(dir, 'timebox.json'), 'utf8')).formatVersion).toBe(1);
  });

  it('a data directory that does not exist opens as an empty store and is not created', async () => {
    const dir = path.join(root, 'nowhere', 'data');
    const reader = new LowdbStore(dir, { readOnly: true });
    await reader.open();
    expect(await reader.listOpen()).toEqual([]);
    expect(await all(reader.readAudit())).toEqual([]);
    expect(await all(reader.readAuditCheckpoints())).toEqual([]);
    await reader.close();
    expect(existsSync(path.join(root, 'nowhere'))).toBe(false);
  });

  it('a history that ends in a partial line (an append under way, or a crash): the line is left out and left alone', async () => {
    const dir = path.join(root, 'data');
    const writer = await runningBot(dir);
    await writer.close(); // R-RO0001 (denied) is in history.jsonl now
    const history = path.join(dir, 'history.jsonl');
    const line = readFileSync(history, 'utf8').split('\n').filter(Boolean).at(-1)!;
    appendFileSync(history, line.replace('R-RO0001', 'R-RO0009').slice(0, 40));
    const before = hashDir(dir);
    const reader = new LowdbStore(dir, { readOnly: true });
    await reader.open();
    expect(await reader.get('R-RO0001')).toMatchObject({ status: 'denied' });
    expect(await reader.get('R-RO0009')).toBeUndefined();
    await reader.close();
    expect(hashDir(dir)).toEqual(before);
  });

  it("the bot compacting between the reader's two reads (a new snapshot renamed in, the journal emptied and written again) never looks like a gap", async () => {
    const dir = path.join(root, 'data');
    const writer = new LowdbStore(dir, { compactEntries: 2 });
    await writer.open();
    let current = await writer.commit({
      request: aRequest({ id: 'R-RO0100', version: 0, createdAt: T0, updatedAt: T0 }),
      expectedVersion: null,
      events: [],
    });
    const bump = async () =>
      (current = await writer.commit({
        request: { ...current, justification: `v${current.version + 1}` },
        expectedVersion: current.version,
        events: [],
      }));
    await bump(); // entry 2: compacted (snapshot at entry 2, journal emptied)
    await bump(); // entry 3: in the journal
    const original = fsPromises.readFile.bind(fsPromises) as (...args: unknown[]) => Promise<unknown>;
    let raced = false;
    const spy = jest.spyOn(fsPromises, 'readFile').mockImplementation((async (...args: unknown[]) => {
      const content = await original(...args);
      if (!raced && String(args[0]) === path.join(dir, 'timebox.json')) {
        raced = true;
        // Right after the reader read the snapshot: entry 4 compacts (snapshot at 4, journal emptied), entry 5 follows.
        await bump();
        await bump();
      }
      return content;
    }) as never);
    let seen: number | undefined;
    try {
      const reader = new LowdbStore(dir, { readOnly: true });
      await reader.open();
      seen = (await reader.get('R-RO0100'))?.version;
      await reader.close();
    } finally {
      spy.mockRestore();
    }
    expect(raced).toBe(true);
    // The journal read first goes with the snapshot read after it: the state at entry 3.
    expect(seen).toBe(3);
    expect(current.version).toBe(5);
    await writer.close();
  });
});
