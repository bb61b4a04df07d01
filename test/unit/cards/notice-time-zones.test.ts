import { NOTICE_KINDS, renderNotice, type NoticeKind } from '../../../src/cards';
import { CardPresenter } from '../../../src/adapters/teams/card-presenter';
import type { AccessService } from '../../../src/app/access-service';
import type { Store } from '../../../src/ports/store';
import type { AccessRequest } from '../../../src/domain/request';
import { aGroupRules, aRequestIn, HOUR, MINUTE, T0 } from '../../helpers/builders';
import { allStrings, type Json } from './card-walk';
import { FakeClock } from '../../helpers/fake-clock';

// T0 is 2026-11-21 14:00 UTC: 09:00 in New York (EST), 15:00 in Berlin (CET), 19:30 in Kolkata.
const text = (card: object | undefined): string => allStrings(card as Json).join('\n');
const times = (card: object | undefined): string[] =>
  text(card).match(/\d\d:\d\d [A-Z][A-Za-z0-9+:-]*/g) ?? [];
const warned = () => aRequestIn('active', { expiresAt: T0 + 10 * MINUTE });

function notice(
  kind: NoticeKind,
  request: AccessRequest,
  audience: 'channel' | 'requester',
  timeZone?: string,
) {
  return renderNotice(kind, { request, now: Math.max(T0, request.updatedAt), audience, timeZone }).card;
}

describe('notices in the reader’s time zone', () => {
  it('warns of the end in the requester’s zone, with how far off it is (it is read live)', () => {
    const card = notice('expiry_warning', warned(), 'requester', 'Asia/Kolkata');
    expect(text(card)).toContain(
      'Your access to Production DB (read) ends at 2026-11-21 19:40 GMT+5:30 (in 10m).',
    );
    expect(text(card)).toContain('2026-11-21 19:30 GMT+5:30'); // the footer: when it was written
    expect(text(card)).not.toContain('UTC');
  });

  it.each(NOTICE_KINDS.flatMap((k) => [[k, 'channel'] as const, [k, 'requester'] as const]))(
    '%s to %s names only the reader’s zone',
    (kind, audience) => {
      const request = kind === 'released' ? aRequestIn('released') : warned();
      const card = notice(kind, request, audience, 'Europe/Berlin');
      expect(text(card)).not.toContain('UTC');
      expect(times(card).length).toBeGreaterThan(0);
      expect(times(card).every((t) => t.endsWith(' CET'))).toBe(true);
    },
  );

  it('says when an ended grant ended, in the zone and without a relative phrase', () => {
    const expired = { ...aRequestIn('expired'), warnedAt: T0 - 10 * MINUTE };
    const card = notice('expiry_warning', expired, 'requester', 'America/New_York');
    const line = text(card)
      .split('\n')
      .find((l) => l.includes('ended at'))!;
    expect(line).toMatch(
      /^This warning is out of date\. Your access to Production DB \(read\) ended at 2026-11-2\d \d\d:\d\d EST\.$/,
    );
    expect(line).not.toMatch(/ ago|\(in /);
  });

  it('confirms a release’s removal in the requester’s zone', () => {
    const released = { ...aRequestIn('released'), membershipRemovedAt: T0 + 25 * MINUTE };
    const card = notice('released', released, 'requester', 'America/New_York');
    expect(text(card)).toContain('Your membership was removed at 2026-11-21 09:25 EST.');
  });

  it.each(['Mars/Olympus', '../../etc', ''])('falls back to UTC, as without a zone, for %p', (zone) => {
    expect(notice('expiry_warning', warned(), 'requester', zone)).toEqual(
      notice('expiry_warning', warned(), 'requester'),
    );
    expect(text(notice('expiry_warning', warned(), 'requester', zone))).toContain('14:10 UTC (in 10m)');
  });
});

describe('CardPresenter.notice picks the reader’s zone', () => {
  const request = aRequestIn('active', { expiresAt: T0 + HOUR });
  const presenter = (personZone: string | undefined) =>
    new CardPresenter({
      clock: new FakeClock(T0),
      store: {
        getPersonalChat: async (id: string) =>
          id === request.requester.id ? { timeZone: personZone } : undefined,
      } as unknown as Store,
      service: {
        policy: { approverChannels: { [request.approverChannel]: { timeZone: 'Europe/Berlin' } } },
        rulesOf: () => aGroupRules(),
      } as unknown as AccessService,
    });

  it('the channel’s zone for a thread reply, the requester’s for a personal message', async () => {
    const p = presenter('America/New_York');
    const thread = await p.notice('expiry_warning', request, 'channel');
    const personal = await p.notice('expiry_warning', request, 'requester');
    expect(text(thread.card)).toContain('ends at 2026-11-21 16:00 CET (in 1h)');
    expect(text(personal.card)).toContain('ends at 2026-11-21 10:00 EST (in 1h)');
  });

  it('UTC for a requester whose Teams never told a zone', async () => {
    const personal = await presenter(undefined).notice('granted', request, 'requester');
    expect(text(personal.card)).toContain('until 2026-11-21 15:00 UTC (in 1h)');
  });
});
