import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonlLines } from './jsonl-lines';
import type { RequestEvent } from '../../domain/request';
import type { AuditRecord } from '../../ports/store';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { canonicalJson, findDuplicateKey } from './canonical-json';
import {
  CHECKPOINT_FILE,
  DEFAULT_CHECKPOINT_EVERY,
  parseCheckpointLine,
  signCheckpoint,
  signedHeadProblem,
  unsignableLogError,
  type AuditKey,
  type Checkpoint,
  type CheckpointReason,
} from './audit-checkpoint';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The hash form records are written with now (the record's `v`): SHA-256 of the canonical JSON
 * (RFC 8785-style, see canonical-json.ts) of every field but `hash`, `v` included. Records
 * written before it have no `v` and their hash covers a fixed list of fields
 * (`legacyHashRecord`); they are still verified by that rule, but only before the first
 * record of this form: a record without `v` after one with it fails verification.
 */
export const AUDIT_RECORD_VERSION = 2;

/** Every field a record may have; verification refuses any other (the old hash form did not cover them). */
export const AUDIT_RECORD_KEYS: ReadonlySet<string> = new Set([
  'v',
  'seq',
  'at',
  'type',
  'requestId',
  'actor',
  'reason',
  'detail',
  'prevHash',
  'hash',
]);
const ACTOR_KEYS: ReadonlySet<string> = new Set(['id', 'name', 'upn']);
const HEX64 = /^[0-9a-f]{64}$/;

/** The hash of records without `v` (written before AUDIT_RECORD_VERSION): a fixed list of fields, nothing else. */
export function legacyHashRecord(record: Omit<AuditRecord, 'hash'>): string {
  const content = JSON.stringify([
    record.seq,
    record.at,
    record.type,
    record.requestId ?? null,
    record.actor ?? null,
    record.reason ?? null,
    record.detail ?? null,
    record.prevHash,
  ]);
  return createHash('sha256').update(content).digest('hex');
}

/** The hash a record must carry, by its `v`: the canonical form of all its fields, or the legacy rule for a record without `v`. */
export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  if (record.v === undefined) return legacyHashRecord(record);
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

export function toAuditRecord(event: RequestEvent, seq: number, prevHash: string): AuditRecord {
  const base: Omit<AuditRecord, 'hash'> = {
    v: AUDIT_RECORD_VERSION,
    seq,
    at: new Date(event.at).toISOString(),
    type: event.type,
    ...(event.requestId ? { requestId: event.requestId } : {}),
    ...(event.actor
      ? {
          actor: {
            id: event.actor.id,
            name: event.actor.name,
            ...(event.actor.upn ? { upn: event.actor.upn } : {}),
          },
        }
      : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.detail ? { detail: event.detail } : {}),
    prevHash,
  };
  // NB: hashed as it will be read back (undefined members dropped, dates as strings), so the
  // hash the writer computes is the one verification recomputes from the line.
  const written = JSON.parse(JSON.stringify(base)) as Omit<AuditRecord, 'hash'>;
  return { ...written, hash: hashRecord(written) };
}

export type ParsedAuditLine = { record: AuditRecord } | { problem: string; seq?: number };

/**
 * One line of audit.jsonl, strictly: valid JSON, no key twice (JSON.parse would keep the last
 * one silently), no field the log never writes (the legacy hash did not cover extra fields, so
 * an added `"approvedBy"` would have passed), and every field of its type. The problem says
 * what is wrong, for "record N (line L) …".
 */
export function parseAuditLine(text: string): ParsedAuditLine {
  if (!text.trim()) return { problem: 'is empty: a record was removed or the file was edited here' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'is not valid JSON' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { problem: 'is not an audit record (no seq, hash or prevHash)' };
  const r = value as Record<string, unknown>;
  const seq = Number.isSafeInteger(r.seq) ? (r.seq as number) : undefined;
  const at = seq !== undefined ? { seq } : {};
  if (seq === undefined || typeof r.hash !== 'string' || typeof r.prevHash !== 'string')
    return { problem: 'is not an audit record (no seq, hash or prevHash)' };
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined)
    return {
      problem: `has the key "${duplicate}" twice (a reader sees one value, JSON keeps the other): the line was edited`,
      ...at,
    };
  const unknown = Object.keys(r).filter((k) => !AUDIT_RECORD_KEYS.has(k));
  if (unknown.length)
    return {
      problem: `has a field the audit log never writes (${unknown.map((k) => JSON.stringify(k)).join(', ')}): the line was edited`,
      ...at,
    };
  const wrong = wrongField(r);
  if (wrong) return { problem: `has ${wrong}: the line was edited`, ...at };
  return { record: r as unknown as AuditRecord };
}

function wrongField(r: Record<string, unknown>): string | undefined {
  if (r.v !== undefined && !Number.isSafeInteger(r.v)) return 'a "v" that is not a version number';
  if ((r.seq as number) < 1) return 'a "seq" below 1';
  if (typeof r.at !== 'string' || Number.isNaN(Date.parse(r.at))) return 'no valid "at" time';
  if (typeof r.type !== 'string' || !r.type) return 'no "type"';
  if (r.requestId !== undefined && typeof r.requestId !== 'string')
    return 'a "requestId" that is not a string';
  if (r.reason !== undefined && typeof r.reason !== 'string') return 'a "reason" that is not a string';
  if (r.detail !== undefined && (!r.detail || typeof r.detail !== 'object' || Array.isArray(r.detail)))
    return 'a "detail" that is not an object';
  if (r.actor !== undefined) {
    const actor = r.actor as Record<string, unknown> | null;
    if (
      !actor ||
      typeof actor !== 'object' ||
      Array.isArray(actor) ||
      typeof actor.id !== 'string' ||
      typeof actor.name !== 'string' ||
      (actor.upn !== undefined && typeof actor.upn !== 'string')
    ) {
      return 'an "actor" without a string id and name';
    }
    const extra = Object.keys(actor).filter((k) => !ACTOR_KEYS.has(k));
    if (extra.length)
      return `an "actor" field the audit log never writes (${extra.map((k) => JSON.stringify(k)).join(', ')})`;
  }
  if (!HEX64.test(r.prevHash as string)) return 'a "prevHash" that is not 64 hex digits';
  if (!HEX64.test(r.hash as string)) return 'a "hash" that is not 64 hex digits';
  return undefined;
}

export interface AuditLogOptions {
  /** Signs a checkpoint of the head at least every `checkpointEvery` records and at `checkpoint('close')`; none without a key. */
  key?: AuditKey;
  checkpointEvery?: number;
  /** Default: audit-checkpoints.jsonl beside the log. */
  checkpointFile?: string;
  /** Time of a checkpoint (epoch ms). */
  now?: () => number;
  /** Told each checkpoint written (the bot logs it: a copy outside the data directory). */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
}

/**
 * The append-only, hash-chained audit file (JSONL). Each record carries `seq`; the store uses
 * it to append each queued event exactly once, even across a crash between its own write and
 * this append. With a key, the head is signed now and then (audit-checkpoints.jsonl).
 */
export class AuditLog {
  private lastSeq = 0;
  private lastHash = GENESIS_HASH;
  /** Seq of the last checkpoint signed with our key (0: none yet), and why it was written. */
  private checkpointedSeq = 0;
  private checkpointedReason?: CheckpointReason;
  /** Set once open() has checked the log against its last checkpoint: nothing is signed before (or after a failed open). */
  private opened = false;
  readonly checkpointFile: string;
  private readonly every: number;

  constructor(
    readonly file: string,
    private readonly options: AuditLogOptions = {},
  ) {
    this.checkpointFile = options.checkpointFile ?? path.join(path.dirname(file), CHECKPOINT_FILE);
    this.every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  }

  get seq(): number {
    return this.lastSeq;
  }

  /**
   * Reads the last record only (from the end of the file, so start-up does not grow with the
   * log); a torn last line (a crash mid-append) is cut, anything else corrupt stops us. With a
   * key, the last checkpoint too: a log that no longer reaches it, or holds another record at
   * its seq, or grew after a shutdown's checkpoint (nothing appends while the bot is stopped),
   * stops us as well — signing on would make the next checkpoint vouch for those records.
   */
  async open(): Promise<void> {
    const last = await readLastLine(this.file, 'audit log');
    if (last) {
      try {
        const record = JSON.parse(last) as AuditRecord;
        this.lastSeq = record.seq;
        this.lastHash = record.hash;
      } catch {
        throw new DomainError(
          ErrorCodes.STORE_CORRUPT,
          `The last record of the audit log ${this.file} is not valid JSON; run "timebox audit verify".`,
        );
      }
    }
    this.opened = false;
    if (this.options.key) await this.openCheckpoints(this.options.key);
    this.opened = true;
  }

  private async openCheckpoints(key: AuditKey): Promise<void> {
    const last = await readLastLine(this.checkpointFile, 'audit checkpoint file');
    const corrupt = (what: string) => unsignableLogError(this.file, what, 'the data directory');
    if (!last) {
      if (this.lastSeq > 0)
        process.emitWarning(
          `Timebox audit: ${this.checkpointFile} holds no checkpoint yet; the first one will vouch for the ${this.lastSeq} record(s) already in ${this.file}`,
        );
      return;
    }
    const parsed = parseCheckpointLine(last);
    if ('problem' in parsed)
      throw corrupt(`has a last checkpoint that ${parsed.problem} (${this.checkpointFile})`);
    const checkpoint = parsed.checkpoint;
    // Signed with another key (TIMEBOX_AUDIT_KEY was rotated): not checked; ours signs from now on.
    if (checkpoint.keyId === key.id) {
      const problem = signedHeadProblem(key, checkpoint, {
        seq: this.lastSeq,
        // Only the last record is read (start-up does not grow with the log): a rewritten record
        // at the signed seq shows when it is the head.
        rewritten: this.lastSeq === checkpoint.seq && this.lastHash !== checkpoint.hash,
      });
      if (problem) throw corrupt(problem);
      this.checkpointedSeq = checkpoint.seq;
      this.checkpointedReason = checkpoint.reason;
    }
    // The start is signed too: records after a shutdown's checkpoint are Timebox's only once an
    // `open` checkpoint follows it. Without it they would look forged, so a start that cannot
    // write it does not go on.
    this.opened = true;
    if (checkpoint.reason === 'close' && !(await this.checkpoint('open'))) {
      this.opened = false;
      throw new DomainError(
        ErrorCodes.STORE_WRITE_FAILED,
        `Timebox could not write the start checkpoint to ${this.checkpointFile}, so it did not start; free the disk and try again.`,
        {
          dir: path.dirname(this.file),
          cause: 'checkpoint',
        },
      );
    }
  }

  /** Appends events whose sequence numbers follow the last one written; earlier ones are skipped. */
  async append(events: Array<{ seq: number; event: RequestEvent }>): Promise<void> {
    const fresh = events.filter((e) => e.seq > this.lastSeq).sort((a, b) => a.seq - b.seq);
    if (fresh.length === 0) return;
    let prevHash = this.lastHash;
    const lines: string[] = [];
    for (const { seq, event } of fresh) {
      const record = toAuditRecord(event, seq, prevHash);
      lines.push(JSON.stringify(record));
      prevHash = record.hash;
    }
    await appendDurably(this.file, lines.join('\n') + '\n');
    this.lastSeq = fresh[fresh.length - 1]!.seq;
    this.lastHash = prevHash;
    if (this.lastSeq - this.checkpointedSeq >= this.every) await this.checkpoint('every');
  }

  /**
   * Signs the head into the checkpoint file. Nothing to do without a key or a record, nor when
   * the head is signed already — except that a shutdown (`close`) and a start (`open`) are
   * always signed once, even at a head signed before: they say the bot stopped or started
   * there. A failure is a warning (undefined), not the append's: the records are written, and
   * the next append tries again.
   */
  async checkpoint(reason: CheckpointReason): Promise<Checkpoint | undefined> {
    const key = this.options.key;
    if (!key || this.lastSeq === 0 || !this.opened) return undefined;
    if (this.lastSeq === this.checkpointedSeq && (reason === 'every' || reason === this.checkpointedReason))
      return undefined;
    const checkpoint = signCheckpoint(
      key,
      { seq: this.lastSeq, hash: this.lastHash },
      (this.options.now ?? Date.now)(),
      this.every,
      reason,
    );
    try {
      await appendDurably(this.checkpointFile, JSON.stringify(checkpoint) + '\n');
    } catch (error) {
      process.emitWarning(
        `Timebox audit: could not write a checkpoint to ${this.checkpointFile} (${(error as Error).message}); the next append tries again`,
      );
      return undefined;
    }
    this.checkpointedSeq = checkpoint.seq;
    this.checkpointedReason = reason;
    this.options.onCheckpoint?.(checkpoint);
    return checkpoint;
  }
}

/** Appends text and fsyncs; on failure (a full disk can take part of it) cuts the file back, so a retry appends whole lines. */
async function appendDurably(file: string, text: string): Promise<void> {
  const handle = await fs.open(file, 'a');
  try {
    const { size } = await handle.stat();
    try {
      await handle.write(text);
      await handle.sync();
    } catch (error) {
      await handle.truncate(size).catch(() => undefined);
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/**
 * The last complete line of a JSONL file (no file: undefined), cutting a torn last line (a crash
 * mid-append): it was never acknowledged — an audit event is still in the store's queue, and a
 * checkpoint is simply written again.
 */
async function readLastLine(file: string, what: string): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DomainError(
      ErrorCodes.STORE_CORRUPT,
      `Cannot read the ${what} ${file}: ${(error as Error).message}`,
    );
  }
  try {
    const { size } = await handle.stat();
    const tail = await lastLines(handle, size);
    if (tail.completeLength !== size) await handle.truncate(tail.completeLength);
    return tail.last;
  } finally {
    await handle.close();
  }
}

/**
 * The last complete line of a file and where the complete lines end, reading backwards in
 * growing chunks until a line break (or the start) bounds it.
 */
async function lastLines(
  handle: fs.FileHandle,
  size: number,
): Promise<{ last?: string; completeLength: number }> {
  let chunk = 64 * 1024;
  for (;;) {
    const start = Math.max(0, size - chunk);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const cut = buffer.lastIndexOf(10);
    if (cut < 0 && start > 0) {
      chunk *= 4;
      continue;
    }
    const completeLength = cut < 0 ? 0 : start + cut + 1;
    if (completeLength === 0) return { completeLength };
    const before = buffer.lastIndexOf(10, cut - 1);
    if (before < 0 && start > 0) {
      chunk *= 4;
      continue;
    }
    const last = buffer
      .subarray(before + 1, cut)
      .toString('utf8')
      .trim();
    return { last: last || undefined, completeLength };
  }
}

/** Reads every record of an audit file in order (no file = no records). */
export async function* readAuditFile(file: string): AsyncIterable<AuditRecord> {
  try {
    await fs.access(file);
  } catch {
    return;
  }
  for await (const line of readJsonlLines(file)) {
    if (line.trim()) yield JSON.parse(line) as AuditRecord;
  }
}
