import type { Pool } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import type { PersonalChat } from '../../../ports/notifier';
import type { GroupBaseline } from '../../../ports/store';

/** The small keyed tables: chats, service URLs, baselines (versioned), named leases. */

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
