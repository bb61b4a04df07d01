import { promises as fs } from 'node:fs';
import { crc32 } from 'node:zlib';
import { insightRecordOf, type InsightRecord } from '../../domain/insights';
import { mayHoldMembership, type AccessRequest } from '../../domain/request';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { AppendFile } from './append-file';
import { HistoryIndex, type HistoryEntry, type HistoryLine } from './history-index';
import { frozen, keepNewest } from './store-core';

const CREATED_AT = Buffer.from('"createdAt":');
const REQUEST_KEY = Buffer.from(',"request":');

/**
 * The request's `createdAt` read off its line without parsing it: the first `"createdAt":` key
 * is the insight record's or the request's own, the same value (no nested object has one, and
 * a quote inside a string is escaped). NaN when absent (never, for a request Timebox wrote).
 */
function createdAtOf(line: Buffer): number {
  const at = line.indexOf(CREATED_AT);
  if (at < 0) return NaN;
  let n = 0;
  let i = at + CREATED_AT.length;
  const start = i;
  for (; i < line.length && line[i]! >= 0x30 && line[i]! <= 0x39; i++) n = n * 10 + (line[i]! - 0x30);
  return i === start ? NaN : n;
}

/**
 * A line: a small header (what the in-memory index needs), the request's insight record
 * (`insightRecordOf`: what a report reads, a third of the request's bytes), and the request:
 *
 *   {"id":…,"requester":…,"group":…,"holds":…,"crc":N,"insightBytes":B,"insight":{…},"request":{…}}
 *
 * The header comes first and is read at start-up with a pattern, so loading never parses a
 * whole request. `crc` is the CRC-32 of everything after the header up to the closing brace
 * (the insight record and the request, as written): start-up checks it (at native speed), so a
 * line damaged after its header still stops the bot at start, naming the file and line, rather
 * than failing later when that request is read (PRODUCT.md §7). Lines written before the
 * insight record (`…"crc":N,"request":{…}}`, the CRC of the request alone) or before the `crc`
 * are read as they are; code from before this format reads these lines whole (`request` is
 * still a key of the line).
 */
const HEADER =
  /^\{"id":("(?:[^"\\]|\\.)*"),"requester":("(?:[^"\\]|\\.)*"),"group":("(?:[^"\\]|\\.)*"),"holds":(true|false)(?:,"crc":(\d+))?(?:,"insightBytes":(\d+),"insight":|,"request":)/;

/** A request's line, and where in it (bytes) its insight record and its request start: `HistoryEntry.insight`, `.head`. */
function encodeHistory(r: AccessRequest): { line: string; insightAt: number; requestAt: number } {
  const insight = JSON.stringify(insightRecordOf(r));
  const insightBytes = Buffer.byteLength(insight);
  const checked = `${insight},"request":${JSON.stringify(r)}`;
  // The same text JSON.stringify would give for { id, requester, group, holds, crc, insightBytes, insight, request }.
  const head = `{"id":${JSON.stringify(r.id)},"requester":${JSON.stringify(r.requester.id.toLowerCase())},"group":${JSON.stringify(r.group.id.toLowerCase())},"holds":${mayHoldMembership(r)},"crc":${crc32(checked)},"insightBytes":${insightBytes},"insight":`;
  const insightAt = Buffer.byteLength(head);
  return {
    line: `${head}${checked}}\n`,
    insightAt,
    requestAt: insightAt + insightBytes + REQUEST_KEY.length,
  };
}

export const encodeHistoryLine = (r: AccessRequest): string => encodeHistory(r).line;

const CHUNK = 4 * 1024 * 1024;
const CACHE_SIZE = 1000;
/** Up to this `limit`, `createdBetween` keeps the oldest while scanning instead of sorting all. */
const SMALL_LIMIT = 100;

/**
 * Closed requests: an append-only JSONL file (the last line for an id wins). Only an index
 * (HistoryIndex: byte offset and a few fields per id, in typed columns) is held in memory; a
 * request is read from the file when asked for, through a small cache of the most recent.
 * Appending is O(1) and memory is some 120 bytes per closed request (its id, a Map slot and
 * the columns: 12 MB at 100,000), whatever the size of the history.
 */
export class History {
  private readonly entries = new HistoryIndex();
  /** Requests read or appended lately, by row (one row per id). */
  private readonly cache = new Map<number, AccessRequest>();
  /** Where the next line goes (the file's length once loaded). */
  private end = 0;

  private readonly appender: AppendFile;

  constructor(readonly file: string) {
    this.appender = new AppendFile(file);
  }

  /** Closes the file kept open for appending. */
  close(): Promise<void> {
    return this.appender.close();
  }

  /**
   * Indexes the file in chunks; `isOpen(id)` tells which ids the hot state still holds (those
   * win). A torn last line (a crash during an append that was never committed) is cut off,
   * so the next append starts on a line of its own.
   */
  async load(isOpen: (id: string) => boolean, options: { readOnly?: boolean } = {}): Promise<void> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `Cannot read the history file ${this.file}: ${(error as Error).message}`,
      );
    }
    let complete = 0;
    let torn = false;
    try {
      const buffer = Buffer.alloc(CHUNK);
      let carry = Buffer.alloc(0);
      let position = 0;
      let lineNumber = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, position);
        if (bytesRead === 0) break;
        const data = carry.length
          ? Buffer.concat([carry, buffer.subarray(0, bytesRead)])
          : buffer.subarray(0, bytesRead);
        const dataStart = position - carry.length;
        position += bytesRead;
        let start = 0;
        for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
          lineNumber++;
          this.index(data.subarray(start, nl), dataStart + start, lineNumber, isOpen);
          start = nl + 1;
        }
        complete = dataStart + start;
        carry = Buffer.from(data.subarray(start));
      }
      torn = carry.length > 0;
    } finally {
      await handle.close();
    }
    // Read-only (the CLI beside a running bot): the torn line may be an append under way; leave it.
    if (torn && !options.readOnly) await fs.truncate(this.file, complete);
    this.end = complete;
  }

  /** The newest version of a closed request, or undefined. */
  async get(id: string): Promise<AccessRequest | undefined> {
    const row = this.entries.rowOf(id);
    return row === undefined ? undefined : this.request(row);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Appends the closed versions with one write and one fsync (a batch of expiries closes many
   * requests at once: one fsync each made every commit of the batch wait for all of them).
   */
  async append(requests: readonly AccessRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const encoded = requests.map(encodeHistory);
    const lines = encoded.map(({ line }) => Buffer.from(line));
    // A failed append is cut off again (AppendFile), or the next one would be glued to half a
    // line and leave a corrupt line in the middle of the file (which stops start-up).
    await this.appender.append(Buffer.concat(lines));
    requests.forEach((request, i) => {
      const line = lines[i]!;
      const row = this.put(request.id, {
        offset: this.end,
        length: line.length - 1,
        requesterId: request.requester.id.toLowerCase(),
        groupId: request.group.id.toLowerCase(),
        holds: mayHoldMembership(request),
        createdAt: request.createdAt,
        insight: encoded[i]!.insightAt,
        head: encoded[i]!.requestAt,
      });
      this.end += line.length;
      this.remember(row, request);
    });
  }

  /** A requester's closed requests, newest closed first. */
  async recentOf(requesterId: string, limit: number): Promise<AccessRequest[]> {
    const rows = this.entries.rowsOf(requesterId.toLowerCase());
    const out: AccessRequest[] = [];
    for (let i = rows.length - 1; i >= 0 && out.length < limit; i--) out.push(await this.request(rows[i]!));
    return out;
  }

  /** Closed requests of one person for one Entra group that may still hold the membership. */
  async holding(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    const group = groupId.toLowerCase();
    const out: AccessRequest[] = [];
    for (const row of this.entries.rowsOf(requesterId.toLowerCase())) {
      if (this.entries.holds(row) && this.entries.groupOf(row) === group) out.push(await this.request(row));
    }
    return out;
  }

  /**
   * Closed requests created in `[since, until)`, oldest created first (then id), at most
   * `limit`: chosen from the index, then read from the file in file order with one handle.
   * Requests not in the cache come back as fresh copies, not frozen (nothing else holds them).
   */
  async createdBetween(since: number, until: number, limit?: number): Promise<AccessRequest[]> {
    const chosen = this.oldestCreated(since, until, limit);
    const out = new Map<number, AccessRequest>();
    const toRead: HistoryLine[] = [];
    for (const row of chosen) {
      const cached = this.cache.get(row);
      if (cached) out.set(row, cached);
      else toRead.push(this.entries.line(row));
    }
    const decode = this.decodeLine.bind(this);
    for await (const batch of this.readLines(toRead, decode))
      for (const [row, request] of batch) out.set(row, request);
    return chosen.map((row) => out.get(row)!);
  }

  /**
   * The insight records of the closed requests created in `[since, until)`, in no particular
   * order, a chunk of the file at a time: what a month's report reads, without holding the
   * month in memory at once, and parsing each line's insight record, not its request (lines
   * written before it had one are read whole). Chosen from the index when the scan starts
   * (lines appended meanwhile are not seen).
   */
  async *scanInsights(since: number, until: number): AsyncGenerator<InsightRecord[]> {
    const cached: InsightRecord[] = [];
    const toRead: HistoryLine[] = [];
    for (let row = 0, rows = this.entries.size; row < rows; row++) {
      const at = this.entries.createdAt(row);
      if (at < since || at >= until) continue;
      const request = this.cache.get(row);
      if (request) cached.push(insightRecordOf(request));
      else toRead.push(this.entries.line(row));
    }
    if (cached.length > 0) yield cached;
    const decode = this.decodeInsight.bind(this);
    for await (const batch of this.readLines(toRead, decode)) yield batch.map(([, record]) => record);
  }

  /**
   * The requests of `lines`, read in file order: neighbouring lines together (a period's
   * requests closed close together), up to CHUNK bytes a read — a read per line was most of
   * the time on 100k history. One batch of [row, decode(line)] per read. `lines` are copies
   * taken when the read was chosen (`HistoryIndex.line`), so a version appended meanwhile does
   * not move them. NB: not frozen (unlike `get`): each is a fresh copy no one else holds, and
   * freezing 100k requests (a WeakSet entry per object) was most of the time of a month's report.
   */
  private async *readLines<T>(
    lines: HistoryLine[],
    decode: (buffer: Buffer, start: number, line: HistoryLine) => T,
  ): AsyncGenerator<Array<[number, T]>> {
    if (lines.length === 0) return;
    const toRead = [...lines].sort((a, b) => a.offset - b.offset);
    const handle = await fs.open(this.file, 'r');
    try {
      let buffer = Buffer.allocUnsafe(CHUNK);
      for (let i = 0; i < toRead.length;) {
        const first = toRead[i]!.offset;
        let j = i + 1;
        while (j < toRead.length) {
          const e = toRead[j]!;
          if (e.offset + e.length - first > CHUNK) break;
          j++;
        }
        const last = toRead[j - 1]!;
        const size = last.offset + last.length - first;
        if (size > buffer.length) buffer = Buffer.allocUnsafe(size); // one line longer than CHUNK
        const { bytesRead } = await handle.read(buffer, 0, size, first);
        if (bytesRead < size) {
          throw new DomainError(
            ErrorCodes.STORE_CORRUPT,
            `The history file ${this.file} is shorter than its index says (read ${bytesRead} of ${size} bytes at ${first}). It was left as it is; restore it from a backup.`,
          );
        }
        const batch: Array<[number, T]> = [];
        for (const line of toRead.slice(i, j))
          batch.push([line.row, decode(buffer, line.offset - first, line)]);
        yield batch;
        i = j;
      }
    } finally {
      await handle.close();
    }
  }

  /** The newest `createdAt` per group id of the requests created before `until`, from the index alone. */
  lastRequestedByGroup(until: number): Map<string, number> {
    const last = new Map<string, number>();
    for (let row = 0, rows = this.entries.size; row < rows; row++) {
      const createdAt = this.entries.createdAt(row);
      if (createdAt < until) keepNewest(last, this.entries.groupOf(row), createdAt);
    }
    return last;
  }

  /**
   * The rows created in `[since, until)`, oldest first (then id), at most `limit`. A small
   * limit keeps only that many while scanning: `createdBetween(0, until, 1)` (where the history
   * begins) then costs one pass, not a sort of the whole index.
   */
  private oldestCreated(since: number, until: number, limit?: number): number[] {
    const createdAt = (row: number) => this.entries.createdAt(row);
    const order = ([ida, a]: [string, number], [idb, b]: [string, number]) =>
      createdAt(a) - createdAt(b) || (ida < idb ? -1 : ida > idb ? 1 : 0);
    const inPeriod = (row: number) => createdAt(row) >= since && createdAt(row) < until;
    const rowsOf = (items: Array<[string, number]>) => items.map(([, row]) => row);
    if (limit === undefined || limit > SMALL_LIMIT) {
      const chosen = [...this.entries.ids()].filter(([, row]) => inPeriod(row)).sort(order);
      return rowsOf(limit === undefined ? chosen : chosen.slice(0, Math.max(0, limit)));
    }
    const kept: Array<[string, number]> = [];
    if (limit <= 0) return [];
    for (const item of this.entries.ids()) {
      if (!inPeriod(item[1])) continue;
      if (kept.length === limit && order(item, kept[limit - 1]!) >= 0) continue;
      let at = kept.length;
      while (at > 0 && order(item, kept[at - 1]!) < 0) at--;
      kept.splice(at, 0, item);
      if (kept.length > limit) kept.pop();
    }
    return rowsOf(kept);
  }

  private index(line: Buffer, offset: number, lineNumber: number, isOpen: (id: string) => boolean): void {
    if (line.length === 0) return;
    const head = HEADER.exec(line.subarray(0, 512).toString('utf8'));
    let entry: HistoryEntry & { id: string };
    const headBytes = head ? Buffer.byteLength(head[0]) : 0;
    if (head?.[5] !== undefined) {
      const checked = line.subarray(headBytes, line.length - 1);
      if (line[line.length - 1] !== 0x7d || crc32(checked) !== Number(head[5]))
        throw this.corrupt(lineNumber);
    }
    // With an insight record: the request starts after it and `,"request":`.
    const insightBytes = head?.[6] === undefined ? undefined : Number(head[6]);
    const bodyAt = insightBytes === undefined ? headBytes : headBytes + insightBytes + REQUEST_KEY.length;
    if (
      insightBytes !== undefined &&
      !line.subarray(bodyAt - REQUEST_KEY.length, bodyAt).equals(REQUEST_KEY)
    ) {
      throw this.corrupt(lineNumber);
    }
    if (head) {
      entry = {
        id: JSON.parse(head[1]!),
        requesterId: JSON.parse(head[2]!) as string,
        groupId: JSON.parse(head[3]!) as string,
        holds: head[4] === 'true',
        createdAt: createdAtOf(line),
        offset,
        length: line.length,
        head: bodyAt,
        insight: insightBytes === undefined ? 0 : headBytes,
      };
    } else {
      // A line without the header (written before it existed): read it whole.
      const request = this.decode(line.toString('utf8'), lineNumber);
      entry = {
        id: request.id,
        requesterId: request.requester.id.toLowerCase(),
        groupId: request.group.id.toLowerCase(),
        holds: mayHoldMembership(request),
        createdAt: request.createdAt,
        offset,
        length: line.length,
        head: 0,
        insight: 0,
      };
    }
    // The columns copy the fields out; this object (and its extra `id`) is garbage at once.
    if (!isOpen(entry.id)) this.put(entry.id, entry);
  }

  private corrupt(lineNumber: number): DomainError {
    return new DomainError(
      ErrorCodes.STORE_CORRUPT,
      `The history file ${this.file} has a corrupt line ${lineNumber} (its checksum does not match). It was left as it is; restore it from a backup.`,
    );
  }

  private put(id: string, entry: HistoryEntry): number {
    // NB: a re-closed id keeps its row and its first place in its requester's list; "newest
    // first" is by closing order, and a later patch (a removal recorded) does not make a request newer.
    const row = this.entries.put(id, entry);
    this.cache.delete(row);
    return row;
  }

  /** The newest version of a row's request: from the cache, or read from the file (and cached). */
  private async request(row: number): Promise<AccessRequest> {
    const cached = this.cache.get(row);
    if (cached) return cached;
    const request = await this.read(this.entries.line(row));
    this.remember(row, request);
    return request;
  }

  private async read(line: HistoryLine): Promise<AccessRequest> {
    const handle = await fs.open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(line.length);
      await handle.read(buffer, 0, line.length, line.offset);
      return frozen(this.decode(buffer.toString('utf8')));
    } finally {
      await handle.close();
    }
  }

  /**
   * The request of `line`, which starts at `buffer[start]`. A line with the header is parsed
   * from its request on (parsing is most of a month's report, and the header is an eighth of
   * each line); a line without one is parsed whole.
   */
  private decodeLine(buffer: Buffer, start: number, line: HistoryLine): AccessRequest {
    const end = start + line.length;
    if (line.head > 0) {
      try {
        return JSON.parse(buffer.toString('utf8', start + line.head, end - 1)) as AccessRequest;
      } catch {
        // Read whole below, for the message naming the file.
      }
    }
    return this.decode(buffer.toString('utf8', start, end));
  }

  /** The insight record of `line` (see `decodeLine`): parsed alone when the line has one. */
  private decodeInsight(buffer: Buffer, start: number, line: HistoryLine): InsightRecord {
    if (line.insight > 0) {
      const from = start + line.insight;
      try {
        return JSON.parse(
          buffer.toString('utf8', from, start + line.head - REQUEST_KEY.length),
        ) as InsightRecord;
      } catch {
        // Read whole below, for the message naming the file.
      }
    }
    return insightRecordOf(this.decodeLine(buffer, start, line));
  }

  private decode(text: string, lineNumber?: number): AccessRequest {
    let value: { request?: AccessRequest } & Partial<AccessRequest>;
    try {
      value = JSON.parse(text) as typeof value;
    } catch {
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `The history file ${this.file} has a corrupt line${lineNumber ? ` ${lineNumber}` : ''}. It was left as it is; restore it from a backup.`,
      );
    }
    return (value.request ?? value) as AccessRequest;
  }

  /** Keeps the most recently used requests parsed (a small LRU: Map keeps insertion order). */
  private remember(row: number, request: AccessRequest): void {
    this.cache.delete(row);
    this.cache.set(row, request);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
