import type { ClientBase, Pool } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import type { RequestEvent } from '../../../domain/request';
import type { AuditRecord } from '../../../ports/store';
import type { Checkpoint } from '../audit-checkpoint';
import { toAuditRecord } from '../audit-log';
import { lastSignedBy, resumeAfterClose, signIfDue, type AuditSigning } from './checkpoints';

/**
 * Appends events to the chain inside the caller's transaction. The head row is locked (FOR
 * UPDATE) first: concurrent appenders, on any replica, extend the chain one after the other,
 * each from the head the previous one committed — no gap, no fork. The records are built by
 * the lowdb audit log's own `toAuditRecord`, so they hash and verify the same way.
 */
export async function appendToChain(
  db: ClientBase,
  events: readonly RequestEvent[],
  signing?: AuditSigning,
): Promise<Checkpoint[]> {
  if (events.length === 0) return [];
  const { rows } = await db.query<{ seq: string; hash: string }>(
    'SELECT seq, hash FROM audit_head FOR UPDATE',
  );
  const head = rows[0];
  if (!head)
    throw new DomainError(ErrorCodes.STORE_CORRUPT, 'The audit chain head (table audit_head) is missing.');
  let seq = Number(head.seq);
  let prevHash = head.hash;
  // With a key: checkpoints in the same transaction, under the same lock, as the records they sign.
  const last = signing && (await lastSignedBy(db, signing.key));
  const signed = signing ? await resumeAfterClose(db, signing, { seq, hash: prevHash }, last) : [];
  const records = events.map((event) => {
    const record = toAuditRecord(event, ++seq, prevHash);
    prevHash = record.hash;
    return record;
  });
  await db.query('INSERT INTO audit (seq, record) SELECT * FROM unnest($1::bigint[], $2::text[])', [
    records.map((r) => r.seq),
    records.map((r) => JSON.stringify(r)),
  ]);
  await db.query('UPDATE audit_head SET seq = $1, hash = $2', [seq, prevHash]);
  if (signing) signed.push(...(await signIfDue(db, signing, { seq, hash: prevHash }, last?.seq ?? 0)));
  return signed;
}

const PAGE = 500;

/** The records in seq order, page by page (keyset: each page after the last seq read). */
export async function* readChain(db: Pool | ClientBase): AsyncIterable<AuditRecord> {
  let after = 0;
  for (;;) {
    const { rows } = await db.query<{ seq: string; record: string }>(
      'SELECT seq, record FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2',
      [after, PAGE],
    );
    for (const row of rows) {
      let record: AuditRecord;
      try {
        record = JSON.parse(row.record) as AuditRecord;
      } catch {
        throw new DomainError(
          ErrorCodes.STORE_CORRUPT,
          `Audit record ${row.seq} (table audit) is not JSON.`,
          {
            seq: Number(row.seq),
          },
        );
      }
      yield record;
      after = Number(row.seq);
    }
    if (rows.length < PAGE) return;
  }
}
