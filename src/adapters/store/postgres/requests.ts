import type { ClientBase } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import { isClosed, type AccessRequest } from '../../../domain/request';
import type { Commit } from '../../../ports/store';
import type { Checkpoint } from '../audit-checkpoint';
import { copyIn } from '../store-core';
import { appendToChain } from './audit';
import type { AuditSigning } from './checkpoints';
import * as outbox from './outbox';

function conflict(id: string): DomainError {
  return new DomainError(ErrorCodes.REQUEST_CONFLICT, `Request ${id} changed meanwhile; try again.`);
}

/**
 * One commit inside the caller's transaction: the request (conditional on its version), the
 * completed effects (each under its lease token), the new effects and the audit events. Any
 * refusal throws, and the caller rolls everything back. The partial unique index
 * requests_one_open refuses a second open request of one person and group (a 23505 the store
 * maps to REQUEST_OPEN_EXISTS); an id already taken is a conflict, checked first (ON CONFLICT
 * (id) DO NOTHING), as the other stores do.
 */
export async function commitRequest(
  db: ClientBase,
  change: Commit,
  signing?: AuditSigning,
  signed: Checkpoint[] = [],
): Promise<AccessRequest> {
  const { request } = change;
  const version = (change.expectedVersion ?? 0) + 1;
  const stored: AccessRequest = { ...copyIn(request), version };
  const closed = isClosed(stored.status);
  const dueAt =
    closed || change.dueAt === null || change.dueAt === undefined || !Number.isFinite(change.dueAt)
      ? null
      : change.dueAt;
  const columns = [
    stored.id,
    stored.status,
    !closed,
    stored.requester.id.toLowerCase(),
    stored.group.alias.toLowerCase(),
    stored.group.id.toLowerCase(),
    stored.createdAt,
    stored.updatedAt,
    dueAt,
    version,
    JSON.stringify(stored),
  ];
  if (change.expectedVersion === null) {
    const { rowCount } = await db.query(
      `INSERT INTO requests (id, status, is_open, requester_id, group_alias, group_id, created_at, updated_at, due_at, version, doc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
       ON CONFLICT (id) DO NOTHING`,
      columns,
    );
    if (rowCount !== 1) throw conflict(stored.id);
  } else {
    // Absent dueAt = unchanged ($12), except that a closed request is never due.
    const { rowCount } = await db.query(
      `UPDATE requests SET status = $2, is_open = $3, requester_id = $4, group_alias = $5, group_id = $6,
         created_at = $7, updated_at = $8, due_at = CASE WHEN $12 AND $3 THEN due_at ELSE $9 END,
         version = $10, doc = $11::jsonb
       WHERE id = $1 AND version = $10 - 1`,
      [...columns, change.dueAt === undefined],
    );
    if (rowCount !== 1) throw conflict(stored.id);
  }
  for (const c of change.completedEffects ?? []) await outbox.complete(db, c.id, c.token);
  await outbox.completeUnchecked(db, change.completedEffectIds ?? []);
  await outbox.insertEffects(db, stored.id, stored.updatedAt, change.effects ?? []);
  signed.push(...(await appendToChain(db, change.events, signing)));
  return stored;
}
