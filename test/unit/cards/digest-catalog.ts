import { renderDigestCard } from '../../../src/cards/digest-card';
import { digestContent } from '../../../src/domain/digest';
import type { AccessRequest } from '../../../src/domain/request';
import { aPerson, aRequest, aRequestIn, HOUR, MINUTE, T0 } from '../../helpers/builders';
import type { CatalogEntry } from './card-catalog';

const CHANNEL_ID = '19:ops@thread.tacv2';
const cardAt = (activityId: string) => ({
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  conversationId: `${CHANNEL_ID};messageid=${activityId}`,
  activityId,
});

/** A day in an approver channel: two requests waiting, grants given, extended, ended, one failure. */
function aDay(): AccessRequest[] {
  const lynne = aPerson({
    id: '00000000-0000-4000-8000-0000000000l1',
    name: 'Lynne Robbins',
    upn: 'lynner@example.com',
  });
  const isaiah = aPerson({
    id: '00000000-0000-4000-8000-0000000000i1',
    name: 'Isaiah Langer',
    upn: 'isaiah@example.com',
  });
  return [
    aRequest({ id: 'req-4b21e0', createdAt: T0 - 40 * MINUTE, approvalCard: cardAt('1732190400123') }),
    aRequestIn('active', {
      id: 'req-9c02d7',
      requester: isaiah,
      group: { alias: 'prod-admin', id: 'g2', displayName: 'Production admin' },
      createdAt: T0 - 3 * HOUR,
      durationMs: HOUR,
      pendingExtension: { by: isaiah, at: T0 - 5 * MINUTE, addedMs: 30 * MINUTE, votes: [] },
      approvalCard: cardAt('1732179600456'),
    }),
    aRequestIn('active', { id: 'req-7f3a9c', createdAt: T0 - 2 * HOUR, durationMs: 4 * HOUR }),
    aRequestIn('active', {
      id: 'req-1d5e88',
      requester: lynne,
      group: { alias: 'billing', id: 'g3', displayName: 'Billing' },
      createdAt: T0 - 6 * HOUR,
      durationMs: 8 * HOUR,
      extensions: [{ by: lynne, at: T0 - HOUR, addedMs: HOUR }],
    }),
    aRequestIn('expired', { id: 'req-2a6f10', requester: lynne, createdAt: T0 - 20 * HOUR }),
    aRequestIn('released', { id: 'req-83c4b9', createdAt: T0 - 9 * HOUR }),
    aRequestIn('failed', {
      id: 'req-5e7a31',
      requester: isaiah,
      group: { alias: 'prod-admin', id: 'g2', displayName: 'Production admin' },
      createdAt: T0 - 4 * HOUR,
    }),
  ];
}

/** The daily digest (app/digest.ts): a full day, and a long list cut at ten. */
export function digestCards(): CatalogEntry[] {
  const full = digestContent('ops', aDay(), T0)!;
  const many = digestContent(
    'ops',
    Array.from({ length: 13 }, (_, i) =>
      aRequest({
        id: `req-00${(10 + i).toString(16)}aa`,
        createdAt: T0 - (13 - i) * 10 * MINUTE,
        approvalCard: cardAt(`17321904${String(i).padStart(5, '0')}`),
      }),
    ),
    T0,
  )!;
  return [
    {
      name: 'digest-day-channel',
      card: renderDigestCard({ content: full, channelId: CHANNEL_ID, timeZone: 'Europe/Berlin' }),
    },
    { name: 'digest-many-waiting-channel', card: renderDigestCard({ content: many, channelId: CHANNEL_ID }) },
  ];
}
