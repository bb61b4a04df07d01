import type { Pool, PoolClient } from 'pg';

type Queryable = Pool | PoolClient;
import { DomainError, ErrorCodes } from '../../../domain/errors';
import type { PersonalChat } from '../../../ports/notifier';
import type { Delegation } from '../../../domain/delegation';
import type {
  GroupBaseline,
  StoredDelegations,
  StoredSigningKey,
  StoredSigningKeys,
} from '../../../ports/store';

/** The small keyed tables: chats, service URLs, baselines, signing keys and delegations (versioned), named leases. */

export async function upsertChat(db: Pool, userId: string, chat: PersonalChat): Promise<void> {
  await db.query(
    `INSERT INTO personal_chats (user_id, chat) VALUES ($1, $2::jsonb)
     ON CONFLICT (user_id) DO UPDATE SET chat = EXCLUDED.chat`,
    [userId, JSON.stringify(chat)],
  );
}

export async function upsertServiceUrl(db: Pool, tenantId: string, serviceUrl: string): Promise<void> {
  await db.query(
    `INSERT INTO service_urls (tenant_id, service_url) VALUES ($1, $2)
     ON CONFLICT (tenant_id) DO UPDATE SET service_url = EXCLUDED.service_url`,
    [tenantId, serviceUrl],
  );
}

/**
 * Creates (expectedVersion null: the row must not exist) or replaces (the row must still be
 * at expectedVersion) a baseline, in one conditional statement; STORE_CONFLICT otherwise.
 */
export async function saveBaselineRow(
  db: Pool,
  baseline: GroupBaseline,
  expectedVersion: number | null,
): Promise<GroupBaseline> {
  const version = (expectedVersion ?? 0) + 1;
  const stored: GroupBaseline = { ...structuredClone(baseline), version };
  const params = [baseline.groupId.toLowerCase(), version, JSON.stringify(stored)];
  const { rowCount } =
    expectedVersion === null
      ? await db.query(
          `INSERT INTO baselines (group_id, version, doc) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (group_id) DO NOTHING`,
          params,
        )
      : await db.query(
          'UPDATE baselines SET version = $2, doc = $3::jsonb WHERE group_id = $1 AND version = $2 - 1',
          params,
        );
  if (rowCount !== 1) {
    throw new DomainError(
      ErrorCodes.STORE_CONFLICT,
      `The baseline of group ${baseline.groupId} changed meanwhile; read it again.`,
      { groupId: baseline.groupId },
    );
  }
  return stored;
}

export async function readSigningKeys(db: Queryable): Promise<StoredSigningKeys | undefined> {
  const { rows } = await db.query<{ version: number; keys: StoredSigningKey[] }>(
    'SELECT version, keys FROM signing_keys WHERE id',
  );
  return rows[0] && { keys: rows[0].keys, version: rows[0].version };
}

/**
 * The one row of signing keys, created (expectedVersion null) or replaced at expectedVersion in
 * one conditional statement, as baselines: of two replicas saving at once, one row count is 1.
 */
export async function saveSigningKeysRow(
  db: Pool,
  keys: StoredSigningKey[],
  expectedVersion: number | null,
): Promise<StoredSigningKeys> {
  const version = (expectedVersion ?? 0) + 1;
  const params = [version, JSON.stringify(keys)];
  const { rowCount } =
    expectedVersion === null
      ? await db.query(
          'INSERT INTO signing_keys (id, version, keys) VALUES (true, $1, $2::jsonb) ON CONFLICT (id) DO NOTHING',
          params,
        )
      : await db.query(
          'UPDATE signing_keys SET version = $1, keys = $2::jsonb WHERE id AND version = $1 - 1',
          params,
        );
  if (rowCount !== 1) {
    throw new DomainError(
      ErrorCodes.STORE_CONFLICT,
      'The approval-token signing keys changed meanwhile; read them again.',
      { expectedVersion },
    );
  }
  return { keys: structuredClone(keys), version };
}

export async function readDelegations(db: Queryable): Promise<StoredDelegations | undefined> {
  const { rows } = await db.query<{ version: number; delegations: Delegation[] }>(
    'SELECT version, delegations FROM delegations WHERE id',
  );
  return rows[0] && { delegations: rows[0].delegations, version: rows[0].version };
}

/** The one row of delegations, created or replaced at expectedVersion in one conditional statement, as the signing keys. */
export async function saveDelegationsRow(
  db: Pool,
  delegations: Delegation[],
  expectedVersion: number | null,
): Promise<StoredDelegations> {
  const version = (expectedVersion ?? 0) + 1;
  const params = [version, JSON.stringify(delegations)];
  const { rowCount } =
    expectedVersion === null
      ? await db.query(
          'INSERT INTO delegations (id, version, delegations) VALUES (true, $1, $2::jsonb) ON CONFLICT (id) DO NOTHING',
          params,
        )
      : await db.query(
          'UPDATE delegations SET version = $1, delegations = $2::jsonb WHERE id AND version = $1 - 1',
          params,
        );
  if (rowCount !== 1) {
    throw new DomainError(ErrorCodes.STORE_CONFLICT, 'The delegations changed meanwhile; read them again.', {
      expectedVersion,
    });
  }
  return { delegations: structuredClone(delegations), version };
}

/** One row per lease name, taken when absent, expired or already `owner`'s: one atomic upsert. */
export async function takeNamedLease(
  db: Pool,
  name: string,
  owner: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO named_leases (name, owner, until) VALUES ($1, $2, $3::bigint + $4::bigint)
     ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
     WHERE named_leases.owner = EXCLUDED.owner OR named_leases.until <= $3`,
    [name, owner, now, ttlMs],
  );
  return rowCount === 1;
}

export async function dropNamedLease(db: Pool, name: string, owner: string): Promise<void> {
  await db.query('DELETE FROM named_leases WHERE name = $1 AND owner = $2', [name, owner]);
}
