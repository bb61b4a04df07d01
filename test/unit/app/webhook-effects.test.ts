import { placeEffect } from '../../../src/app/effects';
import { webhookDataOf, webhookEffectsFor } from '../../../src/app/webhook-effects';
import { validatePolicy } from '../../../src/domain/policy';
import type { WebhookEvent } from '../../../src/domain/policy-workflows';
import type { RequestEvent } from '../../../src/domain/request';
import { aRequest } from '../../helpers/domain-builders';
import { rigPolicy } from './rig';

const AT = Date.UTC(2026, 10, 21, 11, 5, 0);
const hooks = [
  {
    url: 'https://hooks.example.com/all',
    events: ['requested', 'decided', 'granted', 'extended', 'ended', 'failed'],
  },
  { url: 'https://hooks.example.com/ends', events: ['granted', 'ended'] },
] as const;
const policy = validatePolicy(
  rigPolicy({
    webhooks: hooks.map((h) => ({ ...h, events: [...h.events], secretEnv: 'TIMEBOX_WEBHOOK_SECRET' })),
  }),
);
const event = (type: RequestEvent['type']): RequestEvent => ({ type, requestId: 'R-TEST01', at: AT });
const group = aRequest();
const action = aRequest({
  targetKind: 'action',
  group: { alias: 'deploy-prod', id: '', displayName: 'Deploy to production' },
});
/** `event@hook` of each delivery. */
const deliveries = (type: RequestEvent['type'], request = group) =>
  webhookEffectsFor(event(type), request, policy).map(
    (e) => `${String(e.data?.event)}@${String(e.data?.hook)}`,
  );

describe('webhook deliveries: which request events reach which hooks', () => {
  it.each<[RequestEvent['type'], WebhookEvent]>([
    ['submitted', 'requested'],
    ['approved', 'decided'],
    ['auto_approved', 'decided'],
    ['break_glass', 'decided'],
    ['denied', 'decided'],
    ['granted', 'granted'],
    ['extended', 'extended'],
    ['expired', 'ended'],
    ['released', 'ended'],
    ['revoked', 'ended'],
    ['timed_out', 'ended'],
    ['cancelled', 'ended'],
    ['failed', 'failed'],
  ])('%s → %s, to every hook subscribed to it and no other', (type, name) => {
    const expected = hooks.flatMap((h, i) =>
      (h.events as readonly string[]).includes(name) ? [`${name}@${i}`] : [],
    );
    expect(deliveries(type)).toEqual(expected);
  });

  it.each<RequestEvent['type']>([
    'voted',
    'claimed',
    'reminded',
    'warned',
    'acknowledged',
    'extension_requested',
    'extension_denied',
    'member_removed',
    'member_kept',
    'notify_failed',
    'refused',
  ])('%s is no webhook event', (type) => {
    expect(deliveries(type)).toEqual([]);
  });

  it('an action is granted by its approval: decided and granted at the decision, a denial is only decided', () => {
    for (const type of ['approved', 'auto_approved', 'break_glass'] as const)
      expect(deliveries(type, action)).toEqual(['decided@0', 'granted@0', 'granted@1']);
    expect(deliveries('denied', action)).toEqual(['decided@0']);
    expect(deliveries('granted', action)).toEqual([]); // never a second time
    expect(deliveries('expired', action)).toEqual(['ended@0', 'ended@1']);
  });

  it('a policy without webhooks queues nothing', () => {
    expect(webhookEffectsFor(event('granted'), group, validatePolicy(rigPolicy()))).toEqual([]);
  });

  it('each delivery has a stable id of its own, and a queue per request and hook (never the cards’ queue)', () => {
    const [all, ends] = webhookEffectsFor(event('granted'), group, policy);
    expect(all).toEqual({
      kind: 'webhook.deliver',
      data: { hook: 0, event: 'granted', eventId: `R-TEST01:granted:${AT}:0`, at: AT },
    });
    expect(webhookEffectsFor(event('granted'), group, policy)).toEqual([all, ends]); // the same when made again
    expect(ends!.data!.eventId).not.toBe(all!.data!.eventId);
    expect(placeEffect(all!, group)).toMatchObject({ lane: 'teams', queue: 'webhook:R-TEST01:0' });
    expect(placeEffect(ends!, group)).toMatchObject({ lane: 'teams', queue: 'webhook:R-TEST01:1' });
    expect(placeEffect({ kind: 'card.update' }, group).queue).toBe('teams:R-TEST01');
  });

  it('reads stored data back only when it is a whole delivery', () => {
    const data = { hook: 1, event: 'ended', eventId: 'R-TEST01:ended:1:1', at: 1 };
    expect(webhookDataOf(data)).toEqual(data);
    for (const bad of [
      undefined,
      {},
      { ...data, hook: -1 },
      { ...data, hook: '1' },
      { ...data, hook: 1.5 },
      { ...data, event: 'pwned' },
      { ...data, eventId: '' },
      { ...data, at: 'soon' },
    ])
      expect(webhookDataOf(bad)).toBeUndefined();
  });
});
