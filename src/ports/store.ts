import type { AccessRequest, RequestEvent, Status } from '../domain/request';
import type { PersonalChat } from './notifier';

/** What a side effect does; handlers live in app/grant-worker.ts. */
export type EffectKind =
  | 'directory.add'
  | 'directory.remove'
  | 'directory.extend'
  | 'card.post'
  | 'card.update'
  | 'thread.reply'
  | 'person.notify';

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

/** A change to write at once: the request's new state, the side effects it causes, its audit events. */
export interface Commit {
  request: AccessRequest;
  /** The version read before changing it; null when creating. Mismatch → REQUEST_CONFLICT. */
  expectedVersion: number | null;
  events: RequestEvent[];
  effects?: NewEffect[];
  /** Effects finished by this change (the worker's own completions). */
  completedEffectIds?: string[];
}

export interface RequestQuery {
  requesterId?: string;
  groupAlias?: string;
  statuses?: Status[];
}

/**
 * Durable state. Every method either fully happens or throws (STORE_WRITE_FAILED); `commit`
 * is the only way requests change, and it is atomic with its effects and audit events.
 */
export interface Store {
  /** Loads the store; throws STORE_CORRUPT naming the file if it cannot be read. */
  open(): Promise<void>;
  /** Flushes and releases files. */
  close(): Promise<void>;
  /** A request by id, open or closed. */
  get(id: string): Promise<AccessRequest | undefined>;
  /** Writes a commit; returns the request as stored (version incremented). */
  commit(change: Commit): Promise<AccessRequest>;
  /** Open requests (pending, approved, active) matching the query. */
  listOpen(query?: RequestQuery): Promise<AccessRequest[]>;
  /** The newest closed requests of a requester, newest first. */
  listRecentClosed(requesterId: string, limit: number): Promise<AccessRequest[]>;
  /**
   * Requests of one person for one Entra group, open or closed, that may still hold its
   * membership (`mayHoldMembership`): what tells our own earlier add from a standing member.
   */
  listHolding(requesterId: string, groupId: string): Promise<AccessRequest[]>;
  /** Effects that may run now, oldest first, at most one per request and lane (the head of each queue). */
  dueEffects(now: number, limit: number): Promise<Effect[]>;
  /** When the next effect becomes due (for sleeping until then), undefined when none waits. */
  nextEffectAt(): Promise<number | undefined>;
  /** Every effect waiting in the outbox (of one request when given), oldest first: what the reconciler checks. */
  listEffects(requestId?: string): Promise<Effect[]>;
  /** Records a failed attempt; the effect runs again after notBefore. */
  retryEffect(id: string, notBefore: number, error: string): Promise<void>;
  /** Drops an effect that can never succeed (its failure is recorded by the caller's commit). */
  completeEffect(id: string): Promise<void>;
  /** Appends events that change no request (refusals, acknowledgements of notices). */
  appendAudit(events: RequestEvent[]): Promise<void>;
  /** Reads the audit log in order. */
  readAudit(): AsyncIterable<AuditRecord>;
  /** Remembers a person's personal chat with the bot, for proactive messages. */
  savePersonalChat(userId: string, chat: PersonalChat): Promise<void>;
  getPersonalChat(userId: string): Promise<PersonalChat | undefined>;
  /** Remembers the Bot Connector service URL a tenant's activities came from. */
  saveServiceUrl(tenantId: string, serviceUrl: string): Promise<void>;
  getServiceUrl(tenantId: string): Promise<string | undefined>;
  /** The reconciler's record of a managed group (its members when first seen), or undefined. */
  getBaseline(groupId: string): Promise<GroupBaseline | undefined>;
  /** Records or replaces a managed group's baseline. */
  saveBaseline(baseline: GroupBaseline): Promise<void>;
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
}
