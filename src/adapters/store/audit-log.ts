import { createHash } from 'node:crypto';
import { promises as fs, createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RequestEvent } from '../../domain/request';
import type { AuditRecord } from '../../ports/store';
import { DomainError, ErrorCodes } from '../../domain/errors';

export const GENESIS_HASH = '0'.repeat(64);

/** The content a record's hash covers: everything but the hash itself, in a fixed key order. */
export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
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

export function toAuditRecord(event: RequestEvent, seq: number, prevHash: string): AuditRecord {
  const base: Omit<AuditRecord, 'hash'> = {
    seq,
    at: new Date(event.at).toISOString(),
    type: event.type,
    ...(event.requestId ? { requestId: event.requestId } : {}),
    ...(event.actor ? { actor: { id: event.actor.id, name: event.actor.name, ...(event.actor.upn ? { upn: event.actor.upn } : {}) } } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.detail ? { detail: event.detail } : {}),
    prevHash,
  };
  return { ...base, hash: hashRecord(base) };
}

/**
 * The append-only, hash-chained audit file (JSONL). Each record carries `seq`; the store uses
 * it to append each queued event exactly once, even across a crash between its own write and
 * this append.
 */
export class AuditLog {
  private lastSeq = 0;
  private lastHash = GENESIS_HASH;

  constructor(readonly file: string) {}

  get seq(): number {
    return this.lastSeq;
  }

  /**
   * Reads the last record only (from the end of the file, so start-up does not grow with the
   * log); a torn last line (a crash mid-append) is cut, anything else corrupt stops us.
   */
  async open(): Promise<void> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `Cannot read the audit log ${this.file}: ${(error as Error).message}`);
    }
    let last: string | undefined;
    try {
      const { size } = await handle.stat();
      const tail = await lastLines(handle, size);
      if (tail.completeLength !== size) {
        // NB: only an unterminated final line is cut: it was never acknowledged, and its event is
        // still in the store's audit queue, so it is written again.
        await handle.truncate(tail.completeLength);
      }
      last = tail.last;
    } finally {
      await handle.close();
    }
    if (!last) return;
    try {
      const record = JSON.parse(last) as AuditRecord;
      this.lastSeq = record.seq;
      this.lastHash = record.hash;
    } catch {
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `The last record of the audit log ${this.file} is not valid JSON; run "timebox audit verify".`);
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
    const handle = await fs.open(this.file, 'a');
    try {
      const { size } = await handle.stat();
      try {
        await handle.write(lines.join('\n') + '\n');
        await handle.sync();
      } catch (error) {
        // NB: a full disk can take part of the lines: cut them, so the retry (the events stay
        // queued) appends whole records and the chain stays readable.
        await handle.truncate(size).catch(() => undefined);
        throw error;
      }
    } finally {
      await handle.close();
    }
    this.lastSeq = fresh[fresh.length - 1]!.seq;
    this.lastHash = prevHash;
  }
}

/**
 * The last complete line of a file and where the complete lines end, reading backwards in
 * growing chunks until a line break (or the start) bounds it.
 */
async function lastLines(handle: fs.FileHandle, size: number): Promise<{ last?: string; completeLength: number }> {
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
    const last = buffer.subarray(before + 1, cut).toString('utf8').trim();
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
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim()) yield JSON.parse(line) as AuditRecord;
  }
}
