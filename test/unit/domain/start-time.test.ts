import { parseStartTime } from '../../../src/domain/start-time';

// Thursday 2026-12-03 10:15 UTC (11:15 in Berlin, 05:15 in New York).
const NOW = Date.UTC(2026, 11, 3, 10, 15);
const utc = (d: number, h: number, m = 0) => Date.UTC(2026, 11, d, h, m);

describe('start times as people type them', () => {
  it('a time of day is today, or tomorrow once it has passed, in the person’s zone', () => {
    expect(parseStartTime('18:00', NOW)).toBe(utc(3, 18));
    expect(parseStartTime('02:00', NOW)).toBe(utc(4, 2));
    expect(parseStartTime('18:00', NOW, 'Europe/Berlin')).toBe(utc(3, 17));
    expect(parseStartTime('11:00', NOW, 'Europe/Berlin')).toBe(utc(4, 10));
    expect(parseStartTime('06:00', NOW, 'America/New_York')).toBe(utc(3, 11));
  });

  it('a time of day starts on the minute, whatever the seconds of now', () => {
    expect(parseStartTime('18:00', NOW + 7_250)).toBe(utc(3, 18));
  });

  it('tomorrow, today and weekdays (the next one; today when still ahead)', () => {
    expect(parseStartTime('tomorrow 02:00', NOW)).toBe(utc(4, 2));
    expect(parseStartTime('today 23:30', NOW)).toBe(utc(3, 23, 30));
    expect(parseStartTime('Fri 18:00', NOW)).toBe(utc(4, 18));
    expect(parseStartTime('thursday 12:00', NOW)).toBe(utc(3, 12));
    expect(parseStartTime('Thu 09:00', NOW)).toBe(utc(10, 9));
    expect(parseStartTime('mon 08:00', NOW, 'Europe/Berlin')).toBe(utc(7, 7));
  });

  it('ISO 8601 with Z or an offset as given, without one in the person’s zone', () => {
    expect(parseStartTime('2026-12-04T02:00Z', NOW)).toBe(utc(4, 2));
    expect(parseStartTime('2026-12-04T02:00:00.000Z', NOW)).toBe(utc(4, 2));
    expect(parseStartTime('2026-12-04T02:00+01:00', NOW)).toBe(utc(4, 1));
    expect(parseStartTime('2026-12-04 02:00', NOW, 'Europe/Berlin')).toBe(utc(4, 1));
  });

  it('a wall-clock time in a DST gap lands just after it', () => {
    // 2027-03-28 02:30 does not exist in Berlin (02:00 → 03:00).
    const at = parseStartTime('2027-03-28T02:30', NOW, 'Europe/Berlin');
    expect(at).toBe(Date.UTC(2027, 2, 28, 1, 30));
  });

  it.each([
    '25:00',
    '12:60',
    'noon',
    'next week 02:00',
    'fry 10:00',
    '2026-02-30T10:00',
    '2026-13-01T00:00',
    '',
  ])('"%s" is refused with the forms it takes', (text) => {
    expect(() => parseStartTime(text, NOW)).toThrow(/not a start time I read\. Say 02:00, tomorrow 02:00/);
  });
});
