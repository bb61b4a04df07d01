import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Low } from 'lowdb' with { 'resolution-mode': 'import' };
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { InsightRecord } from '../../domain/insights';
import { sameId, type AccessRequest } from '../../domain/request';
import type { AuditCheckpoint, AuditRecord } from '../../ports/store';
import { AuditLog, GENESIS_HASH, readAuditFile, toAuditRecord, type AuditLogOptions } from './audit-log';
import { readCheckpointFile } from './audit-checkpoint';
import { findDuplicateKey } from './canonical-json';
import { History } from './history';
import { StoreCore, emptyState, type Entry, type HotState } from './store-core';

export interface LowdbStoreOptions {
  /** The checkpoint key and interval (see AuditLog; without a key, no checkpoints). */
  audit?: AuditLogOptions;
  /** Compacts the journal into the snapshot once it has this many entries (default 20,000) … */
  compactEntries?: number;
  /** … or this many bytes (default 64 MiB), and at close. */
  compactBytes?: number;
  /**
   * Opens for reading only (the CLI, next to a running bot): nothing in `dir` is ever written
   * or created — no torn tail cut, no compaction, no migration of a formatVersion 1 store, no
   * audit append, no checkpoint, at open or close; every write fails with STORE_WRITE_FAILED
   * (cause "read-only"). The journal is read before the snapshot: the bot compacts by renaming
   * a new snapshot in before it empties the journal, so the pair read is always consistent.
   * A partial last line of a file (an append under way) is left out. A directory that does not
   * exist opens as an empty store.
   */
  readOnly?: boolean;
}

/** A journal line: `{"crc":<CRC-32 of the entry's JSON>,"entry":<the entry>}`. */
const LINE = /^\{"crc":(\d+),"entry":/;
const encodeLine = (entry: Entry & { n: number }): string => {
  const body = JSON.stringify(entry);
  return `{"crc":${crc32(body)},"entry":${body}}\n`;
};

/**
 * The default store, for ONE process. Files in `dir`:
 * - `timebox.json`: the snapshot (lowdb): open requests and pending work as of journal entry
 *   `journalN`, written atomically (DurableJsonFile) at compaction only;
 * - `journal.jsonl`: every write since, one line each (a commit: the request's new version, its
 *   effects, completed effects, audit events, due time), CRC-checked. Writes that arrive while
 *   one is being fsynced are appended together and fsynced once (group commit); each caller is
 *   acknowledged once its line is durable. So a write costs what it changes, not what is open;
 * - `history.jsonl` (closed requests) and the hash-chained `audit.jsonl` (AuditLog, its one
 *   writer), appended after each batch; a crash in between is mended at the next open from the
 *   journal (the audit by seq, the history by version).
 * At open: the snapshot, then the journal replayed; a torn last line (a crash mid-append, never
 * acknowledged) is cut, a corrupt line before the end stops start-up naming the file.
 */
export class LowdbStore extends StoreCore {
  private db!: Low<HotState>;
  private readonly history: History;
  private readonly audit: AuditLog;
  readonly hotFile: string;
  readonly journalFile: string;
  private lastN = 0;
  private journalEntries = 0;
  private journalBytes = 0;
  private readonly compactEntries: number;
  private readonly compactBytes: number;
  readonly readOnly: boolean;
  /** Read-only: the last audit record the store had certainly appended when opened (the log may not end before it). */
  private auditWritten = 0;

  constructor(
    readonly dir: string,
    options: LowdbStoreOptions = {},
  ) {
    super();
    this.readOnly = options.readOnly === true;
    this.hotFile = path.join(dir, 'timebox.json');
    this.journalFile = path.join(dir, 'journal.jsonl');
    this.history = new History(path.join(dir, 'history.jsonl'));
    this.audit = new AuditLog(path.join(dir, 'audit.jsonl'), options.audit);
    this.compactEntries = options.compactEntries ?? 20_000;
    this.compactBytes = options.compactBytes ?? 64 * 1024 * 1024;
  }

  get auditFile(): string {
    return this.audit.file;
  }

  protected get where(): string {
    return this.dir;
  }

  async open(): Promise<void> {
    if (!this.readOnly) await fs.mkdir(this.dir, { recursive: true });
    // NB (read-only): the journal first; see LowdbStoreOptions.readOnly.
    const journal = this.readOnly ? await this.readJournal() : undefined;
    const { Low } = await import('lowdb');
    this.db = new Low<HotState>(new DurableJsonFile<HotState>(this.hotFile), emptyState());
    try {
      await this.db.read();
    } catch (error) {
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `The store file ${this.hotFile} cannot be read (${(error as Error).message}). It was left as it is; restore it from a backup or move it away to start empty.`,
      );
    }
    const state = this.db.data;
    if (state?.formatVersion !== 1 && state?.formatVersion !== 2) {
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `The store file ${this.hotFile} is not a Timebox store (no formatVersion 1 or 2). It was left as it is.`,
      );
    }
    this.load(state);
    this.lastN = state.journalN ?? 0;
    await this.replay(state.journalN ?? 0, journal);
    this.opened = true;
    await this.history.load((id) => this.requests.has(id), { readOnly: this.readOnly });
    if (this.readOnly) {
      // Nothing is mended: what the journal holds beyond the files is the bot's to append.
      this.auditWritten = this.auditQueue.reduce(
        (lowest, e) => Math.min(lowest, e.seq - 1),
        this.counters.nextAuditSeq - 1,
      );
      this.db.data = emptyState();
      return;
    }
    await this.settleClosing(true);
    await this.audit.open();
    this.counters.nextAuditSeq = Math.max(this.counters.nextAuditSeq, this.audit.seq + 1);
    await this.flushAudit();
    // A store written before the journal (formatVersion 1) is migrated by its first snapshot.
    if (state.formatVersion === 1) await this.compact();
    this.db.data = emptyState(); // the live state is in the core; the snapshot is rebuilt when compacting
  }

  /**
   * Lets the writes under way finish, then takes no more: work still running after a shutdown
   * (an effect handed back) must not write behind the next process's back. The journal is
   * compacted (a quick next start), and the audit head signed last (with a key).
   */
  async close(): Promise<void> {
    if (this.closed || !this.opened) return;
    await this.idle();
    this.closed = true;
    if (this.readOnly) return;
    await this.compact();
    await this.audit.checkpoint('close');
    await this.history.close();
  }

  async *readAudit(): AsyncIterable<AuditRecord> {
    await this.appended(); // every acknowledged event is in the file
    yield* this.readOnly ? this.readAuditStrictly() : readAuditFile(this.audit.file);
  }

  /** The signed checkpoints, as audit-checkpoints.jsonl holds them (a torn last line left out). */
  readAuditCheckpoints(): AsyncIterable<AuditCheckpoint> {
    return this.afterAppended(readCheckpointFile(this.audit.checkpointFile));
  }

  private async *afterAppended<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    await this.appended(); // checkpoints are signed as the audit file is appended
    yield* source;
  }

  async listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]> {
    this.ready();
    await this.appended();
    // Closed, not archived yet (their side effects still run): newer than anything archived.
    const closing = [...this.closing.values()]
      .filter((r) => sameId(r.requester.id, requesterId))
      .sort((a, b) => b.updatedAt - a.updatedAt);
    const archived = (await this.history.recentOf(requesterId, limit + closing.length)).filter(
      (r) => !this.closing.has(r.id),
    );
    return [...closing, ...archived].slice(0, limit);
  }

  protected findArchived(id: string): Promise<AccessRequest | undefined> {
    return this.history.get(id);
  }

  protected holdingArchived(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    return this.history.holding(requesterId, groupId);
  }

  protected scanArchivedInsights(since: number, until: number): AsyncIterable<readonly InsightRecord[]> {
    return this.history.scanInsights(since, until);
  }

  protected lastRequestedArchived(until: number): Promise<Map<string, number>> {
    return Promise.resolve(this.history.lastRequestedByGroup(until));
  }

  protected createdBetweenArchived(since: number, until: number, limit?: number): Promise<AccessRequest[]> {
    return this.history.createdBetween(since, until, limit);
  }

  /** Appends the batch's lines and fsyncs once; on failure (a full disk can take part of it) cuts them off again. */
  protected async persist(entries: Entry[]): Promise<void> {
    if (this.readOnly) {
      throw new DomainError(
        ErrorCodes.STORE_WRITE_FAILED,
        `The store in ${this.dir} was opened read-only, so nothing was changed.`,
        { dir: this.dir, cause: 'read-only' },
      );
    }
    const text = entries.map((entry, i) => encodeLine({ ...entry, n: this.lastN + i + 1 })).join('');
    // NB: opened for each batch (not kept open like the history and audit files): a journal
    // moved aside is never written behind its back. Its size is known: all of it is ours.
    const handle = await fs.open(this.journalFile, 'a');
    try {
      await handle.write(text);
      await handle.datasync();
    } catch (error) {
      await handle.truncate(this.journalBytes).catch(() => undefined);
      await handle.close().catch(() => undefined);
      throw error;
    }
    // NB: closed without waiting: the batch is durable once datasync returned, and a close is
    // one more thread-pool trip every commit of the batch would wait for (a fifth of a commit's
    // time while the worker keeps the event loop busy). Its failure changes nothing written.
    void handle.close().catch(() => undefined);
    this.lastN += entries.length;
    this.journalEntries += entries.length;
    this.journalBytes += Buffer.byteLength(text);
  }

  protected async afterBatch(): Promise<void> {
    // The audit file first: it is what people read; the history append is bookkeeping.
    await this.flushAudit();
    await this.settleClosing();
  }

  /**
   * Compacts past the limits. NB: here, between batches, never beside a journal write (as
   * afterBatch runs): emptying the journal while a batch is appended to it would lose that batch.
   */
  protected async betweenBatches(): Promise<void> {
    if (this.journalEntries >= this.compactEntries || this.journalBytes >= this.compactBytes)
      await this.compact();
  }

  /**
   * Writes the snapshot (atomically) and empties the journal it now covers. A crash between the
   * two leaves journal lines the snapshot covers: replay skips them by number. A failure (disk
   * full) is a warning: the journal still holds everything, and the next batch tries again.
   */
  private async compact(): Promise<void> {
    if (this.journalEntries === 0 && this.db.data?.formatVersion === 2) return;
    try {
      this.db.data = this.snapshot(this.lastN);
      await this.db.write();
      this.db.data = emptyState();
      const handle = await fs.open(this.journalFile, 'a');
      try {
        await handle.truncate(0);
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.journalEntries = 0;
      this.journalBytes = 0;
    } catch (error) {
      this.db.data = emptyState();
      process.emitWarning(
        `Timebox store: could not compact ${this.journalFile} into ${this.hotFile} (${(error as Error).message}); the journal keeps growing until it can`,
      );
    }
  }

  /** Applies the journal's entries after `coveredN`; cuts a torn tail; stops at a corrupt line before it. */
  private async replay(coveredN: number, journal?: Buffer): Promise<void> {
    const data = journal ?? (await this.readJournal());
    const entries: Array<Entry & { n: number }> = [];
    let start = 0;
    let line = 0;
    let good = 0;
    let bad: number | undefined;
    while (start < data.length) {
      const nl = data.indexOf(10, start);
      const end = nl < 0 ? data.length : nl;
      line++;
      const entry = nl < 0 ? undefined : decodeLine(data.subarray(start, end));
      if (!entry) {
        bad ??= line;
      } else if (bad !== undefined) {
        throw new DomainError(
          ErrorCodes.STORE_CORRUPT,
          `The journal ${this.journalFile} has a corrupt line ${bad} (its checksum does not match) before good ones. It was left as it is; restore the data directory from a backup.`,
        );
      } else {
        entries.push(entry);
        good = end + 1;
      }
      start = end + 1;
    }
    // Read-only: left out, not cut (it may be an append under way).
    if (good < data.length && !this.readOnly) {
      process.emitWarning(
        `Timebox store: cut a torn tail of ${this.journalFile} (bytes ${good}-${data.length}, a write that was never acknowledged)`,
      );
      await fs.truncate(this.journalFile, good);
    }
    let expected = coveredN + 1;
    for (const entry of entries) {
      if (entry.n <= coveredN) continue;
      if (entry.n !== expected) {
        throw new DomainError(
          ErrorCodes.STORE_CORRUPT,
          `The journal ${this.journalFile} skips from entry ${expected - 1} to ${entry.n}: entries are missing. It was left as it is; restore the data directory from a backup.`,
        );
      }
      this.apply(entry);
      expected++;
    }
    this.lastN = expected - 1;
    this.journalEntries = entries.length;
    this.journalBytes = good;
  }

  /** The journal's bytes (none when there is no journal). */
  private async readJournal(): Promise<Buffer> {
    try {
      return await fs.readFile(this.journalFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw new DomainError(
        ErrorCodes.STORE_CORRUPT,
        `Cannot read the journal ${this.journalFile}: ${(error as Error).message}. It was left as it is.`,
      );
    }
  }

  /**
   * Read-only readAudit: audit.jsonl line by line, a partial last line (an append under way)
   * left out. A line that cannot be a record at all (empty, not JSON, a key twice: a reader
   * would see one value, JSON.parse keeps the other) is STORE_CORRUPT naming it, and so is a log
   * that ends before the last record the store had appended when opened; everything else about
   * a record (its fields, its hash) is for the verifier to judge.
   */
  private async *readAuditStrictly(): AsyncGenerator<AuditRecord> {
    const name = path.basename(this.audit.file);
    const corrupt = (problem: string) =>
      new DomainError(ErrorCodes.STORE_CORRUPT, problem, { dir: this.dir });
    let line = 0;
    let last = 0;
    let lastHash = GENESIS_HASH;
    for await (const text of wholeLines(this.audit.file)) {
      line++;
      if (!text.trim())
        throw corrupt(`${name} line ${line} is empty: a record was removed or the file was edited here`);
      let record: AuditRecord;
      try {
        record = JSON.parse(text) as AuditRecord;
      } catch {
        throw corrupt(`${name} line ${line} is not valid JSON`);
      }
      const duplicate = findDuplicateKey(text);
      if (duplicate !== undefined)
        throw corrupt(
          `${name} line ${line} has the key "${duplicate}" twice (a reader sees one value, JSON keeps the other): the line was edited`,
        );
      if (Number.isSafeInteger(record?.seq)) last = record.seq;
      if (typeof record?.hash === 'string') lastHash = record.hash;
      yield record;
    }
    // Acknowledged events the writer had not appended to the file yet (it does so just after
    // each batch): the journal has them; chained here exactly as the writer will write them.
    for (const { seq, event } of [...this.auditQueue].sort((a, b) => a.seq - b.seq)) {
      if (seq !== last + 1) continue;
      const record = toAuditRecord(event, seq, lastHash);
      last = seq;
      lastHash = record.hash;
      yield record;
    }
    if (last < this.auditWritten) {
      throw corrupt(
        `the log ends at record ${last}, but the store has written records up to ${this.auditWritten}: records were removed from the end`,
      );
    }
  }

  /**
   * Appends the closed versions not yet in history.jsonl (after each batch, and at open for what
   * a crash interrupted), then forgets them. A failed append (disk full) is not the transition
   * failing: the journal has it, and it stays closing until an append works.
   */
  private async settleClosing(atOpen = false): Promise<void> {
    // NB: a request whose side effects still run (its removal, its notices) is archived once
    // they are done: its removal changes it once more, and each version archived was a line of
    // history.jsonl written for nothing.
    const settling = [...this.closing].filter(([id]) => atOpen || !this.hasWork(id));
    if (settling.length === 0) return;
    try {
      const fresh: AccessRequest[] = [];
      for (const [id, request] of settling) {
        const known = atOpen ? await this.history.get(id) : undefined;
        if (!known || known.version < request.version) fresh.push(request);
      }
      await this.history.append(fresh);
      for (const [id, request] of settling) if (this.closing.get(id) === request) this.closing.delete(id);
    } catch (error) {
      process.emitWarning(
        `Timebox store: could not append ${settling.length} closed request(s) to the history yet (${(error as Error).message}); they stay in the journal`,
      );
    }
  }

  private async flushAudit(): Promise<void> {
    if (this.auditQueue.length === 0) return;
    try {
      await this.audit.append(this.auditQueue);
      this.auditQueue = this.auditQueue.filter((e) => e.seq > this.audit.seq);
    } catch (error) {
      // NB: the events stay queued (and in the journal), so the next flush (or start) appends them.
      process.emitWarning(`audit append failed, will retry: ${(error as Error).message}`);
    }
  }
}

/** The lines of a file that end with a line break (a "\r" before it dropped); a partial last line is left out; no file: none. */
async function* wholeLines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file, 'utf8');
  let rest = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) yield part.endsWith('\r') ? part.slice(0, -1) : part;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  } finally {
    input.destroy();
  }
}

function decodeLine(line: Buffer): (Entry & { n: number }) | undefined {
  const text = line.toString('utf8');
  const head = LINE.exec(text);
  if (!head || !text.endsWith('}')) return undefined;
  const body = text.slice(head[0].length, -1);
  if (crc32(body) !== Number(head[1])) return undefined;
  try {
    return JSON.parse(body) as Entry & { n: number };
  } catch {
    return undefined;
  }
}

/**
 * lowdb's JSONFile, made durable: the new state goes to `.timebox.json.tmp`, is fsynced, and
 * replaces timebox.json by rename (atomic: a reader or a crash sees the old file or the new
 * one, never half of one), and the directory is fsynced so the rename itself survives a power
 * loss. NB: lowdb's own writer (steno) renames without fsync.
 */
class DurableJsonFile<T> {
  constructor(private readonly file: string) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return JSON.parse(text) as T;
  }

  async write(data: T): Promise<void> {
    const dir = path.dirname(this.file);
    const temporary = path.join(dir, `.${path.basename(this.file)}.tmp`);
    const handle = await fs.open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(data));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, this.file);
    const directory = await fs.open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
