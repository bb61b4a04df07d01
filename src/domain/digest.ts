import { Status, type AccessRequest } from './request';
import { parseStartTime } from './start-time';

/**
 * The daily digest of an approver channel (PRODUCT.md §13, policy `approverChannels.<name>.digest`):
 * what waits, and what was granted, extended, ended and failed in the last 24 h. Pure: the
 * times here are computed, the loop that posts (app/digest.ts) decides when.
 */

/** The digest looks back this far: "in the last 24 h". */
export const DIGEST_WINDOW_MS = 24 * 3_600_000;

/** A channel's digest settings as the policy holds them. */
export interface DigestSettings {
  /** HH:MM, wall-clock time in `timeZone`. */
  at: string;
  timeZone?: string;
}

/** The zone a channel's digest is read in: its own `timeZone`, else the channel's, else UTC. */
export function digestZone(channel: { timeZone?: string; digest?: DigestSettings }): string {
  return channel.digest?.timeZone ?? channel.timeZone ?? 'UTC';
}

/** `YYYY-MM-DD`: the calendar date at `ms` in `timeZone`. */
export function localDate(ms: number, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}

/** The date `days` after `date` (YYYY-MM-DD), on the calendar (no zone involved). */
function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * The instant `at` (HH:MM) has on `date` (YYYY-MM-DD) in `timeZone`. A time inside a DST gap
 * (02:30 on a spring-forward night) lands just after it (03:30), as start times do
 * (domain/start-time.ts, whose zone math this reuses).
 */
export function digestTimeOn(date: string, at: string, timeZone: string): number {
  return parseStartTime(`${date}T${at}`, 0, timeZone);
}

/** The first wall-clock `at` in `timeZone` strictly after `now`. */
export function nextDigestAt(at: string, timeZone: string, now: number): number {
  const today = localDate(now, timeZone);
  const todays = digestTimeOn(today, at, timeZone);
  return todays > now ? todays : digestTimeOn(addDays(today, 1), at, timeZone);
}

/**
 * The latest digest time at or before `now`, with its date in the zone (the day it belongs to,
 * which keys "once a day"): today's when it has come, else yesterday's.
 */
export function lastDigestAt(at: string, timeZone: string, now: number): { date: string; at: number } {
  const today = localDate(now, timeZone);
  const todays = digestTimeOn(today, at, timeZone);
  if (todays <= now) return { date: today, at: todays };
  const yesterday = addDays(today, -1);
  return { date: yesterday, at: digestTimeOn(yesterday, at, timeZone) };
}

/** One request in a digest section. */
export interface DigestItem {
  request: AccessRequest;
  /** When what the section says happened (epoch ms): created (waits), granted, extended, ended, failed. */
  at: number;
}

export interface DigestContent {
  channel: string;
  /** The 24 h looked at: (since, until]. */
  since: number;
  until: number;
  /** Pending requests, and active grants whose extension waits for approval; oldest first. */
  waiting: DigestItem[];
  granted: DigestItem[];
  extended: DigestItem[];
  /** Grants that expired, were released or revoked. */
  ended: DigestItem[];
  /** Requests that failed (the membership could not be added, the start was refused). */
  failed: DigestItem[];
}

const ENDED: readonly Status[] = [Status.EXPIRED, Status.RELEASED, Status.REVOKED];

/**
 * What channel `channel` is told at `now`, from `requests` (open and recently closed, any
 * channel; duplicates by id are counted once): undefined when there is nothing to say. Each
 * section is read from the request's own times: `grantedAt`, `extensions[].at`,
 * `resolution.at` with its closed status, `failure`.
 */
export function digestContent(
  channel: string,
  requests: readonly AccessRequest[],
  now: number,
): DigestContent | undefined {
  const since = now - DIGEST_WINDOW_MS;
  const inWindow = (at: number | undefined): at is number => at !== undefined && at > since && at <= now;
  const seen = new Set<string>();
  const content: DigestContent = {
    channel,
    since,
    until: now,
    waiting: [],
    granted: [],
    extended: [],
    ended: [],
    failed: [],
  };
  for (const request of requests) {
    if (request.approverChannel !== channel || seen.has(request.id)) continue;
    seen.add(request.id);
    if (request.status === Status.PENDING && request.createdAt <= now)
      content.waiting.push({ request, at: request.createdAt });
    else if (request.status === Status.ACTIVE && request.pendingExtension)
      content.waiting.push({ request, at: request.pendingExtension.at });
    if (inWindow(request.grantedAt)) content.granted.push({ request, at: request.grantedAt });
    const extendedAt = request.extensions.map((e) => e.at).filter(inWindow);
    if (extendedAt.length > 0) content.extended.push({ request, at: Math.max(...extendedAt) });
    const closedAt = request.resolution?.at ?? request.updatedAt;
    if (ENDED.includes(request.status) && request.grantedAt !== undefined && inWindow(closedAt))
      content.ended.push({ request, at: closedAt });
    if (request.status === Status.FAILED && inWindow(closedAt))
      content.failed.push({ request, at: closedAt });
  }
  const oldestFirst = (a: DigestItem, b: DigestItem) =>
    a.at - b.at || a.request.id.localeCompare(b.request.id);
  for (const section of [content.waiting, content.granted, content.extended, content.ended, content.failed])
    section.sort(oldestFirst);
  const total =
    content.waiting.length +
    content.granted.length +
    content.extended.length +
    content.ended.length +
    content.failed.length;
  return total === 0 ? undefined : content;
}
