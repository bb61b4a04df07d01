import { promises as fs } from 'node:fs';
import type { AuditRecord } from '../../ports/store';
import { GENESIS_HASH, hashRecord } from './audit-log';

export interface VerifyResult {
  ok: boolean;
  records: number;
  /** Line (1-based) of the first record that breaks the chain. */
  line?: number;
  problem?: string;
}

/**
 * Recomputes the chain: each record's hash must match its content, point at the hash of the
 * record before, and carry the next sequence number. An edit, deletion, insertion or
 * reordering breaks one of those at the first record it touches.
 */
export async function verifyAuditFile(file: string): Promise<VerifyResult> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, records: 0, problem: `cannot read it: ${(error as Error).message}` };
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prevHash = GENESIS_HASH;
  let prevSeq: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let record: AuditRecord;
    try {
      record = JSON.parse(lines[i]!) as AuditRecord;
    } catch {
      return { ok: false, records: i, line, problem: `line ${line} is not valid JSON` };
    }
    const { hash, ...content } = record;
    if (hashRecord(content) !== hash) return { ok: false, records: i, line, problem: `record ${record.seq} (line ${line}) was changed: its hash does not match its content` };
    if (record.prevHash !== prevHash) return { ok: false, records: i, line, problem: `record ${record.seq} (line ${line}) does not follow the record before it: a record was removed, inserted or moved here` };
    if (prevSeq !== undefined && record.seq <= prevSeq) return { ok: false, records: i, line, problem: `record ${record.seq} (line ${line}) is out of order after ${prevSeq}` };
    prevHash = hash;
    prevSeq = record.seq;
  }
  return { ok: true, records: lines.length };
}
