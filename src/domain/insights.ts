/**
 * The figures of the insights report (PRODUCT.md §13): how the approval flow went over a period,
 * overall and per group, computed from the requests themselves (the store), not from the audit
 * log. Pure: the caller loads the requests and says in which time zone each approver channel
 * works.
 *
 * Which requests: those created in the period, `since <= createdAt < until`. Everything about a
 * request (its decision, its grant, its end) counts with the period it was asked in, so that the
 * outcome counts of one period always add up to its `requests`.
 */
import { Status, wasApproved, type AccessRequest } from './request';
import { validTimeZone } from './time-zone';

/** Median and 90th percentile of a set of durations, in seconds; null when there is none. */
export interface Quantiles {
  median: number | null;
  p90: number | null;
}

export interface ApproverShare {
  /** Entra object id, lower-cased (ids compare without regard to case). */
  id: string;
  name: string;
  /** Votes this person cast on requests (approve or deny). */
  decisions: number;
  /** `decisions` over every vote cast in the same figures, 0..1. */
  share: number;
}

export interface Figures {
  requests: number;
  /**
   * Every request that was approved, whatever happened after: approved, active, expired,
   * released, revoked, and failed (a failed request was approved and then the add failed).
   * Auto-approved and break-glass requests are approved too, by a rule; see `autoApproved` and
   * `breakGlass` for how many of them.
   */
  approved: number;
  /** Approved by the group's `autoApprove` rule (kind `auto`), included in `approved`. */
  autoApproved: number;
  denied: number;
  timedOut: number;
  cancelled: number;
  /** Approved, then the membership could not be added (included in `approved`). */
  failed: number;
  /** Still waiting for a decision. With the above: approved + denied + timedOut + cancelled + pending = requests. */
  pending: number;
  /** Break-glass uses (included in `approved`). */
  breakGlass: number;
  /** Break-glass uses an approver acknowledged afterwards. */
  breakGlassAcknowledged: number;
  /**
   * From the break-glass grant to its acknowledgement (`acknowledgedAt`). NB: grants acknowledged
   * before Timebox recorded when have no time to give; `breakGlassAcknowledged` still counts them.
   */
  acknowledgeSeconds: Quantiles;
  /**
   * From the request to its first decision by a person (its first vote, or its resolution
   * when a denial or approval left no vote). Requests decided by a rule (auto-approve,
   * break-glass) are left out: they are decided at once and would only pull the times to 0.
   */
  decisionSeconds: Quantiles;
  /** From the request to the grant (`grantedAt`), for every request granted, by rule or not. */
  grantSeconds: Quantiles;
  /** Requested against used, over the grants that ended (expired, released, revoked). */
  requestedVsUsed: {
    grants: number;
    /** What was asked for (`durationMs`), before extensions. */
    requestedSeconds: Quantiles;
    /** From the grant to its end: the release or revocation, else `expiresAt` (extensions included). */
    usedSeconds: Quantiles;
    /** Of `grants`: ended by the requester before their time. */
    releasedEarly: number;
    /** Of `grants`: extended at least once. */
    extended: number;
  };
  /** Requests whose approvers got a reminder (`remindedAt`). */
  reminders: number;
  /** Requests escalated to their `escalateTo` approvers (`escalatedAt`: after `escalateAfter`, or every approver away). */
  escalations: number;
  /** Of `requests`, the share created outside working hours in the approver channel's time zone, 0..1. */
  afterHoursShare: number | null;
  /** Each approver's share of the votes cast, most decisions first. */
  approvers: ApproverShare[];
}

export interface InsightFigures {
  since: number;
  until: number;
  overall: Figures;
  /** Per group (or action gate) alias, for the aliases requested in the period. */
  groups: Record<string, Figures>;
}

/**
 * Working hours in the channel's local time: `[start, end)` in hours of the day (whole or
 * quarter hours, e.g. 8.5 = 08:30), on `days` (ISO weekdays, 1 = Monday … 7 = Sunday).
 */
export interface WorkingHours {
  start: number;
  end: number;
  days: readonly number[];
}

export const DEFAULT_WORKING_HOURS: WorkingHours = { start: 9, end: 18, days: [1, 2, 3, 4, 5] };

export interface FigureOptions {
  /** The IANA time zone of an approver channel (by its policy name); undefined = UTC. */
  timeZoneOf(channel: string): string | undefined;
  workingHours?: WorkingHours;
}

/**
 * What the figures read of a request: a request is one (an `AccessRequest` is an
 * `InsightRecord`), and so is `insightRecordOf(request)`, its projection — a third of the
 * bytes, which is what a store keeps beside each closed request, so that a month's report
 * parses that instead of whole requests (PRODUCT.md §13: 30 days of 100k history in ≤ 1 s).
 * Of `extensions` only how many there are counts; of a vote, who and when.
 */
export interface InsightRecord {
  id: string;
  group: { alias: string };
  approverChannel: string;
  status: Status;
  kind: AccessRequest['kind'];
  createdAt: number;
  durationMs: number;
  grantedAt?: number;
  expiresAt?: number;
  remindedAt?: number;
  escalatedAt?: number;
  acknowledgedBy?: { id: string };
  acknowledgedAt?: number;
  resolution?: { at: number };
  votes: ReadonlyArray<{ by: { id: string; name: string }; at: number }>;
  extensions: readonly unknown[];
}

/** The insight projection of a request: exactly the fields of `InsightRecord`, nothing else. */
export function insightRecordOf(r: InsightRecord): InsightRecord {
  return {
    id: r.id,
    group: { alias: r.group.alias },
    approverChannel: r.approverChannel,
    status: r.status,
    kind: r.kind,
    createdAt: r.createdAt,
    durationMs: r.durationMs,
    ...(r.grantedAt !== undefined ? { grantedAt: r.grantedAt } : {}),
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
    ...(r.remindedAt !== undefined ? { remindedAt: r.remindedAt } : {}),
    ...(r.escalatedAt !== undefined ? { escalatedAt: r.escalatedAt } : {}),
    ...(r.acknowledgedBy ? { acknowledgedBy: { id: r.acknowledgedBy.id } } : {}),
    ...(r.acknowledgedAt !== undefined ? { acknowledgedAt: r.acknowledgedAt } : {}),
    ...(r.resolution ? { resolution: { at: r.resolution.at } } : {}),
    votes: r.votes.map((v) => ({ by: { id: v.by.id, name: v.by.name }, at: v.at })),
    extensions: r.extensions.map(() => ({})),
  };
}

/**
 * Nearest-rank percentile of ascending `sorted` samples, `q` in (0, 1]: the sample at rank
 * ⌈q·n⌉ (1-based). No interpolation, so every figure is a time that actually happened; the
 * median of an even count is the lower of the two middle samples. Null for no samples.
 */
export function nearestRank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Median and p90 of samples in milliseconds, as seconds. */
export function quantiles(samplesMs: number[]): Quantiles {
  const sorted = samplesMs.sort((a, b) => a - b);
  const at = (q: number) => {
    const ms = nearestRank(sorted, q);
    return ms === null ? null : ms / 1000;
  };
  return { median: at(0.5), p90: at(0.9) };
}

const ENDED_GRANT: ReadonlySet<string> = new Set([Status.EXPIRED, Status.RELEASED, Status.REVOKED]);

/** What one set of figures collects while the requests are read once. */
class Tally {
  requests = 0;
  approved = 0;
  autoApproved = 0;
  denied = 0;
  timedOut = 0;
  cancelled = 0;
  failed = 0;
  pending = 0;
  breakGlass = 0;
  breakGlassAcknowledged = 0;
  acknowledgeMs: number[] = [];
  decisionMs: number[] = [];
  grantMs: number[] = [];
  grants = 0;
  requestedMs: number[] = [];
  usedMs: number[] = [];
  releasedEarly = 0;
  extended = 0;
  reminders = 0;
  escalations = 0;
  afterHours = 0;
  votes = 0;
  approvers = new Map<string, { id: string; name: string; decisions: number }>();

  add(r: InsightRecord, afterHours: boolean): void {
    this.requests++;
    if (afterHours) this.afterHours++;
    if (r.remindedAt !== undefined) this.reminders++;
    if (r.escalatedAt !== undefined) this.escalations++;
    const approved = wasApproved(r.status);
    if (approved) this.approved++;
    if (approved && r.kind === 'auto') this.autoApproved++;
    if (r.status === Status.DENIED) this.denied++;
    else if (r.status === Status.TIMED_OUT) this.timedOut++;
    else if (r.status === Status.CANCELLED) this.cancelled++;
    else if (r.status === Status.PENDING) this.pending++;
    if (r.status === Status.FAILED) this.failed++;
    if (r.kind === 'break_glass') {
      this.breakGlass++;
      if (r.acknowledgedBy) this.breakGlassAcknowledged++;
      const from = r.grantedAt ?? r.createdAt;
      if (r.acknowledgedAt !== undefined) this.acknowledgeMs.push(r.acknowledgedAt - from);
    }
    if (r.kind === 'standard') {
      const decidedAt = firstDecisionAt(r);
      if (decidedAt !== undefined) this.decisionMs.push(decidedAt - r.createdAt);
    }
    if (r.grantedAt !== undefined) this.grantMs.push(r.grantedAt - r.createdAt);
    if (r.grantedAt !== undefined && ENDED_GRANT.has(r.status)) {
      // NB: the earlier of the two ends: an expiry the worker ran late still ended at
      // expiresAt; a release or revocation sets both to the same moment.
      const end = Math.min(r.resolution?.at ?? Infinity, r.expiresAt ?? Infinity);
      if (Number.isFinite(end)) {
        this.grants++;
        this.requestedMs.push(r.durationMs);
        this.usedMs.push(Math.max(0, end - r.grantedAt));
        if (r.status === Status.RELEASED) this.releasedEarly++;
        if (r.extensions.length > 0) this.extended++;
      }
    }
    for (const vote of r.votes) {
      this.votes++;
      const id = vote.by.id.toLowerCase();
      const seen = this.approvers.get(id);
      if (seen) seen.decisions++;
      else this.approvers.set(id, { id, name: vote.by.name, decisions: 1 });
    }
  }

  figures(): Figures {
    return {
      requests: this.requests,
      approved: this.approved,
      autoApproved: this.autoApproved,
      denied: this.denied,
      timedOut: this.timedOut,
      cancelled: this.cancelled,
      failed: this.failed,
      pending: this.pending,
      breakGlass: this.breakGlass,
      breakGlassAcknowledged: this.breakGlassAcknowledged,
      acknowledgeSeconds: quantiles(this.acknowledgeMs),
      decisionSeconds: quantiles(this.decisionMs),
      grantSeconds: quantiles(this.grantMs),
      requestedVsUsed: {
        grants: this.grants,
        requestedSeconds: quantiles(this.requestedMs),
        usedSeconds: quantiles(this.usedMs),
        releasedEarly: this.releasedEarly,
        extended: this.extended,
      },
      reminders: this.reminders,
      escalations: this.escalations,
      afterHoursShare: this.requests === 0 ? null : this.afterHours / this.requests,
      approvers: [...this.approvers.values()]
        .map((a) => ({ ...a, share: a.decisions / this.votes }))
        .sort(
          (a, b) => b.decisions - a.decisions || a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
        ),
    };
  }
}

/**
 * When a person first decided: the earliest vote, else the resolution of a request that is
 * denied or (still) approved. A later state's resolution (expired, revoked …) is its end, not
 * its decision, so a request without votes in such a state has no decision time to give.
 */
function firstDecisionAt(r: InsightRecord): number | undefined {
  let first: number | undefined;
  for (const vote of r.votes) if (first === undefined || vote.at < first) first = vote.at;
  if (first !== undefined) return first;
  if (r.status === Status.DENIED || r.status === Status.APPROVED) return r.resolution?.at;
  return undefined;
}

const QUARTER_HOUR = 15 * 60_000;
const WEEKDAY: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/**
 * Whether an instant is outside working hours in a zone, cached per UTC quarter hour. NB: every
 * zone's offset today is a whole number of quarter hours and changes on a quarter hour, so the
 * local weekday, hour and quarter are the same for a whole UTC quarter hour; a 30-day period
 * then costs at most 2,880 Intl calls per zone however many requests it holds.
 */
class AfterHours {
  private readonly byZone = new Map<
    string,
    { format: Intl.DateTimeFormat; quarters: Map<number, boolean> }
  >();

  constructor(private readonly hours: WorkingHours) {}

  outside(at: number, zone: string): boolean {
    let cache = this.byZone.get(zone);
    if (!cache) {
      const format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      });
      cache = { format, quarters: new Map() };
      this.byZone.set(zone, cache);
    }
    const quarter = Math.floor(at / QUARTER_HOUR);
    let outside = cache.quarters.get(quarter);
    if (outside === undefined) {
      outside = this.outsideAt(cache.format, quarter * QUARTER_HOUR);
      cache.quarters.set(quarter, outside);
    }
    return outside;
  }

  private outsideAt(format: Intl.DateTimeFormat, at: number): boolean {
    let weekday = 0;
    let minutes = 0;
    for (const part of format.formatToParts(at)) {
      if (part.type === 'weekday') weekday = WEEKDAY[part.value] ?? 0;
      else if (part.type === 'hour') minutes += Number(part.value) * 60;
      else if (part.type === 'minute') minutes += Number(part.value);
    }
    const { start, end, days } = this.hours;
    return !days.includes(weekday) || minutes < start * 60 || minutes >= end * 60;
  }
}

/**
 * The insights figures of requests fed in any order, in any number of batches (a store reads a
 * month of history in chunks: the requests of one chunk can be dropped before the next is
 * read). Requests created outside `period` are skipped.
 */
export class FiguresBuilder {
  private readonly overall = new Tally();
  private readonly groups = new Map<string, Tally>();
  private readonly afterHours: AfterHours;
  // Zones come from policy (already checked) but are looked up once per channel, not per request.
  private readonly zones = new Map<string, string>();

  constructor(
    private readonly period: { since: number; until: number },
    private readonly opts: FigureOptions,
  ) {
    this.afterHours = new AfterHours(opts.workingHours ?? DEFAULT_WORKING_HOURS);
  }

  add(requests: Iterable<InsightRecord>): void {
    const { since, until } = this.period;
    for (const r of requests) {
      if (r.createdAt < since || r.createdAt >= until) continue;
      const outside = this.afterHours.outside(r.createdAt, this.zoneOf(r.approverChannel));
      this.overall.add(r, outside);
      let group = this.groups.get(r.group.alias);
      if (!group) {
        group = new Tally();
        this.groups.set(r.group.alias, group);
      }
      group.add(r, outside);
    }
  }

  figures(): InsightFigures {
    const groups = this.groups;
    // NB: fromEntries defines own keys, so an alias such as "__proto__" stays a plain key.
    const byAlias: Record<string, Figures> = Object.fromEntries(
      [...groups.keys()].sort().map((alias) => [alias, groups.get(alias)!.figures()]),
    );
    return {
      since: this.period.since,
      until: this.period.until,
      overall: this.overall.figures(),
      groups: byAlias,
    };
  }

  private zoneOf(channel: string): string {
    let zone = this.zones.get(channel);
    if (zone === undefined) {
      zone = validTimeZone(this.opts.timeZoneOf(channel)) ?? 'UTC';
      this.zones.set(channel, zone);
    }
    return zone;
  }
}

/** The insights figures of the requests created in `period`, overall and per alias. */
export function computeFigures(
  requests: readonly InsightRecord[],
  period: { since: number; until: number },
  opts: FigureOptions,
): InsightFigures {
  const builder = new FiguresBuilder(period, opts);
  builder.add(requests);
  return builder.figures();
}
