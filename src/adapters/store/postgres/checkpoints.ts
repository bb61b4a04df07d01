import type { ClientBase, Pool } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import type { AuditRecord } from '../../../ports/store';
import {
  parseCheckpointLine,
  signCheckpoint,
  signedHeadProblem,
  unsignableLogError,
  type AuditKey,
  type Checkpoint,
  type CheckpointReason,
} from '../audit-checkpoint';

/** How a PostgresStore signs its audit head (TIMEBOX_AUDIT_KEY): the LowdbStore's rules, on a table. */
export interface AuditSigning {
  key: AuditKey;
  /** At least one checkpoint every this many records. */
  every: number;
  now: () => number;
}

type Head = { seq: number; hash: string };

/**
 * Signs `head` into audit_checkpoints, inside the caller's transaction, which holds the
 * audit_head row lock: checkpoints are written in seq order, whichever replica writes them.
 */
export async function insertCheckpoint(
  db: ClientBase,
  signing: AuditSigning,
  head: Head,
  reason: CheckpointReason,
): Promise<Checkpoint> {
  const checkpoint = signCheckpoint(signing.key, head, signing.now(), signing.every, reason);
  await db.query('INSERT INTO audit_checkpoints (seq, checkpoint) VALUES ($1, $2)', [
    checkpoint.seq,
    JSON.stringify(checkpoint),
  ]);
  return checkpoint;
}

/** The last checkpoint our key signed, strictly parsed; STORE_CORRUPT when its row is not one. */
export async function lastSignedBy(db: ClientBase, key: AuditKey): Promise<Checkpoint | undefined> {
  const { rows } = await db.query<{ n: string; checkpoint: string }>(
    'SELECT n, checkpoint FROM audit_checkpoints WHERE key_id = $1 ORDER BY n DESC LIMIT 1',
    [key.id],
  );
  const row = rows[0];
  if (!row) return undefined;
  return parsedOrCorrupt(row.checkpoint, Number(row.n), 'n');
}

/**
 * Before records are appended (head locked): a shutdown's checkpoint is the last one signed, yet
 * this replica is running — one replica stopped while others go on — so a start checkpoint at
 * the same head says so first (the verifier refuses records after a `close` with no `open`).
 */
export async function resumeAfterClose(
  db: ClientBase,
  signing: AuditSigning,
  head: Head,
  last: Checkpoint | undefined,
): Promise<Checkpoint[]> {
  if (!last || last.reason !== 'close' || head.seq === 0) return [];
  return [await insertCheckpoint(db, signing, head, 'open')];
}

/** After records are appended (head locked): an interval checkpoint when the head is `every` past the last one signed. */
export async function signIfDue(
  db: ClientBase,
  signing: AuditSigning,
  head: Head,
  lastSeq: number,
): Promise<Checkpoint[]> {
  if (head.seq - lastSeq < signing.every) return [];
  return [await insertCheckpoint(db, signing, head, 'every')];
}

/**
 * At open (head locked), by the rules LowdbStore checks its file with (signedHeadProblem): our
 * last checkpoint must verify, and the chain must still hold the record it signed — read here
 * whatever the head; a database that fails this opens to nothing (the bot would otherwise sign
 * on over a rewritten log). Then a start checkpoint after a shutdown's.
 */
export async function openCheckpoints(
  db: ClientBase,
  signing: AuditSigning,
  head: Head,
  where: string,
): Promise<Checkpoint[]> {
  const last = await lastSignedBy(db, signing.key);
  if (!last) return [];
  const { rows } = await db.query<{ record: string }>('SELECT record FROM audit WHERE seq = $1', [last.seq]);
  const signedHash = rows[0] ? (JSON.parse(rows[0].record) as AuditRecord).hash : undefined;
  const problem = signedHeadProblem(signing.key, last, {
    seq: head.seq,
    rewritten: signedHash !== last.hash,
  });
  if (problem) throw unsignableLogError(`in ${where}`, problem, 'the database');
  return resumeAfterClose(db, signing, head, last);
}

const PAGE = 500;

/** The checkpoints in the order written, page by page; STORE_CORRUPT naming one that is not a checkpoint. */
export async function* readCheckpoints(db: Pool | ClientBase): AsyncIterable<Checkpoint> {
  let after = 0;
  // Named by position (as the verifier names them), not by n: a rolled-back insert leaves a gap in n.
  let position = 0;
  for (;;) {
    const { rows } = await db.query<{ n: string; checkpoint: string }>(
      'SELECT n, checkpoint FROM audit_checkpoints WHERE n > $1 ORDER BY n LIMIT $2',
      [after, PAGE],
    );
    for (const row of rows) {
      after = Number(row.n);
      yield parsedOrCorrupt(row.checkpoint, ++position);
    }
    if (rows.length < PAGE) return;
  }
}

function parsedOrCorrupt(text: string, n: number, by: 'position' | 'n' = 'position'): Checkpoint {
  const parsed = parseCheckpointLine(text);
  if ('problem' in parsed)
    throw new DomainError(
      ErrorCodes.STORE_CORRUPT,
      `${by === 'n' ? `The checkpoint of row n = ${n}` : `Checkpoint ${n}`} (table audit_checkpoints) ${parsed.problem}: the table was edited.`,
      { checkpoint: n },
    );
  return parsed.checkpoint;
}
