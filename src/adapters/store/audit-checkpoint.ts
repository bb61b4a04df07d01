import { createHmac, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { AuditCheckpoint } from '../../ports/store';
import { canonicalJson, findDuplicateKey } from './canonical-json';

/** The signed checkpoints, one per line, beside audit.jsonl. Worthless without the key: that is the point. */
export const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';
/** A checkpoint at least every this many records (TIMEBOX_AUDIT_CHECKPOINT_EVERY), and one at each shutdown. */
export const DEFAULT_CHECKPOINT_EVERY = 100;
export const MIN_KEY_BYTES = 32;

/**
 * The HMAC-SHA256 key that signs checkpoints (TIMEBOX_AUDIT_KEY), and its public id: a
 * checkpoint names the key that signed it, so a verifier holding another key (after a
 * rotation) can tell "not mine" from "forged". Never logged, never written to the data dir.
 */
export interface AuditKey {
  readonly id: string;
  readonly secret: Buffer;
}

/**
 * Why a checkpoint was written: the store opening (start-up, at the head it found), the
 * N-records interval, or the store closing (shutdown). Nothing appends between a `close` and
 * the next `open`, so a record after a `close` checkpoint with no `open` since was not written
 * by Timebox.
 */
export type CheckpointReason = AuditCheckpoint['reason'];

/** A signed statement "the audit log's record `seq` has hash `hash`" (the port's type; `keyId` is `AuditKey.id`). */
export type Checkpoint = AuditCheckpoint;

const CHECKPOINT_KEYS = new Set(['v', 'seq', 'hash', 'at', 'every', 'reason', 'keyId', 'mac']);
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A key as configured: hex (64+ digits), base64 or base64url (44+ characters), optionally
 * prefixed "hex:" or "base64:" to say which. At least 32 bytes. `what` names the setting in the
 * error, which never repeats the value.
 */
export function parseAuditKey(text: string, what = 'TIMEBOX_AUDIT_KEY'): AuditKey {
  const trimmed = text.trim();
  const prefixed = /^(hex|base64):(.*)$/s.exec(trimmed);
  const encoding = prefixed ? prefixed[1] : /^(?:[0-9a-fA-F]{2})+$/.test(trimmed) ? 'hex' : 'base64';
  const body = prefixed ? prefixed[2]!.trim() : trimmed;
  let secret: Buffer;
  if (encoding === 'hex') {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(body))
      throw new Error(`${what} is not hex (an even number of 0-9/a-f digits).`);
    secret = Buffer.from(body, 'hex');
  } else {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(body)) throw new Error(`${what} is neither hex nor base64.`);
    secret = Buffer.from(body, 'base64');
  }
  if (secret.length < MIN_KEY_BYTES) {
    throw new Error(
      `${what} is ${secret.length} byte(s); it must be at least ${MIN_KEY_BYTES} random bytes (e.g. "openssl rand -base64 32").`,
    );
  }
  const key = {
    id: createHmac('sha256', secret).update('timebox audit key id').digest('hex').slice(0, 16),
  } as AuditKey;
  // NB: not enumerable, so a logged or printed config (JSON, util.inspect) shows the id only.
  Object.defineProperty(key, 'secret', { value: secret, enumerable: false });
  return key;
}

function macOf(key: AuditKey, content: Omit<Checkpoint, 'mac'>): string {
  // NB: a purpose label in the signed text, so this MAC can never be mistaken for another use of the same key.
  return createHmac('sha256', key.secret)
    .update(canonicalJson({ purpose: 'timebox-audit-checkpoint', ...content }))
    .digest('hex');
}

export function signCheckpoint(
  key: AuditKey,
  head: { seq: number; hash: string },
  at: number,
  every: number,
  reason: CheckpointReason,
): Checkpoint {
  const content: Omit<Checkpoint, 'mac'> = {
    v: 1,
    seq: head.seq,
    hash: head.hash,
    at: new Date(at).toISOString(),
    every,
    reason,
    keyId: key.id,
  };
  return { ...content, mac: macOf(key, content) };
}

/** True when `key` signed exactly this checkpoint (constant-time comparison). */
export function checkpointSignedBy(key: AuditKey, checkpoint: Checkpoint): boolean {
  const { mac, ...content } = checkpoint;
  const expected = Buffer.from(macOf(key, content), 'hex');
  const given = Buffer.from(mac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** One line of the checkpoint file, strictly: valid JSON, no duplicate or unknown keys, every field of its type. */
export function parseCheckpointLine(text: string): { checkpoint: Checkpoint } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'is not valid JSON' };
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) return { problem: `has the key "${duplicate}" twice` };
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { problem: 'is not a checkpoint' };
  const c = value as Record<string, unknown>;
  const unknown = Object.keys(c).filter((k) => !CHECKPOINT_KEYS.has(k));
  if (unknown.length)
    return {
      problem: `has a field a checkpoint never has (${unknown.map((k) => JSON.stringify(k)).join(', ')})`,
    };
  if (
    c.v !== 1 ||
    !Number.isSafeInteger(c.seq) ||
    (c.seq as number) < 1 ||
    typeof c.hash !== 'string' ||
    !HEX64.test(c.hash) ||
    typeof c.at !== 'string' ||
    Number.isNaN(Date.parse(c.at)) ||
    !Number.isSafeInteger(c.every) ||
    (c.every as number) < 1 ||
    (c.reason !== 'open' && c.reason !== 'every' && c.reason !== 'close') ||
    typeof c.keyId !== 'string' ||
    typeof c.mac !== 'string' ||
    !HEX64.test(c.mac)
  ) {
    return { problem: 'is not a checkpoint (a field is missing or of the wrong type)' };
  }
  return { checkpoint: c as unknown as Checkpoint };
}

/**
 * The lines of a checkpoint file (read whole: one line per `every` records), less a torn last
 * line (an append under way, or cut short by a crash: never acknowledged) unless it is a whole
 * checkpoint; no file: none. Reads only, never cuts.
 */
export async function checkpointFileLines(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n');
  const torn = lines.pop();
  if (torn && 'checkpoint' in parseCheckpointLine(torn)) lines.push(torn);
  return lines;
}

/**
 * The checkpoints of a file in order, each line strictly parsed (what LowdbStore's
 * readAuditCheckpoints yields): STORE_CORRUPT naming the line of one that is not a checkpoint.
 */
export async function* readCheckpointFile(file: string): AsyncGenerator<Checkpoint> {
  let lines: string[];
  try {
    lines = await checkpointFileLines(file);
  } catch (error) {
    throw new DomainError(ErrorCodes.STORE_CORRUPT, `cannot read ${file}: ${(error as Error).message}`);
  }
  for (const [index, line] of lines.entries()) {
    const parsed = parseCheckpointLine(line);
    if ('problem' in parsed)
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `${path.basename(file)} line ${index + 1} ${parsed.problem}: the checkpoint file was edited`,
      );
    yield parsed.checkpoint;
  }
}

/**
 * The error a store opens to when its log fails the last checkpoint our key signed: it does not
 * start, since signing on would vouch for the altered records. `where` names the log, `restore`
 * what to restore it from a backup of.
 */
export function unsignableLogError(where: string, problem: string, restore: string): DomainError {
  return new DomainError(
    ErrorCodes.STORE_CORRUPT,
    `The audit log ${where} ${problem}. Timebox did not start, so it signs nothing over it; run "timebox audit verify --key" and restore ${restore} from a backup.`,
  );
}

/**
 * What a log no longer holds that the last checkpoint our key signed vouches for (to follow "The
 * audit log …"), or undefined: the signature verifies, the log still reaches the signed record
 * and holds it unchanged, and nothing follows a shutdown's checkpoint (nothing appends while no
 * Timebox runs). Every store checks it at open. `head.rewritten`: the log holds another record
 * at the checkpoint's seq than the one signed, as far as the store can tell.
 */
export function signedHeadProblem(
  key: AuditKey,
  checkpoint: Checkpoint,
  head: { seq: number; rewritten: boolean },
): string | undefined {
  if (!checkpointSignedBy(key, checkpoint))
    return `has a last checkpoint (record ${checkpoint.seq}) whose signature does not verify: it was forged or altered`;
  if (head.seq < checkpoint.seq)
    return `ends at record ${head.seq}, but a signed checkpoint covers records up to ${checkpoint.seq}: records were removed from its end`;
  if (head.rewritten)
    return `holds another record ${checkpoint.seq} than the one signed: the log was rewritten`;
  if (checkpoint.reason === 'close' && head.seq > checkpoint.seq)
    return `has records after ${checkpoint.seq}, the head signed when Timebox last stopped: ${head.seq - checkpoint.seq} record(s) were added while it was not running`;
  return undefined;
}
