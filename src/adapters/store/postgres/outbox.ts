import type { ClientBase, Pool } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import type { ClaimedEffect, Effect, EffectLane, QueuedEffect } from '../../../ports/store';
import { frozen } from '../store-core';
import { TIMEBOX_LOCK_CLASS } from './migrate';

/** Advisory-lock namespace of queue inserts (key: hashtext(queue)); see `insertEffects`. */
const QUEUE_LOCK_CLASS = TIMEBOX_LOCK_CLASS + 1;

type Db = Pool | ClientBase;

export interface EffectRow {
  id: string;
  request_id: string;
  lane: EffectLane;
  queue: string;
  kind: Effect['kind'];
  template: string | null;
  data: Record<string, unknown> | null;
  seq: string;
  rank: number;
  attempts: number;
  not_before: string;
  created_at: string;
  last_error: string | null;
  lease_owner: string | null;
  lease_token: string | null;
  lease_until: string | null;
}

/** The claim order of the port: directory.remove, other directory work, Teams work. */
const rankOf = (e: QueuedEffect): number =>
  e.kind === 'directory.remove' ? 0 : e.lane === 'directory' ? 1 : 2;
const ranksOf = (lanes?: EffectLane[]): number[] =>
  [0, 1, 2].filter((rank) => !lanes || lanes.includes(rank < 2 ? 'directory' : 'teams'));

/** A row is a queue head when no effect of its queue comes before it. */
const IS_HEAD = 'NOT EXISTS (SELECT 1 FROM effects p WHERE p.queue = e.queue AND p.seq < e.seq)';

export function toEffect(row: EffectRow): Effect {
  const effect: Effect = {
    kind: row.kind,
    lane: row.lane,
    queue: row.queue,
    id: row.id,
    requestId: row.request_id,
    seq: Number(row.seq),
    attempts: row.attempts,
    notBefore: Number(row.not_before),
    createdAt: Number(row.created_at),
  };
  if (row.template !== null) effect.template = row.template;
  if (row.data !== null) effect.data = row.data;
  if (row.last_error !== null) effect.lastError = row.last_error;
  return effect;
}

/**
 * Adds a commit's effects. NB: seq is the queue order, so within one queue it must follow
 * commit order, or an effect committed later with a lower seq would become the head of a queue
 * whose later effect already runs. A transaction-level advisory lock per queue (in a fixed
 * order: no deadlock between two commits) holds off other inserts into that queue until this
 * transaction ends, so seqs are taken in commit order per queue.
 */
export async function insertEffects(
  db: ClientBase,
  requestId: string,
  now: number,
  effects: readonly QueuedEffect[],
): Promise<void> {
  if (effects.length === 0) return;
  for (const queue of [...new Set(effects.map((e) => e.queue))].sort())
    await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [QUEUE_LOCK_CLASS, queue]);
  const { rows } = await db.query<{ seq: string }>(
    "SELECT nextval('effect_seq') AS seq FROM generate_series(1, $1::int)",
    [effects.length],
  );
  const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
  await db.query(
    `INSERT INTO effects (id, request_id, lane, queue, rank, kind, template, data, seq, not_before, created_at)
     SELECT $1 || ':' || s.seq, $1, s.lane, s.queue, s.rank, s.kind, s.template, s.data, s.seq, $2, $2
     FROM unnest($3::bigint[], $4::text[], $5::text[], $6::smallint[], $7::text[], $8::text[], $9::jsonb[])
       AS s(seq, lane, queue, rank, kind, template, data)`,
    [
      requestId,
      now,
      seqs,
      effects.map((e) => e.lane),
      effects.map((e) => e.queue),
      effects.map(rankOf),
      effects.map((e) => e.kind),
      effects.map((e) => e.template ?? null),
      effects.map((e) => (e.data === undefined ? null : JSON.stringify(e.data))),
    ],
  );
}

/**
 * Leases due queue heads. FOR UPDATE SKIP LOCKED: a head another claim is leasing right now is
 * passed over, not waited for; a head leased meanwhile is re-checked by PostgreSQL on its new
 * row (its lease then belongs to another owner and is not expired), so two owners never get
 * one effect. A head `owner` holds already keeps its token and gets the later end.
 */
export async function claimHeads(
  db: Db,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
  lanes?: EffectLane[],
): Promise<ClaimedEffect[]> {
  const { rows } = await db.query<EffectRow>(
    `WITH picked AS (
       SELECT e.id FROM effects e
       WHERE e.rank = ANY($4::smallint[]) AND e.not_before <= $2
         AND (e.lease_owner IS NULL OR e.lease_owner = $1 OR e.lease_until <= $2)
         AND ${IS_HEAD}
       ORDER BY e.rank, e.not_before, e.seq
       LIMIT $5
       FOR UPDATE OF e SKIP LOCKED
     )
     UPDATE effects e SET
       lease_token = CASE WHEN e.lease_owner = $1 THEN e.lease_token ELSE gen_random_uuid()::text END,
       lease_until = CASE WHEN e.lease_owner = $1 THEN greatest(e.lease_until, $2::bigint + $3::bigint) ELSE $2::bigint + $3::bigint END,
       lease_owner = $1
     FROM picked WHERE e.id = picked.id
     RETURNING e.*`,
    [owner, now, leaseMs, ranksOf(lanes), limit],
  );
  // RETURNING keeps no order: back to the claim order.
  rows.sort(
    (a, b) => a.rank - b.rank || Number(a.not_before) - Number(b.not_before) || Number(a.seq) - Number(b.seq),
  );
  return rows.map((row) => ({
    ...toEffect(row),
    lease: { owner, token: row.lease_token!, until: Number(row.lease_until) },
  }));
}

function leaseLost(id: string): DomainError {
  return new DomainError(
    ErrorCodes.STORE_LEASE_LOST,
    `Effect ${id} is leased to another worker now, or no longer in the outbox.`,
    {
      effectId: id,
    },
  );
}

/**
 * The lease checks: the token must still be the effect's, whatever `until` says (a lease past
 * its end holds until another owner claims, which replaces the token).
 */
export async function renew(db: Db, id: string, token: string, until: number): Promise<void> {
  const { rowCount } = await db.query(
    'UPDATE effects SET lease_until = $3 WHERE id = $1 AND lease_token = $2',
    [id, token, until],
  );
  if (rowCount !== 1) throw leaseLost(id);
}

/** Records a failed attempt and frees the lease. */
export async function retry(
  db: Db,
  id: string,
  token: string,
  notBefore: number,
  error: string,
): Promise<void> {
  const { rowCount } = await db.query(
    `UPDATE effects SET attempts = attempts + 1, not_before = $3, last_error = $4,
       lease_owner = NULL, lease_token = NULL, lease_until = NULL
     WHERE id = $1 AND lease_token = $2`,
    [id, token, notBefore, error.slice(0, 500)],
  );
  if (rowCount !== 1) throw leaseLost(id);
}

export async function complete(db: Db, id: string, token: string): Promise<void> {
  const { rowCount } = await db.query('DELETE FROM effects WHERE id = $1 AND lease_token = $2', [id, token]);
  if (rowCount !== 1) throw leaseLost(id);
}

/** Deprecated completions without a lease check (Commit.completedEffectIds). */
export async function completeUnchecked(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length) await db.query('DELETE FROM effects WHERE id = ANY($1::text[])', [ids]);
}

/**
 * When the next head becomes claimable: the earliest, over queue heads, of its notBefore or the
 * end of its lease, whichever is later.
 */
export async function nextClaimableAt(db: Db): Promise<number | undefined> {
  const { rows } = await db.query<{ at: string | null }>(
    `SELECT min(greatest(e.not_before, coalesce(e.lease_until, e.not_before))) AS at FROM effects e WHERE ${IS_HEAD}`,
  );
  const at = rows[0]?.at;
  return at === null || at === undefined ? undefined : Number(at);
}

export async function listAll(db: Db, requestId?: string): Promise<Effect[]> {
  const { rows } =
    requestId === undefined
      ? await db.query<EffectRow>('SELECT * FROM effects ORDER BY seq')
      : await db.query<EffectRow>('SELECT * FROM effects WHERE request_id = $1 ORDER BY seq', [requestId]);
  return rows.map((row) => frozen(toEffect(row)));
}

/** Due queue heads in claim order, leases ignored, nothing locked: what a read-only store may "claim". */
export async function dueHeads(db: Db, now: number, lanes?: EffectLane[]): Promise<Effect[]> {
  const { rows } = await db.query<EffectRow>(
    `SELECT e.* FROM effects e
     WHERE e.rank = ANY($2::smallint[]) AND e.not_before <= $1 AND ${IS_HEAD}
     ORDER BY e.rank, e.not_before, e.seq`,
    [now, ranksOf(lanes)],
  );
  return rows.map(toEffect);
}
