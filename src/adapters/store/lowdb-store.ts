import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Low } from 'lowdb' with { 'resolution-mode': 'import' };
import { DomainError, ErrorCodes } from '../../domain/errors';
import { isClosed, mayHoldMembership, sameId, type AccessRequest, type RequestEvent } from '../../domain/request';
import type { PersonalChat } from '../../ports/notifier';
import type { AuditRecord, Commit, Effect, EffectLane, GroupBaseline, NewEffect, RequestQuery, Store } from '../../ports/store';
import { AuditLog, readAuditFile, type AuditLogOptions } from './audit-log';
import { History } from './history';

/** What lowdb rewrites on every write: only open requests and pending work, never history. */
interface HotState {
  formatVersion: 1;
  requests: Record<string, AccessRequest>;
  effects: Effect[];
  /** Audit events committed but perhaps not yet appended to the audit file. */
  auditQueue: Array<{ seq: number; event: RequestEvent }>;
  nextEffectSeq: number;
  nextAuditSeq: number;
  personalChats: Record<string, PersonalChat>;
  serviceUrls: Record<string, string>;
  /** The reconciler's baselines by group id (lower-case); absent in files written before it. */
  baselines?: Record<string, GroupBaseline>;
  /**
   * Requests just closed (or changed while closed), by id: written here first, in the same
   * atomic write as their outbox entries and audit events, then appended to history.jsonl. A
   * crash between the two leaves the version here, and the next open appends it.
   */
  closing?: Record<string, AccessRequest>;
}

const emptyState = (): HotState => ({
  formatVersion: 1,
  requests: {},
  effects: [],
  auditQueue: [],
  nextEffectSeq: 1,
  nextAuditSeq: 1,
  personalChats: {},
  serviceUrls: {},
});

export const laneOf = (kind: NewEffect['kind']): EffectLane => (kind.startsWith('directory.') ? 'directory' : 'teams');

/** See `Effect.queue`: membership changes queue per person and group, Teams effects per request. */
export const queueOf = (request: AccessRequest, lane: EffectLane): string =>
  lane === 'directory' ? `directory:${request.group.id.toLowerCase()}:${request.requester.id.toLowerCase()}` : `teams:${request.id}`;

/**
 * The default store: lowdb for the hot state (`timebox.json`, rewritten atomically on each
 * write), an append-only `history.jsonl` for closed requests, and the hash-chained
 * `audit.jsonl`. Keeping history out of the lowdb file is what keeps a write's cost flat as
 * closed requests pile up (bench/store.ts measures it).
 */
export class LowdbStore implements Store {
  private db!: Low<HotState>;
  private readonly history: History;
  private readonly audit: AuditLog;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly hotFile: string;

  /** `options.audit`: the checkpoint key and interval (see AuditLog; without a key, no checkpoints). */
  constructor(
    readonly dir: string,
    options: { audit?: AuditLogOptions } = {},
  ) {
    this.hotFile = path.join(dir, 'timebox.json');
    this.history = new History(path.join(dir, 'history.jsonl'));
    this.audit = new AuditLog(path.join(dir, 'audit.jsonl'), options.audit);
  }

  get auditFile(): string {
    return this.audit.file;
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
    if (this.db.data?.formatVersion !== 1) {
      throw new DomainError(ErrorCodes.STORE_CORRUPT, `The store file ${this.hotFile} is not a Timebox store (no formatVersion 1). It was left as it is.`);
    }
    await this.history.load((id) => id in this.db.data.requests);
    await this.settleClosing(true);
    await this.audit.open();
    this.db.data.nextAuditSeq = Math.max(this.db.data.nextAuditSeq, this.audit.seq + 1);
    await this.flushAudit();
  }

  /**
   * Lets the writes under way finish, then takes no more: work still running after a shutdown
   * (an effect handed back) must not write behind the next process's back. It fails instead,
   * and its effect stays in the outbox for the next start. The audit head is signed last (with
   * a key): nothing appends after it until the next open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.serialized(async () => {
      this.closed = true;
      await this.audit.checkpoint('close');
    });
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    return clone(await this.find(id));
  }

  commit(change: Commit): Promise<AccessRequest> {
    return this.serialized(async () => {
      const { request } = change;
      const current = await this.find(request.id);
      if (change.expectedVersion === null ? current !== undefined : current?.version !== change.expectedVersion) {
        throw new DomainError(ErrorCodes.REQUEST_CONFLICT, `Request ${request.id} changed meanwhile; try again.`);
      }
      const stored: AccessRequest = { ...clone(request), version: (current?.version ?? 0) + 1 };
      const closing = isClosed(stored.status);
      await this.write(async (state) => {
        if (closing) {
          // NB: the hot file first, history.jsonl after (settleClosing). The other order left a
          // window, found by the crash-and-fault run: a request already closed (a removal being
          // recorded) had its new version in history while the write with its completed effect
          // and its audit event was lost to a crash; the effect, run again, found the removal
          // recorded and completed silently, and member_removed was never audited.
          delete state.requests[stored.id];
          (state.closing ??= {})[stored.id] = stored;
        } else {
          state.requests[stored.id] = stored;
        }
        const done = new Set(change.completedEffectIds ?? []);
        if (done.size) state.effects = state.effects.filter((e) => !done.has(e.id));
        for (const effect of change.effects ?? []) state.effects.push(this.newEffect(state, stored, effect));
        for (const event of change.events) state.auditQueue.push({ seq: state.nextAuditSeq++, event });
      });
      // The audit file first: it is what people read; the history append is bookkeeping.
      await this.flushAudit();
      if (closing) await this.settleClosing();
      return clone(stored);
    });
  }

  async listOpen(query: RequestQuery = {}): Promise<AccessRequest[]> {
    return Object.values(this.state.requests)
      .filter(
        (r) =>
          (!query.requesterId || r.requester.id === query.requesterId) &&
          (!query.groupAlias || r.group.alias === query.groupAlias) &&
          (!query.statuses || query.statuses.includes(r.status)),
      )
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(clone);
  }

  async listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]> {
    return (await this.history.recentOf(requesterId, limit)).map(clone);
  }

  async listHolding(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    const mine = (r: AccessRequest) => sameId(r.requester.id, requesterId) && sameId(r.group.id, groupId) && mayHoldMembership(r);
    const open = Object.values(this.state.requests).filter(mine);
    const pending = Object.values(this.state.closing ?? {}).filter(mine);
    const closed = (await this.history.holding(requesterId, groupId)).filter((r) => mayHoldMembership(r) && !this.state.closing?.[r.id]);
    return [...open, ...pending, ...closed].map(clone);
  }

  async dueEffects(now: number, limit: number): Promise<Effect[]> {
    return this.heads()
      .filter((e) => e.notBefore <= now)
      .slice(0, limit)
      .map(clone);
  }

  async listEffects(requestId?: string): Promise<Effect[]> {
    return this.state.effects
      .filter((e) => requestId === undefined || e.requestId === requestId)
      .sort((a, b) => a.seq - b.seq)
      .map(clone);
  }

  async nextEffectAt(): Promise<number | undefined> {
    const heads = this.heads();
    return heads.length ? Math.min(...heads.map((e) => e.notBefore)) : undefined;
  }

  retryEffect(id: string, notBefore: number, error: string): Promise<void> {
    return this.serialized(() =>
      this.write(async (state) => {
        const effect = state.effects.find((e) => e.id === id);
        if (effect) Object.assign(effect, { attempts: effect.attempts + 1, notBefore, lastError: error.slice(0, 500) });
      }),
    );
  }

  completeEffect(id: string): Promise<void> {
    return this.serialized(() =>
      this.write(async (state) => {
        state.effects = state.effects.filter((e) => e.id !== id);
      }),
    );
  }

  appendAudit(events: RequestEvent[]): Promise<void> {
    return this.serialized(async () => {
      // Refusals change no request, so they skip the hot write; queued behind any events not
      // yet flushed, so the file keeps sequence order.
      for (const event of events) this.state.auditQueue.push({ seq: this.state.nextAuditSeq++, event });
      await this.flushAudit();
    });
  }

  readAudit(): AsyncIterable<AuditRecord> {
    return readAuditFile(this.audit.file);
  }

  savePersonalChat(userId: string, chat: PersonalChat): Promise<void> {
    if (sameJson(this.state.personalChats[userId], chat)) return Promise.resolve();
    return this.serialized(() => this.write(async (state) => void (state.personalChats[userId] = chat)));
  }

  async getPersonalChat(userId: string): Promise<PersonalChat | undefined> {
    // Own keys only: ids come from activities, and "__proto__" must not find Object.prototype.
    return Object.hasOwn(this.state.personalChats, userId) ? clone(this.state.personalChats[userId]) : undefined;
  }

  saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void> {
    if (this.state.serviceUrls[tenantId] === serviceUrl) return Promise.resolve();
    return this.serialized(() => this.write(async (state) => void (state.serviceUrls[tenantId] = serviceUrl)));
  }

  async getServiceUrl(tenantId: string): Promise<string | undefined> {
    return Object.hasOwn(this.state.serviceUrls, tenantId) ? this.state.serviceUrls[tenantId] : undefined;
  }

  async getBaseline(groupId: string): Promise<GroupBaseline | undefined> {
    return clone(this.state.baselines?.[groupId.toLowerCase()]);
  }

  saveBaseline(baseline: GroupBaseline): Promise<void> {
    const key = baseline.groupId.toLowerCase();
    if (sameJson(this.state.baselines?.[key], baseline)) return Promise.resolve();
    return this.serialized(() => this.write(async (state) => void ((state.baselines ??= {})[key] = clone(baseline))));
  }

  private get state(): HotState {
    if (!this.db?.data) throw new Error('LowdbStore used before open()');
    return this.db.data;
  }

  /** The first effect of each (request, lane) queue: later ones wait for it. */
  private heads(): Effect[] {
    const seen = new Set<string>();
    const heads: Effect[] = [];
    for (const effect of [...this.state.effects].sort((a, b) => a.seq - b.seq)) {
      const key = effect.queue ?? `${effect.requestId}/${effect.lane}`;
      if (seen.has(key)) continue;
      seen.add(key);
      heads.push(effect);
    }
    return heads.sort((a, b) => a.notBefore - b.notBefore || a.seq - b.seq);
  }

  private newEffect(state: HotState, request: AccessRequest, effect: NewEffect): Effect {
    const seq = state.nextEffectSeq++;
    const now = request.updatedAt;
    const lane = laneOf(effect.kind);
    return { ...effect, id: `${request.id}:${seq}`, requestId: request.id, lane, queue: queueOf(request, lane), seq, attempts: 0, notBefore: now, createdAt: now };
  }

  /**
   * Applies `mutate` to the hot state and writes it atomically. If the write fails, the
   * in-memory state is put back as it was, so nothing is half-done.
   */
  private async write(mutate: (state: HotState) => Promise<void>): Promise<void> {
    const before = clone(this.state);
    try {
      await mutate(this.db.data);
      await this.db.write();
    } catch (error) {
      this.db.data = before;
      if (error instanceof DomainError) throw error;
      const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      process.emitWarning(`Timebox store: could not write ${this.dir}: ${(error as Error).message}; the change was not made`);
      // What the person reads: nothing happened, and what to do (the path stays in the logs).
      throw new DomainError(
        ErrorCodes.STORE_WRITE_FAILED,
        `Timebox could not save that, so nothing was changed (its storage failed: ${cause}). Try again in a few minutes; if it keeps failing, tell your Timebox admin.`,
        { dir: this.dir, cause: (error as Error).message },
      );
    }
  }

  /** The current version of a request: open (hot), just closed (hot, not yet in history), or in history. */
  private async find(id: string): Promise<AccessRequest | undefined> {
    return this.state.requests[id] ?? this.state.closing?.[id] ?? (await this.history.get(id));
  }

  /**
   * Appends the closed versions the hot file holds to history.jsonl (after each closing commit,
   * and at open for what a crash interrupted), then forgets them in memory (the file's copy goes
   * with the next write; at open a version history already has is not appended twice). A failed
   * append (disk full) is not the transition failing: it is in the hot file, and stays there
   * until an append works.
   */
  private async settleClosing(atOpen = false): Promise<void> {
    const closing = this.state.closing;
    if (!closing) return;
    for (const [id, request] of Object.entries(closing)) {
      try {
        // Only the file read at open can hold versions already appended (before a crash); in
        // memory, a version waits here only until its append works.
        const known = atOpen ? await this.history.get(id) : undefined;
        if (!known || known.version < request.version) await this.history.append(request);
        delete closing[id];
      } catch (error) {
        process.emitWarning(`Timebox store: could not append ${id} to the history yet (${(error as Error).message}); it stays in ${this.hotFile}`);
      }
    }
  }

  private async flushAudit(): Promise<void> {
    const state = this.state;
    if (state.auditQueue.length === 0) return;
    try {
      await this.audit.append(state.auditQueue);
      // The queue is trimmed in memory now and on disk with the next hot write; events left in
      // the file's copy are skipped by sequence number when replayed.
      state.auditQueue = state.auditQueue.filter((e) => e.seq > this.audit.seq);
    } catch (error) {
      // NB: the events stay queued in the committed hot file, so the next flush (or the next
      // start) appends them; the transition itself did happen.
      process.emitWarning(`audit append failed, will retry: ${(error as Error).message}`);
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const guarded = () => {
      if (this.closed) return Promise.reject(new DomainError(ErrorCodes.STORE_WRITE_FAILED, 'Timebox is shutting down, so nothing was changed. Try again in a moment.', { dir: this.dir, cause: 'closed' }));
      return work();
    };
    const next = this.queue.then(guarded, guarded);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * lowdb's JSONFile, made durable: the new state goes to `.timebox.json.tmp`, is fsynced, and
 * replaces timebox.json by rename (atomic: a reader or a crash sees the old file or the new
 * one, never half of one), and the directory is fsynced so the rename itself survives a power
 * loss. NB: lowdb's own writer (steno) renames without fsync: after a power cut the hot file
 * could then be older than the audit and history files (which are fsynced), i.e. decisions
 * in the audit log that the store no longer knows.
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
      await handle.writeFile(JSON.stringify(data, null, 2));
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

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
