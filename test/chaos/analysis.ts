import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AccessRequest } from '../../src/domain/request';
import type { AuditRecord } from '../../src/ports/store';
import type { LocalDirectoryCall } from '../../src/dev/local-directory/server';
import { GROUP_IDS, MANAGED, REVOKE_SESSIONS, type Fixture, type ManagedGroup } from './fixture';
import { checkHeld, type HeldGrants, type HeldReport } from './held';
import type { StoreSource } from './store-source';
import type { AckedDecision } from './workload';

/** One life of the bot process: spawned, listening, killed (or stopped at the end). */
export interface Life {
  spawnAt: number;
  readyAt?: number;
  /** SIGKILL (or the final SIGTERM) time; undefined while it runs. */
  endAt?: number;
  killed: boolean;
  /** Which replica (0-based slot) this life ran in; with one replica always 0. */
  replica?: number;
}

export interface Overstay {
  requestIds: string[];
  group: string;
  userId: string;
  /** When access should have ended (expiry, release, revoke, failure). */
  endedAt: number;
  /** The directory's own record of the removal (a DELETE .../$ref answered 204, or 404: already gone). */
  removedAt?: number;
  /** Time the bot was running between the two: what the 5 s bound is about. */
  upMs: number;
  /** Wall-clock time between the two, downtime included. */
  wallMs: number;
  /** The grant ended while the bot was down: measured from the next start. */
  duringDowntime: boolean;
  /** Removal calls Graph answered 429 in between: that many Retry-Afters were waited out. */
  throttled: number;
}

/** One scheduled request's start: from `startsAt` to its membership added (or its grant recorded). */
export interface ScheduledStart {
  requestId: string;
  group: string;
  startsAt: number;
  /** The directory's add at or after the start (undefined: already a member, e.g. standing). */
  addedAt?: number;
  grantedAt: number;
  /** Time the bot was running between the start and the add: what the 5 s bound is about. */
  upMs: number;
  wallMs: number;
  /** The start fell while the bot was down: measured from the next start-up. */
  duringDowntime: boolean;
  /** Add calls Graph answered 429 in between. */
  throttled: number;
}

export interface ScheduledReport {
  /** Requests filed with a start (`request … at …`). */
  requests: number;
  /** Of those, granted (at or after their start). */
  started: number;
  cancelled: number;
  /** Ended `failed` (a refused start, or an add given up). */
  failed: number;
  starts: ScheduledStart[];
  maxStartLagRunningMs: number;
  maxStartLagAfterStartMs: number;
  startedDuringDowntime: number;
  /** Memberships added (or grants counted) before their request's start. */
  early: string[];
  /** Scheduled requests approved, their start passed, neither granted nor ended. */
  neverStarted: string[];
}

export interface SessionsReport {
  /** `POST /users/{id}/revokeSignInSessions` answered 2xx. */
  revoked: number;
  /** `sessions_revoked` audit records. */
  audited: number;
  /** `sessions_revoke_failed` audit records (the run injects transient faults only: must be none). */
  failed: string[];
  /** Removals (DELETE answered 204) from a `revokeSessionsOnEnd` group. */
  removals: number;
  /** Removal answered → revocation call, wall clock and bot running. */
  maxLagMs: number;
  maxLagRunningMs: number;
  /** Revocations with no removal of that person from a revokeSessionsOnEnd group before them (or while they are a member again). */
  beforeRemoval: string[];
  /** Revocations (audited) for a grant of a standing member. */
  forStanding: string[];
  /** Removals from a revokeSessionsOnEnd group that no revocation followed. */
  missing: string[];
  /**
   * Revocations of a person revoked already since their last removal: the effect ran again (at
   * least once, by design). `afterKill`: a bot was killed between the two calls (Graph answered
   * the first, its completion was not committed). `other`: no kill came between; no fault this
   * run injects leaves a revocation done but unanswered, so these would want a look (reported,
   * not failed: a repeat changes nothing and is audited once).
   */
  repeated: { afterKill: number; other: number };
}

export interface Analysis {
  /** The workload's requests (the `--open` grants left out of this and every figure below but `held`). */
  requests: number;
  byStatus: Record<string, number>;
  grants: number;
  overstays: Overstay[];
  maxOverstayRunningMs: number;
  maxOverstayAfterStartMs: number;
  endedDuringDowntime: number;
  maxWallOverstayMs: number;
  /** group/user memberships at the end that no grant, baseline or reported drift explains. */
  unexplained: string[];
  /** Standing members (there from the start) that are gone at the end. */
  standingRemoved: string[];
  decidedTwice: string[];
  /** Grants whose clock started after a kill that came after their membership was added: the downtime added to the access. */
  lateClocks: string[];
  /** The largest (grant start − membership added) over all grants; ≤ 0 when a grant counts from an attempt before the add. */
  maxClockLagMs: number;
  /** Grants that count from an add attempt before the one that landed (its answer lost to a kill or a timeout). */
  clockFromEarlierAttempt: number;
  missingFromAudit: string[];
  lostDecisions: string[];
  audit: { ok: boolean; records: number; problem?: string };
  graph: { calls: number; throttled: number; unavailable: number; faultRate: number };
  /** `--open N`: what became of the grants held open for the whole run (undefined when N is 0). */
  held?: HeldReport;
  /**
   * Membership calls in flight at once for one group and person (one's span [at, answeredAt]
   * overlapping the next's): an effect run by two replicas at the same time. Must be none.
   */
  concurrentEffects: string[];
  /** Graph membership adds (POST …/$ref that reached the directory) per grant, between its decision and its `granted` record. */
  scheduled: ScheduledReport;
  sessions: SessionsReport;
  addsPerGrant: {
    max: number;
    /** Grants added more than once. */
    repeated: number;
    /** Of those, the ones with no kill (of a bot or of the database) in that window: an add repeated without cause. */
    repeatedWithoutKill: string[];
  };
}

const DECISIONS = new Set(['approved', 'auto_approved', 'break_glass', 'denied', 'cancelled', 'timed_out']);
const TERMINAL = new Set(['expired', 'released', 'revoked', 'failed', 'denied', 'cancelled', 'timed_out']);

export type StoredEffect = { id: string; kind: string; requestId: string; lane: string };
type JournalEntry =
  | { n: number; t: 'commit'; request: AccessRequest; effects: StoredEffect[]; done: string[] }
  | { n: number; t: 'complete'; id: string }
  | { n: number; t: string };
interface Snapshot {
  requests?: Record<string, AccessRequest>;
  closing?: Record<string, AccessRequest>;
  effects?: StoredEffect[];
  journalN?: number;
}

/** Keeps the newest version of each request. */
const put = (map: Map<string, AccessRequest>, r: AccessRequest) => {
  const known = map.get(r.id);
  if (!known || known.version <= r.version) map.set(r.id, r);
};

/**
 * The store as it is on disk, read as LowdbStore reads it (src/adapters/store/lowdb-store.ts):
 * the snapshot `timebox.json` (written at compaction only: at a close, or past 20,000 journal
 * entries), the `journal.jsonl` entries after it (every commit since, with the outbox changes),
 * and the closed requests of `history.jsonl`; newest version of each request. The bot writes
 * these files as it is read: the journal is read before the snapshot (a compaction renames a
 * new snapshot in, then empties the journal), a partial last line (an append under way) is left
 * out, and the journal is read on from where the last read stopped while the snapshot is the
 * same file (it grows by a few MB over a run; the settle loop reads it every 500 ms).
 */
export class StoreReader {
  private snapshotId = '';
  private offset = 0;
  private journalN = 0;
  private readonly live = new Map<string, AccessRequest>();
  private readonly effects = new Map<string, StoredEffect>();

  constructor(private readonly dataDir: string) {}

  read(): { requests: Map<string, AccessRequest>; effects: StoredEffect[] } {
    for (let attempt = 0; ; attempt++) {
      const id = this.idOf('timebox.json');
      if (id !== this.snapshotId) this.reset();
      const grew = this.readJournal();
      if (grew && !this.snapshotId) this.loadSnapshot(id);
      // The same snapshot all along: the journal read belongs to it. Else a compaction came in
      // between (a new snapshot, the journal emptied): read it all again.
      if (grew && this.idOf('timebox.json') === id) break;
      this.snapshotId = '';
      if (attempt > 5) throw new Error(`the store in ${this.dataDir} kept changing under the reader`);
    }
    const requests = new Map<string, AccessRequest>();
    for (const r of readHistory(path.join(this.dataDir, 'history.jsonl'))) put(requests, r);
    for (const r of this.live.values()) put(requests, r);
    return { requests, effects: [...this.effects.values()] };
  }

  private idOf(name: string): string {
    try {
      const s = statSync(path.join(this.dataDir, name));
      return `${s.ino}/${s.size}/${s.mtimeMs}`;
    } catch {
      return 'none';
    }
  }

  private reset(): void {
    this.snapshotId = '';
    this.offset = 0;
    this.journalN = 0;
    this.live.clear();
    this.effects.clear();
    this.pending = [];
  }

  /** Entries read before the snapshot they follow: applied once it is loaded. */
  private pending: JournalEntry[] = [];

  /** Reads the journal from `offset`; false when it shrank (emptied by a compaction). */
  private readJournal(): boolean {
    const file = path.join(this.dataDir, 'journal.jsonl');
    let data: Buffer;
    try {
      const fd = openSync(file, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size < this.offset) return false;
        data = Buffer.alloc(size - this.offset);
        let got = 0;
        while (got < data.length) {
          const n = readSync(fd, data, got, data.length - got, this.offset + got);
          if (n === 0) break;
          got += n;
        }
        data = data.subarray(0, got);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.offset === 0;
      throw error;
    }
    let start = 0;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
      const text = data.subarray(start, nl).toString('utf8');
      start = nl + 1;
      try {
        this.pending.push((JSON.parse(text) as { entry: JournalEntry }).entry);
      } catch {
        // A line the bot's next start cuts (a torn write): nothing acknowledged is in it.
      }
    }
    this.offset += start;
    if (this.snapshotId) this.applyPending();
    return true;
  }

  private loadSnapshot(id: string): void {
    const file = path.join(this.dataDir, 'timebox.json');
    const snapshot: Snapshot = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Snapshot) : {};
    this.live.clear();
    this.effects.clear();
    for (const r of Object.values(snapshot.requests ?? {})) put(this.live, r);
    for (const r of Object.values(snapshot.closing ?? {})) put(this.live, r);
    for (const e of snapshot.effects ?? []) this.effects.set(e.id, e);
    this.journalN = snapshot.journalN ?? 0;
    this.snapshotId = id;
    this.applyPending();
  }

  private applyPending(): void {
    for (const entry of this.pending) {
      if (entry.n <= this.journalN) continue; // the snapshot covers it
      if (entry.t === 'commit' && 'request' in entry) {
        put(this.live, entry.request);
        for (const id of entry.done ?? []) this.effects.delete(id);
        for (const e of entry.effects ?? []) this.effects.set(e.id, e);
      } else if (entry.t === 'complete' && 'id' in entry) this.effects.delete(entry.id);
    }
    this.pending = [];
  }
}

/** Closed requests, last line per id wins; a partial last line (an append under way) left out. */
function readHistory(file: string): AccessRequest[] {
  if (!existsSync(file)) return [];
  const out: AccessRequest[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // after the last line break: empty, or an append under way
  for (const line of lines) {
    if (!line.trim()) continue;
    const value = JSON.parse(line) as { request?: AccessRequest } & AccessRequest;
    out.push(value.request ?? value);
  }
  return out;
}

/** The store as it is on disk now (see StoreReader). */
export function readStore(dataDir: string): {
  requests: Map<string, AccessRequest>;
  effects: StoredEffect[];
} {
  return new StoreReader(dataDir).read();
}

export function readAudit(dataDir: string): AuditRecord[] {
  const file = path.join(dataDir, 'audit.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditRecord);
}

/** A span of time [from, to) in Date.now() terms. */
export interface Span {
  from: number;
  to: number;
}

/**
 * Total time the bot was running within [from, to]: at least one life (replica) between its
 * first 200 on the ready probe and its end, outside `outages` (the database down, until a
 * replica answered ready again). NB: a booting process (about a second) serves nothing;
 * counting it as running made two kills in a row right after a grant's end look like an
 * overstay of the running bot, once aimed kills really hit grant ends. With one replica and no
 * outages the lives never overlap: the sum of their spans.
 */
function upTime(lives: Life[], from: number, to: number, outages: Span[] = []): number {
  const spans = lives
    .filter((l) => l.readyAt !== undefined)
    .map((l) => ({ from: Math.max(from, l.readyAt!), to: Math.min(to, l.endAt ?? Number.POSITIVE_INFINITY) }))
    .filter((x) => x.to > x.from)
    .sort((a, b) => a.from - b.from);
  let total = 0;
  let covered = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    const start = Math.max(span.from, covered);
    if (span.to > start) {
      total += span.to - start - overlap(outages, start, span.to);
      covered = span.to;
    }
  }
  return total;
}

/** How much of [from, to) the (disjoint) spans cover. */
function overlap(spans: Span[], from: number, to: number): number {
  return spans.reduce((sum, x) => sum + Math.max(0, Math.min(to, x.to) - Math.max(from, x.from)), 0);
}

const running = (lives: Life[], at: number, outages: Span[] = []) =>
  !outages.some((o) => o.from <= at && at < o.to) &&
  lives.some((l) => l.readyAt !== undefined && l.readyAt <= at && (l.endAt === undefined || at < l.endAt));

/** The person a membership call is about: the add's subject, or the removal path's member. */
const memberOf = (c: LocalDirectoryCall): string | undefined => {
  if (c.method === 'POST' && c.path.endsWith('/members/$ref')) return c.subject?.toLowerCase();
  const m = /^\/groups\/[^/]+\/members\/([^/]+)\/\$ref$/i.exec(c.path);
  return c.method === 'DELETE' && m ? m[1]!.toLowerCase() : undefined;
};

/**
 * Membership calls for one group and person whose spans in flight overlap: one effect run by two
 * workers at once. NB: not when a bot was killed between the two calls' starts. Its call was
 * already on its way, and the other replica took the effect over at once, as it should: the dead
 * holder's connection was gone (outbox.ts, ownerGone), and the directory still answered the
 * dead process's call.
 */
export function concurrentMembershipCalls(
  calls: LocalDirectoryCall[],
  lives: readonly Life[] = [],
): string[] {
  const kills = lives.flatMap((l) => (l.killed && l.endAt !== undefined ? [l.endAt] : []));
  const byMembership = new Map<string, LocalDirectoryCall[]>();
  for (const c of calls) {
    const who = memberOf(c);
    if (!who || c.answeredAt === undefined) continue;
    const group = c.path.split('/')[2]!.toLowerCase();
    const key = `${group}/${who}`;
    byMembership.set(key, [...(byMembership.get(key) ?? []), c]);
  }
  const killedBetween = (from: number, to: number) => kills.some((k) => k >= from && k <= to);
  const found: string[] = [];
  for (const [key, list] of byMembership) {
    list.sort((a, b) => a.at - b.at);
    let last: LocalDirectoryCall | undefined;
    for (const c of list) {
      if (last && c.at < last.answeredAt! && !killedBetween(last.at, c.at))
        found.push(
          `${key}: ${last.method} ${new Date(last.at).toISOString()}-${last.answeredAt! - last.at} ms and ${c.method} at +${c.at - last.at} ms`,
        );
      if (!last || c.answeredAt! > last.answeredAt!) last = c;
    }
  }
  return found;
}

export async function analyze(input: {
  /** The bot's store, read from outside it (its files, or the replicas' database). */
  source: StoreSource;
  /** The database down (killed until a replica answered ready again): not running, whatever the lives. */
  outages?: Span[];
  fixture: Fixture;
  calls: LocalDirectoryCall[];
  members: (groupId: string) => string[];
  lives: Life[];
  acked: AckedDecision[];
  /** group/user memberships added behind Timebox's back in report-only groups (expected to stay, reported). */
  reportedDrift: Array<{ group: ManagedGroup; userId: string }>;
  /** `--open N`: the grants seeded before the run, left out of the workload's figures and checked apart. */
  held?: HeldGrants;
}): Promise<Analysis> {
  const { requests, effects } = await input.source.read();
  const audit = await input.source.audit();
  const outages = input.outages ?? [];
  const isHeld = (id: string) => input.held?.grants.has(id) === true;
  const all = [...requests.values()].filter((r) => !isHeld(r.id));
  const byStatus: Record<string, number> = {};
  for (const r of all) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;

  // --- Overstay: per person and group, the spans our grants entitled them to, merged; each span's
  // end against the directory's first removal at or after it.
  const spans = new Map<string, Array<{ start: number; end: number; ids: string[] }>>();
  for (const r of all) {
    if (r.standingMember !== false) continue; // never added by us (standing, or the add never looked)
    const start = r.grantedAt ?? r.resolution?.at ?? r.updatedAt;
    let end: number;
    if (r.status === 'active' || r.status === 'approved') end = Number.POSITIVE_INFINITY;
    else if (r.status === 'expired') end = r.expiresAt!;
    else if (r.status === 'released' || r.status === 'revoked') end = r.expiresAt ?? r.resolution!.at;
    else end = r.resolution?.at ?? r.updatedAt; // failed (an add that may have landed)
    const key = `${r.group.id.toLowerCase()}/${r.requester.id.toLowerCase()}`;
    const list = spans.get(key) ?? [];
    list.push({ start: Math.min(start, end), end, ids: [r.id] });
    spans.set(key, list);
  }
  const deletes = input.calls.filter((c) => c.method === 'DELETE' && (c.status === 204 || c.status === 404));
  const overstays: Overstay[] = [];
  for (const [key, list] of spans) {
    const [groupId, userId] = key.split('/') as [string, string];
    list.sort((a, b) => a.start - b.start);
    const merged: typeof list = [];
    for (const span of list) {
      const last = merged[merged.length - 1];
      if (last && span.start <= last.end) {
        last.end = Math.max(last.end, span.end);
        last.ids.push(...span.ids);
      } else merged.push({ ...span, ids: [...span.ids] });
    }
    for (const span of merged) {
      if (span.end === Number.POSITIVE_INFINITY) continue;
      const path = `/groups/${groupId}/members/${userId}/$ref`;
      const removal = deletes.find((c) => c.at >= span.end && c.path.toLowerCase() === path);
      const group = MANAGED.find((g) => GROUP_IDS[g] === groupId) ?? groupId;
      const stillMember = input
        .members(groupId)
        .map((m) => m.toLowerCase())
        .includes(userId);
      const removedAt = removal?.at ?? (stillMember ? undefined : span.end);
      const to = removedAt ?? Date.now();
      overstays.push({
        requestIds: span.ids,
        group,
        userId,
        endedAt: span.end,
        removedAt,
        upMs: upTime(input.lives, span.end, to, outages),
        wallMs: to - span.end,
        duringDowntime: !running(input.lives, span.end, outages),
        throttled: input.calls.filter(
          (c) =>
            c.method === 'DELETE' &&
            c.status === 429 &&
            c.at >= span.end &&
            c.at <= to &&
            c.path.toLowerCase() === path,
        ).length,
      });
    }
  }
  const max = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), 0);

  // --- Memberships at the end: each explained by standing (there from the start), an open grant,
  // or a drift the reconciler reported.
  const unexplained: string[] = [];
  const standingRemoved: string[] = [];
  for (const g of MANAGED) {
    const members = input.members(GROUP_IDS[g]).map((m) => m.toLowerCase());
    const standing = input.fixture.standing[g].map((m) => m.toLowerCase());
    for (const s of standing) if (!members.includes(s)) standingRemoved.push(`${g}/${s}`);
    for (const m of members) {
      if (standing.includes(m)) continue;
      if (
        all.some(
          (r) =>
            r.group.id.toLowerCase() === GROUP_IDS[g] &&
            r.requester.id.toLowerCase() === m &&
            (r.status === 'active' || r.status === 'approved'),
        )
      )
        continue;
      if (input.reportedDrift.some((d) => d.group === g && d.userId.toLowerCase() === m)) continue;
      unexplained.push(`${g}/${m}`);
    }
  }

  // --- Decided twice: one decision, one end, one grant per request; one vote per approver.
  const decidedTwice: string[] = [];
  const events = new Map<string, AuditRecord[]>();
  for (const record of audit) {
    if (!record.requestId) continue;
    const list = events.get(record.requestId) ?? [];
    list.push(record);
    events.set(record.requestId, list);
  }
  for (const [id, list] of events) {
    if (isHeld(id)) continue; // checkHeld: nothing but its `granted`
    const count = (pred: (r: AuditRecord) => boolean) => list.filter(pred).length;
    // A scheduled request may be cancelled after its approval, until its start: an end, not a second decision.
    const scheduledRequest = requests.get(id)?.startsAt !== undefined;
    const decision = (r: AuditRecord) =>
      DECISIONS.has(r.type) && !(scheduledRequest && r.type === 'cancelled');
    if (count(decision) > 1)
      decidedTwice.push(
        `${id}: ${list
          .filter(decision)
          .map((r) => r.type)
          .join(', ')}`,
      );
    else if (count((r) => TERMINAL.has(r.type)) > 1)
      decidedTwice.push(
        `${id}: ended twice (${list
          .filter((r) => TERMINAL.has(r.type))
          .map((r) => r.type)
          .join(', ')})`,
      );
    else if (count((r) => r.type === 'granted') > 1) decidedTwice.push(`${id}: granted twice`);
    // Votes on the request itself (votes on an extension offer are their own round).
    const voters = list
      .filter((r) => ['voted', 'approved', 'denied'].includes(r.type) && r.actor && !r.detail?.extension)
      .map((r) => r.actor!.id.toLowerCase());
    if (new Set(voters).size !== voters.length) decidedTwice.push(`${id}: an approver voted twice`);
  }

  // --- A grant counts from when its membership was added: the directory's first add of the person
  // between the decision and the `granted` record is when the access began.
  const lateClocks: string[] = [];
  let maxClockLagMs = Number.NEGATIVE_INFINITY;
  let clockFromEarlierAttempt = 0;
  const adds = input.calls.filter((c) => c.method === 'POST' && c.status === 204 && c.subject);
  const addsPerGrant: Analysis['addsPerGrant'] = { max: 0, repeated: 0, repeatedWithoutKill: [] };
  for (const r of all) {
    if (r.grantedAt === undefined || r.standingMember !== false) continue;
    const list = events.get(r.id) ?? [];
    const decidedAt = Date.parse(
      list.find((e) => e.type === 'approved' || e.type === 'auto_approved' || e.type === 'break_glass')?.at ??
        '',
    );
    const grantedRecordAt = Date.parse(list.find((e) => e.type === 'granted')?.at ?? '');
    const path = `/groups/${r.group.id}/members/$ref`.toLowerCase();
    // Every add that reached the directory's membership code (204 added, 400 already a member).
    const tried = input.calls.filter(
      (c) =>
        c.method === 'POST' &&
        (c.status === 204 || c.status === 400) &&
        c.path.toLowerCase() === path &&
        c.subject?.toLowerCase() === r.requester.id.toLowerCase() &&
        c.at >= decidedAt &&
        c.at <= grantedRecordAt,
    );
    addsPerGrant.max = Math.max(addsPerGrant.max, tried.length);
    if (tried.length > 1) {
      addsPerGrant.repeated++;
      const from = tried[0]!.at;
      const killed =
        input.lives.some(
          (l) => l.killed && l.endAt !== undefined && l.endAt >= from && l.endAt <= grantedRecordAt,
        ) ||
        // The database down at any time between the first add and the grant's record (also an
        // outage that began before the add and outlasted it): the add's completion was lost.
        outages.some((o) => o.from <= grantedRecordAt && o.to >= from);
      if (!killed) addsPerGrant.repeatedWithoutKill.push(`${r.id}: ${tried.length} adds, no kill in between`);
    }
    const landing = adds.find(
      (c) =>
        c.path.toLowerCase() === path &&
        c.subject!.toLowerCase() === r.requester.id.toLowerCase() &&
        c.at >= decidedAt &&
        c.at <= grantedRecordAt,
    );
    if (!landing) continue; // already a member through an earlier grant of theirs
    const lag = r.grantedAt - landing.at;
    maxClockLagMs = Math.max(maxClockLagMs, lag);
    if (lag < 0) clockFromEarlierAttempt++;
    const killedBetween = input.lives.some(
      (l) => l.killed && l.endAt !== undefined && l.endAt > landing.at && l.endAt < r.grantedAt!,
    );
    // NB: with replicas the kill may have hit another one than the replica that added: only a lag
    // longer than recording a grant takes (a takeover after the kill) counts then.
    const replicas = new Set(input.lives.map((l) => l.replica ?? 0)).size;
    if (killedBetween && (replicas === 1 || lag > 1000))
      lateClocks.push(`${r.id}: counts from ${lag} ms after its membership was added, across a kill`);
  }

  // --- Every transition the store shows is in the audit log.
  const missingFromAudit: string[] = [];
  for (const r of all) {
    const types = (events.get(r.id) ?? []).map((e) => e.type);
    const need = (type: string | string[], why: string) => {
      const options = Array.isArray(type) ? type : [type];
      if (!types.some((t) => options.includes(t)))
        missingFromAudit.push(`${r.id}: ${why} (no ${options.join('/')})`);
    };
    need('submitted', 'filed');
    const approved =
      r.grantedAt !== undefined ||
      ['approved', 'active', 'expired', 'released', 'failed'].includes(r.status) ||
      (r.status === 'revoked' && r.votes.length >= r.approvalsRequired) ||
      (r.status === 'revoked' && r.kind !== 'standard');
    if (approved)
      need(
        r.kind === 'auto' ? 'auto_approved' : r.kind === 'break_glass' ? 'break_glass' : 'approved',
        'approved',
      );
    if (TERMINAL.has(r.status)) need(r.status, r.status);
    if (r.grantedAt !== undefined) need('granted', 'granted');
    if (r.startsAt !== undefined && r.grantedAt !== undefined) need('started', 'started at its time');
    if (
      (events.get(r.id) ?? []).some((e) => e.type === 'member_removed' && e.detail?.revokeSessions === true)
    )
      need(['sessions_revoked', 'sessions_revoke_failed'], 'sessions ended after the removal');
    if (r.grantedAt !== undefined && r.membershipRemovedAt !== undefined)
      need(['member_removed', 'member_kept'], 'membership taken back');
    for (const vote of r.votes) {
      if (
        !(events.get(r.id) ?? []).some(
          (e) =>
            ['voted', 'approved', 'denied'].includes(e.type) &&
            e.actor?.id.toLowerCase() === vote.by.id.toLowerCase(),
        )
      )
        missingFromAudit.push(`${r.id}: vote of ${vote.by.name}`);
    }
    const extended = (events.get(r.id) ?? []).filter((e) => e.type === 'extended').length;
    if (extended < r.extensions.length)
      missingFromAudit.push(`${r.id}: ${r.extensions.length} extension(s), ${extended} in the audit`);
  }
  for (const id of events.keys())
    if (!requests.has(id)) missingFromAudit.push(`${id}: audited but not in the store`);

  // --- Decisions the bot acknowledged to a person must have survived every crash.
  const lostDecisions: string[] = [];
  for (const d of input.acked) {
    const list = events.get(d.requestId) ?? [];
    const types = d.verb === 'approve' ? ['voted', 'approved'] : d.verb === 'deny' ? ['denied'] : ['revoked'];
    if (!list.some((e) => types.includes(e.type) && e.actor?.id.toLowerCase() === d.actorId.toLowerCase()))
      lostDecisions.push(`${d.requestId}: ${d.verb} by ${d.actorId}`);
  }

  const scheduled = checkScheduled(input, all, events, outages);
  const sessions = checkSessions(input, requests, audit, outages);

  const verified = await input.source.verify();
  const held =
    input.held &&
    checkHeld({
      held: input.held,
      requests,
      effects,
      members: input.members(GROUP_IDS.held),
      audit,
      calls: input.calls,
    });
  // The calls the faults apply to: each request (a batch's one by one), not the batch envelopes.
  const graphCalls = input.calls.filter((c) => !(c.method === 'POST' && c.path === '/$batch'));
  const throttled = graphCalls.filter((c) => c.status === 429).length;
  const unavailable = graphCalls.filter((c) => c.status === 503).length;
  return {
    requests: all.length,
    byStatus,
    grants: all.filter((r) => r.grantedAt !== undefined).length,
    overstays,
    maxOverstayRunningMs: max(overstays.filter((o) => !o.duringDowntime).map((o) => o.upMs)),
    maxOverstayAfterStartMs: max(overstays.filter((o) => o.duringDowntime).map((o) => o.upMs)),
    endedDuringDowntime: overstays.filter((o) => o.duringDowntime).length,
    maxWallOverstayMs: max(overstays.map((o) => o.wallMs)),
    unexplained,
    standingRemoved,
    decidedTwice,
    lateClocks,
    maxClockLagMs: Number.isFinite(maxClockLagMs) ? maxClockLagMs : 0,
    clockFromEarlierAttempt,
    missingFromAudit,
    lostDecisions,
    audit: { ok: verified.ok, records: verified.records, problem: verified.problem },
    graph: {
      calls: graphCalls.length,
      throttled,
      unavailable,
      faultRate: graphCalls.length ? (throttled + unavailable) / graphCalls.length : 0,
    },
    held,
    concurrentEffects: concurrentMembershipCalls(input.calls, input.lives),
    scheduled,
    sessions,
    addsPerGrant,
  };
}

type AnalyzeInput = Parameters<typeof analyze>[0];

/** When the request was decided (its approval record) and when its `granted` record was written. */
function grantWindow(list: AuditRecord[]): { decidedAt: number; grantedRecordAt: number } {
  return {
    decidedAt: Date.parse(
      list.find((e) => e.type === 'approved' || e.type === 'auto_approved' || e.type === 'break_glass')?.at ??
        '',
    ),
    grantedRecordAt: Date.parse(list.find((e) => e.type === 'granted')?.at ?? ''),
  };
}

/**
 * Scheduled starts: never a membership added (or a grant counted) before the request's start;
 * a start that passed while the bot ran granted within the bound, one that fell while it was
 * down within the bound of the next start-up (running time, as for removals).
 */
function checkScheduled(
  input: AnalyzeInput,
  all: AccessRequest[],
  events: Map<string, AuditRecord[]>,
  outages: Span[],
): ScheduledReport {
  const report: ScheduledReport = {
    requests: 0,
    started: 0,
    cancelled: 0,
    failed: 0,
    starts: [],
    maxStartLagRunningMs: 0,
    maxStartLagAfterStartMs: 0,
    startedDuringDowntime: 0,
    early: [],
    neverStarted: [],
  };
  const adds = input.calls.filter((c) => c.method === 'POST' && c.status === 204 && c.subject);
  const lastEnd = Math.max(...input.lives.map((l) => l.endAt ?? Date.now()));
  for (const r of all) {
    if (r.startsAt === undefined) continue;
    report.requests++;
    if (r.status === 'cancelled') report.cancelled++;
    if (r.status === 'failed') report.failed++;
    const group = MANAGED.find((g) => GROUP_IDS[g] === r.group.id.toLowerCase()) ?? r.group.id;
    const path = `/groups/${r.group.id}/members/$ref`.toLowerCase();
    const mine = adds.filter(
      (c) => c.path.toLowerCase() === path && c.subject!.toLowerCase() === r.requester.id.toLowerCase(),
    );
    // Adds of this person to this group between the ask and the start, that no other grant of theirs made.
    const others = all.filter(
      (o) =>
        o.id !== r.id &&
        o.grantedAt !== undefined &&
        o.group.id.toLowerCase() === r.group.id.toLowerCase() &&
        o.requester.id.toLowerCase() === r.requester.id.toLowerCase(),
    );
    for (const add of mine.filter((c) => c.at >= r.createdAt && c.at < r.startsAt!)) {
      const explained = others.some((o) => {
        const w = grantWindow(events.get(o.id) ?? []);
        return add.at >= w.decidedAt && add.at <= w.grantedRecordAt;
      });
      if (!explained)
        report.early.push(
          `${r.id}: ${group}/${r.requester.id} added ${new Date(add.at).toISOString()}, ${r.startsAt - add.at} ms before its start`,
        );
    }
    if (r.grantedAt === undefined) {
      const types = (events.get(r.id) ?? []).map((e) => e.type);
      const approved = types.includes('approved') || types.includes('auto_approved');
      if (approved && r.startsAt < lastEnd && !['cancelled', 'failed', 'revoked'].includes(r.status))
        report.neverStarted.push(`${r.id}: ${r.status}, start ${new Date(r.startsAt).toISOString()}`);
      continue;
    }
    report.started++;
    if (r.grantedAt < r.startsAt)
      report.early.push(`${r.id}: granted ${r.startsAt - r.grantedAt} ms before its start`);
    const { grantedRecordAt } = grantWindow(events.get(r.id) ?? []);
    const landing = mine.find(
      (c) => c.at >= r.startsAt! && (Number.isNaN(grantedRecordAt) || c.at <= grantedRecordAt),
    );
    const to = landing?.at ?? r.grantedAt;
    const duringDowntime = !running(input.lives, r.startsAt, outages);
    const start: ScheduledStart = {
      requestId: r.id,
      group,
      startsAt: r.startsAt,
      addedAt: landing?.at,
      grantedAt: r.grantedAt,
      upMs: upTime(input.lives, r.startsAt, to, outages),
      wallMs: to - r.startsAt,
      duringDowntime,
      throttled: input.calls.filter(
        (c) =>
          c.method === 'POST' &&
          c.status === 429 &&
          c.at >= r.startsAt! &&
          c.at <= to &&
          c.path.toLowerCase() === path &&
          c.subject?.toLowerCase() === r.requester.id.toLowerCase(),
      ).length,
    };
    report.starts.push(start);
    if (duringDowntime) {
      report.startedDuringDowntime++;
      report.maxStartLagAfterStartMs = Math.max(report.maxStartLagAfterStartMs, start.upMs);
    } else report.maxStartLagRunningMs = Math.max(report.maxStartLagRunningMs, start.upMs);
  }
  return report;
}

const REVOCATION = /^\/users\/([^/]+)\/revokeSignInSessions$/i;

/**
 * Sessions end with the access (`revokeSessionsOnEnd`): every revocation comes after the
 * person's removal from such a group (and while they are not a member of it again), none for
 * a standing member's grant, and every removal from such a group is followed by one.
 */
function checkSessions(
  input: AnalyzeInput,
  requests: Map<string, AccessRequest>,
  audit: AuditRecord[],
  outages: Span[],
): SessionsReport {
  const groups = REVOKE_SESSIONS.map((g) => GROUP_IDS[g].toLowerCase());
  const revocations = input.calls
    .filter((c) => c.method === 'POST' && c.status >= 200 && c.status < 300 && REVOCATION.test(c.path))
    .map((c) => ({ call: c, userId: REVOCATION.exec(c.path)![1]!.toLowerCase() }))
    .sort((a, b) => a.call.at - b.call.at);
  // Membership calls in those groups that changed something or found it done (an add answered
  // 204; a removal answered 204, or 404: not a member, e.g. a failed add whose landing could not
  // be told, removed to be sure), in order.
  const changes = input.calls
    .filter(
      (c) => memberOf(c) !== undefined && (c.status === 204 || (c.method === 'DELETE' && c.status === 404)),
    )
    .map((c) => ({ call: c, group: c.path.split('/')[2]!.toLowerCase(), userId: memberOf(c)! }))
    .filter((x) => groups.includes(x.group))
    .sort((a, b) => a.call.at - b.call.at);
  const standing = (group: string, userId: string) => {
    const g = REVOKE_SESSIONS.find((x) => GROUP_IDS[x].toLowerCase() === group)!;
    return input.fixture.standing[g].some((m) => m.toLowerCase() === userId);
  };
  const report: SessionsReport = {
    revoked: revocations.length,
    audited: audit.filter((r) => r.type === 'sessions_revoked').length,
    failed: audit
      .filter((r) => r.type === 'sessions_revoke_failed')
      .map((r) => `${r.requestId}: ${r.reason ?? JSON.stringify(r.detail)}`),
    removals: 0,
    maxLagMs: 0,
    maxLagRunningMs: 0,
    beforeRemoval: [],
    forStanding: [],
    missing: [],
    repeated: repeatedRevocations(revocations, changes, input.lives),
  };
  for (const { call, userId } of revocations) {
    // Some such group this person was removed from (the removal answered) and is not back in since.
    const ok = groups.some((group) => {
      if (standing(group, userId)) return false;
      const before = changes.filter(
        (x) => x.group === group && x.userId === userId && (x.call.answeredAt ?? x.call.at) <= call.at,
      );
      return before.length > 0 && before[before.length - 1]!.call.method === 'DELETE';
    });
    if (!ok)
      report.beforeRemoval.push(
        `${userId} revoked ${new Date(call.at).toISOString()} with no removal from ${REVOKE_SESSIONS.join('/')} before it (or a member again)`,
      );
  }
  for (const record of audit) {
    if (record.type !== 'sessions_revoked' || !record.requestId) continue;
    const r = requests.get(record.requestId);
    if (r?.standingMember === true)
      report.forStanding.push(`${record.requestId}: ${r.group.alias}/${r.requester.id} is a standing member`);
  }
  // Each removal matched with the first revocation of the person after it that no earlier removal took.
  const used = new Set<number>();
  const lastEnd = Math.max(...input.lives.map((l) => l.endAt ?? Date.now()));
  // Removals that really removed someone (answered 204).
  for (const removal of changes.filter((x) => x.call.method === 'DELETE' && x.call.status === 204)) {
    report.removals++;
    const removedAt = removal.call.answeredAt ?? removal.call.at;
    const i = revocations.findIndex(
      (v, k) => !used.has(k) && v.userId === removal.userId && v.call.at >= removedAt,
    );
    if (i < 0) {
      // The end of the run: a removal answered in its last seconds may have its revocation still queued.
      if (removedAt < lastEnd - 10_000)
        report.missing.push(
          `${removal.group}/${removal.userId} removed ${new Date(removedAt).toISOString()}, no revocation after it`,
        );
      continue;
    }
    used.add(i);
    const at = revocations[i]!.call.at;
    report.maxLagMs = Math.max(report.maxLagMs, at - removedAt);
    report.maxLagRunningMs = Math.max(report.maxLagRunningMs, upTime(input.lives, removedAt, at, outages));
  }
  return report;
}

/**
 * See `SessionsReport.repeated`: revocations (in time order) of a person revoked already with no
 * removal of them in between, told apart by whether a bot was killed between the two calls.
 */
export function repeatedRevocations(
  revocations: Array<{ call: { at: number }; userId: string }>,
  changes: Array<{ call: { at: number; method: string }; userId: string }>,
  lives: Life[],
): SessionsReport['repeated'] {
  const repeated = { afterKill: 0, other: 0 };
  const last = new Map<string, number>();
  for (const { call, userId } of revocations) {
    const previous = last.get(userId);
    last.set(userId, call.at);
    if (previous === undefined) continue;
    const removedBetween = changes.some(
      (x) => x.userId === userId && x.call.method === 'DELETE' && x.call.at > previous && x.call.at < call.at,
    );
    if (removedBetween) continue;
    const killed = lives.some(
      (l) => l.killed && l.endAt !== undefined && l.endAt > previous && l.endAt < call.at,
    );
    if (killed) repeated.afterKill++;
    else repeated.other++;
  }
  return repeated;
}
