import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { insightRecordOf, type InsightRecord } from '../../domain/insights';
import {
  isClosed,
  mayHoldMembership,
  sameId,
  type AccessRequest,
  type RequestEvent,
} from '../../domain/request';
import type { PersonalChat } from '../../ports/notifier';
import type {
  AuditCheckpoint,
  AuditRecord,
  ClaimedEffect,
  Commit,
  Effect,
  EffectLane,
  GroupBaseline,
  Lease,
  RequestQuery,
  Store,
  StoredDelegations,
  StoredSigningKey,
  StoredSigningKeys,
} from '../../ports/store';
import type { Delegation } from '../../domain/delegation';
import { SortedList } from './sorted-list';

/**
 * The state as a snapshot holds it (lowdb's `timebox.json`): open requests and pending work,
 * never history. formatVersion 1 is what Timebox wrote before the journal (no `dueAt`, no
 * `journalN`); it is read as it is and written back as 2.
 */
export interface HotState {
  formatVersion: 1 | 2;
  requests: Record<string, AccessRequest>;
  effects: Effect[];
  /** Audit events committed but perhaps not yet appended to the audit file. */
  auditQueue: Array<{ seq: number; event: RequestEvent }>;
  nextEffectSeq: number;
  nextAuditSeq: number;
  personalChats: Record<string, PersonalChat>;
  serviceUrls: Record<string, string>;
  baselines?: Record<string, GroupBaseline>;
  /** Who (`person:<id>`) and which teams (`team:<id>`) were welcomed, and when (absent before welcomes existed). */
  welcomed?: Record<string, number>;
  /** Requests just closed, not yet in the history of closed requests (a crash, or a failed append, between the two). */
  closing?: Record<string, AccessRequest>;
  /** Due times of open requests (epoch ms), by id. */
  dueAt?: Record<string, number>;
  /** The last journal entry this snapshot covers (entries up to it are skipped when replayed). */
  journalN?: number;
  /** The approval-token signing keys (absent before they were kept in the store, or never saved). */
  signingKeys?: StoredSigningKeys;
  /** The approvers' delegations (absent before they existed, or never saved). */
  delegations?: StoredDelegations;
}

export const emptyState = (): HotState => ({
  formatVersion: 2,
  requests: {},
  effects: [],
  auditQueue: [],
  nextEffectSeq: 1,
  nextAuditSeq: 1,
  personalChats: {},
  serviceUrls: {},
});

type QueuedAudit = { seq: number; event: RequestEvent };

/** One change as the journal holds it: what applying it does, with every id and number decided. */
export type Entry =
  | {
      t: 'commit';
      request: AccessRequest;
      effects: Effect[];
      done: string[];
      audit: QueuedAudit[];
      dueAt?: number | null;
    }
  | { t: 'retry'; id: string; token?: string; attempts: number; notBefore: number; lastError: string }
  | { t: 'complete'; id: string }
  | { t: 'audit'; audit: QueuedAudit[] }
  | { t: 'chat'; userId: string; chat: PersonalChat }
  | { t: 'url'; tenantId: string; serviceUrl: string }
  | { t: 'baseline'; baseline: GroupBaseline }
  | { t: 'welcome'; key: string; at: number }
  | { t: 'due'; id: string; dueAt: number | null }
  | { t: 'keys'; signingKeys: StoredSigningKeys }
  | { t: 'delegations'; delegations: StoredDelegations };

/** Numbers a batch hands out before it is durable (kept only if it is). */
interface Counters {
  nextEffectSeq: number;
  nextAuditSeq: number;
}

interface Op<T> {
  /** What it reads and writes: an op touching a key an earlier op of the batch touched waits for the next batch. */
  keys: string[];
  build(counters: Counters): Promise<{ entry?: Entry; result: T }>;
}

interface Pending {
  op: Op<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** directory.remove first, then other membership changes, then Teams work. */
const rankOf = (e: Effect): number => (e.kind === 'directory.remove' ? 0 : e.lane === 'directory' ? 1 : 2);
const byDue = (a: Effect, b: Effect) => a.notBefore - b.notBefore || a.seq - b.seq;
const queueKey = (e: Effect): string => e.queue ?? `${e.requestId}/${e.lane}`;
/**
 * The uniqueness key of open requests: requester (case-insensitive) and the policy's group alias.
 * NB: the alias, not the Entra group id: two aliases of one group (e.g. db-read and
 * db-read-oncall) may each be held at once; their membership changes still share one queue.
 */
const openKey = (r: AccessRequest): string =>
  `${r.requester.id.toLowerCase()}|${r.group.alias.toLowerCase()}`;
type DueItem = { id: string; at: number };

/**
 * What LowdbStore and InMemoryStore share: the state in memory with its indexes (open requests
 * by id, by requester and group, by status; effects by queue and queue heads by rank and due
 * time; due times sorted), and the write path. Writes are ops: each is validated against the
 * durable state, becomes a journal entry, and is applied only once `persist` made its batch
 * durable — so reads never see a change that could still be lost. Ops arriving while a batch
 * is being persisted form the next batch (group commit: one persist for all of them). An op
 * that touches what an earlier op of the same batch touches waits for the next batch, which
 * keeps validating against durable state exact.
 */
/** Records `at` for `key` when it is newer than what `last` holds. */
export function keepNewest(last: Map<string, number>, key: string, at: number): void {
  const known = last.get(key);
  if (known === undefined || at > known) last.set(key, at);
}

/** Oldest created first, then by id: the order of `listCreatedBetween`. */
export const byCreation = (a: AccessRequest, b: AccessRequest): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export abstract class StoreCore implements Store {
  protected readonly requests = new Map<string, AccessRequest>();
  protected readonly closing = new Map<string, AccessRequest>();
  /**
   * Closed requests whose effects are still in the outbox, by id. NB: a request is archived
   * (history.jsonl) right after it closes, but its removal and notices still read it: 10,000
   * grants ending together read each from the file several times, past the history's cache.
   */
  private readonly closedWithWork = new Map<string, AccessRequest>();
  /** Effects in the outbox per request id. */
  private readonly effectsOf = new Map<string, number>();
  private readonly openByKey = new Map<string, Set<string>>();
  private readonly openByRequester = new Map<string, Set<string>>();
  private readonly effects = new Map<string, Effect>();
  private readonly queues = new Map<string, Effect[]>();
  private readonly heads = [0, 1, 2].map(() => new SortedList<Effect>(byDue));
  private readonly leases = new Map<string, Lease>();
  private readonly due = new Map<string, DueItem>();
  private readonly dueList = new SortedList<DueItem>(
    (a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  protected auditQueue: QueuedAudit[] = [];
  protected counters: Counters = { nextEffectSeq: 1, nextAuditSeq: 1 };
  private readonly chats = new Map<string, PersonalChat>();
  private readonly serviceUrls = new Map<string, string>();
  private readonly baselines = new Map<string, GroupBaseline>();
  private readonly welcomed = new Map<string, number>();
  private readonly namedLeases = new Map<string, { owner: string; until: number }>();
  private signingKeys?: StoredSigningKeys;
  private delegations?: StoredDelegations;
  private pending: Pending[] = [];
  private writing?: Promise<void>;
  private after: Promise<void> = Promise.resolve();
  private afterQueued = false;
  private afterRunning = false;
  protected closed = false;
  protected opened = false;

  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  abstract readAudit(): AsyncIterable<AuditRecord>;
  abstract readAuditCheckpoints(): AsyncIterable<AuditCheckpoint>;
  abstract listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]>;
  /** Makes a batch's entries durable (all or nothing), or throws leaving nothing behind. */
  protected abstract persist(entries: Entry[]): Promise<void>;
  /** The newest version of a request closed and archived (not open, not closing). */
  protected abstract findArchived(id: string): Promise<AccessRequest | undefined>;
  /**
   * Archived requests created in `[since, until)`, oldest created first (then id), at most
   * `limit`: what `listCreatedBetween` adds to the hot ones (the versions it holds win).
   */
  protected abstract createdBetweenArchived(
    since: number,
    until: number,
    limit?: number,
  ): Promise<AccessRequest[]>;
  /** The insight records of the archived requests created in `[since, until)`, in batches, in no particular order. */
  protected abstract scanArchivedInsights(
    since: number,
    until: number,
  ): AsyncIterable<readonly InsightRecord[]>;
  /** The newest `createdAt` per lower-case group id of the archived requests created before `until`. */
  protected abstract lastRequestedArchived(until: number): Promise<Map<string, number>>;
  /** Archived requests of one person for one group that may still hold the membership. */
  protected abstract holdingArchived(requesterId: string, groupId: string): Promise<AccessRequest[]>;
  /** After a batch is durable and applied: append queued audit events and archive closing requests. */
  protected abstract afterBatch(): Promise<void>;
  /** Whether the request has effects in the outbox. */
  protected hasWork(requestId: string): boolean {
    return this.effectsOf.has(requestId);
  }

  /** Runs between two batches, with no write under way (LowdbStore: compaction). */
  protected async betweenBatches(): Promise<void> {}
  /** Where the write failed, for the message in the logs. */
  protected abstract get where(): string;

  // ---- loading and saving the state as a whole -------------------------------------------

  protected load(state: HotState): void {
    for (const r of Object.values(state.requests)) this.putOpen(frozen(r));
    for (const e of [...state.effects].sort((a, b) => a.seq - b.seq)) this.addEffect(e);
    for (const [id, at] of Object.entries(state.dueAt ?? {})) if (this.requests.has(id)) this.setDue(id, at);
    for (const [id, r] of Object.entries(state.closing ?? {})) this.closing.set(id, frozen(r));
    this.auditQueue = [...state.auditQueue];
    this.counters = { nextEffectSeq: state.nextEffectSeq, nextAuditSeq: state.nextAuditSeq };
    for (const [k, v] of Object.entries(state.personalChats)) this.chats.set(k, v);
    for (const [k, v] of Object.entries(state.serviceUrls)) this.serviceUrls.set(k, v);
    for (const [k, v] of Object.entries(state.baselines ?? {})) this.baselines.set(k.toLowerCase(), v);
    for (const [k, v] of Object.entries(state.welcomed ?? {})) this.welcomed.set(k, v);
    this.signingKeys = state.signingKeys;
    this.delegations = state.delegations;
  }

  protected snapshot(journalN: number): HotState {
    return {
      formatVersion: 2,
      requests: Object.fromEntries(this.requests),
      effects: [...this.effects.values()].sort((a, b) => a.seq - b.seq),
      auditQueue: this.auditQueue,
      nextEffectSeq: this.counters.nextEffectSeq,
      nextAuditSeq: this.counters.nextAuditSeq,
      personalChats: Object.fromEntries(this.chats),
      serviceUrls: Object.fromEntries(this.serviceUrls),
      baselines: Object.fromEntries(this.baselines),
      welcomed: Object.fromEntries(this.welcomed),
      closing: Object.fromEntries(this.closing),
      dueAt: Object.fromEntries([...this.due.values()].map((d) => [d.id, d.at])),
      journalN,
      ...(this.signingKeys ? { signingKeys: this.signingKeys } : {}),
      ...(this.delegations ? { delegations: this.delegations } : {}),
    };
  }

  /** Applies one durable entry (live, and when replaying the journal). */
  protected apply(entry: Entry): void {
    switch (entry.t) {
      case 'commit': {
        const stored = frozen(entry.request);
        this.dropOpen(stored.id);
        if (isClosed(stored.status)) {
          this.closing.set(stored.id, stored);
          this.setDue(stored.id, null);
        } else {
          this.closing.delete(stored.id);
          this.putOpen(stored);
          if (entry.dueAt !== undefined) this.setDue(stored.id, entry.dueAt);
        }
        for (const id of entry.done) this.removeEffect(id);
        for (const e of entry.effects) this.addEffect(e);
        if (isClosed(stored.status) && this.effectsOf.has(stored.id))
          this.closedWithWork.set(stored.id, stored);
        else this.closedWithWork.delete(stored.id);
        this.queueAudit(entry.audit);
        return;
      }
      case 'retry': {
        const effect = this.effects.get(entry.id);
        if (!effect) return;
        const updated = frozen({
          ...effect,
          attempts: entry.attempts,
          notBefore: entry.notBefore,
          lastError: entry.lastError,
        });
        const queue = this.queues.get(queueKey(effect))!;
        const head = queue[0] === effect;
        if (head) this.heads[rankOf(effect)]!.remove(effect);
        queue[queue.indexOf(effect)] = updated;
        this.effects.set(updated.id, updated);
        if (head) this.heads[rankOf(updated)]!.insert(updated);
        if (entry.token === undefined || this.leases.get(entry.id)?.token === entry.token)
          this.leases.delete(entry.id);
        return;
      }
      case 'complete':
        this.removeEffect(entry.id);
        return;
      case 'audit':
        this.queueAudit(entry.audit);
        return;
      case 'chat':
        this.chats.set(entry.userId, entry.chat);
        return;
      case 'url':
        this.serviceUrls.set(entry.tenantId, entry.serviceUrl);
        return;
      case 'baseline':
        this.baselines.set(entry.baseline.groupId.toLowerCase(), entry.baseline);
        return;
      case 'due':
        if (this.requests.has(entry.id)) this.setDue(entry.id, entry.dueAt);
        return;
      case 'welcome':
        if (!this.welcomed.has(entry.key)) this.welcomed.set(entry.key, entry.at);
        return;
      case 'keys':
        this.signingKeys = entry.signingKeys;
        return;
      case 'delegations':
        this.delegations = entry.delegations;
        return;
    }
  }

  private queueAudit(audit: QueuedAudit[]): void {
    for (const a of audit) {
      this.auditQueue.push(a);
      this.counters.nextAuditSeq = Math.max(this.counters.nextAuditSeq, a.seq + 1);
    }
  }

  private putOpen(r: AccessRequest): void {
    this.requests.set(r.id, r);
    const key = openKey(r);
    let ids = this.openByKey.get(key);
    if (!ids) this.openByKey.set(key, (ids = new Set()));
    ids.add(r.id);
    const requester = r.requester.id.toLowerCase();
    let mine = this.openByRequester.get(requester);
    if (!mine) this.openByRequester.set(requester, (mine = new Set()));
    mine.add(r.id);
  }

  private dropOpen(id: string): void {
    const r = this.requests.get(id);
    if (!r) return;
    this.requests.delete(id);
    const key = openKey(r);
    this.openByKey.get(key)?.delete(id);
    if (this.openByKey.get(key)?.size === 0) this.openByKey.delete(key);
    const requester = r.requester.id.toLowerCase();
    this.openByRequester.get(requester)?.delete(id);
    if (this.openByRequester.get(requester)?.size === 0) this.openByRequester.delete(requester);
  }

  private setDue(id: string, at: number | null): void {
    const old = this.due.get(id);
    if (old) {
      this.dueList.remove(old);
      this.due.delete(id);
    }
    if (at === null || !Number.isFinite(at)) return;
    const item = { id, at };
    this.due.set(id, item);
    this.dueList.insert(item);
  }

  private addEffect(added: Effect): void {
    const e = frozen(added);
    this.effects.set(e.id, e);
    this.effectsOf.set(e.requestId, (this.effectsOf.get(e.requestId) ?? 0) + 1);
    this.counters.nextEffectSeq = Math.max(this.counters.nextEffectSeq, e.seq + 1);
    const key = queueKey(e);
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = []));
    queue.push(e); // effects are added in seq order
    if (queue.length === 1) this.heads[rankOf(e)]!.insert(e);
  }

  private removeEffect(id: string): void {
    const e = this.effects.get(id);
    if (!e) return;
    this.effects.delete(id);
    this.leases.delete(id);
    const left = (this.effectsOf.get(e.requestId) ?? 1) - 1;
    if (left > 0) this.effectsOf.set(e.requestId, left);
    else {
      this.effectsOf.delete(e.requestId);
      this.closedWithWork.delete(e.requestId);
    }
    const key = queueKey(e);
    const queue = this.queues.get(key)!;
    const index = queue.indexOf(e);
    if (index === 0) this.heads[rankOf(e)]!.remove(e);
    queue.splice(index, 1);
    if (queue.length === 0) this.queues.delete(key);
    else if (index === 0) this.heads[rankOf(queue[0]!)]!.insert(queue[0]!);
  }

  // ---- the write path -------------------------------------------------------------------

  protected enqueue<T>(op: Op<T>): Promise<T> {
    if (this.closed) return Promise.reject(shuttingDown(this.where));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op: op as Op<unknown>, resolve: resolve as (v: unknown) => void, reject });
      this.writing ??= this.drain();
    });
  }

  /** Resolves once every op queued so far is written (or failed). */
  protected async idle(): Promise<void> {
    while (this.writing) await this.writing;
    await this.appended();
  }

  /**
   * Resolves once what the writes acknowledged so far lead to is appended (the audit file, the
   * history): for readers of those files (tests, and this store's own readers).
   */
  async appended(): Promise<void> {
    while (this.afterQueued || this.afterRunning) await this.after;
  }

  /**
   * Runs `afterBatch` once the batch is acknowledged, beside the next batch's journal write.
   * NB: awaited inside the batch, its two appends and fsyncs made every batch wait for three
   * fsyncs in a row, and the CPU sat idle a quarter of the time while 10,000 grants ended. The
   * journal has everything; readers of the appended files wait for `appended()`. One run at a
   * time; runs asked for while one is waiting are one.
   */
  private scheduleAfterBatch(): void {
    if (this.afterQueued) return;
    this.afterQueued = true;
    this.after = this.after.then(async () => {
      this.afterQueued = false;
      this.afterRunning = true;
      try {
        await this.afterBatch();
      } catch (error) {
        // The batch is durable; what follows it (audit file, history) is retried at the next batch and at open.
        process.emitWarning(`Timebox store: after a write: ${(error as Error).message}`);
      } finally {
        this.afterRunning = false;
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending;
        this.pending = [];
        const deferred = await this.runBatch(batch);
        await this.betweenBatches();
        this.pending = [...deferred, ...this.pending];
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async runBatch(batch: Pending[]): Promise<Pending[]> {
    const touched = new Set<string>();
    const deferred: Pending[] = [];
    const included: Array<{ item: Pending; entry?: Entry; result: unknown }> = [];
    const counters = { ...this.counters };
    for (const item of batch) {
      if (item.op.keys.some((k) => touched.has(k))) {
        deferred.push(item);
        for (const k of item.op.keys) touched.add(k);
        continue;
      }
      try {
        const { entry, result } = await item.op.build(counters);
        for (const k of item.op.keys) touched.add(k);
        included.push({ item, entry, result });
      } catch (error) {
        item.reject(error);
      }
    }
    const entries = included.flatMap((i) => (i.entry ? [i.entry] : []));
    if (entries.length) {
      try {
        await this.persist(entries);
      } catch (error) {
        const failure = writeFailed(this.where, error);
        for (const i of included) i.item.reject(failure);
        return deferred;
      }
      for (const entry of entries) this.apply(entry);
      this.counters = {
        nextEffectSeq: Math.max(this.counters.nextEffectSeq, counters.nextEffectSeq),
        nextAuditSeq: Math.max(this.counters.nextAuditSeq, counters.nextAuditSeq),
      };
      this.scheduleAfterBatch();
    }
    for (const i of included) i.item.resolve(i.result);
    return deferred;
  }

  // ---- requests ---------------------------------------------------------------------------

  /** The request as stored: frozen (see `frozen`), never to be changed in place. */
  async get(id: string): Promise<AccessRequest | undefined> {
    return this.find(id);
  }

  protected async find(id: string): Promise<AccessRequest | undefined> {
    this.ready();
    return (
      this.requests.get(id) ??
      this.closing.get(id) ??
      this.closedWithWork.get(id) ??
      (await this.findArchived(id))
    );
  }

  commit(change: Commit): Promise<AccessRequest> {
    const { request } = change;
    const done = [...(change.completedEffects ?? []).map((c) => c.id), ...(change.completedEffectIds ?? [])];
    return this.enqueue({
      keys: [`r:${request.id}`, `o:${openKey(request)}`, ...done.map((id) => `e:${id}`)],
      build: async (counters) => {
        const current = await this.find(request.id);
        if (
          change.expectedVersion === null
            ? current !== undefined
            : current?.version !== change.expectedVersion
        ) {
          throw new DomainError(
            ErrorCodes.REQUEST_CONFLICT,
            `Request ${request.id} changed meanwhile; try again.`,
          );
        }
        if (change.expectedVersion === null && !isClosed(request.status)) {
          const other = [...(this.openByKey.get(openKey(request)) ?? [])].find((id) => id !== request.id);
          if (other) {
            throw new DomainError(
              ErrorCodes.REQUEST_OPEN_EXISTS,
              `${request.requester.name} already has an open request (${other}) for ${request.group.alias}.`,
              { existing: other },
            );
          }
        }
        for (const c of change.completedEffects ?? []) this.holdsLease(c.id, c.token);
        const stored: AccessRequest = { ...copyIn(request), version: (current?.version ?? 0) + 1 };
        const now = stored.updatedAt;
        const effects: Effect[] = (change.effects ?? []).map((e) => {
          const seq = counters.nextEffectSeq++;
          // Field by field (one object shape), not a spread of a copy: 50,000 of these are built when 10,000 grants end.
          const effect: Effect = {
            kind: e.kind,
            lane: e.lane,
            queue: e.queue,
            id: `${stored.id}:${seq}`,
            requestId: stored.id,
            seq,
            attempts: 0,
            notBefore: now,
            createdAt: now,
          };
          if (e.template !== undefined) effect.template = e.template;
          if (e.data !== undefined) effect.data = copyIn(e.data);
          return effect;
        });
        const audit = change.events.map((event) => ({ seq: counters.nextAuditSeq++, event: copyIn(event) }));
        const entry: Entry = {
          t: 'commit',
          request: stored,
          effects,
          done: done.filter((id) => this.effects.has(id)),
          audit,
          ...(change.dueAt !== undefined ? { dueAt: change.dueAt } : {}),
        };
        return { entry, result: stored }; // frozen by `apply` before it is handed out
      },
    });
  }

  async listOpen(query: RequestQuery = {}): Promise<AccessRequest[]> {
    this.ready();
    const ids =
      query.requesterId !== undefined
        ? [...(this.openByRequester.get(query.requesterId.toLowerCase()) ?? [])]
        : [...this.requests.keys()];
    return ids
      .map((id) => this.requests.get(id)!)
      .filter(
        (r) =>
          (!query.groupAlias || r.group.alias === query.groupAlias) &&
          (!query.statuses || query.statuses.includes(r.status)),
      )
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async listCreatedBetween(since: number, until: number, limit?: number): Promise<AccessRequest[]> {
    this.ready();
    const hot = this.hotCreatedBetween(since, until);
    const known = (id: string) => hot.has(id) || this.requests.has(id) || this.closing.has(id);
    const archived = (await this.createdBetweenArchived(since, until, limit)).filter((r) => !known(r.id));
    const all = [...hot.values(), ...archived].sort(byCreation);
    return limit === undefined ? all : all.slice(0, Math.max(0, limit));
  }

  async *scanInsights(since: number, until: number): AsyncGenerator<readonly InsightRecord[]> {
    this.ready();
    const hot = this.hotCreatedBetween(since, until);
    if (hot.size > 0) yield [...hot.values()].map(insightRecordOf);
    // NB: `hot` was taken when the scan began; an id archived since then is still skipped.
    const known = (id: string) => hot.has(id) || this.requests.has(id) || this.closing.has(id);
    for await (const batch of this.scanArchivedInsights(since, until)) {
      const fresh = batch.filter((r) => !known(r.id));
      if (fresh.length > 0) yield fresh;
    }
  }

  /** Requests in memory created in `[since, until)`, newest version first: open, closing, closed with work to do. */
  private hotCreatedBetween(since: number, until: number): Map<string, AccessRequest> {
    const hot = new Map<string, AccessRequest>();
    for (const source of [this.requests, this.closing, this.closedWithWork]) {
      for (const r of source.values()) {
        if (!hot.has(r.id) && r.createdAt >= since && r.createdAt < until) hot.set(r.id, r);
      }
    }
    return hot;
  }

  async lastRequestedByGroup(until: number): Promise<Map<string, number>> {
    this.ready();
    // A request's createdAt and group are the same in every version, so archived and hot
    // versions of one id agree: the newest of all of them is the answer.
    const last = await this.lastRequestedArchived(until);
    for (const source of [this.requests, this.closing, this.closedWithWork]) {
      for (const r of source.values())
        if (r.createdAt < until) keepNewest(last, r.group.id.toLowerCase(), r.createdAt);
    }
    return last;
  }

  async listHolding(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    this.ready();
    const mine = (r: AccessRequest) =>
      sameId(r.requester.id, requesterId) && sameId(r.group.id, groupId) && mayHoldMembership(r);
    const open = [...(this.openByRequester.get(requesterId.toLowerCase()) ?? [])]
      .map((id) => this.requests.get(id)!)
      .filter(mine);
    const closing = [...this.closing.values()].filter(mine);
    const archived = (await this.holdingArchived(requesterId, groupId)).filter(
      (r) => mayHoldMembership(r) && !this.closing.has(r.id) && !this.requests.has(r.id),
    );
    return [...open, ...closing, ...archived];
  }

  // ---- due times --------------------------------------------------------------------------

  async listDue(now: number, limit: number): Promise<Array<{ requestId: string; dueAt: number }>> {
    this.ready();
    const out: Array<{ requestId: string; dueAt: number }> = [];
    for (const item of this.dueList.values()) {
      if (item.at > now || out.length >= limit) break;
      out.push({ requestId: item.id, dueAt: item.at });
    }
    return out;
  }

  async nextDueAt(): Promise<number | undefined> {
    this.ready();
    return this.dueList.first()?.at;
  }

  setDueAt(requestId: string, dueAt: number | null): Promise<void> {
    return this.enqueue({
      keys: [`r:${requestId}`],
      build: async () => {
        if (!this.requests.has(requestId) || (this.due.get(requestId)?.at ?? null) === dueAt)
          return { result: undefined };
        return { entry: { t: 'due', id: requestId, dueAt }, result: undefined };
      },
    });
  }

  // ---- the outbox -------------------------------------------------------------------------

  async claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    lanes?: EffectLane[],
  ): Promise<ClaimedEffect[]> {
    this.ready();
    const out: ClaimedEffect[] = [];
    for (let rank = 0; rank < 3 && out.length < limit; rank++) {
      if (lanes && !lanes.includes(rank < 2 ? 'directory' : 'teams')) continue;
      for (const effect of this.heads[rank]!.values()) {
        if (effect.notBefore > now || out.length >= limit) break;
        let lease = this.leases.get(effect.id);
        if (lease && lease.owner !== owner && lease.until > now) continue;
        if (lease && lease.owner === owner) lease.until = Math.max(lease.until, now + leaseMs);
        else this.leases.set(effect.id, (lease = { owner, token: randomUUID(), until: now + leaseMs }));
        out.push({ ...effect, lease: { ...lease } });
      }
    }
    return out;
  }

  async renewLease(id: string, token: string, until: number): Promise<void> {
    this.ready();
    this.holdsLease(id, token);
    this.leases.get(id)!.until = until;
  }

  async nextEffectAt(): Promise<number | undefined> {
    this.ready();
    let next: number | undefined;
    for (const list of this.heads) {
      for (const effect of list.values()) {
        const at = Math.max(effect.notBefore, this.leases.get(effect.id)?.until ?? Number.NEGATIVE_INFINITY);
        next = next === undefined ? at : Math.min(next, at);
        if (!this.leases.has(effect.id)) break;
      }
    }
    return next;
  }

  async listEffects(requestId?: string): Promise<Effect[]> {
    this.ready();
    return [...this.effects.values()]
      .filter((e) => requestId === undefined || e.requestId === requestId)
      .sort((a, b) => a.seq - b.seq);
  }

  retryEffect(id: string, token: string, notBefore: number, error: string): Promise<void> {
    return this.enqueue({
      keys: [`e:${id}`],
      build: async () => {
        const effect = this.holdsLease(id, token);
        return {
          entry: {
            t: 'retry',
            id,
            token,
            attempts: effect.attempts + 1,
            notBefore,
            lastError: error.slice(0, 500),
          },
          result: undefined,
        };
      },
    });
  }

  completeEffect(id: string, token: string): Promise<void> {
    return this.enqueue({
      keys: [`e:${id}`],
      build: async () => {
        this.holdsLease(id, token);
        return { entry: { t: 'complete', id }, result: undefined };
      },
    });
  }

  /** The effect, when `token` still holds its lease; STORE_LEASE_LOST otherwise. */
  private holdsLease(id: string, token: string): Effect {
    const effect = this.effects.get(id);
    if (!effect || this.leases.get(id)?.token !== token) {
      throw new DomainError(
        ErrorCodes.STORE_LEASE_LOST,
        `Effect ${id} is ${effect ? 'leased to another worker now' : 'no longer in the outbox'}.`,
        { effectId: id },
      );
    }
    return effect;
  }

  // ---- audit, chats, baselines, leases ----------------------------------------------------

  appendAudit(events: RequestEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.enqueue({
      keys: [],
      build: async (counters) => ({
        entry: {
          t: 'audit',
          audit: events.map((event) => ({ seq: counters.nextAuditSeq++, event: clone(event) })),
        },
        result: undefined,
      }),
    });
  }

  savePersonalChat(userId: string, chat: PersonalChat): Promise<void> {
    if (this.opened && sameJson(this.chats.get(userId), chat)) return Promise.resolve();
    return this.enqueue({
      keys: [`c:${userId}`],
      build: async () => ({ entry: { t: 'chat', userId, chat: clone(chat) }, result: undefined }),
    });
  }

  async getPersonalChat(userId: string): Promise<PersonalChat | undefined> {
    this.ready();
    return clone(this.chats.get(userId));
  }

  saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void> {
    if (this.opened && this.serviceUrls.get(tenantId) === serviceUrl) return Promise.resolve();
    return this.enqueue({
      keys: [`u:${tenantId}`],
      build: async () => ({ entry: { t: 'url', tenantId, serviceUrl }, result: undefined }),
    });
  }

  async getServiceUrl(tenantId: string): Promise<string | undefined> {
    this.ready();
    return this.serviceUrls.get(tenantId);
  }

  markWelcomed(key: string, at: number): Promise<boolean> {
    // NB: validated against the durable state in its batch: of two installs at once, one wins.
    return this.enqueue({
      keys: [`w:${key}`],
      build: async () =>
        this.welcomed.has(key) ? { result: false } : { entry: { t: 'welcome', key, at }, result: true },
    });
  }

  async getBaseline(groupId: string): Promise<GroupBaseline | undefined> {
    this.ready();
    const baseline = this.baselines.get(groupId.toLowerCase());
    return baseline && { ...clone(baseline), version: baseline.version ?? 0 };
  }

  saveBaseline(baseline: GroupBaseline, expectedVersion: number | null): Promise<GroupBaseline> {
    const key = baseline.groupId.toLowerCase();
    return this.enqueue({
      keys: [`b:${key}`],
      build: async () => {
        const current = this.baselines.get(key);
        const version = current ? (current.version ?? 0) : null;
        if (version !== expectedVersion) {
          throw new DomainError(
            ErrorCodes.STORE_CONFLICT,
            `The baseline of group ${baseline.groupId} changed meanwhile; read it again.`,
            { groupId: baseline.groupId },
          );
        }
        const stored = { ...clone(baseline), version: (version ?? 0) + 1 };
        return { entry: { t: 'baseline', baseline: stored }, result: clone(stored) };
      },
    });
  }

  async getSigningKeys(): Promise<StoredSigningKeys | undefined> {
    this.ready();
    return clone(this.signingKeys);
  }

  saveSigningKeys(keys: StoredSigningKey[], expectedVersion: number | null): Promise<StoredSigningKeys> {
    // NB: validated against the durable state in its batch, as baselines: of two saves at one version, one wins.
    return this.enqueue({
      keys: ['k:signing'],
      build: async () => {
        const version = this.signingKeys?.version ?? null;
        if (version !== expectedVersion) {
          throw new DomainError(
            ErrorCodes.STORE_CONFLICT,
            'The approval-token signing keys changed meanwhile; read them again.',
            { expectedVersion, version },
          );
        }
        const stored: StoredSigningKeys = { keys: clone(keys), version: (version ?? 0) + 1 };
        return { entry: { t: 'keys', signingKeys: stored }, result: clone(stored) };
      },
    });
  }

  async getDelegations(): Promise<StoredDelegations | undefined> {
    this.ready();
    return clone(this.delegations);
  }

  saveDelegations(delegations: Delegation[], expectedVersion: number | null): Promise<StoredDelegations> {
    // NB: validated against the durable state in its batch, as the signing keys: of two saves at one version, one wins.
    return this.enqueue({
      keys: ['k:delegations'],
      build: async () => {
        const version = this.delegations?.version ?? null;
        if (version !== expectedVersion) {
          throw new DomainError(
            ErrorCodes.STORE_CONFLICT,
            'The delegations changed meanwhile; read them again.',
            { expectedVersion, version },
          );
        }
        const stored: StoredDelegations = { delegations: clone(delegations), version: (version ?? 0) + 1 };
        return { entry: { t: 'delegations', delegations: stored }, result: clone(stored) };
      },
    });
  }

  async acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    this.ready();
    const held = this.namedLeases.get(name);
    if (held && held.owner !== owner && held.until > now) return false;
    this.namedLeases.set(name, { owner, until: now + ttlMs });
    return true;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    if (this.namedLeases.get(name)?.owner === owner) this.namedLeases.delete(name);
  }

  /** Forgets every lease (a restart: leases live in this process's memory only). */
  protected freeLeases(): void {
    this.leases.clear();
    this.namedLeases.clear();
  }

  protected ready(): void {
    if (!this.opened) throw new Error(`${this.constructor.name} used before open()`);
  }
}

function shuttingDown(dir: string): DomainError {
  return new DomainError(
    ErrorCodes.STORE_WRITE_FAILED,
    'Timebox is shutting down, so nothing was changed. Try again in a moment.',
    { dir, cause: 'closed' },
  );
}

/** What the person reads when a write failed: nothing happened, and what to do (the path stays in the logs). */
export function writeFailed(dir: string, error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  process.emitWarning(
    `Timebox store: could not write ${dir}: ${(error as Error).message}; the change was not made`,
  );
  return new DomainError(
    ErrorCodes.STORE_WRITE_FAILED,
    `Timebox could not save that, so nothing was changed (its storage failed: ${cause}). Try again in a few minutes; if it keeps failing, tell your Timebox admin.`,
    { dir, cause: (error as Error).message },
  );
}

export function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

/** What `frozen` froze: immutable all the way down, so a copy may share it. */
const storeFrozen = new WeakSet<object>();

/**
 * Freezes what the store keeps (requests, effects), all the way down. NB: stored objects are
 * handed out as they are, not cloned: a clone per read was a fifth of the CPU of 10,000 grants
 * ending together. Frozen, a caller that changes one by mistake fails at once (strict mode)
 * instead of changing the store behind its back; callers build new objects
 * (`{ ...request, ...fields }`).
 */
export function frozen<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !storeFrozen.has(value)) {
    for (const child of Object.values(value as object)) frozen(child);
    Object.freeze(value);
    storeFrozen.add(value);
  }
  return value;
}

/**
 * A copy of what a caller hands in (JSON-like data), sharing what the store froze: a changed
 * request is mostly the stored one (`{ ...stored, status }`), so a commit copies what changed,
 * not the whole request. The caller's own objects are copied: changing them later changes
 * nothing stored.
 */
export function copyIn<T>(value: T): T {
  if (value === null || typeof value !== 'object' || storeFrozen.has(value)) return value;
  if (Array.isArray(value)) return value.map(copyIn) as T;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = copyIn(child);
  return out as T;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
