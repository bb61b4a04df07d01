import { DomainError, ErrorCodes } from '../domain/errors';
import { formatDuration, parseDuration } from '../domain/duration';
import type { Clock } from '../ports/clock';

export interface RateLimit {
  /** At most this many... */
  max: number;
  /** ...in any window of this length (ms). */
  windowMs: number;
}

/** New requests per person: enough for a busy incident, too few to bury the approvers' channel. */
export const DEFAULT_REQUEST_RATE_LIMIT: RateLimit = { max: 10, windowMs: 10 * 60_000 };

/** "10/10m" (at most 10 per 10 minutes), or "off". Throws COMMAND_INVALID naming the right form. */
export function parseRateLimit(text: string): RateLimit | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'off' || trimmed === '0') return undefined;
  const match = /^(\d{1,6})\s*\/\s*(\S+)$/.exec(trimmed);
  const max = match ? Number(match[1]) : NaN;
  let windowMs = NaN;
  try {
    if (match) windowMs = parseDuration(match[2]!);
  } catch {
    // reported below with the whole value
  }
  if (!match || !(max > 0) || !(windowMs > 0)) {
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      `"${text}" is not a rate limit. Use a count and a window, like 10/10m, or "off".`,
    );
  }
  return { max, windowMs };
}

/**
 * What AccessService asks before filing a request: one slot for `key`, or REQUEST_RATE_LIMITED
 * (`rateLimited`) saying when the next one frees up. The result gives the slot back (what it was
 * taken for did not happen). Sync in memory (RateLimiter, one process), async when shared
 * through the database (adapters/store/postgres/rate-limit.ts, several replicas).
 */
export interface RequestLimiter {
  readonly limit: RateLimit;
  take(key: string): (() => void) | Promise<() => void>;
}

/** The refusal of a slot: `used` slots taken in the window, the next one free in `waitMs`. */
export function rateLimited(used: number, limit: RateLimit, waitMs: number): DomainError {
  return new DomainError(
    ErrorCodes.REQUEST_RATE_LIMITED,
    `You have filed ${used} requests in the last ${formatDuration(limit.windowMs)}, the most Timebox takes from one person. Try again in ${formatDuration(Math.max(1000, Math.ceil(waitMs / 1000) * 1000))}; if it is urgent, ask an approver directly.`,
    { retryAfterMs: waitMs },
  );
}

/**
 * A sliding-window limit per key (a person's object id), in memory and on the Clock. In memory
 * is deliberate for one process: it needs no write per request, and a restart (which an
 * attacker cannot cause) forgets at most one window. With several replicas (PostgreSQL) the
 * shared one is used instead, else each replica would allow its own quota.
 */
export class RateLimiter implements RequestLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    readonly limit: RateLimit,
  ) {}

  /**
   * Takes one slot for `key`, or throws REQUEST_RATE_LIMITED saying when the next one frees up.
   * Returns a function that gives the slot back (when what it was taken for did not happen).
   */
  take(key: string): () => void {
    const now = this.clock.now();
    const recent = this.recent(key, now);
    if (recent.length >= this.limit.max) {
      throw rateLimited(recent.length, this.limit, recent[0]! + this.limit.windowMs - now);
    }
    recent.push(now);
    this.hits.set(key, recent);
    if (this.hits.size > 10_000) this.sweep(now);
    return () => {
      const list = this.hits.get(key);
      const at = list?.lastIndexOf(now) ?? -1;
      if (list && at >= 0) list.splice(at, 1);
    };
  }

  /** How many slots `key` has used in the current window. */
  used(key: string): number {
    return this.recent(key, this.clock.now()).length;
  }

  private recent(key: string, now: number): number[] {
    return (this.hits.get(key) ?? []).filter((at) => at > now - this.limit.windowMs);
  }

  private sweep(now: number): void {
    for (const [key, list] of this.hits) {
      const kept = list.filter((at) => at > now - this.limit.windowMs);
      if (kept.length === 0) this.hits.delete(key);
      else this.hits.set(key, kept);
    }
  }
}
