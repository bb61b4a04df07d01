import type { Delegation } from '../domain/delegation';
import type { AccessRequest, RequestEvent, Status } from '../domain/request';
import type { InsightRecord } from '../domain/insights';
import type { PersonalChat } from './notifier';

/** What a side effect does; handlers live in app/grant-worker.ts. */
export type EffectKind =
  | 'directory.add'
  | 'directory.remove'
  | 'directory.extend'
  /** After a removal, the person's sign-in sessions revoked (policy `revokeSessionsOnEnd`). */
  | 'directory.revoke_sessions'
  | 'card.post'
  | 'card.update'
  | 'thread.reply'
  | 'person.notify'
  /** One delivery of a policy `webhooks:` hook (app/webhook-effects.ts). */
  | 'webhook.deliver';

/**
 * Effects run in order within a lane, so that a card update never overtakes the post it
 * updates; lanes are independent so that a Teams outage never holds up a membership change
 * (a grant or a removal). See `Effect.queue` for what one queue holds.
 */
export type EffectLane = 'directory' | 'teams';

export interface NewEffect {
  kind: EffectKind;
  /** Which message to send, for thread.reply and person.notify ("granted", "expired", ...). */
  template?: string;
  /** Extra data for the handler (e.g. the reason of a refusal); never who may do what. */
  data?: Record<string, unknown>;
}

/** A NewEffect placed by the app (app/effects.ts `placeEffect`): the store stores lane and queue, it does not compute them. */
export interface QueuedEffect extends NewEffect {
  lane: EffectLane;
  /** See `Effect.queue`. */
  queue: string;
}

export interface Effect extends NewEffect {
  id: string;
  requestId: string;
  lane: EffectLane;
  /**
   * Effects of one queue run one at a time, in `seq` order: the request's Teams effects, or
   * every membership change of one person in one group (whichever request it belongs to), so
   * that an add and a removal of the same membership never overlap. Absent in stores written
   * before it existed: the request and lane then make the queue.
   */
  queue?: string;
  /** Order of creation, across the whole store. */
  seq: number;
  attempts: number;
  /** Not to be run before this time (epoch ms): backoff after a failure. */
  notBefore: number;
  createdAt: number;
  lastError?: string;
}

/** Who runs a claimed effect, until when; `token` is what retry/complete must show. */
export interface Lease {
  owner: string;
  token: string;
  /** Epoch ms; past it, another owner may claim the effect (the old token then stops working). */
  until: number;
}

export interface ClaimedEffect extends Effect {
  lease: Lease;
}

/** A completed effect, with the token of the lease it ran under. */
export interface CompletedEffect {
  id: string;
  token: string;
}

/** One record of the audit log as stored: a request event, numbered and hash-chained. */
export interface AuditRecord {
  /** Hash form: 2 = the canonical JSON of all fields; absent in records written before it (a fixed list of fields). */
  v?: number;
  seq: number;
  /** ISO time of the event. */
  at: string;
  type: RequestEvent['type'] | string;
  requestId?: string;
  actor?: { id: string; name: string; upn?: string };
  reason?: string;
  detail?: Record<string, unknown>;
  /** Hash of the record before (or 64 zeros), and of this record's content plus prevHash. */
  prevHash: string;
  hash: string;
}

/**
 * A signed statement "the audit log's record `seq` has hash `hash`", as the bot made it at `at`
 * (HMAC-SHA256 with TIMEBOX_AUDIT_KEY: adapters/store/audit-checkpoint.ts signs and checks it).
 */
export interface AuditCheckpoint {
  v: 1;
  seq: number;
  hash: string;
  /** ISO time of signing. */
  at: string;
  /** The bot's checkpoint interval then: it never leaves more unsigned records than this after a checkpoint. */
  every: number;
  /**
   * Why it was written: the store opening (at the head it found), the N-records interval, or
   * the store closing. Nothing appends between a `close` and the next `open`.
   */
  reason: 'open' | 'every' | 'close';
  /** The public id of the signing key. */
  keyId: string;
  /** HMAC-SHA256 (hex) of the other fields' canonical JSON. */
  mac: string;
}

/** A change to write at once: the request's new state, the side effects it causes, its audit events. */
export interface Commit {
  request: AccessRequest;
  /**
   * The version read before changing it; null when creating. Mismatch → REQUEST_CONFLICT.
   * Creating an open request while the same requester (id compared case-insensitively) has
   * another open one for the same policy group (`group.alias`; two aliases of one Entra group
   * are two groups) → REQUEST_OPEN_EXISTS, never REQUEST_CONFLICT.
   */
  expectedVersion: number | null;
  events: RequestEvent[];
  effects?: QueuedEffect[];
  /**
   * Effects finished by this change (the worker's own completions), each with its lease token:
   * one no longer held under that token (or gone) → STORE_LEASE_LOST, and nothing is written.
   */
  completedEffects?: CompletedEffect[];
  /** @deprecated Completions without a lease check; kept for one step until the worker passes tokens. */
  completedEffectIds?: string[];
  /**
   * When the scheduler must next look at this request (epoch ms, computed by the app: domain
   * `dueAtOf`); null = never; absent = unchanged (absent on create = never). A closed request
   * is never due, whatever this says.
   */
  dueAt?: number | null;
}

export interface RequestQuery {
  requesterId?: string;
  groupAlias?: string;
  statuses?: Status[];
}

/**
 * Durable state. Every method either fully happens or throws (STORE_WRITE_FAILED, or
 * STORE_UNAVAILABLE when the store cannot be reached now: transient, retry later); `commit` is
 * the only way requests change, and it is atomic with its effects and audit events.
 *
 * Several writers (the design the PostgreSQL store implements; "multi-process" notes below say
 * what each method promises then):
 * - Requests: optimistic concurrency (`commit` + `expectedVersion`, i.e. UPDATE … WHERE
 *   version = $n), and a unique index on open (requester, group) → REQUEST_OPEN_EXISTS.
 * - Effects (the outbox): queues of effects run one at a time (`Effect.queue`); `claim` hands
 *   out due queue heads under a lease (FOR UPDATE SKIP LOCKED / lease_until); retry, renew and
 *   complete need the lease token; a lost lease (expired and claimed by another owner, or the
 *   effect gone) → STORE_LEASE_LOST: someone else has it, drop the run (handlers are idempotent).
 * - Due times: stored per request (`Commit.dueAt`, `setDueAt`) and indexed (`listDue`,
 *   `nextDueAt`), so the scheduler never lists every open request.
 * - One reconciler pass at a time: `acquireLease('reconcile', …)`. Baselines are versioned.
 * - The audit chain has one writer: the store numbers and chains events as it commits them.
 * - Wake-ups: a commit on one process wakes the others' worker and scheduler (`onChange`);
 *   readiness follows the store's reachability (`health`).
 *
 * Implementations: PostgresStore (adapters/store/postgres/, DATABASE_URL) for any number of
 * processes on one database; LowdbStore (adapters/store/lowdb-store.ts) is for ONE process only — its
 * leases live in its memory and nothing stops a second process from opening the same
 * directory's files; InMemoryStore (adapters/store/in-memory-store.ts) is for tests only (it
 * promises the same as LowdbStore, without files). test/helpers/store-contract.ts is the contract.
 *
 * Read-only (the CLI: `audit verify`, `audit export`, `reconcile --dry-run`, which run next to
 * a running bot): adapters/store/open-store.ts `createStore(config, { readOnly: true })` opens
 * the configured store so that it never writes anything — no torn tail cut, no compaction, no
 * migration, no audit append, no checkpoint, nothing at open or close — and every write
 * (commit, appendAudit, saveBaseline, …) fails with STORE_WRITE_FAILED (cause "read-only"),
 * nothing changed. Reads see the state as of the open: a consistent one even while the bot
 * writes (LowdbStore reads its journal before its snapshot, and leaves out a last line still
 * being appended). Leases taken by a read-only store are its own (in memory) and stop nobody.
 * Where reading would need a repair it may not make, the open fails instead (STORE_UNAVAILABLE:
 * try again; LowdbStore: a history file whose partial last line stays past 1 s).
 */
export interface Store {
  /** Loads the store; throws STORE_CORRUPT naming what cannot be read. */
  open(): Promise<void>;
  /** Lets the writes under way finish, then takes no more (they fail with STORE_WRITE_FAILED). */
  close(): Promise<void>;
  /** A request by id, open or closed. */
  get(id: string): Promise<AccessRequest | undefined>;
  /**
   * Writes a commit; returns the request as stored (version incremented). Acknowledged only once
   * durable. Multi-process: atomic and conditional (one transaction); the uniqueness of open
   * (requester, group) holds across processes.
   */
  commit(change: Commit): Promise<AccessRequest>;
  /** Open requests (pending, approved, active) matching the query, oldest first (ids compared case-insensitively). */
  listOpen(query?: RequestQuery): Promise<AccessRequest[]>;
  /** The newest closed requests of a requester, newest first. */
  listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]>;
  /**
   * Every request, open or closed, created in `[since, until)` (epoch ms, `since <= createdAt <
   * until`), each in its newest version, oldest created first (then by id); at most `limit` when
   * given (the oldest ones). What the insights report reads (app/report.ts, PRODUCT.md §13).
   * Indexed by creation time, so a period reads its own requests, not the whole history
   * (PostgresStore: requests_by_created; LowdbStore: the creation time is in the history's
   * in-memory index). `listCreatedBetween(0, until, 1)` gives the oldest request: where the
   * history begins.
   */
  listCreatedBetween(since: number, until: number, limit?: number): Promise<AccessRequest[]>;
  /**
   * The insight records (`insightRecordOf`, domain/insights) of the requests of
   * `listCreatedBetween(since, until)`, in batches, in no particular order, each request once,
   * as of its newest version when the scan began: what a month's report reads (app/report.ts
   * feeds each batch to the figures and drops it), a chunk at a time and a third of each
   * request's bytes (LowdbStore keeps the record beside each closed request in its history;
   * PostgresStore builds it in the query). Requests created or changed during the scan may or
   * may not be seen. Breaking out of the loop ends the scan and frees what it holds.
   */
  scanInsights(since: number, until: number): AsyncIterable<readonly InsightRecord[]>;
  /**
   * When each Entra group was last requested before `until`: the newest `createdAt` (epoch ms)
   * of any request, open or closed, keyed by the group id in lower case; a group never
   * requested has no key. What "nobody requested it in 90 days" needs (app/report.ts) without
   * reading 90 days of requests (LowdbStore: from the history's in-memory index; PostgresStore:
   * one aggregate over indexed columns).
   */
  lastRequestedByGroup(until: number): Promise<Map<string, number>>;
  /**
   * Requests of one person for one Entra group, open or closed, that may still hold its
   * membership (`mayHoldMembership`): what tells our own earlier add from a standing member.
   */
  listHolding(requesterId: string, groupId: string): Promise<AccessRequest[]>;
  /**
   * Leases up to `limit` due queue heads to `owner` for `leaseMs`: one per queue (`Effect.queue`),
   * `notBefore <= now`, not under an unexpired lease of another owner (heads `owner` holds
   * already come back with the same token, the lease extended), of `lanes` when given. Order:
   * directory.remove first, then other directory effects, then Teams effects; within each, the
   * oldest `notBefore`, then `seq`. Multi-process: two owners never hold the same effect at
   * once (SKIP LOCKED); a lease that expires may be claimed by another owner, and the first
   * owner's token stops working then. LowdbStore/InMemoryStore: leases are kept in memory only
   * (a restart frees them all).
   */
  claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    lanes?: EffectLane[],
  ): Promise<ClaimedEffect[]>;
  /** Extends a lease (a slow effect); STORE_LEASE_LOST when `token` no longer holds it. */
  renewLease(id: string, token: string, until: number): Promise<void>;
  /**
   * When the next queue head becomes claimable (its notBefore, or the end of its lease), for
   * sleeping until then; undefined when the outbox is empty.
   */
  nextEffectAt(): Promise<number | undefined>;
  /** Every effect waiting in the outbox (of one request when given), oldest first: what the reconciler checks. */
  listEffects(requestId?: string): Promise<Effect[]>;
  /**
   * Records a failed attempt and frees the lease; the effect may be claimed again after
   * notBefore. STORE_LEASE_LOST when `token` no longer holds it (nothing written). A lease past
   * its `until` still holds until another owner claims the effect.
   */
  retryEffect(id: string, token: string, notBefore: number, error: string): Promise<void>;
  /** Drops an effect (done, or it can never succeed: its failure is recorded by the caller's commit). STORE_LEASE_LOST as retryEffect. */
  completeEffect(id: string, token: string): Promise<void>;
  /**
   * Open requests whose stored due time has come (`dueAt <= now`), earliest first, at most
   * `limit`. Multi-process: a read; the transitions it leads to are conditional commits.
   */
  listDue(now: number, limit: number): Promise<Array<{ requestId: string; dueAt: number }>>;
  /** The earliest stored due time of any open request (past ones included), undefined when none. */
  nextDueAt(): Promise<number | undefined>;
  /**
   * Sets an open request's due time without a new version (the scheduler's start-up rebuild:
   * policy may have changed while stopped); a closed or unknown request is left alone.
   */
  setDueAt(requestId: string, dueAt: number | null): Promise<void>;
  /** Appends events that change no request (refusals, acknowledgements of notices). */
  appendAudit(events: RequestEvent[]): Promise<void>;
  /**
   * Reads the audit log in order, each record as stored (the verifier checks its fields and
   * hashes, not the store). A read-only store (the CLI) throws STORE_CORRUPT, naming the place,
   * when a record cannot be read at all (it never skips one), and when the log ends before a
   * record the store knows it wrote (a tail cut off); next to a running writer it reads a prefix
   * of the log at least as long as the one at its open.
   */
  readAudit(): AsyncIterable<AuditRecord>;
  /**
   * The signed checkpoints of the audit head (see AuditCheckpoint), in the order they were
   * written; none when the store signs nothing (no TIMEBOX_AUDIT_KEY, or InMemoryStore). Throws
   * STORE_CORRUPT, naming the checkpoint, for one that is not a checkpoint (edited). Read them
   * before readAudit: every checkpoint then names a record the log read after it holds.
   * NB: optional only because adapters/store/store-core.ts does not declare it yet; every Store
   * has it (the contract suite checks), and the CLI treats a store without it as signing nothing.
   */
  readAuditCheckpoints(): AsyncIterable<AuditCheckpoint>;
  /** Remembers a person's personal chat with the bot, for proactive messages. */
  savePersonalChat(userId: string, chat: PersonalChat): Promise<void>;
  getPersonalChat(userId: string): Promise<PersonalChat | undefined>;
  /** Remembers the Bot Connector service URL a tenant's activities came from. */
  saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void>;
  getServiceUrl(tenantId: string): Promise<string | undefined>;
  /**
   * Records that `key` (`person:<Entra id>` or `team:<team id>`) was welcomed at `at`: true the
   * first time only, so a re-install never welcomes again (of two at once, one gets true;
   * multi-process: a primary key).
   */
  markWelcomed(key: string, at: number): Promise<boolean>;
  /** The reconciler's record of a managed group (its members when first seen), or undefined. */
  getBaseline(groupId: string): Promise<GroupBaseline | undefined>;
  /**
   * Records (`expectedVersion` null: must not exist yet) or replaces (must still be at
   * `expectedVersion`) a managed group's baseline; returns it as stored (version incremented).
   * Mismatch → STORE_CONFLICT (read again and redo). A baseline written before versions existed
   * reads as version 0.
   */
  saveBaseline(baseline: GroupBaseline, expectedVersion: number | null): Promise<GroupBaseline>;
  /**
   * The approval-token signing keys every replica signs with and publishes (§11), with their
   * version; undefined when none were ever saved. Multi-process: every process reads the same
   * set (PostgresStore: one row); LowdbStore/InMemoryStore: this process's, durable like a commit.
   */
  getSigningKeys(): Promise<StoredSigningKeys | undefined>;
  /**
   * Saves the whole key set: first (`expectedVersion` null: none may exist yet) or in place of
   * the set still at `expectedVersion`; returns it as stored (version incremented). Mismatch →
   * STORE_CONFLICT: another process saved first (read again, and use or rotate what it saved).
   * Multi-process: of two saves at one version, exactly one wins. Private keys: the store keeps
   * them as given (at rest in its files or database, like everything else it holds).
   */
  saveSigningKeys(keys: StoredSigningKey[], expectedVersion: number | null): Promise<StoredSigningKeys>;
  /**
   * The approvers' delegations (`delegate to … until …`, domain/delegation.ts) with their
   * version; undefined when none were ever saved. Stored like the signing keys: one set every
   * replica reads (PostgresStore: one row); LowdbStore/InMemoryStore: durable like a commit.
   */
  getDelegations(): Promise<StoredDelegations | undefined>;
  /**
   * Saves the whole list, first (`expectedVersion` null) or in place of the list still at
   * `expectedVersion`; returns it as stored (version incremented). Mismatch → STORE_CONFLICT
   * (read again and redo). The store keeps the list as given: the app prunes expired ones
   * (domain/delegation.ts returns lists without them).
   */
  saveDelegations(delegations: Delegation[], expectedVersion: number | null): Promise<StoredDelegations>;
  /**
   * Takes (or renews) the named lease for `owner` until now + ttlMs: true when it was free,
   * expired, or `owner`'s already; false when another owner holds it. One reconciler pass at a
   * time takes 'reconcile'. Multi-process: an advisory lock / lease row. LowdbStore: in memory.
   */
  acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `owner` holds it (else does nothing). */
  releaseLease(name: string, owner: string): Promise<void>;
  /**
   * Several processes: tells `listener` when another process may have changed the store (a
   * commit, an effect claimable again), within well under a second, and once after a lost
   * connection is back (what was said meanwhile is lost); returns the unsubscribe. A hint for
   * waking the worker and scheduler, never a guarantee: their own timers stay the safety net.
   * Absent from single-process stores (LowdbStore, InMemoryStore): nobody else changes them.
   * PostgresStore: LISTEN/NOTIFY, the NOTIFY sent in the change's transaction.
   */
  onChange?(listener: () => void): () => void;
  /**
   * Whether the store can be reached now (readiness: /readyz is 503 while not), cheap and
   * quick (PostgresStore: `SELECT 1` within 2 s, cached 1 s); `detail` says why not. Absent:
   * always reachable once open (a local file).
   */
  health?(): Promise<{ ok: boolean; detail?: string }>;
}

/**
 * What the reconciler knows of a managed group: who was in it when Timebox first saw it
 * (standing members, never touched), and which unexplained members it has reported already
 * (so that a drift is alerted once, not at every pass).
 */
export interface GroupBaseline {
  groupId: string;
  /** When Timebox first listed the group's members (epoch ms). */
  firstSeenAt: number;
  /** Member object ids at that moment, lower-case, less those our own grants had added. */
  members: string[];
  /** Unexplained members already reported: object id (lower-case) → when (epoch ms). */
  reported: Record<string, number>;
  /** Set by the store (saveBaseline); absent in baselines written before versions: 0. */
  version?: number;
}

/** An EC P-256 private key as a JWK (RFC 7517 / 7518): what signs approval tokens (ES256). */
export interface StoredJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  /** The private part. */
  d: string;
  alg?: string;
  kid?: string;
}

/** One approval-token signing key as the store keeps it (app/signing-keys.ts decides which signs). */
export interface StoredSigningKey {
  /** The key id in tokens' headers and the JWKS (its JWK thumbprint). */
  kid: string;
  privateJwk: StoredJwk;
  /** When it was made (epoch ms). */
  createdAt: number;
  /**
   * From when it signs (epoch ms): a new key is published by every replica before any signs
   * with it, so a verifier that fetched the JWKS from any of them knows it.
   */
  activatesAt: number;
}

/** The signing keys, newest first, at a version (saveSigningKeys). */
export interface StoredSigningKeys {
  keys: StoredSigningKey[];
  version: number;
}

/** The delegations at a version (saveDelegations). */
export interface StoredDelegations {
  delegations: Delegation[];
  version: number;
}
