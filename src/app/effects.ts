import type { AccessRequest, RequestEvent } from '../domain/request';
import type { NewEffect } from '../ports/store';

const updateCards: NewEffect[] = [{ kind: 'card.update' }, { kind: 'card.update', template: 'receipt' }];
const reply = (template: string): NewEffect => ({ kind: 'thread.reply', template });
const tell = (template: string): NewEffect => ({ kind: 'person.notify', template });

/**
 * The side effects each event causes. Effects carry no state: handlers read the request as
 * it is when they run, so a late card update still shows the newest state.
 */
export function effectsFor(event: RequestEvent, request: AccessRequest, mode: 'membership' | 'pim'): NewEffect[] {
  switch (event.type) {
    case 'submitted':
      return [{ kind: 'card.post' }, tell('receipt')];
    case 'voted':
    case 'claimed':
    case 'acknowledged':
      return [...updateCards];
    case 'approved':
      return [{ kind: 'directory.add' }, ...updateCards];
    case 'auto_approved':
      return [{ kind: 'directory.add' }, ...updateCards, reply('auto_approved')];
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
      return [...updateCards, reply('failed'), tell('failed')];
    case 'expired':
      return [{ kind: 'directory.remove' }, ...updateCards, reply('expired'), tell('expired')];
    case 'released':
      return [{ kind: 'directory.remove' }, ...updateCards, reply('released')];
    case 'revoked':
      return [
        ...(request.grantedAt !== undefined ? [{ kind: 'directory.remove' } as NewEffect] : []),
        ...updateCards,
        reply('revoked'),
        tell('revoked'),
      ];
    case 'extended':
      return [...(mode === 'pim' ? [{ kind: 'directory.extend' } as NewEffect] : []), ...updateCards, reply('extended'), tell('extended')];
    case 'extension_requested':
      return [...updateCards, reply('extension_requested')];
    case 'reminded':
      return [reply('reminder')];
    case 'warned':
      return [tell('expiry_warning')];
    default:
      return [];
  }
}
