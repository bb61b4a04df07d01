import type { ClientBase } from 'pg';
import { rateLimited, type RateLimit, type RequestLimiter } from '../../../app/rate-limit';
import type { Clock } from '../../../ports/clock';
import { TIMEBOX_LOCK_CLASS } from './migrate';

/** Advisory-lock namespace of rate-limit keys (key: hashtext(person)); see outbox.ts for +1. */
const RATE_LOCK_CLASS = TIMEBOX_LOCK_CLASS + 2;
/** Old slots of people who stopped asking are swept now and then, not on every take. */
const SWEEP_EVERY_TAKES = 500;

/** Runs `fn` in one transaction of the store (its errors mapped to the port's: STORE_UNAVAILABLE…). */
export type InTransaction = <T>(fn: (db: ClientBase) => Promise<T>) => Promise<T>;

/**
 * The request rate limit shared by every replica through the database (table rate_hits, one
 * row per slot): the same sliding window and refusal as the in-memory RateLimiter. A person's
 * takes are serialized by a transaction-level advisory lock on their key, so two replicas
 * taking the last slot at once cannot both get it. Times are the app's Clock, as in memory.
 */
export class PostgresRateLimiter implements RequestLimiter {
  private takes = 0;
  /** Give-backs under way: a take of this process waits for them, so it sees the slot free. */
  private readonly givingBack = new Set<Promise<unknown>>();

  constructor(
    private readonly inTransaction: InTransaction,
    private readonly clock: Clock,
    readonly limit: RateLimit,
  ) {}

  async take(key: string): Promise<() => void> {
    await Promise.all([...this.givingBack]);
    const now = this.clock.now();
    const since = now - this.limit.windowMs;
    const sweep = ++this.takes % SWEEP_EVERY_TAKES === 0;
    const id = await this.inTransaction(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [RATE_LOCK_CLASS, key]);
      await db.query('DELETE FROM rate_hits WHERE key = $1 AND at <= $2', [key, since]);
      const { rows } = await db.query<{ used: string; oldest: string | null }>(
        'SELECT count(*) AS used, min(at) AS oldest FROM rate_hits WHERE key = $1',
        [key],
      );
      const used = Number(rows[0]?.used ?? 0);
      if (used >= this.limit.max) {
        throw rateLimited(used, this.limit, Number(rows[0]!.oldest) + this.limit.windowMs - now);
      }
      const inserted = await db.query<{ id: string }>(
        'INSERT INTO rate_hits (key, at) VALUES ($1, $2) RETURNING id',
        [key, now],
      );
      if (sweep) await db.query('DELETE FROM rate_hits WHERE at <= $1', [since]);
      return inserted.rows[0]!.id;
    });
    // Giving back is best effort (what the slot was taken for failed already): a slot that
    // cannot be given back now frees itself at the end of the window.
    return () => {
      const given = this.inTransaction((db) => db.query('DELETE FROM rate_hits WHERE id = $1', [id])).catch(
        () => undefined,
      );
      this.givingBack.add(given);
      void given.then(() => this.givingBack.delete(given));
    };
  }

  /** How many slots `key` has used in the current window. */
  async used(key: string): Promise<number> {
    const since = this.clock.now() - this.limit.windowMs;
    return this.inTransaction(async (db) => {
      const { rows } = await db.query<{ used: string }>(
        'SELECT count(*) AS used FROM rate_hits WHERE key = $1 AND at > $2',
        [key, since],
      );
      return Number(rows[0]?.used ?? 0);
    });
  }
}
