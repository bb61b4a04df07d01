import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditRecord } from '../../ports/store';
import { GENESIS_HASH, hashRecord } from './audit-log';

export interface VerifyResult {
  ok: boolean;
  /** Records that verified before the first problem (all of them when ok). */
  records: number;
  /** Line (1-based) of the first record that breaks the chain. */
  line?: number;
  /** Sequence number of that record, when it could be read. */
  seq?: number;
  problem?: string;
  /** The last record that verified: what to write down as an anchor for the next check. */
  head?: { seq: number; hash: string };
}

export interface VerifyOptions {
  /**
   * The store's hot file (timebox.json). A hash chain cannot show records cut from its end; the
   * store numbers every event it commits, so a log that ends before the store's numbering does
   * is reported too.
   */
  storeFile?: string;
  /**
   * Records known from an earlier check ("seq:hash", e.g. from a previous `head`). Each must be
   * present with that hash: a log rewritten from scratch, or cut before the anchor, fails.
   */
  anchors?: Array<{ seq: number; hash: string }>;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Recomputes the chain: each record's hash must match its content, point at the hash of the
 * record before, and carry the next sequence number. An edit, deletion, insertion or
 * reordering breaks one of those at the first record it touches; that record is the one named.
 * The file is read line by line, so a large log is verified in constant memory.
 */
export async function verifyAuditFile(file: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  try {
    await fs.access(file);
  } catch (error) {
    return { ok: false, records: 0, problem: `cannot read it: ${(error as Error).message}` };
  }
  const anchors = new Map((options.anchors ?? []).map((a) => [a.seq, a.hash]));
  const input = createReadStream(file, 'utf8');
  const lines = createInterface({ input, crlfDelay: Infinity });
  let prevHash = GENESIS_HASH;
  let prevSeq: number | undefined;
  let count = 0;
  let line = 0;
  const fail = (problem: string, seq?: number): VerifyResult => {
    lines.close();
    input.destroy();
    return { ok: false, records: count, line, ...(seq !== undefined ? { seq } : {}), problem, ...(prevSeq !== undefined ? { head: { seq: prevSeq, hash: prevHash } } : {}) };
  };
  for await (const text of lines) {
    line++;
    let record: AuditRecord;
    try {
      record = JSON.parse(text) as AuditRecord;
    } catch {
      return fail(text.trim() ? `line ${line} is not valid JSON` : `line ${line} is empty: a record was removed or the file was edited here`);
    }
    if (!record || typeof record !== 'object' || !Number.isSafeInteger(record.seq) || typeof record.hash !== 'string' || typeof record.prevHash !== 'string') {
      return fail(`line ${line} is not an audit record (no seq, hash or prevHash)`);
    }
    const { hash, ...content } = record;
    if (!HEX64.test(hash) || hashRecord(content) !== hash) return fail(`record ${record.seq} (line ${line}) was changed: its hash does not match its content`, record.seq);
    if (record.prevHash !== prevHash) {
      return fail(`record ${record.seq} (line ${line}) does not follow the record before it: a record was removed, inserted or moved here`, record.seq);
    }
    if (prevSeq !== undefined && record.seq <= prevSeq) return fail(`record ${record.seq} (line ${line}) is out of order after ${prevSeq}`, record.seq);
    const anchored = anchors.get(record.seq);
    if (anchored !== undefined && anchored !== hash) return fail(`record ${record.seq} (line ${line}) is not the one anchored (${anchored.slice(0, 12)}…): the log was rewritten`, record.seq);
    anchors.delete(record.seq);
    prevHash = hash;
    prevSeq = record.seq;
    count++;
  }
  line++;
  const missingAnchor = [...anchors.keys()].sort((a, b) => a - b)[0];
  if (missingAnchor !== undefined) return fail(`record ${missingAnchor} (anchored) is missing: records were removed`);
  const expected = options.storeFile ? await lastWrittenSeq(options.storeFile) : undefined;
  if (expected !== undefined && (prevSeq ?? 0) < expected) {
    return fail(`the log ends at record ${prevSeq ?? 0}, but the store has written records up to ${expected}: records were removed from the end`);
  }
  return { ok: true, records: count, ...(prevSeq !== undefined ? { head: { seq: prevSeq, hash: prevHash } } : {}) };
}

/**
 * The highest sequence number the store has certainly appended: every event it numbered, except
 * those still queued in its hot file (appended, or about to be, on its next start).
 */
async function lastWrittenSeq(storeFile: string): Promise<number | undefined> {
  let state: { nextAuditSeq?: unknown; auditQueue?: Array<{ seq?: unknown }> };
  try {
    state = JSON.parse(await fs.readFile(storeFile, 'utf8')) as typeof state;
  } catch {
    return undefined;
  }
  if (typeof state.nextAuditSeq !== 'number') return undefined;
  const queued = (state.auditQueue ?? []).map((e) => e.seq).filter((s): s is number => typeof s === 'number');
  return (queued.length > 0 ? Math.min(...queued) : state.nextAuditSeq) - 1;
}

/** "12:ab34…" → { seq: 12, hash }; throws on anything else. */
export function parseAnchor(text: string): { seq: number; hash: string } {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not an anchor: use <seq>:<64 hex hash>, as printed by "timebox audit verify".`);
  return { seq: Number(match[1]), hash: match[2]! };
}
