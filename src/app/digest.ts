import { renderDigestCard } from '../cards/digest-card';
import { digestContent, digestZone, lastDigestAt, nextDigestAt, type DigestContent } from '../domain/digest';
import { rulesFor, type Policy } from '../domain/policy';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Notifier, OutgoingMessage } from '../ports/notifier';
import type { Store } from '../ports/store';
import { approverChannel } from './approver-channel';
import { PassLoop, type NextPass } from './pass-loop';

/** A digest whose time passed while we were down is still posted within this long of it. */
export const DIGEST_CATCH_UP_MS = 12 * 3_600_000;
/**
 * Closed requests are read from those created at least this far back (`listCreatedBetween`),
 * and further when the policy lets a request live longer (`digestLookbackMs`), so that a grant
 * that ended in the last 24 h is found though it was asked long before. Open ones are all read
 * (`listOpen`).
 */
export const DIGEST_LOOKBACK_MS = 35 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

/**
 * How far back a request that ended in the last 24 h can have been created: the longest any
 * group lets one live — waiting (pendingTimeout), scheduled ahead (maxScheduleAhead), granted
 * (the longest duration of any kind) and extended (extension.maxTotal) — and a day for the
 * 24 h themselves; never less than DIGEST_LOOKBACK_MS.
 */
export function digestLookbackMs(policy: Policy): number {
  let longest = 0;
  for (const alias of Object.keys(policy.groups)) {
    const r = rulesFor(policy, alias);
    const granted = Math.max(
      r.maxDurationMs,
      r.breakGlass?.maxDurationMs ?? 0,
      r.autoApprove?.maxDurationMs ?? 0,
    );
    longest = Math.max(longest, r.pendingTimeoutMs + r.maxScheduleAheadMs + granted + r.extension.maxTotalMs);
  }
  return Math.max(DIGEST_LOOKBACK_MS, longest + DAY_MS);
}
/** A failed post (Teams down, no service URL known yet) is tried again after this, doubling up to the max. */
export const DIGEST_RETRY_MS = 60_000;
const DIGEST_RETRY_MAX_MS = 15 * 60_000;
/** A failed pass (the store unreachable) is run again after this. */
const PASS_RETRY_MS = 60_000;

export interface DigestDeps {
  store: Store;
  notifier: Notifier;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  /** The Bot Connector URL when none was learned for the tenant yet (as the worker's). */
  defaultServiceUrl?: string;
}

/** A digest marked as sent whose post has not gone through yet. */
interface Unsent {
  channel: string;
  message: OutgoingMessage;
  tenantId?: string;
  /** The next attempt (epoch ms), and how long the wait after a failure is now. */
  retryAt: number;
  waitMs: number;
  /** Given up at the channel's next digest time: a digest of yesterday is no news any more. */
  until: number;
}

/** The key that says "channel `channel` had its digest of `date` (YYYY-MM-DD in its zone)". */
export const digestKey = (channel: string, date: string): string => `digest:${channel}:${date}`;

/**
 * The approver channels' daily digests (PRODUCT.md §13, policy `approverChannels.<name>.digest`).
 *
 * When: at each channel's `at` in its zone, one timer set to the earliest; at start (and at
 * every pass) a digest whose time passed less than DIGEST_CATCH_UP_MS ago and that nobody
 * posted yet is posted now, so a crash or a deploy over 09:00 never skips the day.
 *
 * Once a day, across restarts and replicas: the store's `markWelcomed(digest:<channel>:<date>)`
 * (a primary key on PostgreSQL) is the day's due record; only the process that marks it first
 * posts. It is marked BEFORE the post: a crash between the mark and the post loses that day's
 * digest, where posting first would post it twice after a crash between post and mark; a
 * digest missed is cheaper than a channel told everything twice, and the next day's digest
 * still says what waits. A post that fails is tried again in this process (1 min, doubling up
 * to 15 min) until it goes through or the channel's next digest is due; the key cannot be
 * unmarked, so another replica never takes it over.
 *
 * Nothing to say (nothing waits, nothing happened in 24 h): the day is marked and nothing is
 * posted.
 */
export class DigestLoop {
  private readonly loop: PassLoop;
  private readonly unsent = new Map<string, Unsent>();
  /** Days this process found marked already (by itself or another): not read again. */
  private readonly done = new Set<string>();

  constructor(private readonly deps: DigestDeps) {
    this.loop = new PassLoop(deps.clock, () => this.pass());
  }

  /** The channels that have a digest, with their settings and zone. */
  private channels(): Array<{ name: string; at: string; zone: string; channelId: string }> {
    return Object.entries(this.deps.policy.approverChannels).flatMap(([name, channel]) =>
      channel.digest
        ? [{ name, at: channel.digest.at, zone: digestZone(channel), channelId: channel.channelId }]
        : [],
    );
  }

  /** Starts: posts what is overdue from before (within the catch-up), then sleeps until the next digest. */
  start(): void {
    this.loop.poke();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  settled(): Promise<void> {
    return this.loop.settled();
  }

  get busy(): boolean {
    return this.loop.busy;
  }

  /** One pass: the digests (and retries) due now; answers when the next is due. */
  private async pass(): Promise<NextPass> {
    const { clock, logger } = this.deps;
    const now = clock.now();
    const channels = this.channels();
    if (channels.length === 0) return undefined;
    let next = Number.POSITIVE_INFINITY;
    const current = new Set(channels.map((c) => digestKey(c.name, lastDigestAt(c.at, c.zone, now).date)));
    for (const key of this.done) if (!current.has(key)) this.done.delete(key); // only today's are asked again
    try {
      for (const channel of channels) {
        if (this.loop.stopped) return undefined;
        const last = lastDigestAt(channel.at, channel.zone, now);
        const key = digestKey(channel.name, last.date);
        if (now - last.at <= DIGEST_CATCH_UP_MS && !this.done.has(key)) {
          await this.runDay(channel, key, now, nextDigestAt(channel.at, channel.zone, now));
          this.done.add(key);
        }
        next = Math.min(next, nextDigestAt(channel.at, channel.zone, now));
      }
      for (const [key, unsent] of this.unsent) {
        if (this.loop.stopped) return undefined;
        if (now >= unsent.until) {
          logger.error(
            { key, channel: unsent.channel },
            'digest never went through before the next one; dropped',
          );
          this.unsent.delete(key);
        } else if (now >= unsent.retryAt) await this.post(key, unsent, now);
        if (this.unsent.has(key)) next = Math.min(next, this.unsent.get(key)!.retryAt);
      }
    } catch (error) {
      logger.error({ err: error }, 'digest pass failed; retrying in 1 min');
      next = Math.min(next, now + PASS_RETRY_MS);
    }
    // A time already past fires at once, where the catch-up above posts it.
    return next === Number.POSITIVE_INFINITY ? undefined : next;
  }

  /** The day's digest of one channel: marked first (once a day, whoever marks first), then posted if there is news. */
  private async runDay(
    channel: { name: string; zone: string; channelId: string },
    key: string,
    now: number,
    nextDue: number,
  ): Promise<void> {
    const { store, logger } = this.deps;
    // Read before marking: a store that cannot be read leaves the day unmarked, for the retry.
    const content = await this.contentOf(channel.name, now);
    if (!(await store.markWelcomed(key, now))) return; // posted (or being posted) by us before, or by another process
    if (!content) {
      logger.info({ channel: channel.name, key }, 'digest: nothing to say today');
      return;
    }
    const card = renderDigestCard({ content, channelId: channel.channelId, timeZone: channel.zone });
    const tenantId = [...content.waiting, ...content.granted, ...content.ended, ...content.failed].find(
      (item) => item.request.tenantId,
    )?.request.tenantId;
    const unsent: Unsent = {
      channel: channel.name,
      message: { card },
      tenantId,
      retryAt: now,
      waitMs: DIGEST_RETRY_MS,
      until: nextDue,
    };
    this.unsent.set(key, unsent);
    await this.post(key, unsent, now);
  }

  private async contentOf(channel: string, now: number): Promise<DigestContent | undefined> {
    const { store } = this.deps;
    const open = await store.listOpen();
    const recent = await store.listCreatedBetween(now - digestLookbackMs(this.deps.policy), now + 1);
    return digestContent(channel, [...open, ...recent], now);
  }

  private async post(key: string, unsent: Unsent, now: number): Promise<void> {
    const { store, notifier, policy, logger } = this.deps;
    try {
      const target = await approverChannel(
        { policy, store },
        unsent.channel,
        unsent.tenantId,
        this.deps.defaultServiceUrl,
      );
      if ('missing' in target) throw new Error(target.missing);
      await notifier.postToChannel(target, unsent.message);
      this.unsent.delete(key);
      logger.info({ channel: unsent.channel, key }, 'digest posted');
    } catch (error) {
      unsent.retryAt = now + unsent.waitMs;
      logger.warn(
        { err: error, channel: unsent.channel, key, retryAt: unsent.retryAt },
        'digest post failed; will retry',
      );
      unsent.waitMs = Math.min(unsent.waitMs * 2, DIGEST_RETRY_MAX_MS);
    }
  }
}
