import { Client, type ClientBase } from 'pg';
import { DomainError, ErrorCodes } from '../../../domain/errors';
import { isClosed, type AccessRequest } from '../../../domain/request';
import type { PersonalChat } from '../../../ports/notifier';
import type {
  AuditCheckpoint,
  AuditRecord,
  Effect,
  GroupBaseline,
  StoredDelegations,
  StoredSigningKeys,
} from '../../../ports/store';
import { GENESIS_HASH } from '../audit-log';
import { postgresConnection, type EntraLoginOptions } from './entra-login';
import { migrate } from './migrate';
import { isTransientPgError } from './pg-errors';

/**
 * Fills an EMPTY Timebox database with a whole store, as `timebox store copy` reads it: rows
 * as PostgresStore itself writes them (requests.ts, outbox.ts, audit.ts, side-tables.ts), but
 * with the source's versions, seqs and hashes kept rather than new ones handed out.
 */
export interface StoreContents {
  open: AccessRequest[];
  /** Due times of open requests (epoch ms), by id. */
  dueAt: Record<string, number>;
  closed: AccessRequest[];
  /** As stored: seq order, attempts, notBefore; no leases (a lease is a running process's). */
  effects: Effect[];
  baselines: GroupBaseline[];
  chats: Record<string, PersonalChat>;
  serviceUrls: Record<string, string>;
  /** Who and which teams were welcomed (`person:<id>`, `team:<id>`), and when (epoch ms). */
  welcomed: Record<string, number>;
  /** The approval-token signing keys, when the source has any: tokens it signed still verify after the move. */
  signingKeys?: StoredSigningKeys;
  /** The approvers' delegations, when the source has any (a delegation given before the move still holds after it). */
  delegations?: StoredDelegations;
  /** Read once, in seq order, already verified by the caller. */
  audit: () => AsyncIterable<AuditRecord>;
  checkpoints: AuditCheckpoint[];
}

export interface ImportResult {
  audit: number;
  head: { seq: number; hash: string };
}

/** What an existing database already holds, by table; all zero when it is empty. */
export interface Holdings {
  requests: number;
  effects: number;
  audit: number;
  chats: number;
  baselines: number;
  welcomes: number;
}

const HOLDING_TABLES: Record<keyof Holdings, string> = {
  requests: 'requests',
  effects: 'effects',
  audit: 'audit',
  chats: 'personal_chats',
  baselines: 'baselines',
  welcomes: 'welcomes',
};

const AUDIT_PAGE = 500;

/** A connected client, or a clear refusal naming the database by `label` (never its password). */
export async function connect(url: string, label: string, entraLogin?: EntraLoginOptions): Promise<Client> {
  const client = new Client(postgresConnection(url, entraLogin));
  // A connection dropped while idle is reported here; the next query fails and says so.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new DomainError(
      isTransientPgError(error) ? ErrorCodes.STORE_UNAVAILABLE : ErrorCodes.COMMAND_INVALID,
      `Cannot connect to ${label}: ${(error as Error).message}`,
    );
  }
  return client;
}

export async function countHoldings(db: ClientBase): Promise<Holdings> {
  const out = {} as Holdings;
  for (const [key, table] of Object.entries(HOLDING_TABLES) as Array<[keyof Holdings, string]>) {
    // NB: table names are ours (HOLDING_TABLES), never input; an identifier cannot be a parameter.
    const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    out[key] = Number(rows[0]?.n ?? 0);
  }
  return out;
}

/**
 * Migrates the database, then writes everything in ONE transaction: a database left half-filled
 * would be refused by the next copy (not empty) and trusted by the bot. The tables are locked
 * first (a bot starting meanwhile waits), and anything already there refuses the copy.
 */
export async function importStore(
  db: ClientBase,
  contents: StoreContents,
  where: string,
): Promise<ImportResult> {
  // Checked before migrating too: a database that holds anything is left exactly as it was.
  const { rows } = await db.query<{ t: string | null }>("SELECT to_regclass('requests') AS t");
  if (rows[0]?.t != null) refuseUnlessEmpty(where, await countHoldings(db));
  await migrate(db);
  await db.query('BEGIN');
  try {
    await db.query(
      'LOCK TABLE requests, effects, audit, audit_head, audit_checkpoints, personal_chats, service_urls, baselines, welcomes, signing_keys, delegations IN EXCLUSIVE MODE',
    );
    refuseUnlessEmpty(where, await countHoldings(db));
    await insertRequests(db, contents.open, contents.dueAt);
    await insertRequests(db, contents.closed, {});
    await insertEffects(db, contents.effects);
    await insertSideTables(db, contents);
    const { audit, head } = await insertAudit(db, contents.audit());
    await insertCheckpoints(db, contents.checkpoints);
    await db.query('COMMIT');
    return { audit, head };
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function refuseUnlessEmpty(where: string, held: Holdings): void {
  if (Object.values(held).every((n) => n === 0)) return;
  const parts = Object.entries(held)
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${what === 'audit' ? 'audit records' : what}`);
  throw new DomainError(
    ErrorCodes.COMMAND_INVALID,
    `The database ${where} is not empty (it holds ${parts.join(', ')}); store copy only fills an empty database. Nothing was written.`,
    { ...held },
  );
}

async function insertRequests(
  db: ClientBase,
  requests: readonly AccessRequest[],
  dueAt: Record<string, number>,
): Promise<void> {
  for (const r of requests) {
    const open = !isClosed(r.status);
    const due = open ? dueAt[r.id] : undefined;
    await db.query(
      `INSERT INTO requests (id, status, is_open, requester_id, group_alias, group_id, created_at, updated_at, due_at, version, doc)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)`,
      [
        r.id,
        r.status,
        open,
        r.requester.id.toLowerCase(),
        r.group.alias.toLowerCase(),
        r.group.id.toLowerCase(),
        r.createdAt,
        r.updatedAt,
        due !== undefined && Number.isFinite(due) ? due : null,
        r.version,
        JSON.stringify(r),
      ],
    );
  }
}

/** The claim rank outbox.ts gives: directory.remove, other directory work, Teams work. */
const rankOf = (e: Effect): number => (e.kind === 'directory.remove' ? 0 : e.lane === 'directory' ? 1 : 2);

async function insertEffects(db: ClientBase, effects: readonly Effect[]): Promise<void> {
  for (const e of effects) {
    const {
      kind,
      lane,
      queue,
      id,
      requestId,
      template,
      data,
      seq,
      attempts,
      notBefore,
      createdAt,
      lastError,
    } = e;
    await db.query(
      `INSERT INTO effects (id, request_id, lane, queue, rank, kind, template, data, seq, attempts, not_before, created_at, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13)`,
      [
        id,
        requestId,
        lane,
        // The queue LowdbStore derives for effects written before queues existed.
        queue ?? `${requestId}/${lane}`,
        rankOf(e),
        kind,
        template ?? null,
        data === undefined ? null : JSON.stringify(data),
        seq,
        attempts,
        notBefore,
        createdAt,
        lastError ?? null,
      ],
    );
  }
  // New effects are numbered after the copied ones, as the source would have numbered them.
  const last = Math.max(0, ...effects.map((e) => e.seq));
  if (last > 0) await db.query("SELECT setval('effect_seq', $1)", [last]);
}

async function insertSideTables(db: ClientBase, contents: StoreContents): Promise<void> {
  for (const [userId, chat] of Object.entries(contents.chats))
    await db.query('INSERT INTO personal_chats (user_id, chat) VALUES ($1, $2::jsonb)', [
      userId,
      JSON.stringify(chat),
    ]);
  for (const [key, at] of Object.entries(contents.welcomed))
    await db.query('INSERT INTO welcomes (key, welcomed_at) VALUES ($1, $2)', [key, at]);
  for (const [tenantId, url] of Object.entries(contents.serviceUrls))
    await db.query('INSERT INTO service_urls (tenant_id, service_url) VALUES ($1, $2)', [tenantId, url]);
  for (const b of contents.baselines)
    await db.query('INSERT INTO baselines (group_id, version, doc) VALUES ($1, $2, $3::jsonb)', [
      b.groupId.toLowerCase(),
      // NB: a baseline written before versions is at 0, as PostgresStore reads it too.
      b.version ?? 0,
      JSON.stringify(b),
    ]);
  // NB: a target that has keys already (a bot was started on it) keeps them: its tokens are out there too.
  if (contents.signingKeys)
    await db.query(
      'INSERT INTO signing_keys (id, version, keys) VALUES (true, $1, $2::jsonb) ON CONFLICT (id) DO NOTHING',
      [contents.signingKeys.version, JSON.stringify(contents.signingKeys.keys)],
    );
  if (contents.delegations)
    await db.query(
      'INSERT INTO delegations (id, version, delegations) VALUES (true, $1, $2::jsonb) ON CONFLICT (id) DO NOTHING',
      [contents.delegations.version, JSON.stringify(contents.delegations.delegations)],
    );
}

/** The records as they are (same seq, prevHash, hash: the chain verifies as it did), and the head row after them. */
async function insertAudit(
  db: ClientBase,
  records: AsyncIterable<AuditRecord>,
): Promise<{ audit: number; head: { seq: number; hash: string } }> {
  let page: AuditRecord[] = [];
  let count = 0;
  let head = { seq: 0, hash: GENESIS_HASH };
  const flush = async () => {
    if (page.length === 0) return;
    await db.query('INSERT INTO audit (seq, record) SELECT * FROM unnest($1::bigint[], $2::text[])', [
      page.map((r) => r.seq),
      page.map((r) => JSON.stringify(r)),
    ]);
    page = [];
  };
  for await (const record of records) {
    page.push(record);
    count++;
    head = { seq: record.seq, hash: record.hash };
    if (page.length >= AUDIT_PAGE) await flush();
  }
  await flush();
  await db.query('UPDATE audit_head SET seq = $1, hash = $2', [head.seq, head.hash]);
  return { audit: count, head };
}

/** Signed checkpoints, in the order written: each row is the checkpoint's JSON as signed (migration 2). */
async function insertCheckpoints(db: ClientBase, checkpoints: readonly AuditCheckpoint[]): Promise<void> {
  for (const c of checkpoints)
    await db.query('INSERT INTO audit_checkpoints (seq, checkpoint) VALUES ($1, $2)', [
      c.seq,
      JSON.stringify(c),
    ]);
}
