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
  lease_pid: number | null;
  lease_server: string | null;
}

/** The claim order of the port: directory.remove, other directory work, Teams work. */
const rankOf = (e: QueuedEffect): number =>
  e.kind === 'directory.remove' ? 0 : e.lane === 'directory' ? 1 : 2;
const ranksOf = (lanes?: EffectLane[]): number[] =>
  [0, 1, 2].filter((rank) => !lanes || lanes.includes(rank < 2 ? 'directory' : 'teams'));

/** A row is a queue head when no effect of its queue comes before it. */
const IS_HEAD = 'NOT EXISTS (SELECT 1 FROM effects p WHERE p.queue = e.queue AND p.seq < e.seq)';

/**
 * The lease's holder is provably gone: its long-lived connection (lease_pid, the holder's
 * change feed) was open under this very server start and is not any more. A replica's process
 * that dies takes its connections with it (the kernel closes the sockets; the backends exit at
 * once), so another replica may take its effects now instead of when the lease runs out: after
 * a kill, the effect is finished within the 5 s overstay bound even when Graph throttles it
 * (product contract §10). A server restart since the lease (lease_server differs) proves
 * nothing, since every connection is new then: the lease's end decides. A holder without such
 * a connection (lease_pid NULL: no change feed) is only ever judged by its lease's end. `$pid`
 * is the claimer's own feed pid (never gone for itself).
 * NB: a holder whose feed connection breaks while the server and the holder live on is taken
 * for dead too; an effect it is running may then run twice at once. Every effect is
 * idempotent, and the first run's completion is refused (its token was replaced).
 */
const ownerGone = (pid: string) =>
  `(e.lease_pid IS NOT NULL AND e.lease_pid IS DISTINCT FROM ${pid}
    AND e.lease_server = pg_postmaster_start_time()
    AND e.lease_pid NOT IN (SELECT s.pid FROM pg_stat_get_activity(NULL) s WHERE s.pid IS NOT NULL))`;

/** Who holds a lease just taken or renewed: the holder's feed pid, seen under this server start. */
const holderColumns = (pid: string) =>
  `lease_pid = ${pid}, lease_server = CASE WHEN ${pid} IS NULL THEN NULL ELSE pg_postmaster_start_time() END`;

/** While another live replica holds a head, the claimers look again this often (a death tells nobody). */
export const LEASE_POLL_MS = 500;

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
  pid?: number,
): Promise<ClaimedEffect[]> {
  const { rows } = await db.query<EffectRow>(
    `WITH picked AS (
       SELECT e.id FROM effects e
       WHERE e.rank = ANY($4::smallint[]) AND e.not_before <= $2
         AND (e.lease_owner IS NULL OR e.lease_owner = $1 OR e.lease_until <= $2 OR ${ownerGone('$6::int')})
         AND ${IS_HEAD}
       ORDER BY e.rank, e.not_before, e.seq
       LIMIT $5
       FOR UPDATE OF e SKIP LOCKED
     )
     UPDATE effects e SET
       lease_token = CASE WHEN e.lease_owner = $1 THEN e.lease_token ELSE gen_random_uuid()::text END,
       lease_until = CASE WHEN e.lease_owner = $1 THEN greatest(e.lease_until, $2::bigint + $3::bigint) ELSE $2::bigint + $3::bigint END,
       lease_owner = $1,
       ${holderColumns('$6::int')}
     FROM picked WHERE e.id = picked.id
     RETURNING e.*`,
    [owner, now, leaseMs, ranksOf(lanes), limit, pid ?? null],
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
export async function renew(db: Db, id: string, token: string, until: number, pid?: number): Promise<void> {
  // The holder's pid too: after its feed reconnected, its leases name the new connection.
  const { rowCount } = await db.query(
    `UPDATE effects SET lease_until = $3, ${holderColumns('$4::int')} WHERE id = $1 AND lease_token = $2`,
    [id, token, until, pid ?? null],
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
       lease_owner = NULL, lease_token = NULL, lease_until = NULL, lease_pid = NULL, lease_server = NULL
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
 * end of its lease, whichever is later; a head whose holder is gone (ownerGone) at its
 * notBefore; a head another live replica holds by LEASE_POLL_MS from `now` at the latest, since
 * nothing tells the others when that replica dies.
 */
export async function nextClaimableAt(db: Db, now: number, pid?: number): Promise<number | undefined> {
  const { rows } = await db.query<{ at: string | null }>(
    `SELECT min(CASE
       WHEN e.lease_until IS NULL THEN e.not_before
       WHEN ${ownerGone('$2::int')} THEN e.not_before
       WHEN e.lease_pid IS NOT NULL AND e.lease_pid IS DISTINCT FROM $2::int
         AND e.lease_server = pg_postmaster_start_time()
         THEN greatest(e.not_before, least(e.lease_until, $1::bigint + ${LEASE_POLL_MS}))
       ELSE greatest(e.not_before, e.lease_until) END) AS at
     FROM effects e WHERE ${IS_HEAD}`,
    [now, pid ?? null],
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
