import {
  renderApprovalCard,
  renderPendingCard,
  renderReceiptCard,
  renderStatusCard,
} from '../../../src/cards';
import { Status } from '../../../src/domain/request';
import { aRequestIn, HOUR, MINUTE, T0 } from '../../helpers/builders';
import { allStrings, type Json } from './card-walk';

// T0 is 2026-11-21 14:00 UTC: 09:00 in New York (EST), 15:00 in Berlin (CET), 19:30 in Kolkata.
const active = aRequestIn(Status.ACTIVE, { createdAt: T0, updatedAt: T0 + 5 * MINUTE });
const now = T0 + 10 * MINUTE;
const text = (card: object): string => allStrings(card as Json).join('\n');
const times = (card: object): string[] => text(card).match(/\d\d:\d\d [A-Z][A-Za-z0-9+:-]*/g) ?? [];

describe('cards in the reader’s time zone', () => {
  it('shows every time of a receipt in New York time, naming the zone', () => {
    const card = renderReceiptCard({ request: active, now, timeZone: 'America/New_York' });
    expect(text(card)).toContain('Requested');
    expect(text(card)).toContain('2026-11-21 09:00 EST');
    expect(times(card).length).toBeGreaterThan(2);
    expect(times(card).every((t) => t.endsWith(' EST'))).toBe(true);
    expect(text(card)).not.toContain('UTC');
  });

  it('shows the approval card in the channel’s zone', () => {
    const card = renderApprovalCard({ request: active, viewer: 'other', now, timeZone: 'Europe/Berlin' });
    expect(text(card)).toContain('2026-11-21 15:00 CET');
    expect(times(card).every((t) => t.endsWith(' CET'))).toBe(true);
  });

  it('shows a half-hour zone with its offset', () => {
    const card = renderReceiptCard({ request: active, now, timeZone: 'Asia/Kolkata' });
    expect(text(card)).toContain('2026-11-21 19:30 GMT+5:30');
  });

  it.each(['Mars/Olympus', '../../etc', ''])('renders in UTC, as without a zone, for %p', (zone) => {
    const withBadZone = renderReceiptCard({ request: active, now, timeZone: zone });
    expect(withBadZone).toEqual(renderReceiptCard({ request: active, now }));
    expect(text(withBadZone)).toContain('2026-11-21 14:00 UTC');
  });

  it('shows status and pending lists in the viewer’s zone, with relative times', () => {
    const status = renderStatusCard({ open: [active], recent: [], now, timeZone: 'America/New_York' });
    expect(text(status)).toContain('until 2026-11-21 11:05 EST (in 1h55m)');
    expect(text(status)).toContain('As of 2026-11-21 09:10 EST');
    const pending = aRequestIn(Status.PENDING, { createdAt: T0, updatedAt: T0 });
    const list = renderPendingCard({ requests: [pending], now: T0 + HOUR, timeZone: 'Europe/Berlin' });
    expect(text(list)).toContain('15:00 CET (1h ago)');
  });
});
