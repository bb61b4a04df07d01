import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import type { Delegation } from '../../../domain/delegation';
import type { InsightRecord } from '../../../domain/insights';
import { mayHoldMembership, type AccessRequest, type RequestEvent } from '../../../domain/request';
import type { PersonalChat } from '../../../ports/notifier';
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
} from '../../../ports/store';
import type { RateLimit, RequestLimiter } from '../../../app/rate-limit';
import type { Clock } from '../../../ports/clock';
import { DEFAULT_CHECKPOINT_EVERY, type AuditKey, type Checkpoint } from '../audit-checkpoint';
import { copyIn, frozen } from '../store-core';
import { appendToChain, readChain } from './audit';
import { ChangeFeed, announceChange } from './change-feed';
import { postgresConnection, type EntraLoginOptions } from './entra-login';
import { HealthCheck, type Health } from './health';
import {
  insertCheckpoint,
  lastSignedBy,
  openCheckpoints,
  readCheckpoints,
  type AuditSigning,
} from './checkpoints';
import { checkSchema, migrate } from './migrate';
import * as outbox from './outbox';
import { storeError, uniqueViolation } from './pg-errors';
import { PostgresRateLimiter } from './rate-limit';
import { commitRequest } from './requests';
import * as tables from './side-tables';

/**
 * The Store on PostgreSQL, for any number of replicas on one database (ports/store.ts says what
 * each method promises then). Every guarantee that must hold across processes is the
 * database's: conditional UPDATEs for versions, a partial unique index for one open request
 * per person and group, row locks (SKIP LOCKED) and lease tokens for the outbox, a locked chain
 * head for the audit log, rows for named leases. Nothing is cached: each read asks the database.
 * Besides the port's contract, what replicas share: NOTIFY in each commit's transaction and one
 * LISTEN connection per store (`onChange`, change-feed.ts), signed checkpoints in the audit's
 * transactions (checkpoints.ts), the request rate limit (`sharedRateLimiter`, rate-limit.ts);
 * and `health()` for readiness. Pool errors never escape: an idle connection that breaks is
 * dropped, a query that fails for want of the server is STORE_UNAVAILABLE.
 */
export interface PostgresStoreOptions {
  /**
   * The CLI's view next to running bots: no migration, nothing written (every write is
   * STORE_WRITE_FAILED, cause "read-only"), and every read from one REPEATABLE READ READ ONLY
   * transaction begun at open(), so reads see one consistent state, as of the open.
   */
  readOnly?: boolean;
  /**
   * Signs the audit head with TIMEBOX_AUDIT_KEY into audit_checkpoints, as LowdbStore signs its
   * file: at open (after a shutdown's checkpoint), at least every `checkpointEvery` records (in
   * the commit's transaction: one per crossing, whichever replica crosses it), at close.
   */
  audit?: {
    key?: AuditKey;
    checkpointEvery?: number;
    /** Time of a checkpoint (epoch ms). */
    now?: () => number;
    /** Told each checkpoint once its transaction committed (the bot logs it: a copy outside the database). */
    onCheckpoint?: (checkpoint: Checkpoint) => void;
  };
  /** Told of trouble the store handles itself (the change feed's lost connection): for the log. */
  onProblem?: (message: string) => void;
  /** A URL without a password signs in with an Entra token (entra-login.ts); tests give the identity. */
  entraLogin?: EntraLoginOptions;
  /** The slice of a period one query of `scanInsights` reads (default a day); tests give a small one to cross slices. */
  scanSliceMs?: number;
}

/** A connection attempt to an unreachable server fails after this, rather than hanging a command. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** What one query of `scanInsights` reads: a day of requests. */
const SCAN_SLICE_MS = 86_400_000;

export class PostgresStore implements Store {
  private readonly pool: Pool;
  private readonly readOnly: boolean;
  private readonly scanSliceMs: number;
  /** Read-only: the connection holding the snapshot transaction every read runs in. */
  private snapshot?: PoolClient;
  /** Read-only: leases of effects and names, in memory; they stop nobody else. */
  private readonly ownLeases = new Map<string, Lease>();
  private readonly ownNamedLeases = new Map<string, { owner: string; until: number }>();
  /** For messages and logs: the database, never its credentials. */
  private readonly where: string;
  private opened = false;
  private closed = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly signing?: AuditSigning;
  private readonly onCheckpoint?: (checkpoint: Checkpoint) => void;
  /** This store's name in the announcements it sends (its own come back to it, and are skipped). */
  private readonly origin = randomUUID();
  private readonly feed: ChangeFeed;
  private readonly healthCheck: HealthCheck;

  constructor(config: string | PoolConfig, options: PostgresStoreOptions = {}) {
    this.readOnly = options.readOnly === true;
    this.scanSliceMs = options.scanSliceMs ?? SCAN_SLICE_MS;
    const given: PoolConfig =
      typeof config === 'string' ? postgresConnection(config, options.entraLogin) : config;
    const pool: PoolConfig = { connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS, ...given };
    this.pool = new Pool(pool);
    const key = options.audit?.key;
    // Read-only: nothing is signed, whatever the key.
    if (key && !this.readOnly) {
      this.signing = {
        key,
        every: options.audit?.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
        now: options.audit?.now ?? Date.now,
      };
      this.onCheckpoint = options.audit?.onCheckpoint;
    }
    this.feed = new ChangeFeed(pool, this.origin, options.onProblem);
    this.healthCheck = new HealthCheck(this.pool);
    // An idle connection that breaks (the server restarted) is reported here; without a
    // listener it would crash the process. The next query gets a new connection, or fails
    // as STORE_UNAVAILABLE.
    this.pool.on('error', () => undefined);
    // NB: the pool's listener covers idle connections only. One checked out (a transaction
    // under way, the open's migration) when the server dies emits 'error' on its own client,
    // and with no listener there that crashes the process (found by the replica chaos run: a
    // PostgreSQL kill took a replica down). Its query fails instead, as STORE_UNAVAILABLE.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.where = describe(pool);
  }

  async open(): Promise<void> {
    await this.run(async () => {
      const client = await this.pool.connect();
      if (this.readOnly) {
        try {
          await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
          await checkSchema(client);
          this.snapshot = client;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          client.release(true);
          throw error;
        }
        return;
      }
      try {
        await migrate(client);
      } finally {
        client.release();
      }
    });
    if (this.signing) {
      const signing = this.signing;
      const signed = await this.run(() =>
        this.transaction(async (db) => openCheckpoints(db, signing, await lockHead(db), this.where)),
      );
      this.told(signed);
    }
    this.opened = true;
    this.closed = false;
  }

  /** Lets the calls under way finish, then closes the pool; later writes fail with STORE_WRITE_FAILED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.feed.stop();
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
    if (this.opened && this.signing) await this.signClose(this.signing);
    if (this.snapshot) {
      await this.snapshot.query('ROLLBACK').catch(() => undefined);
      this.snapshot.release();
      this.snapshot = undefined;
    }
    await this.pool.end();
  }

  // ---- requests ---------------------------------------------------------------------------

  async get(id: string): Promise<AccessRequest | undefined> {
    const rows = await this.rows<{ doc: AccessRequest }>('SELECT doc FROM requests WHERE id = $1', [id]);
    return rows[0] && frozen(rows[0].doc);
  }

  commit(change: Commit): Promise<AccessRequest> {
    return this.write(async () => {
      const signed: Checkpoint[] = [];
      const stored = await this.transaction(async (db) => {
        const request = await commitRequest(db, change, this.signing, signed);
        await announceChange(db, this.origin);
        return request;
      });
      this.told(signed);
      return frozen(stored);
    }).catch(async (error: unknown) => {
      if (uniqueViolation(error) !== 'requests_one_open') throw error;
      throw await this.openExists(change.request);
    });
  }

  /** REQUEST_OPEN_EXISTS naming the open request that holds the slot (read after the refused transaction). */
  private async openExists(request: AccessRequest): Promise<DomainError> {
    const rows = await this.rows<{ id: string }>(
      'SELECT id FROM requests WHERE is_open AND requester_id = $1 AND group_alias = $2',
      [request.requester.id.toLowerCase(), request.group.alias.toLowerCase()],
    ).catch(() => []);
    const other = rows[0]?.id;
    return new DomainError(
      ErrorCodes.REQUEST_OPEN_EXISTS,
      `${request.requester.name} already has an open request${other ? ` (${other})` : ''} for ${request.group.alias}.`,
      other ? { existing: other } : {},
    );
  }

  async listOpen(query: RequestQuery = {}): Promise<AccessRequest[]> {
    const rows = await this.rows<{ doc: AccessRequest }>(
      `SELECT doc FROM requests
       WHERE is_open
         AND ($1::text IS NULL OR requester_id = $1)
         AND ($2::text IS NULL OR doc->'group'->>'alias' = $2)
         AND ($3::text[] IS NULL OR status = ANY($3::text[]))
       ORDER BY created_at, id`,
      [query.requesterId?.toLowerCase() ?? null, query.groupAlias || null, query.statuses ?? null],
    );
    return rows.map((r) => frozen(r.doc));
  }

  async listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]> {
    const rows = await this.rows<{ doc: AccessRequest }>(
      `SELECT doc FROM requests WHERE NOT is_open AND requester_id = $1
       ORDER BY updated_at DESC, id DESC LIMIT $2`,
      [requesterId.toLowerCase(), limit],
    );
    return rows.map((r) => frozen(r.doc));
  }

  async listCreatedBetween(since: number, until: number, limit?: number): Promise<AccessRequest[]> {
    const rows = await this.rows<{ doc: AccessRequest }>(
      `SELECT doc FROM requests WHERE created_at >= $1 AND created_at < $2
       ORDER BY created_at, id LIMIT $3`,
      [since, until, limit ?? null],
    );
    return rows.map((r) => frozen(r.doc));
  }

  async *scanInsights(since: number, until: number): AsyncGenerator<readonly InsightRecord[]> {
    // One short query per slice of the period (a day, or a 256th of a long period), so that a
    // month's report holds no transaction or cursor open while it is read and nothing is
    // sorted: keyset pages (ORDER BY created_at, id LIMIT n) sorted the rest of the period on
    // every page. The record is the column the database keeps (migration 8): a third of each
    // document's bytes, as stored text; rows written before that migration have none, and the
    // database computes theirs here.
    const slice = Math.max(this.scanSliceMs, Math.ceil((until - since) / 256));
    for (let from = since; from < until; from += slice) {
      const rows = await this.rows<{ insight: InsightRecord }>(
        `SELECT COALESCE(insight, timebox_insight_record(doc)) AS insight FROM requests
         WHERE created_at >= $1 AND created_at < $2`,
        [from, Math.min(until, from + slice)],
      );
      if (rows.length > 0) yield rows.map((r) => r.insight);
    }
  }

  async lastRequestedByGroup(until: number): Promise<Map<string, number>> {
    // group_id is stored in lower case (the column behind listHolding); bigint comes back as text.
    const rows = await this.rows<{ group_id: string; last: string }>(
      'SELECT group_id, max(created_at) AS last FROM requests WHERE created_at < $1 GROUP BY group_id',
      [until],
    );
    return new Map(rows.map((r) => [r.group_id, Number(r.last)]));
  }

  async listHolding(requesterId: string, groupId: string): Promise<AccessRequest[]> {
    const rows = await this.rows<{ doc: AccessRequest }>(
      'SELECT doc FROM requests WHERE requester_id = $1 AND group_id = $2 ORDER BY created_at, id',
      [requesterId.toLowerCase(), groupId.toLowerCase()],
    );
    // The rule stays the domain's: filtered here, not restated in SQL.
    return rows.map((r) => frozen(r.doc)).filter(mayHoldMembership);
  }

  // ---- due times --------------------------------------------------------------------------

  async listDue(now: number, limit: number): Promise<Array<{ requestId: string; dueAt: number }>> {
    const rows = await this.rows<{ id: string; due_at: string }>(
      'SELECT id, due_at FROM requests WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2',
      [now, limit],
    );
    return rows.map((r) => ({ requestId: r.id, dueAt: Number(r.due_at) }));
  }

  async nextDueAt(): Promise<number | undefined> {
    const rows = await this.rows<{ at: string | null }>('SELECT min(due_at) AS at FROM requests');
    const at = rows[0]?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }

  setDueAt(requestId: string, dueAt: number | null): Promise<void> {
    return this.write(async () => {
      await this.pool.query('UPDATE requests SET due_at = $2 WHERE id = $1 AND is_open', [
        requestId,
        dueAt !== null && Number.isFinite(dueAt) ? dueAt : null,
      ]);
    });
  }

  // ---- the outbox -------------------------------------------------------------------------

  claim(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    lanes?: EffectLane[],
  ): Promise<ClaimedEffect[]> {
    if (this.readOnly) return this.read(() => this.claimInMemory(owner, now, leaseMs, limit, lanes));
    return this.write(() =>
      outbox.claimHeads(this.pool, owner, now, leaseMs, limit, lanes, this.feed.backendPid),
    );
  }

  /** Read-only: the due heads of the snapshot, under leases of this instance only. */
  private async claimInMemory(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
    lanes?: EffectLane[],
  ): Promise<ClaimedEffect[]> {
    const out: ClaimedEffect[] = [];
    for (const effect of await outbox.dueHeads(this.db, now, lanes)) {
      if (out.length >= limit) break;
      let lease = this.ownLeases.get(effect.id);
      if (lease && lease.owner !== owner && lease.until > now) continue;
      if (lease && lease.owner === owner) lease.until = Math.max(lease.until, now + leaseMs);
      else this.ownLeases.set(effect.id, (lease = { owner, token: randomUUID(), until: now + leaseMs }));
      out.push({ ...effect, lease: { ...lease } });
    }
    return out;
  }

  renewLease(id: string, token: string, until: number): Promise<void> {
    return this.write(() => outbox.renew(this.pool, id, token, until, this.feed.backendPid));
  }

  nextEffectAt(): Promise<number | undefined> {
    // NB: the wall clock, as every lease's time is (the worker's clock is the process's).
    return this.read(() => outbox.nextClaimableAt(this.db, Date.now(), this.feed.backendPid));
  }

  listEffects(requestId?: string): Promise<Effect[]> {
    return this.read(() => outbox.listAll(this.db, requestId));
  }

  retryEffect(id: string, token: string, notBefore: number, error: string): Promise<void> {
    // Announced: the effect is claimable again, by any replica's worker, once notBefore comes.
    return this.write(() =>
      this.transaction(async (db) => {
        await outbox.retry(db, id, token, notBefore, error);
        await announceChange(db, this.origin);
      }),
    );
  }

  completeEffect(id: string, token: string): Promise<void> {
    return this.write(() => outbox.complete(this.pool, id, token));
  }

  // ---- audit ------------------------------------------------------------------------------

  appendAudit(events: RequestEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    return this.write(async () => {
      this.told(await this.transaction((db) => appendToChain(db, events.map(copyIn), this.signing)));
    });
  }

  async *readAudit(): AsyncIterable<AuditRecord> {
    this.ready();
    try {
      yield* readChain(this.db);
    } catch (error) {
      throw storeError(this.where, error);
    }
  }

  /** The signed checkpoints, in the order written (table audit_checkpoints). */
  async *readAuditCheckpoints(): AsyncIterable<AuditCheckpoint> {
    this.ready();
    try {
      yield* readCheckpoints(this.db);
    } catch (error) {
      throw storeError(this.where, error);
    }
  }

  // ---- several replicas -------------------------------------------------------------------

  /**
   * Tells `listener` when another store (another replica) committed a change or made an effect
   * claimable again (LISTEN/NOTIFY on one connection of this store's own; see change-feed.ts),
   * and once after each reconnection. A read-only store sees a snapshot: it is never told.
   */
  onChange(listener: () => void): () => void {
    if (this.readOnly) return () => undefined;
    return this.feed.subscribe(listener);
  }

  /** `SELECT 1` within 2 s, the answer reused for 1 s (health.ts); a closed store is not healthy. */
  health(): Promise<Health> {
    if (this.closed) return Promise.resolve({ ok: false, detail: 'closed' });
    return this.healthCheck.check();
  }

  /** The request rate limit shared by every replica on this database (rate-limit.ts). */
  sharedRateLimiter(clock: Clock, limit: RateLimit): RequestLimiter {
    return new PostgresRateLimiter((fn) => this.write(() => this.transaction(fn)), clock, limit);
  }

  /** The shutdown's checkpoint; a failure is a warning, not the close's (the next start checks the chain). */
  private async signClose(signing: AuditSigning): Promise<void> {
    try {
      const signed = await this.transaction(async (db) => {
        const head = await lockHead(db);
        const last = await lastSignedBy(db, signing.key);
        if (head.seq === 0 || (last?.seq === head.seq && last.reason === 'close')) return [];
        return [await insertCheckpoint(db, signing, head, 'close')];
      });
      this.told(signed);
    } catch (error) {
      process.emitWarning(
        `Timebox audit: could not sign the shutdown checkpoint in ${this.where} (${(error as Error).message})`,
      );
    }
  }

  private told(signed: readonly Checkpoint[]): void {
    for (const checkpoint of signed) this.onCheckpoint?.(checkpoint);
  }

  // ---- chats, service URLs ----------------------------------------------------------------

  savePersonalChat(userId: string, chat: PersonalChat): Promise<void> {
    return this.write(() => tables.upsertChat(this.pool, userId, chat));
  }

  async getPersonalChat(userId: string): Promise<PersonalChat | undefined> {
    const rows = await this.rows<{ chat: PersonalChat }>(
      'SELECT chat FROM personal_chats WHERE user_id = $1',
      [userId],
    );
    return rows[0]?.chat;
  }

  saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void> {
    return this.write(() => tables.upsertServiceUrl(this.pool, tenantId, serviceUrl));
  }

  async getServiceUrl(tenantId: string): Promise<string | undefined> {
    const rows = await this.rows<{ service_url: string }>(
      'SELECT service_url FROM service_urls WHERE tenant_id = $1',
      [tenantId],
    );
    return rows[0]?.service_url;
  }

  markWelcomed(key: string, at: number): Promise<boolean> {
    // NB: the primary key decides between replicas: of two installs at once, one row goes in.
    return this.write(async () => {
      const { rowCount } = await this.pool.query(
        'INSERT INTO welcomes (key, welcomed_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
        [key, at],
      );
      return rowCount === 1;
    });
  }

  // ---- baselines, named leases ------------------------------------------------------------

  async getBaseline(groupId: string): Promise<GroupBaseline | undefined> {
    const rows = await this.rows<{ doc: GroupBaseline; version: number }>(
      'SELECT doc, version FROM baselines WHERE group_id = $1',
      [groupId.toLowerCase()],
    );
    return rows[0] && { ...rows[0].doc, version: rows[0].version };
  }

  saveBaseline(baseline: GroupBaseline, expectedVersion: number | null): Promise<GroupBaseline> {
    return this.write(() => tables.saveBaselineRow(this.pool, baseline, expectedVersion));
  }

  // ---- approval-token signing keys (one row, shared by every replica) ---------------------

  getSigningKeys(): Promise<StoredSigningKeys | undefined> {
    return this.read(() => tables.readSigningKeys(this.db));
  }

  saveSigningKeys(keys: StoredSigningKey[], expectedVersion: number | null): Promise<StoredSigningKeys> {
    return this.write(() => tables.saveSigningKeysRow(this.pool, keys, expectedVersion));
  }

  // ---- the approvers' delegations (one row, shared by every replica) ----------------------

  getDelegations(): Promise<StoredDelegations | undefined> {
    return this.read(() => tables.readDelegations(this.db));
  }

  saveDelegations(delegations: Delegation[], expectedVersion: number | null): Promise<StoredDelegations> {
    return this.write(() => tables.saveDelegationsRow(this.pool, delegations, expectedVersion));
  }

  /** A row per name (side-tables.ts); read-only: in memory. */
  acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    if (this.readOnly) {
      return this.read(async () => {
        const held = this.ownNamedLeases.get(name);
        if (held && held.owner !== owner && held.until > now) return false;
        this.ownNamedLeases.set(name, { owner, until: now + ttlMs });
        return true;
      });
    }
    return this.write(() => tables.takeNamedLease(this.pool, name, owner, now, ttlMs));
  }

  releaseLease(name: string, owner: string): Promise<void> {
    if (this.readOnly) {
      if (this.ownNamedLeases.get(name)?.owner === owner) this.ownNamedLeases.delete(name);
      return Promise.resolve();
    }
    return this.write(() => tables.dropNamedLease(this.pool, name, owner));
  }

  // ---- plumbing ---------------------------------------------------------------------------

  /** Where reads go: the snapshot transaction (read-only), or the pool. */
  private get db(): Pool | PoolClient {
    return this.snapshot ?? this.pool;
  }

  private ready(): void {
    if (!this.opened) throw new Error('PostgresStore used before open()');
  }

  /** Runs `fn` in one transaction on one connection: committed whole, or rolled back. */
  private async transaction<T>(fn: (db: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is broken: dropped from the pool, not reused.
      broken = await client.query('ROLLBACK').then(
        () => false,
        () => true,
      );
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async rows<R extends object>(sql: string, params: unknown[] = []): Promise<R[]> {
    return this.read(async () => (await this.db.query<R>(sql, params)).rows);
  }

  private read<T>(fn: () => Promise<T>): Promise<T> {
    this.ready();
    return this.run(fn);
  }

  /** A call that changes something: refused once close() began. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    this.ready();
    if (this.readOnly) {
      return Promise.reject(
        new DomainError(
          ErrorCodes.STORE_WRITE_FAILED,
          `The store (${this.where}) was opened read-only, so nothing was changed.`,
          { where: this.where, cause: 'read-only' },
        ),
      );
    }
    if (this.closed) {
      return Promise.reject(
        new DomainError(
          ErrorCodes.STORE_WRITE_FAILED,
          'Timebox is shutting down, so nothing was changed. Try again in a moment.',
          { where: this.where, cause: 'closed' },
        ),
      );
    }
    return this.run(fn);
  }

  /** Tracks the call (close waits for it) and maps its failure to the port's errors. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const call = fn().catch((error: unknown) => {
      // The unique index behind REQUEST_OPEN_EXISTS is mapped by commit(), with the other request's id.
      if (uniqueViolation(error) === 'requests_one_open') throw error;
      throw storeError(this.where, error);
    });
    this.inFlight.add(call);
    const forget = () => this.inFlight.delete(call);
    call.then(forget, forget);
    return call;
  }
}

/** The audit head, locked for the caller's transaction (as every appender locks it). */
async function lockHead(db: PoolClient): Promise<{ seq: number; hash: string }> {
  const { rows } = await db.query<{ seq: string; hash: string }>(
    'SELECT seq, hash FROM audit_head FOR UPDATE',
  );
  const head = rows[0];
  if (!head)
    throw new DomainError(ErrorCodes.STORE_CORRUPT, 'The audit chain head (table audit_head) is missing.');
  return { seq: Number(head.seq), hash: head.hash };
}

/** A database's name for messages and logs (host, port, database), never its credentials. */
export function describeDatabase(connectionString: string): string {
  return describe({ connectionString });
}

function describe(options: PoolConfig): string {
  if (options.connectionString) {
    try {
      const url = new URL(options.connectionString);
      return `postgres://${url.host}${url.pathname}`;
    } catch {
      return 'postgres';
    }
  }
  return `postgres://${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? ''}`;
}
