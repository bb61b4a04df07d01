import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { verifyAuditFile } from '../../../src/adapters/store/audit-verify';

/**
 * test/fixtures/store-7eb7def: a data directory written by the LowdbStore of commit 7eb7def
 * (formatVersion 1: the whole hot state rewritten on every write, no journal), with one audit
 * event still queued in the hot file (as a crash before the audit append leaves it).
 */
const FIXTURE = path.join(__dirname, '../../fixtures/store-7eb7def');

describe('LowdbStore opens a data directory written before the journal, and migrates it', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-migrate-'));
    cpSync(FIXTURE, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads requests, effects, history, chats, baselines and the queued audit event; writes formatVersion 2; reopens the same', async () => {
    const store = new LowdbStore(dir);
    await store.open();
    expect(JSON.parse(readFileSync(path.join(dir, 'timebox.json'), 'utf8')).formatVersion).toBe(2);
    const check = async (s: LowdbStore) => {
      expect((await s.listOpen()).map((r) => r.id)).toEqual(['R-OLD001']);
      expect(await s.get('R-OLD002')).toMatchObject({ status: 'denied', version: 2 });
      expect((await s.listEffects()).map((e) => `${e.requestId}:${e.kind}`)).toEqual([
        'R-OLD001:card.post',
        'R-OLD001:person.notify',
        'R-OLD002:card.post',
        'R-OLD002:card.update',
      ]);
      expect(
        (await s.claim('w', Date.UTC(2026, 10, 21, 13), 1000, 10))
          .map((e) => `${e.requestId}:${e.kind}`)
          .sort(),
      ).toEqual(['R-OLD001:card.post', 'R-OLD002:card.post']);
      expect(await s.getPersonalChat('user-1')).toMatchObject({ conversationId: 'a:1' });
      expect(await s.getBaseline('b2000000-0000-4000-8000-000000000002')).toMatchObject({
        members: ['x'],
        version: 0,
      });
      const types: string[] = [];
      for await (const r of s.readAudit()) types.push(r.type);
      expect(types).toEqual(['submitted', 'submitted', 'denied', 'reminded']);
    };
    await check(store);
    const created = await store.commit({
      request: { ...(await store.get('R-OLD001'))!, justification: 'after migration' },
      expectedVersion: 1,
      events: [],
    });
    expect(created.version).toBe(2);
    expect(existsSync(path.join(dir, 'journal.jsonl'))).toBe(true);
    // Dropped without close (a crash): the journal carries the commit.
    const again = new LowdbStore(dir);
    await again.open();
    await check(again);
    expect(await again.get('R-OLD001')).toMatchObject({ version: 2, justification: 'after migration' });
    await again.close();
    expect((await verifyAuditFile(path.join(dir, 'audit.jsonl'))).ok).toBe(true);
  });
});
