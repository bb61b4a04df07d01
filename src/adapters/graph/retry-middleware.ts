import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  maxAttempts: number;
  /** First backoff delay; doubles on each retry. */
  baseDelayMs: number;
  /** Longest single wait. A Retry-After beyond it ends the retries (the caller retries later). */
  maxDelayMs: number;
  /** Longest wait of our own backoff (when Graph gave no Retry-After); default maxDelayMs. */
  maxBackoffMs?: number;
}

/**
 * NB: Retry-After is always honoured (up to 30 s here, longer through the outbox). Without one
 * (a 503, a network error) the backoff is short: 100 ms doubling, capped at 500 ms, so five
 * attempts take at most ~1.3 s. A removal is due within 5 s of a grant's end (PRODUCT.md
 * §8.2): the old 500 ms-doubling backoff spent that on four failed attempts (measured with
 * `npm run test:chaos`, docs/reliability.md). Past these five attempts the outbox backs off
 * exponentially (up to a minute), so a Graph outage is not hammered.
 */
export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 30_000,
  maxBackoffMs: 500,
};

/** Statuses Graph documents as transient: throttled, unavailable, gateway timeout. */
const RETRYABLE_STATUS = new Set([429, 503, 504]);

/** Names the Graph client keeps (as GraphError.code) when this middleware gives up on a transport failure. */
export const TransportErrorNames = {
  timeout: 'TimeboxGraphTimeout',
  network: 'TimeboxGraphNetworkError',
} as const;

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface RetryMiddlewareOptions {
  policy: RetryPolicy;
  timeoutMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
}

/** Retry-After as seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with "equal jitter": between half and all of base × 2^(attempt-1), capped. */
export function backoffDelayMs(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const { baseDelayMs, maxDelayMs, maxBackoffMs } = policy;
  const ceiling = Math.min(maxBackoffMs ?? maxDelayMs, maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Whether Graph documents this status as transient (throttled, unavailable, gateway timeout). */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Microsoft Graph did not answer within ${ms} ms`);
    this.name = TransportErrorNames.timeout;
  }
}

/**
 * Bounded retries with a per-attempt timeout, placed first in the Graph client's chain so that
 * each attempt runs the whole rest of it (a fresh token, a fresh fetch). Honours Retry-After
 * on 429/503/504, otherwise exponential backoff with jitter; network errors and timeouts are
 * retried too. Writes are safe to repeat: add/remove/assign treat "already done" as success.
 */
export class RetryMiddleware implements Middleware {
  private next?: Middleware;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: RetryMiddlewareOptions) {
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  setNext(next: Middleware): void {
    this.next = next;
  }

  /** Exponential backoff with "equal jitter": between half and all of base × 2^(attempt-1). */
  backoffMs(attempt: number): number {
    return backoffDelayMs(this.options.policy, attempt, this.random);
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('RetryMiddleware needs a next middleware');
    const { maxAttempts, maxDelayMs } = this.options.policy;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attempt(context);
      const last = attempt >= Math.max(1, maxAttempts);
      if (failure) {
        if (last) throw failure;
        await this.wait(attempt, this.backoffMs(attempt), failure.message);
        continue;
      }
      const response = context.response as Response;
      if (!RETRYABLE_STATUS.has(response.status) || last) return;
      const asked = retryAfterMs(response.headers.get('Retry-After'));
      // A longer wait than our budget allows is handed back as "throttled" with its Retry-After,
      // so that the grant worker retries later instead of holding this call open.
      if (asked !== undefined && asked > maxDelayMs) return;
      await this.wait(attempt, asked ?? this.backoffMs(attempt), `HTTP ${response.status}`);
    }
  }

  private async wait(attempt: number, delayMs: number, reason: string): Promise<void> {
    this.options.onRetry?.({ attempt, delayMs, reason });
    await this.sleep(delayMs);
  }

  /** One attempt, body included, under the timeout; returns the transport failure to retry, if any. */
  private async attempt(context: Context): Promise<Error | undefined> {
    const controller = new AbortController();
    // NB: made when the timer fires, not before each call: an Error's stack trace is a fifth of
    // this method's own cost per Graph call, and almost every call answers in time.
    let timeout: TimeoutError | undefined;
    const timer = setTimeout(() => {
      timeout = new TimeoutError(this.options.timeoutMs);
      controller.abort(timeout);
    }, this.options.timeoutMs);
    context.options = { ...(context.options ?? {}), signal: controller.signal };
    context.response = undefined;
    try {
      await (this.next as Middleware).execute(context);
      const response = context.response as Response | undefined;
      if (!response) return undefined;
      // Reading the body here keeps a stalled body under the same timeout as the headers.
      const body = await response.arrayBuffer();
      const empty = response.status === 204 || response.status === 205 || response.status === 304;
      context.response = new Response(empty ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      return undefined;
    } catch (error) {
      if (timeout) return timeout;
      // fetch rejects with a TypeError for refused/reset connections and DNS failures; matched by
      // name, since under a test runner's VM context it is not this realm's TypeError.
      const failed = error as {
        name?: unknown;
        message?: unknown;
        cause?: { code?: string; message?: string };
      };
      if (failed?.name === 'TypeError') {
        const cause = failed.cause;
        const network = new Error(
          `cannot reach Microsoft Graph: ${cause?.code ?? cause?.message ?? String(failed.message)}`,
        );
        network.name = TransportErrorNames.network;
        return network;
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
