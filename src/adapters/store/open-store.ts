import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../../config';
import type { Store } from '../../ports/store';
import { CHECKPOINT_FILE, type Checkpoint } from './audit-checkpoint';
import { fileNames, type AuditNames } from './audit-verify';
import { LowdbStore } from './lowdb-store';
import { PostgresStore, describeDatabase } from './postgres/postgres-store';

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
  /** Told of trouble the store handles itself (PostgreSQL: its change feed's lost connection), for the log. */
  onProblem?: (message: string) => void;
}

/**
 * The configured store, not opened yet: the one place that chooses it, for the bot (main.ts)
 * and the CLI alike. With DATABASE_URL a PostgresStore on that database (any number of
 * replicas; it migrates the schema at open, signs checkpoints into it with TIMEBOX_AUDIT_KEY,
 * and the read-only one reads one snapshot and migrates nothing); else a LowdbStore in
 * TIMEBOX_DATA_DIR (one replica). An unparsable DATABASE_URL is a ConfigError.
 */
export function createStore(config: StoreConfig, options: CreateStoreOptions = {}): Store {
  if (config.databaseUrl) {
    databaseUrlOf(config.databaseUrl);
    if (options.readOnly) return new PostgresStore(config.databaseUrl, { readOnly: true });
    return new PostgresStore(config.databaseUrl, {
      audit: {
        key: config.auditKey,
        checkpointEvery: config.auditCheckpointEvery,
        ...(options.onCheckpoint ? { onCheckpoint: options.onCheckpoint } : {}),
      },
      ...(options.onProblem ? { onProblem: options.onProblem } : {}),
    });
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
  if (config.databaseUrl) return describeDatabaseAudit(config.databaseUrl);
  const checkpoints = path.join(config.dataDir, CHECKPOINT_FILE);
  const audit = path.join(config.dataDir, 'audit.jsonl');
  return { audit, checkpoints, names: fileNames(checkpoints), exists: () => existsSync(audit) };
}

/**
 * A database's audit log: its places are rows (the record's seq, the checkpoint's position in
 * the order written), named with the database's host and name, never its credentials.
 */
function describeDatabaseAudit(url: string): StoreDescription {
  const where = describeDatabase(databaseUrlOf(url).href);
  return {
    audit: `the audit table of ${where}`,
    checkpoints: `the audit_checkpoints table of ${where}`,
    names: {
      record: (n) => `audit record ${n}`,
      checkpoints: 'audit_checkpoints',
      checkpoint: (n) => `checkpoint ${n}`,
    },
    // Whether the database has a log at all is the open's to say (it refuses a database never migrated).
    exists: () => true,
  };
}

/** DATABASE_URL as a URL, or a ConfigError that does not repeat it (it may hold a password). */
function databaseUrlOf(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError('DATABASE_URL is not a URL; use postgres://user:password@host:5432/database.');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ConfigError(
      `DATABASE_URL must start with postgres:// or postgresql:// (it starts with ${JSON.stringify(url.protocol)}).`,
    );
  return url;
}
