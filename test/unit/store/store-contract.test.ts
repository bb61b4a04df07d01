import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InMemoryStore } from '../../../src/adapters/store/in-memory-store';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { describeStoreContract } from '../../helpers/store-contract';

describeStoreContract('InMemoryStore', () => ({ store: new InMemoryStore() }));

describeStoreContract('LowdbStore', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-contract-'));
  return {
    store: new LowdbStore(dir),
    reopen: () => new LowdbStore(dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeStoreContract('LowdbStore, compacting after every 3 entries', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-contract-'));
  return {
    store: new LowdbStore(dir, { compactEntries: 3 }),
    reopen: () => new LowdbStore(dir, { compactEntries: 3 }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
