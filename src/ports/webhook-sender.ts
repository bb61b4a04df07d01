/** One signed POST to a receiver of the policy's `webhooks:` list. */
export interface WebhookDelivery {
  /** The hook's index in the policy's `webhooks:` list: which url, and which secret signs it. */
  hook: number;
  /** The webhook event (`Timebox-Event`). */
  event: string;
  /** The same on every retry of one delivery (`Timebox-Delivery`): receivers dedupe on it. */
  deliveryId: string;
  /** The exact JSON text sent and signed. */
  body: string;
}

/**
 * Sends webhook deliveries (adapters/webhooks/http-webhook-sender.ts). The secrets stay inside
 * the sender, read once at start-up: the app names a hook, never a secret.
 *
 * `deliver` resolves once the receiver answered 2xx. It throws a DomainError: WEBHOOK_FAILED
 * (transient: a timeout, no connection, 408/429/5xx; `details.retryAfterMs` when the receiver
 * asked for a wait) to be tried again later, or WEBHOOK_REFUSED (any other answer, or an
 * unknown hook): trying again would change nothing.
 */
export interface WebhookSender {
  deliver(delivery: WebhookDelivery): Promise<void>;
}
