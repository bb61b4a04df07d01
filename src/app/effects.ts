import type { NoticeKind } from '../cards/notice';
import { isAction, mayHoldMembership, type AccessRequest, type RequestEvent } from '../domain/request';
import type { EffectKind, EffectLane, NewEffect, QueuedEffect } from '../ports/store';

/** Membership changes go to the directory lane, everything else (webhook deliveries too) to Teams': never in a membership change's way. */
export const laneOf = (kind: EffectKind): EffectLane =>
  kind.startsWith('directory.') ? 'directory' : 'teams';

/**
 * See `Effect.queue`: membership changes queue per person and group (ids lower-case), Teams
 * effects per request, webhook deliveries per request and hook (`data.hook`, its index in the
 * policy): a receiver that is down or slow then holds up only its own deliveries, never the
 * request's cards nor another receiver, and still gets one request's events in order.
 */
export const queueOf = (request: AccessRequest, lane: EffectLane, effect?: NewEffect): string =>
  lane === 'directory'
    ? `directory:${request.group.id.toLowerCase()}:${request.requester.id.toLowerCase()}`
    : effect?.kind === 'webhook.deliver'
      ? `webhook:${request.id}:${String(effect.data?.hook)}`
      : `teams:${request.id}`;

/** Gives an effect of `request` its lane and queue, as the store keeps them. */
export function placeEffect(effect: NewEffect, request: AccessRequest): QueuedEffect {
  const lane = laneOf(effect.kind);
  return { ...effect, lane, queue: queueOf(request, lane, effect) };
}

const remove: NewEffect = { kind: 'directory.remove' };
/** Runs in the membership's queue, so always after the removal that queued it. */
const revokeSessions: NewEffect = { kind: 'directory.revoke_sessions' };
/** The request's own cards: the approval card and the receipt. */
const cardUpdates: NewEffect[] = [{ kind: 'card.update' }, { kind: 'card.update', template: 'receipt' }];
/** The list cards (`pending`, `status`) that show the request: queued only when some do. */
const listUpdate: NewEffect = { kind: 'card.update', template: 'lists' };
/** The requester's expiry warning, with its Extend / Release buttons: queued once one was (or is being) sent. */
const warningUpdate: NewEffect = { kind: 'card.update', template: 'warning' };
// Which message an effect sends: a notice kind (thread.reply, person.notify), the receipt card
// (person.notify, card.update), the list cards or the expiry warning (card.update). The worker refuses any other.
const reply = (template: NoticeKind): NewEffect => ({ kind: 'thread.reply', template });
const tell = (template: NoticeKind | 'receipt', data?: NewEffect['data']): NewEffect => ({
  kind: 'person.notify',
  template,
  ...(data ? { data } : {}),
});

/**
 * The side effects each event causes. Effects carry no state: handlers read the request as
 * it is when they run, so a late card update still shows the newest state.
 */
export function effectsFor(
  event: RequestEvent,
  request: AccessRequest,
  mode: 'membership' | 'pim',
): NewEffect[] {
  const effects = isAction(request)
    ? actionEffectsFor(event, request)
    : groupEffectsFor(event, request, mode);
  // A service principal has no Teams chat to be told in: the pipeline reads the API instead.
  return request.requester.kind === 'service_principal'
    ? effects.filter((e) => e.kind !== 'person.notify')
    : effects;
}

/** The cards that show a request, to update on any change. */
function cardsOf(request: AccessRequest): NewEffect[] {
  // NB: `warnedAt` too, not only the stored location: a warning still queued is sent before
  // this update runs (one Teams queue per request), and stores its location by then.
  const warned = request.warningCard !== undefined || request.warnedAt !== undefined;
  return [
    ...cardUpdates,
    ...(request.listCards?.length ? [listUpdate] : []),
    ...(warned ? [warningUpdate] : []),
  ];
}

/**
 * An action gate's effects: the same cards and notices as a group's, and never a membership
 * change. Its approval is its grant (the notice says "approved"), and its end needs no removal.
 */
function actionEffectsFor(event: RequestEvent, request: AccessRequest): NewEffect[] {
  const updateCards = cardsOf(request);
  const scheduled = request.status === 'scheduled';
  switch (event.type) {
    case 'approved':
    case 'auto_approved':
      if (scheduled) return [...updateCards, reply('scheduled'), tell('scheduled')];
      return [...updateCards, reply(event.type), tell(event.type)];
    case 'started':
      return [...updateCards, reply('approved'), tell('approved')];
    case 'failed':
      // Only a scheduled start refused at its time fails an action (nothing is ever added).
      return [...updateCards, reply('failed'), tell('failed')];
    case 'expired':
    case 'released':
    case 'revoked':
      return [...updateCards, reply(event.type), tell(event.type)];
    case 'granted':
    case 'member_removed':
    case 'member_kept':
    case 'break_glass':
    case 'extended':
    case 'extension_requested':
    case 'extension_denied':
    case 'warned':
      return [];
    default:
      return groupEffectsFor(event, request, 'membership');
  }
}

function groupEffectsFor(
  event: RequestEvent,
  request: AccessRequest,
  mode: 'membership' | 'pim',
): NewEffect[] {
  const updateCards = cardsOf(request);
  switch (event.type) {
    case 'submitted':
      return [{ kind: 'card.post' }, tell('receipt')];
    case 'voted':
    case 'claimed':
      return [...updateCards];
    case 'extension_denied':
      // The request keeps no trace of a dropped offer, so the notice takes who and why from here.
      return [
        ...updateCards,
        tell('extension_denied', { by: event.actor?.name, reason: event.reason, added: event.detail?.added }),
      ];
    case 'acknowledged':
      return [...updateCards, reply('acknowledged')];
    case 'approved':
    case 'auto_approved':
      // Approved ahead of its start: the add waits for the scheduler's start (`started`).
      if (request.status === 'scheduled') return [...updateCards, reply('scheduled'), tell('scheduled')];
      return event.type === 'approved'
        ? [{ kind: 'directory.add' }, ...updateCards]
        : [{ kind: 'directory.add' }, ...updateCards, reply('auto_approved')];
    case 'started':
      return [{ kind: 'directory.add' }, ...updateCards];
    case 'break_glass':
      return [{ kind: 'directory.add' }, ...updateCards, reply('break_glass')];
    case 'denied':
      return [...updateCards, tell('denied')];
    case 'cancelled':
      return [...updateCards, reply('cancelled')];
    case 'timed_out':
      return [...updateCards, reply('timed_out'), tell('timed_out')];
    case 'granted':
      return [...updateCards, reply('granted'), tell('granted')];
    case 'failed':
      // An add that failed after landing (a timeout after Graph did it) must not stay behind.
      return [
        ...(mayHoldMembership(request) ? [remove] : []),
        ...updateCards,
        reply('failed'),
        tell('failed'),
      ];
    case 'expired':
      return [remove, ...updateCards, reply('expired'), tell('expired')];
    case 'released':
      // The requester's confirmation waits for the removal: see member_removed below.
      return [remove, ...updateCards, reply('released')];
    case 'member_removed':
    case 'member_kept': {
      // Sessions end with the access (policy revokeSessionsOnEnd): only after a removal that
      // happened, never for a membership kept; the worker's removal decides and says so.
      const revoke: NewEffect[] =
        event.type === 'member_removed' && event.detail?.revokeSessions === true ? [revokeSessions] : [];
      // A release is confirmed once the directory removal is done, so that the requester is
      // told the membership is gone (or why it stays), not only that its removal was asked.
      if (request.status !== 'released') return revoke;
      return [
        ...revoke,
        event.type === 'member_kept' && !request.standingMember && event.reason
          ? tell('released', { reason: event.reason })
          : tell('released'),
      ];
    }
    case 'revoked':
      // Always queued, also before the grant started: an add may be under way, and the removal
      // runs after it in the membership's queue (it does nothing when nothing was added).
      return [remove, ...updateCards, reply('revoked'), tell('revoked')];
    case 'extended':
      return [
        ...(mode === 'pim' ? [{ kind: 'directory.extend' } as NewEffect] : []),
        ...updateCards,
        reply('extended'),
        tell('extended'),
      ];
    case 'extension_requested':
      return [...updateCards, reply('extension_requested')];
    case 'reminded':
      return [reply('reminder')];
    case 'escalated': {
      // The card says so, the thread says so, and the escalation channel (if any) gets the card.
      const channel = typeof event.detail?.channel === 'string' ? event.detail.channel : undefined;
      const post: NewEffect[] = channel
        ? [{ kind: 'card.post', template: 'escalation', data: { channel } }]
        : [];
      return [...updateCards, reply('escalated'), ...post];
    }
    case 'warned':
      return [tell('expiry_warning')];
    default:
      return [];
  }
}
