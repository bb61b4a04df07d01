import { promises as fs } from 'node:fs';
import { crc32 } from 'node:zlib';
import { mayHoldMembership, type AccessRequest } from '../../domain/request';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { AppendFile } from './append-file';
import { HistoryIndex, type HistoryEntry } from './history-index';
import { frozen } from './store-core';

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
/** Where the header ends: JSON never has this outside a string, and a string's quotes are escaped. */
const REQUEST_KEY = Buffer.from(',"request":');
/** A header is a few ids long; a line whose header would be longer is read whole. */
const MAX_HEADER = 512;
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
 * (HistoryIndex: byte offset and a few fields per id) is held in memory; a request is read from
 * the file when asked for, through a small cache of the most recent. Appending is O(1) and
 * memory is under a hundred bytes per closed request, whatever the size of the history.
 */
export class History {
  private readonly index = new HistoryIndex();
  /** Requests read or appended lately, by slot. */
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
    // Bytes of the file from `position` on sit at the start of `buffer`, `filled` of them: the
    // partial line a chunk ended with is moved to the front and the next chunk read behind it.
    // NB: one buffer for the whole file (grown only for a line longer than it), not a new one
    // per chunk: 275 MB of history read in fresh 4 MB buffers left tens of MB of freed native
    // memory in the process's resident set.
    let buffer = Buffer.allocUnsafe(CHUNK);
    let filled = 0;
    let position = 0;
    let lineNumber = 0;
    try {
      for (;;) {
        if (filled === buffer.length) {
          const bigger = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(bigger, 0, 0, filled);
          buffer = bigger;
        }
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
        if (bytesRead === 0) break;
        const data = buffer.subarray(0, filled + bytesRead);
        let start = 0;
        for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
          lineNumber++;
          this.indexLine(data.subarray(start, nl), position + start, lineNumber, isOpen);
          start = nl + 1;
        }
        data.copy(buffer, 0, start);
        filled = data.length - start;
        position += start;
      }
    } finally {
      await handle.close();
    }
    // Read-only (the CLI beside a running bot): the torn line may be an append under way; leave it.
    if (filled > 0 && !options.readOnly) await fs.truncate(this.file, position);
    this.end = position;
  }

  /** The newest version of a closed request, or undefined. */
  async get(id: string): Promise<AccessRequest | undefined> {
    const slot = this.index.slotOf(id);
    return slot === undefined ? undefined : this.read(slot);
  }

  get size(): number {
    return this.index.size;
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
      const slot = this.put(request.id, {
        offset: this.end,
        length: line.length - 1,
        requesterId: request.requester.id.toLowerCase(),
        groupId: request.group.id.toLowerCase(),
        holds: mayHoldMembership(request),
      });
      this.end += line.length;
      this.remember(slot, request);
    });
  }

  /** A requester's closed requests, newest closed first. */
  async recentOf(requesterId: string, limit: number): Promise<AccessRequest[]> {
    const slots = this.index.slotsOf(requesterId.toLowerCase());
    const out: AccessRequest[] = [];
    for (let i = slots.length - 1; i >= 0 && out.length < limit; i--) out.push(await this.read(slots[i]!));
    return out;
  }

  /** Closed requests of one person for one Entra group that may still hold the membership. */
  async holding(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    const group = groupId.toLowerCase();
    const out: AccessRequest[] = [];
    for (const slot of this.index.slotsOf(requesterId.toLowerCase()))
      if (this.index.holds(slot, group)) out.push(await this.read(slot));
    return out;
  }

  private indexLine(line: Buffer, offset: number, lineNumber: number, isOpen: (id: string) => boolean): void {
    if (line.length === 0) return;
    const headEnd = line.indexOf(REQUEST_KEY);
    const head =
      headEnd > 0 && headEnd < MAX_HEADER
        ? HEADER.exec(line.toString('utf8', 0, headEnd + REQUEST_KEY.length))
        : null;
    if (head?.[5] !== undefined) {
      const body = line.subarray(Buffer.byteLength(head[0]), line.length - 1);
      if (line[line.length - 1] !== 0x7d || crc32(body) !== Number(head[5])) {
        throw new DomainError(
          ErrorCodes.STORE_CORRUPT,
          `The history file ${this.file} has a corrupt line ${lineNumber} (its checksum does not match). It was left as it is; restore it from a backup.`,
        );
      }
    }
    let id: string;
    let entry: HistoryEntry;
    if (head) {
      id = JSON.parse(head[1]!) as string;
      entry = {
        requesterId: JSON.parse(head[2]!) as string,
        groupId: JSON.parse(head[3]!) as string,
        holds: head[4] === 'true',
        offset,
        length: line.length,
      };
    } else {
      // A line without the header (written before it existed): read it whole.
      const request = this.decode(line.toString('utf8'), lineNumber);
      id = request.id;
      entry = {
        requesterId: request.requester.id.toLowerCase(),
        groupId: request.group.id.toLowerCase(),
        holds: mayHoldMembership(request),
        offset,
        length: line.length,
      };
    }
    if (!isOpen(id)) this.put(id, entry);
  }

  private put(id: string, entry: HistoryEntry): number {
    // NB: a re-closed id keeps its first place in its requester's list; "newest first" is by
    // closing order, and a later patch (a removal recorded) does not make a request newer.
    const slot = this.index.put(id, entry);
    this.cache.delete(slot);
    return slot;
  }

  /** The request of a slot, from the cache or the file. */
  private async read(slot: number): Promise<AccessRequest> {
    const cached = this.cache.get(slot);
    if (cached) {
      this.remember(slot, cached);
      return cached;
    }
    const { offset, length } = this.index.placeOf(slot);
    const handle = await fs.open(this.file, 'r');
    let request: AccessRequest;
    try {
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, offset);
      request = frozen(this.decode(buffer.toString('utf8')));
    } finally {
      await handle.close();
    }
    this.remember(slot, request);
    return request;
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
  private remember(slot: number, request: AccessRequest): void {
    this.cache.delete(slot);
    this.cache.set(slot, request);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}
