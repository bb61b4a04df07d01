import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import type { Entry } from '../../../src/adapters/store/store-core';
import { ErrorCodes } from '../../../src/domain/errors';
import type { AccessRequest } from '../../../src/domain/request';
import { aPerson, aRequest } from '../../helpers/domain-builders';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const request = (id: string): AccessRequest =>
  aRequest({
    id,
    version: 0,
    requester: { ...aPerson('alex'), id: `alex-${id}` },
    createdAt: T0,
    updatedAt: T0,
  });

/** Counts the batches written (each one append and one fsync). */
class CountingStore extends LowdbStore {
  batches: number[] = [];
  protected override async persist(entries: Entry[]): Promise<void> {
    this.batches.push(entries.length);
    return super.persist(entries);
  }
}

describe('LowdbStore journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const journal = () => path.join(dir, 'journal.jsonl');

  it('group commit: commits arriving during a write are written together, one append and fsync for the batch', async () => {
    const store = new CountingStore(dir);
    await store.open();
    const ids = Array.from({ length: 50 }, (_, i) => `R-G${String(i).padStart(5, '0')}`);
    await Promise.all(
      ids.map((id) => store.commit({ request: request(id), expectedVersion: null, events: [] })),
    );
    expect(store.batches.reduce((a, b) => a + b, 0)).toBe(50);
    expect(store.batches.length).toBeLessThan(5);
    expect(readFileSync(journal(), 'utf8').trim().split('\n')).toHaveLength(50);
    const again = new LowdbStore(dir);
    await again.open();
    expect(await again.listOpen()).toHaveLength(50);
    await again.close();
  });

  it('a commit that waits for another of the same request in its batch is validated after it (one wins, the other conflicts)', async () => {
    const store = new LowdbStore(dir);
    await store.open();
    const created = await store.commit({ request: request('R-AAAA01'), expectedVersion: null, events: [] });
    const results = await Promise.allSettled(
      [1, 2].map((n) =>
        store.commit({ request: { ...created, justification: `${n}` }, expectedVersion: 1, events: [] }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    await store.close();
  });

  it('a torn last line (a crash mid-append) is cut at open, with a warning naming the bytes; what came before stays', async () => {
    const store = new LowdbStore(dir);
    await store.open();
    await store.commit({ request: request('R-AAAA01'), expectedVersion: null, events: [] });
    const good = readFileSync(journal()).length;
    appendFileSync(journal(), '{"crc":123,"entry":{"t":"com');
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const again = new LowdbStore(dir);
      await again.open();
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
        new RegExp(`torn tail of .*journal.jsonl \\(bytes ${good}-`),
      );
      expect(readFileSync(journal()).length).toBe(good);
      expect((await again.listOpen()).map((r) => r.id)).toEqual(['R-AAAA01']);
      await again.close();
    } finally {
      warn.mockRestore();
    }
  });

  it('a corrupt line before good ones stops start-up naming the file and line, and leaves it as it is', async () => {
    const store = new LowdbStore(dir);
    await store.open();
    await store.commit({ request: request('R-AAAA01'), expectedVersion: null, events: [] });
    await store.commit({ request: request('R-AAAA02'), expectedVersion: null, events: [] });
    const lines = readFileSync(journal(), 'utf8').split('\n');
    lines[0] = lines[0]!.replace('R-AAAA01', 'R-AAAA09'); // the CRC no longer matches
    writeFileSync(journal(), lines.join('\n'));
    const before = readFileSync(journal(), 'utf8');
    const again = new LowdbStore(dir);
    await expect(again.open()).rejects.toMatchObject({
      code: ErrorCodes.STORE_CORRUPT,
      message: expect.stringContaining(`${journal()} has a corrupt line 1`),
    });
    expect(readFileSync(journal(), 'utf8')).toBe(before);
  });

  it('a full disk: the commit fails with STORE_WRITE_FAILED and nothing changes, in memory or on disk', async () => {
    const store = new LowdbStore(dir);
    await store.open();
    const created = await store.commit({ request: request('R-AAAA01'), expectedVersion: null, events: [] });
    renameSync(journal(), `${journal()}.aside`);
    symlinkSync('/dev/full', journal());
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await expect(
        store.commit({
          request: { ...created, justification: 'lost' },
          expectedVersion: 1,
          events: [{ type: 'voted', requestId: 'R-AAAA01', at: T0 }],
        }),
      ).rejects.toMatchObject({
        code: ErrorCodes.STORE_WRITE_FAILED,
        message: expect.stringMatching(/could not save that, so nothing was changed.*ENOSPC/),
      });
    } finally {
      warn.mockRestore();
    }
    expect(await store.get('R-AAAA01')).toMatchObject({ version: 1, justification: created.justification });
    rmSync(journal());
    renameSync(`${journal()}.aside`, journal());
    expect(
      await store.commit({ request: { ...created, justification: 'kept' }, expectedVersion: 1, events: [] }),
    ).toMatchObject({ version: 2 });
    await store.close();
  });

  it('compacts into the snapshot past the entry limit and at close; journal lines the snapshot covers are skipped at open', async () => {
    const store = new LowdbStore(dir, { compactEntries: 4 });
    await store.open();
    let r = await store.commit({
      request: request('R-AAAA01'),
      expectedVersion: null,
      events: [{ type: 'submitted', requestId: 'R-AAAA01', at: T0 }],
    });
    for (let i = 0; i < 2; i++)
      r = await store.commit({
        request: { ...r, justification: `j${i}` },
        expectedVersion: r.version,
        events: [],
      });
    const coveredLines = readFileSync(journal(), 'utf8');
    for (let i = 2; i < 4; i++)
      r = await store.commit({
        request: { ...r, justification: `j${i}` },
        expectedVersion: r.version,
        events: [],
      });
    expect(readFileSync(journal(), 'utf8').trim().split('\n').filter(Boolean).length).toBeLessThan(4);
    const snapshot = JSON.parse(readFileSync(path.join(dir, 'timebox.json'), 'utf8'));
    expect(snapshot).toMatchObject({ formatVersion: 2, journalN: 4 });
    // A crash between the snapshot and the journal's truncation leaves covered lines: put them back.
    writeFileSync(journal(), coveredLines + readFileSync(journal(), 'utf8'));
    const again = new LowdbStore(dir, { compactEntries: 4 });
    await again.open();
    expect(await again.get('R-AAAA01')).toMatchObject({ version: 5, justification: 'j3' });
    const audit: string[] = [];
    for await (const rec of again.readAudit()) audit.push(rec.type);
    expect(audit).toEqual(['submitted']);
    await again.close();
    expect(readFileSync(journal(), 'utf8')).toBe('');
  });
});
