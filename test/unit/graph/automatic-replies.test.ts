import { instantOf, readRepliesSetting, repliesAt } from '../../../src/adapters/graph/automatic-replies';

describe("reading Graph's dateTimeTimeZone", () => {
  test('UTC and its spellings; seven fraction digits', () => {
    const at = Date.parse('2016-03-14T07:00:00Z');
    for (const timeZone of ['UTC', 'utc', 'Etc/UTC', 'GMT', 'Coordinated Universal Time'])
      expect(instantOf({ dateTime: '2016-03-14T07:00:00.0000000', timeZone })).toBe(at);
    expect(instantOf({ dateTime: '2016-03-14T07:00:00.1234567', timeZone: 'UTC' })).toBe(at + 123);
    expect(instantOf({ dateTime: '2016-03-14T07:00', timeZone: 'UTC' })).toBe(at);
  });

  test('an IANA zone, across daylight saving time', () => {
    expect(instantOf({ dateTime: '2026-01-15T09:00:00', timeZone: 'Europe/Berlin' })).toBe(
      Date.parse('2026-01-15T08:00:00Z'),
    );
    expect(instantOf({ dateTime: '2026-07-15T09:00:00', timeZone: 'Europe/Berlin' })).toBe(
      Date.parse('2026-07-15T07:00:00Z'),
    );
    // The day the clocks go forward in Berlin (2026-03-29, 02:00 → 03:00).
    expect(instantOf({ dateTime: '2026-03-29T12:00:00', timeZone: 'Europe/Berlin' })).toBe(
      Date.parse('2026-03-29T10:00:00Z'),
    );
  });

  test('Windows zone names (the default format in Exchange)', () => {
    expect(instantOf({ dateTime: '2026-07-01T09:00:00', timeZone: 'Pacific Standard Time' })).toBe(
      Date.parse('2026-07-01T16:00:00Z'),
    );
    expect(instantOf({ dateTime: '2026-01-01T09:00:00', timeZone: 'GMT Standard Time' })).toBe(
      Date.parse('2026-01-01T09:00:00Z'),
    );
    expect(instantOf({ dateTime: '2026-07-01T09:00:00', timeZone: 'GMT Standard Time' })).toBe(
      Date.parse('2026-07-01T08:00:00Z'),
    );
  });

  test('an explicit offset wins; anything unreadable is undefined', () => {
    expect(instantOf({ dateTime: '2026-07-01T09:00:00+02:00', timeZone: 'UTC' })).toBe(
      Date.parse('2026-07-01T07:00:00Z'),
    );
    expect(instantOf({ dateTime: '2026-07-01T09:00:00Z', timeZone: 'Pacific Standard Time' })).toBe(
      Date.parse('2026-07-01T09:00:00Z'),
    );
    expect(instantOf({ dateTime: 'tomorrow', timeZone: 'UTC' })).toBeUndefined();
    expect(instantOf({ dateTime: '2026-07-01T09:00:00', timeZone: 'Mars/Olympus_Mons' })).toBeUndefined();
    expect(instantOf({ timeZone: 'UTC' })).toBeUndefined();
    expect(instantOf(undefined)).toBeUndefined();
  });
});

describe('away or in', () => {
  const window = (start: string, end: string) =>
    readRepliesSetting({
      status: 'scheduled',
      scheduledStartDateTime: { dateTime: start, timeZone: 'UTC' },
      scheduledEndDateTime: { dateTime: end, timeZone: 'UTC' },
    });

  test('alwaysEnabled is away, disabled is in, whatever the schedule says; any case', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(repliesAt(readRepliesSetting({ status: 'alwaysEnabled' }), now)).toBe('away');
    expect(repliesAt(readRepliesSetting({ status: 'AlwaysEnabled' }), now)).toBe('away');
    expect(repliesAt(readRepliesSetting({ status: 'disabled' }), now)).toBe('in');
  });

  test('scheduled: away from the start until the end', () => {
    const w = window('2026-03-14T07:00:00.0000000', '2026-03-28T07:00:00.0000000');
    expect(repliesAt(w, Date.parse('2026-03-14T06:59:59Z'))).toBe('in');
    expect(repliesAt(w, Date.parse('2026-03-14T07:00:00Z'))).toBe('away');
    expect(repliesAt(w, Date.parse('2026-03-28T06:59:59Z'))).toBe('away');
    expect(repliesAt(w, Date.parse('2026-03-28T07:00:00Z'))).toBe('in');
  });

  test('what cannot be read is unknown', () => {
    const now = Date.now();
    expect(repliesAt(readRepliesSetting({ status: 'scheduled' }), now)).toBe('unknown');
    expect(repliesAt(readRepliesSetting({ status: 'sometimes' }), now)).toBe('unknown');
    expect(repliesAt(readRepliesSetting(undefined), now)).toBe('unknown');
    expect(repliesAt(window('bad', '2026-03-28T07:00:00'), now)).toBe('unknown');
  });
});
