import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../../config';
import type { Store } from '../../ports/store';
import { CHECKPOINT_FILE, type Checkpoint } from './audit-checkpoint';
import { fileNames, type AuditNames } from './audit-verify';
import { LowdbStore } from './lowdb-store';

/** What choosing and opening the store needs from the configuration. */
export type StoreConfig = Pick<Config, 'dataDir' | 'databaseUrl'> &
  Partial<Pick<Config, 'auditKey' | 'auditCheckpointEvery'>>;

export interface CreateStoreOptions {
  /**
   * For the CLI next to a running bot: the store never writes anything, at open, close or ever
   * (see the read-only note on the Store port); every write fails with STORE_WRITE_FAILED.
   * Nothing is signed then, whatever the key.
   */
  readOnly?: boolean;
  /** Told each audit checkpoint the store signs (the bot logs it: a copy outside the data directory). */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
}

/**
 * The configured store, not opened yet: the one place that chooses it, for the bot (main.ts)
 * and the CLI alike. Today a LowdbStore in TIMEBOX_DATA_DIR; DATABASE_URL is refused (the
 * PostgreSQL store is planned) rather than ignored.
 */
export function createStore(config: StoreConfig, options: CreateStoreOptions = {}): Store {
  if (config.databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL is set, but this version of Timebox has no PostgreSQL store yet (it is planned). Unset it: Timebox keeps its state in TIMEBOX_DATA_DIR (lowdb), with one replica.',
    );
  }
  if (options.readOnly) return new LowdbStore(config.dataDir, { readOnly: true });
  return new LowdbStore(config.dataDir, {
    audit: {
      key: config.auditKey,
      checkpointEvery: config.auditCheckpointEvery,
      ...(options.onCheckpoint ? { onCheckpoint: options.onCheckpoint } : {}),
    },
  });
}

/** How the CLI names the configured store's audit log in what it prints. */
export interface StoreDescription {
  /** The log as a whole, e.g. "data/audit.jsonl". */
  audit: string;
  /** Its signed checkpoints as a whole, e.g. "data/audit-checkpoints.jsonl". */
  checkpoints: string;
  /** Places in it, for verification problems ("line 5", "audit-checkpoints.jsonl line 2"). */
  names: AuditNames;
  /** False when there is no audit log there at all (a mistyped TIMEBOX_DATA_DIR), as opposed to an empty one. */
  exists(): boolean;
}

/**
 * The names of the configured store's audit log. LowdbStore reads each record and checkpoint
 * from one line of its files (a read-only one refuses a line that is not one), so its places
 * are lines, as `audit verify --file` names them.
 */
export function describeStore(config: StoreConfig): StoreDescription {
  const checkpoints = path.join(config.dataDir, CHECKPOINT_FILE);
  const audit = path.join(config.dataDir, 'audit.jsonl');
  return { audit, checkpoints, names: fileNames(checkpoints), exists: () => existsSync(audit) };
}
