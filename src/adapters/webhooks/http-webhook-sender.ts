import { ConfigError } from '../../config';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { WebhookPolicy } from '../../domain/policy-workflows';
import type { WebhookDelivery, WebhookSender } from '../../ports/webhook-sender';
import { SIGNATURE_HEADER, signDelivery } from './signature';

export const DELIVERY_HEADER = 'Timebox-Delivery';
export const EVENT_HEADER = 'Timebox-Event';

/** Answers worth trying again: the receiver timed out, throttles, or is down. Other 4xx (and 3xx) will not change. */
const TRANSIENT_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/** The longest Retry-After honoured: a receiver cannot park a delivery for days. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** A secret shorter than this is refused at start-up: HMAC is only as strong as its key. */
const MIN_SECRET_LENGTH = 16;

export interface HttpWebhookSenderOptions {
  /** How long one POST may take, connection to last byte of the answer's head (default 10 s). */
  timeoutMs?: number;
  /** Signature time (epoch ms); the system clock by default. */
  now?: () => number;
  fetch?: typeof fetch;
}

interface Hook {
  url: string;
  secret: string;
  /** How the hook is named in errors and logs: its host, never its path or query (they may carry a token). */
  name: string;
}

/**
 * Builds the sender for the policy's `webhooks:` (undefined when there are none), reading each
 * hook's secret from the environment now: a missing or short secret stops the start with an
 * error naming the variable, rather than sending unsigned or failing later.
 */
export function createWebhookSender(
  hooks: readonly WebhookPolicy[],
  env: NodeJS.ProcessEnv,
  options: HttpWebhookSenderOptions = {},
): WebhookSender | undefined {
  if (hooks.length === 0) return undefined;
  const resolved = hooks.map((hook, index): Hook => {
    const secret = env[hook.secretEnv];
    const where = `webhooks[${index}] (${new URL(hook.url).host})`;
    if (!secret?.trim())
      throw new ConfigError(
        `${hook.secretEnv} is not set: ${where} signs its deliveries with the secret in it. Set ${hook.secretEnv} to the secret the receiver checks (from a secret store), or remove the hook from the policy.`,
      );
    if (secret.length < MIN_SECRET_LENGTH)
      throw new ConfigError(
        `${hook.secretEnv} is shorter than ${MIN_SECRET_LENGTH} characters: ${where} needs a secret that cannot be guessed (e.g. \`openssl rand -hex 32\`).`,
      );
    return { url: hook.url, secret, name: `webhook #${index} (${new URL(hook.url).host})` };
  });
  return new HttpWebhookSender(resolved, options);
}

/**
 * POSTs one delivery, signed over `timestamp.body` (signature.ts), and sorts the outcome: 2xx
 * done; a timeout, no connection, 408, 429 or 5xx transient (WEBHOOK_FAILED, with the
 * receiver's Retry-After); anything else refused (WEBHOOK_REFUSED). Redirects are not
 * followed: a signed delivery goes to the configured URL only.
 *
 * NB: no retries here; the outbox retries (webhook.deliver effects), with backoff, in a queue
 * of their own per hook and request, so a slow receiver holds up nothing else.
 */
export class HttpWebhookSender implements WebhookSender {
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly hooks: readonly Hook[],
    options: HttpWebhookSenderOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.fetch = options.fetch ?? fetch;
  }

  async deliver(delivery: WebhookDelivery): Promise<void> {
    const hook = this.hooks[delivery.hook];
    if (!hook)
      throw new DomainError(ErrorCodes.WEBHOOK_REFUSED, `no webhook #${delivery.hook} in the policy`, {
        hook: delivery.hook,
      });
    const details = { hook: delivery.hook, deliveryId: delivery.deliveryId, event: delivery.event };
    let response: Response;
    try {
      response = await this.fetch(hook.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Timebox-Webhooks/1',
          [SIGNATURE_HEADER]: signDelivery(hook.secret, delivery.body, this.now()),
          [DELIVERY_HEADER]: delivery.deliveryId,
          [EVENT_HEADER]: delivery.event,
        },
        body: delivery.body,
      });
    } catch (error) {
      // NB: by name: the abort is a DOMException, not always an Error of this realm.
      const name = (error as { name?: unknown } | null)?.name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError';
      throw new DomainError(
        ErrorCodes.WEBHOOK_FAILED,
        timedOut
          ? `${hook.name} did not answer within ${this.timeoutMs} ms`
          : `${hook.name} could not be reached: ${causeOf(error)}`,
        details,
      );
    }
    // The answer's body is of no use: drop it so that the connection is freed.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return;
    if (TRANSIENT_STATUS(response.status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.now());
      throw new DomainError(ErrorCodes.WEBHOOK_FAILED, `${hook.name} answered ${response.status}`, {
        ...details,
        status: response.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs: Math.min(retryAfterMs, MAX_RETRY_AFTER_MS) } : {}),
      });
    }
    throw new DomainError(
      ErrorCodes.WEBHOOK_REFUSED,
      `${hook.name} refused the delivery with ${response.status}; not retried`,
      { ...details, status: response.status },
    );
  }
}

/** Node's fetch hides the socket error in `cause` ("fetch failed" alone says nothing). NB: duck-typed: fetch's errors come from another realm in some hosts. */
function causeOf(error: unknown): string {
  const outer = error as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const message = typeof outer?.message === 'string' ? outer.message : String(error);
  const cause = outer?.cause;
  const inner =
    typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
  return inner ? `${message} (${inner})` : message;
}

/** Retry-After as delta-seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
