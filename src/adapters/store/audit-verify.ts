import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { AuditCheckpoint, AuditRecord } from '../../ports/store';
import { readJsonlLines } from './jsonl-lines';
import { AUDIT_RECORD_VERSION, GENESIS_HASH, hashRecord, parseAuditLine } from './audit-log';
import {
  CHECKPOINT_FILE,
  DEFAULT_CHECKPOINT_EVERY,
  checkpointFileLines,
  checkpointSignedBy,
  parseCheckpointLine,
  type AuditKey,
  type Checkpoint,
} from './audit-checkpoint';

export interface VerifyResult {
  ok: boolean;
  /** Records that verified before the first problem (all of them when ok). */
  records: number;
  /** Line (1-based) of the first record that breaks the chain. */
  line?: number;
  /** Sequence number of that record, when it could be read. */
  seq?: number;
  problem?: string;
  /**
   * The last record that verified: what to write down as an anchor for the next check. When
   * the problem is an unsigned tail, the last record a signature vouches for.
   */
  head?: { seq: number; hash: string };
  /** What the signed checkpoints said (see VerifyOptions.keys). */
  signatures: SignatureReport;
}

export interface SignatureReport {
  /** False without a key: the chain alone was checked, which anyone who can write the file can recompute. */
  checked: boolean;
  /** Lines in the checkpoint file. */
  checkpoints: number;
  /** Checkpoints whose signature a given key verified. */
  verified: number;
  /** Checkpoints signed by a key that was not given (before a rotation): not checked, vouch for nothing. */
  otherKeys: number;
  /** The last verified checkpoint. */
  last?: { seq: number; hash: string; at: string; reason: Checkpoint['reason'] };
  /** Records after the last verified checkpoint (all of them when there is none): no signature covers them. */
  unsignedTail: number;
  /** The most records the bot leaves after a checkpoint (its interval, from the last checkpoint). */
  every: number;
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
  /**
   * Keys to check the signed checkpoints with (TIMEBOX_AUDIT_KEY, and old ones after a
   * rotation). Given: every checkpoint signed by one of them must verify, name a record the log
   * holds with that hash, and the records after the last one must be fewer than the bot's
   * interval. Not given: the checkpoints are not read.
   */
  keys?: AuditKey[];
  /** Default: audit-checkpoints.jsonl beside the log. */
  checkpointFile?: string;
  /** With keys: also fail when any record follows the last checkpoint (a cleanly stopped bot leaves none). */
  strict?: boolean;
  /** The interval assumed when no checkpoint verified (default 100, the bot's default). */
  checkpointEvery?: number;
}

/** How problems name the places of a log: "line 5" of a file, or what a store says of its own. */
export interface AuditNames {
  /** The nth record (1-based, in log order): "line 5". */
  record(n: number): string;
  /** The checkpoints as a whole: "audit-checkpoints.jsonl". */
  checkpoints: string;
  /** The nth checkpoint: "audit-checkpoints.jsonl line 2". */
  checkpoint(n: number): string;
}

/** The names of a JSONL audit file and its checkpoint file (what LowdbStore's records and checkpoints are, one per line). */
export function fileNames(checkpointFile: string): AuditNames {
  const name = path.basename(checkpointFile);
  return { record: (n) => `line ${n}`, checkpoints: name, checkpoint: (n) => `${name} line ${n}` };
}

/** What verifyAuditRecords checks besides the chain (VerifyOptions less the files). */
export interface VerifyRecordsOptions extends Omit<VerifyOptions, 'storeFile' | 'checkpointFile'> {
  /** The highest seq the store has certainly written: a log that ends before it was cut (from VerifyOptions.storeFile). */
  writtenSeq?: number;
  /** Default: fileNames(audit-checkpoints.jsonl). */
  names?: AuditNames;
}

/**
 * Recomputes the chain of an audit file (see verifyAuditRecords), with the signed checkpoints
 * of `options.checkpointFile` (default: beside it) and the store's numbering from
 * `options.storeFile`. Each line is parsed strictly, so a duplicate key is caught too. The file
 * is read line by line, so a large log is verified in constant memory; nothing is written.
 */
export async function verifyAuditFile(file: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const checkpointFile = options.checkpointFile ?? path.join(path.dirname(file), CHECKPOINT_FILE);
  try {
    await fs.access(file);
  } catch (error) {
    return {
      ok: false,
      records: 0,
      problem: `cannot read it: ${(error as Error).message}`,
      signatures: newReport(options),
    };
  }
  // NB: the store's numbering before the log: next to a running bot, the log read after it can only be longer.
  const writtenSeq = options.storeFile ? await lastWrittenSeq(options.storeFile) : undefined;
  const { storeFile: _storeFile, checkpointFile: _checkpointFile, ...rest } = options;
  return verifyAuditRecords(readJsonlLines(file), checkpointLinesOf(checkpointFile), {
    ...rest,
    writtenSeq,
    names: fileNames(checkpointFile),
  });
}

/** The lines of a checkpoint file, as verifyAuditRecords takes them (a torn last one left out); a file that cannot be read throws "cannot read …". */
export async function* checkpointLinesOf(file: string): AsyncGenerator<string> {
  let lines: string[];
  try {
    lines = await checkpointFileLines(file);
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  yield* lines;
}

function newReport(options: { keys?: AuditKey[]; checkpointEvery?: number }): SignatureReport {
  return {
    checked: (options.keys ?? []).length > 0,
    checkpoints: 0,
    verified: 0,
    otherKeys: 0,
    unsignedTail: 0,
    every: options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
  };
}

/** A source's error as a problem ("…: records were removed from the end"), without its final full stop. */
const problemOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');

/**
 * Recomputes the chain: each record (a raw line, or a record as a store read it, e.g.
 * `Store.readAudit()`) must parse strictly (no unknown keys, every field of its type; a raw line
 * also no duplicate key), its hash must match its content, point at the hash of the record
 * before, and carry the next sequence number. An edit, deletion, insertion or reordering breaks
 * one of those at the first record it touches; that record is the one named. A chain alone has
 * no secret (anyone can recompute it after an edit), so with `keys` the signed `checkpoints`
 * (read whole, first: `Store.readAuditCheckpoints()` or a file's lines) are checked too: a
 * rewrite changes a signed hash, a cut ends the log before a checkpoint, a forged tail is longer
 * than the bot ever leaves unsigned. A source that throws (a store that cannot read a record,
 * or finds its log cut) is the problem reported. Records are consumed one at a time: constant
 * memory whatever the log's length.
 */
export async function verifyAuditRecords(
  records: AsyncIterable<AuditRecord | string>,
  checkpoints: AsyncIterable<AuditCheckpoint | string>,
  options: VerifyRecordsOptions = {},
): Promise<VerifyResult> {
  const keys = options.keys ?? [];
  const names = options.names ?? fileNames(CHECKPOINT_FILE);
  const signatures = newReport(options);
  const signed = await readCheckpoints(checkpoints, keys, signatures, names);
  if ('problem' in signed) return { ok: false, records: 0, problem: signed.problem, signatures };
  if (signatures.checked && signatures.checkpoints > 0 && signatures.verified === 0) {
    // NB: a failure, not "nothing to check": a wrong key (or a new key the bot has not signed with yet) proves nothing.
    return {
      ok: false,
      records: 0,
      problem: `none of the ${signatures.checkpoints} checkpoint(s) in ${names.checkpoints} is signed with the given key (they name key id(s) ${[...signed.otherIds].join(', ')}): give the key that signed them`,
      signatures,
    };
  }
  const pending = signed.bySeq;

  const anchors = new Map((options.anchors ?? []).map((a) => [a.seq, a.hash]));
  let prevHash = GENESIS_HASH;
  let prevSeq: number | undefined;
  let sawVersioned = false;
  let count = 0;
  let line = 0;
  const fail = (
    problem: string,
    seq?: number,
    head = prevSeq !== undefined ? { seq: prevSeq, hash: prevHash } : undefined,
  ): VerifyResult => {
    return {
      ok: false,
      records: count,
      line,
      ...(seq !== undefined ? { seq } : {}),
      problem,
      ...(head ? { head } : {}),
      signatures,
    };
  };
  const iterator = records[Symbol.asyncIterator]();
  let drained = false;
  /** The first problem of the records, or undefined once they are all read. */
  const walk = async (): Promise<VerifyResult | undefined> => {
    for (;;) {
      let next: IteratorResult<AuditRecord | string>;
      try {
        next = await iterator.next();
      } catch (error) {
        drained = true;
        line++;
        return fail(problemOf(error));
      }
      if (next.done) {
        drained = true;
        return undefined;
      }
      line++;
      const item = next.value;
      const parsed = parseAuditLine(typeof item === 'string' ? item : JSON.stringify(item));
      if ('problem' in parsed)
        return fail(
          parsed.seq !== undefined
            ? `record ${parsed.seq} (${names.record(line)}) ${parsed.problem}`
            : `${names.record(line)} ${parsed.problem}`,
          parsed.seq,
        );
      const record = parsed.record;
      const where = `record ${record.seq} (${names.record(line)})`;
      if (record.v === undefined) {
        if (sawVersioned)
          return fail(
            `${where} has no "v" (the old hash form) after records of form ${AUDIT_RECORD_VERSION}: old records can only come before new ones`,
            record.seq,
          );
      } else if (record.v !== AUDIT_RECORD_VERSION) {
        return fail(`${where} has hash form "v": ${record.v}, which this Timebox does not know`, record.seq);
      } else {
        sawVersioned = true;
      }
      const { hash, ...content } = record;
      if (hashRecord(content) !== hash)
        return fail(`${where} was changed: its hash does not match its content`, record.seq);
      if (record.prevHash !== prevHash) {
        return fail(
          `${where} does not follow the record before it: a record was removed, inserted or moved here`,
          record.seq,
        );
      }
      if (prevSeq !== undefined && record.seq <= prevSeq)
        return fail(`${where} is out of order after ${prevSeq}`, record.seq);
      if (prevSeq !== undefined && record.seq !== prevSeq + 1) {
        return fail(
          `${where} leaves a gap after record ${prevSeq}: seq must go up by exactly one`,
          record.seq,
        );
      }
      const anchored = anchors.get(record.seq);
      if (anchored !== undefined && anchored !== hash)
        return fail(
          `${where} is not the one anchored (${anchored.slice(0, 12)}…): the log was rewritten`,
          record.seq,
        );
      anchors.delete(record.seq);
      const stopped = signed.last?.reason === 'close' ? signed.last : undefined;
      if (stopped && record.seq > stopped.seq) {
        return fail(
          `${where} follows record ${stopped.seq}, the head Timebox signed when it stopped (${names.checkpoint(stopped.line)}): it was added while Timebox was not running`,
          record.seq,
        );
      }
      const checkpoint = pending.get(record.seq);
      if (checkpoint && checkpoint.hash !== hash) {
        return fail(
          `${where} is not the one signed in ${names.checkpoint(checkpoint.line)} (${checkpoint.hash.slice(0, 12)}…): the log was rewritten`,
          record.seq,
        );
      }
      pending.delete(record.seq);
      prevHash = hash;
      prevSeq = record.seq;
      count++;
    }
  };
  let broken: VerifyResult | undefined;
  try {
    broken = await walk();
  } finally {
    // Stopped at a problem: let the source go (a file stream is closed, a store's cursor released).
    if (!drained) await iterator.return?.();
  }
  if (broken) return broken;
  line++;
  const missingAnchor = [...anchors.keys()].sort((a, b) => a - b)[0];
  if (missingAnchor !== undefined)
    return fail(`record ${missingAnchor} (anchored) is missing: records were removed`);
  const missingSigned = [...pending.values()].sort((a, b) => a.seq - b.seq)[0];
  if (missingSigned !== undefined) {
    return fail(
      missingSigned.seq > (prevSeq ?? 0)
        ? `the log ends at record ${prevSeq ?? 0}, but ${names.checkpoint(missingSigned.line)} signs records up to ${signed.last!.seq}: records were removed from the end`
        : `record ${missingSigned.seq} (signed in ${names.checkpoint(missingSigned.line)}) is missing: records were removed`,
    );
  }
  const expected = options.writtenSeq;
  if (expected !== undefined && (prevSeq ?? 0) < expected) {
    return fail(
      `the log ends at record ${prevSeq ?? 0}, but the store has written records up to ${expected}: records were removed from the end`,
    );
  }
  if (signatures.checked) {
    const last = signed.last;
    signatures.unsignedTail = last ? (prevSeq ?? 0) - last.seq : count;
    const tail = signatures.unsignedTail;
    const lastSigned = last ? { seq: last.seq, hash: last.hash } : undefined;
    const after = last ? `after the last signed checkpoint (record ${last.seq})` : 'and no signed checkpoint';
    if (tail >= signatures.every) {
      return fail(
        `${tail} record(s) ${after}, but Timebox signs at least every ${signatures.every}: records were added to the log without the key, or checkpoints were removed`,
        undefined,
        lastSigned,
      );
    }
    if (options.strict && tail > 0)
      return fail(
        `${tail} record(s) ${after} are not covered by a signature (--strict)`,
        undefined,
        lastSigned,
      );
  }
  return {
    ok: true,
    records: count,
    ...(prevSeq !== undefined ? { head: { seq: prevSeq, hash: prevHash } } : {}),
    signatures,
  };
}

/**
 * The checkpoints (a file's lines, less a torn last one: checkpointFileLines; or a store's),
 * each strictly parsed; each one signed by a given key verified, in increasing seq. Without
 * keys, only counted. A source that cannot be read is the problem.
 */
async function readCheckpoints(
  source: AsyncIterable<AuditCheckpoint | string>,
  keys: AuditKey[],
  report: SignatureReport,
  names: AuditNames,
): Promise<
  | {
      bySeq: Map<number, Checkpoint & { line: number }>;
      last?: Checkpoint & { line: number };
      otherIds: Set<string>;
    }
  | { problem: string }
> {
  const bySeq = new Map<number, Checkpoint & { line: number }>();
  const otherIds = new Set<string>();
  const items: Array<AuditCheckpoint | string> = [];
  try {
    for await (const item of source) items.push(item);
  } catch (error) {
    return { problem: problemOf(error) };
  }
  report.checkpoints = items.length;
  if (keys.length === 0) return { bySeq, otherIds };
  const byId = new Map(keys.map((k) => [k.id, k]));
  let last: (Checkpoint & { line: number }) | undefined;
  for (const [index, item] of items.entries()) {
    const where = names.checkpoint(index + 1);
    const parsed = parseCheckpointLine(typeof item === 'string' ? item : JSON.stringify(item));
    if ('problem' in parsed) return { problem: `${where} ${parsed.problem}: the checkpoint file was edited` };
    const checkpoint = parsed.checkpoint;
    const key = byId.get(checkpoint.keyId);
    if (!key) {
      report.otherKeys++;
      otherIds.add(checkpoint.keyId);
      continue;
    }
    if (!checkpointSignedBy(key, checkpoint))
      return {
        problem: `${where} (record ${checkpoint.seq}) has a signature that does not verify: it was forged or altered`,
      };
    if (last) {
      const before = `the checkpoint before it (line ${last.line}, record ${last.seq})`;
      if (checkpoint.seq < last.seq)
        return {
          problem: `${where} (record ${checkpoint.seq}) comes after ${before}: checkpoints were moved or replayed`,
        };
      if (checkpoint.seq === last.seq && checkpoint.hash !== last.hash)
        return {
          problem: `${where} signs another record ${checkpoint.seq} than ${before}: checkpoints were forged or mixed`,
        };
      if (last.reason === 'close' && !(checkpoint.reason === 'open' && checkpoint.seq === last.seq)) {
        return {
          problem: `${where} follows a shutdown's checkpoint (line ${last.line}, record ${last.seq}) with no start checkpoint between: records were added while Timebox was stopped, or a checkpoint was removed`,
        };
      }
    }
    if (!bySeq.has(checkpoint.seq)) bySeq.set(checkpoint.seq, { ...checkpoint, line: index + 1 });
    last = { ...checkpoint, line: index + 1 };
    report.verified++;
  }
  if (last) {
    report.last = { seq: last.seq, hash: last.hash, at: last.at, reason: last.reason };
    report.every = last.every;
  }
  return { bySeq, otherIds, ...(last ? { last } : {}) };
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
  if (!match)
    throw new Error(
      `"${text}" is not an anchor: use <seq>:<64 hex hash>, as printed by "timebox audit verify".`,
    );
  return { seq: Number(match[1]), hash: match[2]! };
}
