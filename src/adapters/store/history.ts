import { promises as fs } from 'node:fs';
import { crc32 } from 'node:zlib';
import { mayHoldMembership, type AccessRequest } from '../../domain/request';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { AppendFile } from './append-file';
import { frozen } from './store-core';

/** Where one version of a closed request is in the file, and what lookups need without reading it. */
interface Entry {
  offset: number;
  length: number;
  requesterId: string;
  groupId: string;
  /** `mayHoldMembership` of this version. */
  holds: boolean;
  /** The request's `createdAt` (the same in every version): `createdBetween` reads only its period. */
  createdAt: number;
}

const CREATED_AT = Buffer.from('"createdAt":');

/**
 * The request's `createdAt` read off its line without parsing it: the only `"createdAt":` key
 * of a request is its own (no nested object has one, and a quote inside a string is escaped).
 * NaN when absent (never, for a request Timebox wrote).
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
 * A line: a small header (what the in-memory index needs) and the request. The header comes
 * first and is read at start-up with a pattern, so loading never parses a whole request.
 * `crc` is the CRC-32 of the request's JSON as written: start-up checks it (at native speed),
 * so a line damaged after its header still stops the bot at start, naming the file and line,
 * rather than failing later when that request is read (PRODUCT.md §7). Lines written before
 * it had a `crc` are indexed as they are.
 */
const HEADER =
  /^\{"id":("(?:[^"\\]|\\.)*"),"requester":("(?:[^"\\]|\\.)*"),"group":("(?:[^"\\]|\\.)*"),"holds":(true|false)(?:,"crc":(\d+))?,"request":/;
export const encodeHistoryLine = (r: AccessRequest): string => {
  const body = JSON.stringify(r);
  // The same text JSON.stringify would give for { id, requester, group, holds, crc, request }.
  const head = `{"id":${JSON.stringify(r.id)},"requester":${JSON.stringify(r.requester.id.toLowerCase())},"group":${JSON.stringify(r.group.id.toLowerCase())},"holds":${mayHoldMembership(r)}`;
  return `${head},"crc":${crc32(body)},"request":${body}}\n`;
};

const CHUNK = 4 * 1024 * 1024;
const CACHE_SIZE = 1000;

/**
 * Closed requests: an append-only JSONL file (the last line for an id wins). Only an index
 * (byte offset and a few fields per id) is held in memory; a request is read from the file
 * when asked for, through a small cache of the most recent. Appending is O(1) and memory is
 * a few dozen bytes per closed request, whatever the size of the history.
 */
export class History {
  private readonly entries = new Map<string, Entry>();
  private readonly byRequester = new Map<string, string[]>();
  private readonly cache = new Map<string, AccessRequest>();
  /**
   * One copy of each requester and group id: 100,000 closed requests name a few thousand people
   * and a few dozen groups, and a string per entry was a third of the index's memory.
   */
  private readonly names = new Map<string, string>();
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
    const cached = this.cache.get(id);
    if (cached) return cached;
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const request = await this.read(entry);
    this.remember(request);
    return request;
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
    const lines = requests.map((r) => Buffer.from(encodeHistoryLine(r)));
    // A failed append is cut off again (AppendFile), or the next one would be glued to half a
    // line and leave a corrupt line in the middle of the file (which stops start-up).
    await this.appender.append(Buffer.concat(lines));
    requests.forEach((request, i) => {
      const line = lines[i]!;
      this.put(request.id, {
        offset: this.end,
        length: line.length - 1,
        requesterId: this.intern(request.requester.id.toLowerCase()),
        groupId: this.intern(request.group.id.toLowerCase()),
        holds: mayHoldMembership(request),
        createdAt: request.createdAt,
      });
      this.end += line.length;
      this.remember(request);
    });
  }

  /** A requester's closed requests, newest closed first. */
  async recentOf(requesterId: string, limit: number): Promise<AccessRequest[]> {
    const ids = this.byRequester.get(requesterId.toLowerCase()) ?? [];
    const out: AccessRequest[] = [];
    for (let i = ids.length - 1; i >= 0 && out.length < limit; i--) {
      const request = this.entries.has(ids[i]!) ? await this.get(ids[i]!) : undefined;
      if (request) out.push(request);
    }
    return out;
  }

  /** Closed requests of one person for one Entra group that may still hold the membership. */
  async holding(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    const group = groupId.toLowerCase();
    const out: AccessRequest[] = [];
    for (const id of this.byRequester.get(requesterId.toLowerCase()) ?? []) {
      const entry = this.entries.get(id);
      if (!entry?.holds || entry.groupId !== group) continue;
      const request = await this.get(id);
      if (request) out.push(request);
    }
    return out;
  }

  /**
   * Closed requests created in `[since, until)`, oldest created first (then id), at most
   * `limit`: chosen from the index, then read from the file in file order with one handle.
   * Requests not in the cache come back as fresh copies, not frozen (nothing else holds them).
   */
  async createdBetween(since: number, until: number, limit?: number): Promise<AccessRequest[]> {
    let chosen: Array<[string, Entry]> = [];
    for (const item of this.entries) {
      const at = item[1].createdAt;
      if (at >= since && at < until) chosen.push(item);
    }
    chosen.sort(([ida, a], [idb, b]) => a.createdAt - b.createdAt || (ida < idb ? -1 : ida > idb ? 1 : 0));
    if (limit !== undefined) chosen = chosen.slice(0, Math.max(0, limit));
    const out = new Map<string, AccessRequest>();
    const toRead: Array<[string, Entry]> = [];
    for (const [id, entry] of chosen) {
      const cached = this.cache.get(id);
      if (cached) out.set(id, cached);
      else toRead.push([id, entry]);
    }
    if (toRead.length > 0) {
      toRead.sort(([, a], [, b]) => a.offset - b.offset);
      const handle = await fs.open(this.file, 'r');
      try {
        // Neighbouring lines are read together (a period's requests closed close together),
        // up to CHUNK bytes a read: a read per line was most of the time on 100k history.
        for (let i = 0; i < toRead.length;) {
          const first = toRead[i]![1].offset;
          let j = i + 1;
          while (j < toRead.length) {
            const e = toRead[j]![1];
            if (e.offset + e.length - first > CHUNK) break;
            j++;
          }
          const last = toRead[j - 1]![1];
          const buffer = Buffer.alloc(last.offset + last.length - first);
          await handle.read(buffer, 0, buffer.length, first);
          for (const [id, entry] of toRead.slice(i, j)) {
            const text = buffer.toString('utf8', entry.offset - first, entry.offset - first + entry.length);
            // NB: not frozen (unlike `get`): each is a fresh copy no one else holds, and freezing
            // 100k requests (a WeakSet entry per object) was most of the time of a month's report.
            out.set(id, this.decode(text));
          }
          i = j;
        }
      } finally {
        await handle.close();
      }
    }
    return chosen.map(([id]) => out.get(id)!);
  }

  private index(line: Buffer, offset: number, lineNumber: number, isOpen: (id: string) => boolean): void {
    if (line.length === 0) return;
    const head = HEADER.exec(line.subarray(0, 512).toString('utf8'));
    let entry: Entry & { id: string };
    if (head?.[5] !== undefined) {
      const body = line.subarray(Buffer.byteLength(head[0]), line.length - 1);
      if (line[line.length - 1] !== 0x7d || crc32(body) !== Number(head[5])) {
        throw new DomainError(
          ErrorCodes.STORE_CORRUPT,
          `The history file ${this.file} has a corrupt line ${lineNumber} (its checksum does not match). It was left as it is; restore it from a backup.`,
        );
      }
    }
    if (head) {
      entry = {
        id: JSON.parse(head[1]!),
        requesterId: this.intern(JSON.parse(head[2]!) as string),
        groupId: this.intern(JSON.parse(head[3]!) as string),
        holds: head[4] === 'true',
        createdAt: createdAtOf(line),
        offset,
        length: line.length,
      };
    } else {
      // A line without the header (written before it existed): read it whole.
      const request = this.decode(line.toString('utf8'), lineNumber);
      entry = {
        id: request.id,
        requesterId: this.intern(request.requester.id.toLowerCase()),
        groupId: this.intern(request.group.id.toLowerCase()),
        holds: mayHoldMembership(request),
        createdAt: request.createdAt,
        offset,
        length: line.length,
      };
    }
    if (isOpen(entry.id)) return;
    const { id, ...rest } = entry;
    this.put(id, rest);
  }

  private intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    this.names.set(name, name);
    return name;
  }

  private put(id: string, entry: Entry): void {
    if (!this.entries.has(id)) {
      const list = this.byRequester.get(entry.requesterId) ?? [];
      list.push(id);
      this.byRequester.set(entry.requesterId, list);
    }
    // NB: a re-closed id keeps its first place in its requester's list; "newest first" is by
    // closing order, and a later patch (a removal recorded) does not make a request newer.
    this.entries.set(id, entry);
    this.cache.delete(id);
  }

  private async read(entry: Entry): Promise<AccessRequest> {
    const handle = await fs.open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(entry.length);
      await handle.read(buffer, 0, entry.length, entry.offset);
      return frozen(this.decode(buffer.toString('utf8')));
    } finally {
      await handle.close();
    }
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
  private remember(request: AccessRequest): void {
    this.cache.delete(request.id);
    this.cache.set(request.id, request);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
