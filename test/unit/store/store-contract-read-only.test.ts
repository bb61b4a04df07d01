import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAuditKey } from '../../../src/adapters/store/audit-checkpoint';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { describeStoreContract } from '../../helpers/store-contract';

/**
 * The contract again for what the CLI relies on (issue 12): a LowdbStore that signs its audit
 * head, and a read-only LowdbStore on its files next to it (test/unit/store/store-contract.test.ts
 * runs the plain ones).
 */
const key = parseAuditKey(randomBytes(32).toString('hex'));

describeStoreContract('LowdbStore signing its audit head, with a read-only view', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-contract-ro-'));
  const writer = () => new LowdbStore(dir, { audit: { key, checkpointEvery: 2 } });
  return {
    store: writer(),
    reopen: writer,
    readOnly: () => new LowdbStore(dir, { readOnly: true }),
    signs: true,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

describeStoreContract('LowdbStore compacting after every 3 entries, with a read-only view', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'timebox-contract-ro-'));
  return {
    store: new LowdbStore(dir, { compactEntries: 3 }),
    reopen: () => new LowdbStore(dir, { compactEntries: 3 }),
    readOnly: () => new LowdbStore(dir, { readOnly: true }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
