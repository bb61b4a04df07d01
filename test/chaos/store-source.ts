import path from 'node:path';
import { Pool } from 'pg';
import { verifyAuditFile, verifyAuditRecords } from '../../src/adapters/store/audit-verify';
import { PostgresStore } from '../../src/adapters/store/postgres/postgres-store';
import type { AccessRequest } from '../../src/domain/request';
import type { AuditRecord } from '../../src/ports/store';
import { readAudit, StoreReader, type StoredEffect } from './analysis';

export interface StoreSnapshot {
  requests: Map<string, AccessRequest>;
  effects: StoredEffect[];
}

/**
 * Where the analysis reads the bot's store from, outside the bot: LowdbStore's files, or the
 * PostgreSQL database the replicas share. Reads may throw while the database is down (the
 * run kills it); the callers retry.
 */
export interface StoreSource {
  read(): Promise<StoreSnapshot>;
  audit(): Promise<AuditRecord[]>;
  /** The audit chain (and its checkpoints) verified as `timebox audit verify` does. */
  verify(): Promise<{ ok: boolean; records: number; problem?: string }>;
  close(): Promise<void>;
}

/** LowdbStore's files in `dataDir`, read as StoreReader does. */
export function lowdbSource(dataDir: string): StoreSource {
  const reader = new StoreReader(dataDir);
  return {
    read: () => Promise.resolve(reader.read()),
    audit: () => Promise.resolve(readAudit(dataDir)),
    verify: () =>
      verifyAuditFile(path.join(dataDir, 'audit.jsonl'), { storeFile: path.join(dataDir, 'timebox.json') }),
    close: () => Promise.resolve(),
  };
}

/**
 * PostgresStore's tables (src/adapters/store/postgres/migrations.ts) read with plain SQL: each
 * request's document, the outbox, the audit records as written. One connection, reopened after
 * the database comes back.
 */
export function postgresSource(url: string): StoreSource {
  const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 2000 });
  // A connection the database's crash broke: the next query opens another.
  pool.on('error', () => undefined);
  return {
    async read() {
      const client = await pool.connect();
      try {
        // One snapshot for both tables: a commit writes the request and its outbox together.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const requests = await client.query<{ doc: AccessRequest }>('SELECT doc FROM requests');
        const effects = await client.query<StoredEffect>(
          'SELECT id, kind, request_id AS "requestId", lane FROM effects',
        );
        await client.query('COMMIT');
        return { requests: new Map(requests.rows.map((r) => [r.doc.id, r.doc])), effects: effects.rows };
      } finally {
        client.release();
      }
    },
    async audit() {
      const rows = await pool.query<{ record: string }>('SELECT record FROM audit ORDER BY seq');
      return rows.rows.map((r) => JSON.parse(r.record) as AuditRecord);
    },
    async verify() {
      const store = new PostgresStore(url, { readOnly: true });
      await store.open();
      try {
        return await verifyAuditRecords(store.readAudit(), store.readAuditCheckpoints());
      } finally {
        await store.close();
      }
    },
    close: () => pool.end(),
  };
}
