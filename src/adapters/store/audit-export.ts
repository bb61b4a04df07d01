import { once } from 'node:events';
import { readJsonlLines } from './jsonl-lines';
import type { Writable } from 'node:stream';
import { parseDuration } from '../../domain/duration';
import type { AuditRecord } from '../../ports/store';
import { parseAuditLine } from './audit-log';

export type ExportFormat = 'csv' | 'json';

export interface ExportOptions {
  format: ExportFormat;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** A group alias: records of requests for that group only. */
  group?: string;
}

export const CSV_COLUMNS = [
  'seq',
  'at',
  'type',
  'requestId',
  'group',
  'actorId',
  'actorName',
  'actorUpn',
  'reason',
  'detail',
  'prevHash',
  'hash',
] as const;

/**
 * A time bound as people type it: an ISO date ("2026-11-01", midnight UTC), an ISO date-time,
 * or a duration back from now ("7d", "12h"). Throws a message that says the right form.
 */
export function parseTimeBound(text: string, now: number): number {
  const trimmed = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    const at = Date.parse(`${trimmed}T00:00:00Z`);
    if (!Number.isNaN(at)) return at;
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (!Number.isNaN(at)) return at;
  } else {
    try {
      return now - parseDuration(trimmed);
    } catch {
      // fall through to the message below
    }
  }
  throw new Error(
    `"${text}" is not a time: use a date (2026-11-01), a date and time (2026-11-01T14:00:00Z) or a duration back from now (7d, 12h).`,
  );
}

/**
 * One CSV field (RFC 4180), made safe to open in a spreadsheet: a value that starts with = + - @
 * or a tab/CR would be run as a formula (CSV injection), so it gets a leading apostrophe.
 */
export function csvField(value: unknown): string {
  let text =
    value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(record: AuditRecord, group: string | undefined): string {
  const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    seq: record.seq,
    at: record.at,
    type: record.type,
    requestId: record.requestId,
    group,
    actorId: record.actor?.id,
    actorName: record.actor?.name,
    actorUpn: record.actor?.upn,
    reason: record.reason,
    detail: record.detail && Object.keys(record.detail).length ? record.detail : undefined,
    prevHash: record.prevHash,
    hash: record.hash,
  };
  return CSV_COLUMNS.map((c) => csvField(values[c])).join(',');
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

export interface ExportResult {
  exported: number;
  /** Lines that are not a record at all (skipped). */
  unreadable: number;
  /** Records `audit verify` would refuse (fields the log never writes were dropped). */
  nonconforming: number;
  /** Why the source stopped before its end (a store that cannot read a record); what came before it was exported. */
  stopped?: string;
}

/** Streams an audit file (JSONL) to `out`: see exportAuditRecords. Reads past a line that is not a record. */
export function exportAudit(file: string, options: ExportOptions, out: Writable): Promise<ExportResult> {
  return exportAuditRecords(readJsonlLines(file), options, out);
}

/**
 * Streams the audit log — raw lines of a file, or records as a store read them
 * (`Store.readAudit()`) — to `out` as CSV (a header and one row per record) or JSON (an array of
 * the records as stored, hashes included, with only the fields a record has: see
 * `nonconforming`, the records whose line `audit verify` would refuse). A request's group is learned from its
 * `submitted` record, which always comes first in the log. A source that throws ends the
 * export there (`stopped`), still well-formed.
 */
export async function exportAuditRecords(
  records: AsyncIterable<AuditRecord | string>,
  options: ExportOptions,
  out: Writable,
): Promise<ExportResult> {
  const groupOf = new Map<string, string>();
  const wanted = options.group?.trim().toLowerCase();
  let exported = 0;
  let unreadable = 0;
  let nonconforming = 0;
  let stopped: string | undefined;
  if (options.format === 'csv') await write(out, `${CSV_COLUMNS.join(',')}\r\n`);
  else await write(out, '[');
  // NB: line by line, and past a line that is not a record: an investigator wants what can be
  // read from a damaged log (`audit verify` says where it is damaged).
  for await (const item of untilFailure(records, (error) => (stopped = (error as Error).message))) {
    const line = typeof item === 'string' ? item : JSON.stringify(item);
    if (!line.trim()) continue;
    let record: AuditRecord;
    try {
      const parsed = JSON.parse(line) as AuditRecord;
      if (!parsed || typeof parsed !== 'object' || typeof parsed.at !== 'string')
        throw new Error('not a record');
      // NB: only the fields the log writes, whatever the line carries: an added "approvedBy"
      // (which `audit verify` refuses) must not reach the investigator as if it were recorded.
      record = knownFields(parsed);
      if (!('record' in parseAuditLine(line))) nonconforming++;
    } catch {
      unreadable++;
      continue;
    }
    const named = typeof record.detail?.group === 'string' ? record.detail.group : undefined;
    if (record.requestId && named && !groupOf.has(record.requestId)) groupOf.set(record.requestId, named);
    const group = record.requestId ? groupOf.get(record.requestId) : named;
    const at = Date.parse(record.at);
    if (options.since !== undefined && !(at >= options.since)) continue;
    if (options.until !== undefined && !(at < options.until)) continue;
    if (wanted !== undefined && group?.toLowerCase() !== wanted) continue;
    if (options.format === 'csv') await write(out, `${csvRow(record, group)}\r\n`);
    else await write(out, `${exported ? ',' : ''}\n${JSON.stringify(record)}`);
    exported++;
  }
  if (options.format === 'json') await write(out, exported ? '\n]\n' : ']\n');
  return { exported, unreadable, nonconforming, ...(stopped !== undefined ? { stopped } : {}) };
}

/** The source's items until it throws (told to `onFailure`); a consumer that stops early closes the source. */
async function* untilFailure<T>(
  source: AsyncIterable<T>,
  onFailure: (error: unknown) => void,
): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    onFailure(error);
  }
}

/**
 * A record with only the fields an audit record has (AUDIT_RECORD_KEYS in audit-log.ts, and
 * the actor's id, name and upn), in the order the log writes them; anything else is dropped.
 */
function knownFields(record: AuditRecord): AuditRecord {
  const actor = record.actor && typeof record.actor === 'object' ? record.actor : undefined;
  const known: AuditRecord = {
    ...(record.v !== undefined ? { v: record.v } : {}),
    seq: record.seq,
    at: record.at,
    type: record.type,
    ...(record.requestId !== undefined ? { requestId: record.requestId } : {}),
    ...(actor
      ? { actor: { id: actor.id, name: actor.name, ...(actor.upn !== undefined ? { upn: actor.upn } : {}) } }
      : {}),
    ...(record.reason !== undefined ? { reason: record.reason } : {}),
    ...(record.detail !== undefined ? { detail: record.detail } : {}),
    prevHash: record.prevHash,
    hash: record.hash,
  };
  return known;
}
