import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newSigningKeyMaterial } from '../../../src/adapters/api/stored-signing-keys';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { loadOrCreateSigningKeys, type SigningKeyOptions } from '../../../src/app/signing-keys';
import { useEmbeddedPostgres } from '../../helpers/embedded-postgres';
import { FakeClock } from '../../helpers/fake-clock';
import { StoreOnFreshDatabase } from '../../helpers/store-on-fresh-database';

/**
 * Issue 16: approval-token signing keys in the store. Several replicas (PostgresStores on one
 * database, each with its own pool: what separate processes share) racing to create and to
 * rotate end with one key set that all of them sign with and publish; LowdbStore keeps them
 * through its journal and snapshot, and opens data directories written before they existed.
 */
const pg = useEmbeddedPostgres();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const options: SigningKeyOptions = {
  rotateAfterMs: 30 * DAY,
  retainMs: 8 * HOUR,
  activateAfterMs: HOUR,
  generate: newSigningKeyMaterial,
};

describe('signing keys across replicas on one PostgreSQL', () => {
  it('replicas racing loadOrCreate at start-up, and again at a rotation, end with one key set', async () => {
    const db = pg.freshDatabase();
    const replicas = [0, 1, 2, 3].map(() => pg.track(new StoreOnFreshDatabase(db)));
    await Promise.all(replicas.map((r) => r.open()));
    const clock = new FakeClock();
    try {
      const started = await Promise.all(replicas.map((r) => loadOrCreateSigningKeys(r, clock, options)));
      for (const view of started) expect(view).toEqual(started[0]);
      expect(started[0]!.keys).toHaveLength(1);
      expect((await replicas[0]!.getSigningKeys())!).toMatchObject({ version: 1 });

      await clock.advance(30 * DAY);
      const rotated = await Promise.all(replicas.map((r) => loadOrCreateSigningKeys(r, clock, options)));
      for (const view of rotated) expect(view).toEqual(rotated[0]);
      const stored = (await replicas[3]!.getSigningKeys())!;
      expect(stored.version).toBe(2);
      expect(stored.keys).toHaveLength(2);
      // Still the first key that signs; the new one is published by everyone until it does.
      expect(rotated[0]!.keys[0]!.kid).toBe(started[0]!.keys[0]!.kid);
      expect(rotated[0]!.keys[1]!.retiredAt).toBe(clock.now() + HOUR);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });
});

describe('signing keys in a LowdbStore data directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('journalled at once, in the snapshot after compaction, read back after a restart', async () => {
    const clock = new FakeClock();
    const first = new LowdbStore(dir);
    await first.open();
    const loaded = await loadOrCreateSigningKeys(first, clock, options);
    const journal = readFileSync(path.join(dir, 'journal.jsonl'), 'utf8');
    expect(journal).toContain('"t":"keys"');
    // As after a crash: no close, no compaction; the journal alone has them.
    const crashed = new LowdbStore(dir);
    await crashed.open();
    expect(await loadOrCreateSigningKeys(crashed, clock, options)).toEqual(loaded);
    await crashed.close(); // compacts
    const snapshot = JSON.parse(readFileSync(path.join(dir, 'timebox.json'), 'utf8')) as {
      signingKeys?: { version: number; keys: { kid: string }[] };
    };
    expect(snapshot.signingKeys).toMatchObject({ version: 1, keys: [{ kid: loaded.keys[0]!.kid }] });
    const restarted = new LowdbStore(dir);
    await restarted.open();
    try {
      expect(await loadOrCreateSigningKeys(restarted, clock, options)).toEqual(loaded);
    } finally {
      await restarted.close();
    }
  });

  it('a data directory written before signing keys existed opens, and gets its first key', async () => {
    const old = new LowdbStore(dir);
    await old.open();
    await old.saveBaseline({ groupId: 'G-1', firstSeenAt: 1, members: [], reported: {} }, null);
    await old.close();
    // What an older Timebox wrote: the same snapshot without the new field.
    const file = path.join(dir, 'timebox.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete state.signingKeys;
    writeFileSync(file, JSON.stringify(state));
    const store = new LowdbStore(dir);
    await store.open();
    try {
      expect(await store.getSigningKeys()).toBeUndefined();
      expect(await store.getBaseline('G-1')).toMatchObject({ version: 1 });
      const loaded = await loadOrCreateSigningKeys(store, new FakeClock(), options);
      expect(loaded.version).toBe(1);
    } finally {
      await store.close();
    }
  });
});
