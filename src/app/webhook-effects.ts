import type { Policy } from '../domain/policy';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../domain/policy-workflows';
import { isAction, type AccessRequest, type RequestEvent } from '../domain/request';
import type { NewEffect } from '../ports/store';

/** What a `webhook.deliver` effect carries: which hook, which event, and the id receivers dedupe on. */
export interface WebhookDeliveryData {
  /** The hook's index in the policy's `webhooks:` list. */
  hook: number;
  event: WebhookEvent;
  /** The delivery's id (`Timebox-Delivery`, the body's `id`): the same on every retry. */
  eventId: string;
  /** When the event happened (epoch ms). */
  at: number;
}

/** The request events each webhook event stands for (PRODUCT.md §11: decisions, grants and ends). */
const WEBHOOK_EVENT_OF: Partial<Record<RequestEvent['type'], WebhookEvent>> = {
  submitted: 'requested',
  approved: 'decided',
  auto_approved: 'decided',
  break_glass: 'decided',
  denied: 'decided',
  granted: 'granted',
  extended: 'extended',
  expired: 'ended',
  released: 'ended',
  revoked: 'ended',
  timed_out: 'ended',
  cancelled: 'ended',
  failed: 'failed',
};

/**
 * The webhook events one request event means. An action has no membership: its approval is
 * the grant, so a receiver waiting for `granted` (as it would for a group) gets it at the
 * decision, and never a second time.
 */
export function webhookEventsOf(event: RequestEvent, request: AccessRequest): WebhookEvent[] {
  const name = WEBHOOK_EVENT_OF[event.type];
  if (!name) return [];
  if (!isAction(request)) return [name];
  if (name === 'granted') return [];
  const approval =
    event.type === 'approved' || event.type === 'auto_approved' || event.type === 'break_glass';
  return approval ? ['decided', 'granted'] : [name];
}

/**
 * The deliveries an event causes: one per hook subscribed to each of its webhook events. The
 * id is made of what identifies the event (request, event, time, hook), so it stays the same
 * whatever retries the outbox makes. Effects carry no request state: the handler sends the
 * request as it is when it runs.
 */
export function webhookEffectsFor(event: RequestEvent, request: AccessRequest, policy: Policy): NewEffect[] {
  const hooks = policy.webhooks ?? [];
  if (hooks.length === 0) return [];
  return webhookEventsOf(event, request).flatMap((name) =>
    hooks.flatMap((hook, index): NewEffect[] => {
      if (!hook.events.includes(name)) return [];
      const data: WebhookDeliveryData = {
        hook: index,
        event: name,
        eventId: `${request.id}:${name}:${event.at}:${index}`,
        at: event.at,
      };
      return [{ kind: 'webhook.deliver', data: { ...data } }];
    }),
  );
}

/** A stored effect's data read back as a delivery (undefined when it is not one: the effect can never run). */
export function webhookDataOf(data: Record<string, unknown> | undefined): WebhookDeliveryData | undefined {
  const { hook, event, eventId, at } = data ?? {};
  const known = WEBHOOK_EVENTS.find((e) => e === event);
  if (!Number.isInteger(hook) || (hook as number) < 0 || !known) return undefined;
  if (typeof eventId !== 'string' || !eventId || typeof at !== 'number' || !Number.isFinite(at))
    return undefined;
  return { hook: hook as number, event: known, eventId, at };
}
