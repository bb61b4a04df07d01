import type { ClientBase, PoolClient } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations';

/**
 * The advisory lock key (two-int form: namespace, key) that migrations run under. Other keys of
 * this namespace are taken by the store (see QUEUE_LOCK_CLASS in outbox.ts).
 */
export const TIMEBOX_LOCK_CLASS = 0x74696d65; // "time"
const MIGRATION_LOCK_KEY = 0;

/**
 * Brings the schema to SCHEMA_VERSION in one transaction, under a transaction-level advisory
 * lock: replicas starting together queue on the lock, and each one after the first finds the
 * work done. A database newer than this code is refused (it would misread it), nothing changed.
 * Returns the versions applied.
 */
export async function migrate(
  client: ClientBase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const known = Math.max(SCHEMA_VERSION, ...migrations.map((m) => m.version));
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [TIMEBOX_LOCK_CLASS, MIGRATION_LOCK_KEY]);
    // Created here, not by a migration: it records which migrations ran.
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_version (
         version     integer PRIMARY KEY,
         name        text NOT NULL,
         applied_at  timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
    const current = rows[0]?.v ?? 0;
    if (current > known) throw tooNew(current, known);
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function tooNew(current: number, known: number): DomainError {
  return new DomainError(
    ErrorCodes.STORE_CORRUPT,
    `The database is at schema version ${current}, newer than this Timebox understands (up to ${known}): ` +
      'a newer Timebox migrated it. Run that version (or newer), or point DATABASE_URL at another database.',
    { schemaVersion: current, supported: known },
  );
}

/** The highest schema version applied; 0 for a database Timebox never migrated. Creates nothing. */
async function appliedVersion(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('schema_version') AS t");
  if (rows[0]?.t == null) return 0;
  const { rows: max } = await client.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM schema_version',
  );
  return max[0]?.v ?? 0;
}

/**
 * For a read-only store, which may not migrate: the schema must be exactly this code's.
 * Runs in the caller's (read-only) transaction; creates nothing.
 */
export async function checkSchema(client: PoolClient): Promise<void> {
  const current = await appliedVersion(client);
  if (current > SCHEMA_VERSION) throw tooNew(current, SCHEMA_VERSION);
  if (current < SCHEMA_VERSION) {
    throw new DomainError(
      ErrorCodes.STORE_CORRUPT,
      `The database is at schema version ${current}, older than this Timebox's (${SCHEMA_VERSION}), and a read-only ` +
        'command does not migrate it: start the bot (or run timebox db migrate) first.',
      { schemaVersion: current, supported: SCHEMA_VERSION },
    );
  }
}

/** Where a database's schema stands against this code (for `timebox db status`). */
export interface SchemaStatus {
  /** The highest version applied; 0 for a database Timebox never migrated. */
  current: number;
  /** The newest version this code knows. */
  known: number;
  /** Migrations `migrate` would apply, in order (none when the database is newer). */
  pending: Migration[];
}

/** Reads the schema's version without creating or locking anything (safe beside running bots). */
export async function schemaStatus(
  client: ClientBase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<SchemaStatus> {
  const known = Math.max(SCHEMA_VERSION, ...migrations.map((m) => m.version));
  const current = await appliedVersion(client);
  const pending = [...migrations].filter((m) => m.version > current).sort((a, b) => a.version - b.version);
  return { current, known, pending };
}

/** The message for a database newer than the code, as `migrate` refuses it. */
export const newerThanCode = (status: SchemaStatus): DomainError => tooNew(status.current, status.known);
