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

  /** Reads the tail; a torn last line (a crash mid-append) is cut, anything else corrupt stops us. */
  async open(): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `Cannot read the audit log ${this.file}: ${(error as Error).message}`);
    }
    if (!text) return;
    const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    if (complete.length !== text.length) {
      // NB: only an unterminated final line is cut: it was never acknowledged, and its event is
      // still in the store's audit queue, so it is written again below.
      await fs.truncate(this.file, Buffer.byteLength(complete));
    }
    const lines = complete.split('\n').filter(Boolean);
    const last = lines[lines.length - 1];
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
      await handle.write(lines.join('\n') + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.lastSeq = fresh[fresh.length - 1]!.seq;
    this.lastHash = prevHash;
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
