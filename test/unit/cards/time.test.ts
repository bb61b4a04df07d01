import { endsRelative, formatIn, formatShortIn, formatWhenIn, validTimeZone } from '../../../src/cards/time';
import { formatUtc } from '../../../src/cards/format';

const at = (iso: string): number => Date.parse(iso);

describe('validTimeZone', () => {
  it.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['America/New_York', 'America/New_York'],
    ['Asia/Kolkata', 'Asia/Kolkata'],
    ['America/Argentina/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
    ['UTC', 'UTC'],
    ['Etc/GMT+5', 'Etc/GMT+5'],
  ])('accepts %s as %s', (input, canonical) => {
    expect(validTimeZone(input)).toBe(canonical);
  });

  it.each([
    'Mars/Olympus',
    '../../etc',
    '/etc/passwd',
    'Europe/Berlin\n',
    '<b>UTC</b>',
    '',
    'Europe/' + 'x'.repeat(80),
    '+05:30',
    42,
    undefined,
    null,
    { toString: () => 'UTC' },
  ])('refuses %p', (input) => {
    expect(validTimeZone(input)).toBeUndefined();
  });
});

describe('formatIn', () => {
  const winter = at('2026-01-15T13:05:00Z');
  const summer = at('2026-07-15T13:05:00Z');

  it('is the UTC format when no zone or a bad one is given', () => {
    expect(formatIn(winter)).toBe('2026-01-15 13:05 UTC');
    expect(formatIn(winter, 'Mars/Olympus')).toBe('2026-01-15 13:05 UTC');
    expect(formatIn(winter, 'UTC')).toBe(formatUtc(winter));
  });

  it.each([
    ['Europe/Berlin', winter, '2026-01-15 14:05 CET'],
    ['Europe/Berlin', summer, '2026-07-15 15:05 CEST'],
    ['America/New_York', winter, '2026-01-15 08:05 EST'],
    ['America/New_York', summer, '2026-07-15 09:05 EDT'],
    ['Europe/London', summer, '2026-07-15 14:05 BST'],
    ['Asia/Kolkata', winter, '2026-01-15 18:35 GMT+5:30'],
    ['Asia/Kolkata', summer, '2026-07-15 18:35 GMT+5:30'],
    ['Pacific/Auckland', winter, '2026-01-16 02:05 GMT+13'],
  ])('in %s shows the local wall clock and names the zone', (zone, ms, text) => {
    expect(formatIn(ms, zone)).toBe(text);
  });

  it('writes midnight as 00, not 24', () => {
    expect(formatIn(at('2026-01-14T23:00:00Z'), 'Europe/Berlin')).toBe('2026-01-15 00:00 CET');
  });

  it('follows the spring-forward gap in Berlin (02:00 CET becomes 03:00 CEST)', () => {
    expect(formatIn(at('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toBe('2026-03-29 01:59 CET');
    expect(formatIn(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29 03:00 CEST');
  });

  it('tells apart the repeated hour when New York falls back', () => {
    expect(formatIn(at('2026-11-01T05:30:00Z'), 'America/New_York')).toBe('2026-11-01 01:30 EDT');
    expect(formatIn(at('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('2026-11-01 01:30 EST');
  });
});

describe('formatShortIn', () => {
  it('omits the date on the same local day, which differs from the UTC day', () => {
    const created = at('2026-01-15T19:00:00Z'); // 00:30 on the 16th in Kolkata
    const later = at('2026-01-15T20:00:00Z');
    expect(formatShortIn(later, created, 'Asia/Kolkata')).toBe('01:30 GMT+5:30');
    expect(formatShortIn(later, created, 'UTC')).toBe('20:00 UTC');
    const earlier = at('2026-01-15T18:00:00Z'); // 23:30 on the 15th in Kolkata
    expect(formatShortIn(earlier, created, 'Asia/Kolkata')).toBe('2026-01-15 23:30 GMT+5:30');
  });
});

describe('relative times', () => {
  const now = at('2026-01-15T13:00:00Z');

  it('says how long until an end, or how long since', () => {
    expect(endsRelative(now + 45 * 60_000, now)).toBe('ends in 45m');
    expect(endsRelative(now - 3 * 60_000, now)).toBe('ended 3m ago');
    expect(endsRelative(now + 400, now)).toBe('ends now');
  });

  it('puts the absolute time in the zone beside the relative one', () => {
    expect(formatWhenIn(now + 65 * 60_000, now, 'Europe/Berlin')).toBe('2026-01-15 15:05 CET (in 1h5m)');
  });
});
