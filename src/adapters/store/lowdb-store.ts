import { promises as fs } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Low } from 'lowdb' with { 'resolution-mode': 'import' };
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { AccessRequest } from '../../domain/request';
import type { AuditRecord } from '../../ports/store';
import { AuditLog, readAuditFile, type AuditLogOptions } from './audit-log';
import { History } from './history';
import { StoreCore, emptyState, type Entry, type HotState } from './store-core';

export interface LowdbStoreOptions {
  /** The checkpoint key and interval (see AuditLog; without a key, no checkpoints). */
  audit?: AuditLogOptions;
  /** Compacts the journal into the snapshot once it has this many entries (default 20,000) … */
  compactEntries?: number;
  /** … or this many bytes (default 64 MiB), and at close. */
  compactBytes?: number;
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

  constructor(
    readonly dir: string,
    options: LowdbStoreOptions = {},
  ) {
    super();
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
    await fs.mkdir(this.dir, { recursive: true });
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
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `The store file ${this.hotFile} is not a Timebox store (no formatVersion 1 or 2). It was left as it is.`);
    }
    this.load(state);
    this.lastN = state.journalN ?? 0;
    await this.replay(state.journalN ?? 0);
    this.opened = true;
    await this.history.load((id) => this.requests.has(id));
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
    await this.compact();
    await this.audit.checkpoint('close');
  }

  readAudit(): AsyncIterable<AuditRecord> {
    return readAuditFile(this.audit.file);
  }

  async listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]> {
    this.ready();
    return (await this.history.recentOf(requesterId, limit)).filter((r) => !this.closing.has(r.id));
  }

  protected findArchived(id: string): Promise<AccessRequest | undefined> {
    return this.history.get(id);
  }

  protected holdingArchived(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    return this.history.holding(requesterId, groupId);
  }

  /** Appends the batch's lines and fsyncs once; on failure (a full disk can take part of it) cuts them off again. */
  protected async persist(entries: Entry[]): Promise<void> {
    const text = entries.map((entry, i) => encodeLine({ ...entry, n: this.lastN + i + 1 })).join('');
    const handle = await fs.open(this.journalFile, 'a');
    try {
      const { size } = await handle.stat();
      try {
        await handle.write(text);
        await handle.datasync();
      } catch (error) {
        await handle.truncate(size).catch(() => undefined);
        throw error;
      }
    } finally {
      await handle.close();
    }
    this.lastN += entries.length;
    this.journalEntries += entries.length;
    this.journalBytes += Buffer.byteLength(text);
  }

  protected async afterBatch(): Promise<void> {
    // The audit file first: it is what people read; the history append is bookkeeping.
    await this.flushAudit();
    await this.settleClosing();
    if (this.journalEntries >= this.compactEntries || this.journalBytes >= this.compactBytes) await this.compact();
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
      process.emitWarning(`Timebox store: could not compact ${this.journalFile} into ${this.hotFile} (${(error as Error).message}); the journal keeps growing until it can`);
    }
  }

  /** Applies the journal's entries after `coveredN`; cuts a torn tail; stops at a corrupt line before it. */
  private async replay(coveredN: number): Promise<void> {
    let data: Buffer;
    try {
      data = await fs.readFile(this.journalFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `Cannot read the journal ${this.journalFile}: ${(error as Error).message}. It was left as it is.`);
    }
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
        throw new DomainError(ErrorCodes.STORE_CORRUPT, `The journal ${this.journalFile} has a corrupt line ${bad} (its checksum does not match) before good ones. It was left as it is; restore the data directory from a backup.`);
      } else {
        entries.push(entry);
        good = end + 1;
      }
      start = end + 1;
    }
    if (good < data.length) {
      process.emitWarning(`Timebox store: cut a torn tail of ${this.journalFile} (bytes ${good}-${data.length}, a write that was never acknowledged)`);
      await fs.truncate(this.journalFile, good);
    }
    let expected = coveredN + 1;
    for (const entry of entries) {
      if (entry.n <= coveredN) continue;
      if (entry.n !== expected) {
        throw new DomainError(ErrorCodes.STORE_CORRUPT, `The journal ${this.journalFile} skips from entry ${expected - 1} to ${entry.n}: entries are missing. It was left as it is; restore the data directory from a backup.`);
      }
      this.apply(entry);
      expected++;
    }
    this.lastN = expected - 1;
    this.journalEntries = entries.length;
    this.journalBytes = good;
  }

  /**
   * Appends the closed versions not yet in history.jsonl (after each batch, and at open for what
   * a crash interrupted), then forgets them. A failed append (disk full) is not the transition
   * failing: the journal has it, and it stays closing until an append works.
   */
  private async settleClosing(atOpen = false): Promise<void> {
    const settling = [...this.closing];
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
      process.emitWarning(`Timebox store: could not append ${settling.length} closed request(s) to the history yet (${(error as Error).message}); they stay in the journal`);
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
