import { validatePolicy } from '../../../src/domain/policy';
import {
  DIGEST_WINDOW_MS,
  digestContent,
  digestZone,
  lastDigestAt,
  localDate,
  nextDigestAt,
} from '../../../src/domain/digest';
import { aPerson, aRequest, aRequestIn, HOUR, MINUTE } from '../../helpers/builders';
import { testPolicy } from '../../helpers/harness';

const utc = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

describe('nextDigestAt: the next wall-clock time in the zone', () => {
  // Berlin is UTC+1 in November (CET), UTC+2 in summer (CEST).
  it('is today’s 09:00 Berlin when it is still before it', () => {
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 11, 21, 7, 59))).toBe(utc(2026, 11, 21, 8, 0));
  });

  it('is tomorrow’s once today’s has come (strictly after now)', () => {
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 11, 21, 8, 0))).toBe(utc(2026, 11, 22, 8, 0));
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 11, 21, 20, 0))).toBe(utc(2026, 11, 22, 8, 0));
  });

  it('reads the date in the zone, not in UTC (23:30 UTC is already tomorrow in Berlin)', () => {
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 11, 21, 23, 30))).toBe(utc(2026, 11, 22, 8, 0));
    expect(nextDigestAt('00:15', 'Europe/Berlin', utc(2026, 11, 21, 23, 30))).toBe(utc(2026, 11, 22, 23, 15));
  });

  it('follows DST: 09:00 CET before the spring change, 09:00 CEST (07:00 UTC) on the day itself', () => {
    // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 3, 28, 9, 0))).toBe(utc(2026, 3, 29, 7, 0));
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 3, 27, 9, 0))).toBe(utc(2026, 3, 28, 8, 0));
    // 2026-10-25: back from 03:00 CEST to 02:00 CET.
    expect(nextDigestAt('09:00', 'Europe/Berlin', utc(2026, 10, 24, 8, 0))).toBe(utc(2026, 10, 25, 8, 0));
  });

  it('puts a time inside the spring gap just after it (02:30 → 03:30 CEST)', () => {
    expect(nextDigestAt('02:30', 'Europe/Berlin', utc(2026, 3, 28, 9, 0))).toBe(utc(2026, 3, 29, 1, 30));
  });

  it('works in UTC and far from it', () => {
    expect(nextDigestAt('09:00', 'UTC', utc(2026, 11, 21, 9, 0))).toBe(utc(2026, 11, 22, 9, 0));
    // Kolkata is UTC+5:30: 09:00 there is 03:30 UTC.
    expect(nextDigestAt('09:00', 'Asia/Kolkata', utc(2026, 11, 21, 4, 0))).toBe(utc(2026, 11, 22, 3, 30));
  });
});

describe('lastDigestAt and localDate', () => {
  it('is today’s time once it has come, else yesterday’s, with the date in the zone', () => {
    expect(lastDigestAt('09:00', 'Europe/Berlin', utc(2026, 11, 21, 8, 0))).toEqual({
      date: '2026-11-21',
      at: utc(2026, 11, 21, 8, 0),
    });
    expect(lastDigestAt('09:00', 'Europe/Berlin', utc(2026, 11, 21, 7, 0))).toEqual({
      date: '2026-11-20',
      at: utc(2026, 11, 20, 8, 0),
    });
    expect(lastDigestAt('09:00', 'Europe/Berlin', utc(2026, 3, 1, 7, 0))).toEqual({
      date: '2026-02-28',
      at: utc(2026, 2, 28, 8, 0),
    });
    expect(localDate(utc(2026, 12, 31, 23, 30), 'Europe/Berlin')).toBe('2027-01-01');
  });
});

describe('digestZone and the policy key', () => {
  const withDigest = (digest: unknown, timeZone?: string) => {
    const raw = testPolicy();
    const [name] = Object.keys(raw.approverChannels);
    raw.approverChannels[name!] = { ...raw.approverChannels[name!]!, digest, timeZone } as never;
    return { raw, name: name! };
  };

  it('accepts { at, timeZone } and defaults the zone to the channel’s, then UTC', () => {
    const a = withDigest({ at: '09:00', timeZone: 'Europe/Berlin' });
    const channel = validatePolicy(a.raw).approverChannels[a.name]!;
    expect(channel.digest).toEqual({ at: '09:00', timeZone: 'Europe/Berlin' });
    expect(digestZone(channel)).toBe('Europe/Berlin');
    const b = withDigest({ at: '17:30' }, 'Asia/Kolkata');
    expect(digestZone(validatePolicy(b.raw).approverChannels[b.name]!)).toBe('Asia/Kolkata');
    const c = withDigest({ at: '17:30' });
    expect(digestZone(validatePolicy(c.raw).approverChannels[c.name]!)).toBe('UTC');
  });

  it.each(['9:00', '24:00', '09:60', 'nine', ''])('refuses the time %p, naming the key', (at) => {
    const { raw, name } = withDigest({ at });
    expect(() => validatePolicy(raw)).toThrow(
      new RegExp(`approverChannels\\.${name}\\.digest\\.at: is a time of day as HH:MM`),
    );
  });

  it('refuses a zone that is not an IANA zone, and unknown keys', () => {
    const a = withDigest({ at: '09:00', timeZone: 'Mars/Olympus' });
    expect(() => validatePolicy(a.raw)).toThrow(
      new RegExp(`approverChannels\\.${a.name}\\.digest\\.timeZone`),
    );
    const b = withDigest({ at: '09:00', every: 'day' });
    expect(() => validatePolicy(b.raw)).toThrow(/digest/);
  });
});

describe('digestContent: what a channel is told', () => {
  // 09:00 Berlin on 2026-11-22: the window is (2026-11-21 08:00 UTC, 2026-11-22 08:00 UTC].
  const now = utc(2026, 11, 22, 8, 0);
  const since = now - DIGEST_WINDOW_MS;

  it('says nothing when nothing waits and nothing happened in the last 24 h', () => {
    const old = aRequestIn('expired', { id: 'old', createdAt: utc(2026, 11, 20, 5, 50) }); // ended 2026-11-20 07:55
    const denied = aRequestIn('denied', { id: 'den', createdAt: utc(2026, 11, 21, 12, 0) });
    const elsewhere = aRequest({ id: 'dev', approverChannel: 'dev' });
    expect(digestContent('ops', [old, denied, elsewhere], now)).toBeUndefined();
    expect(digestContent('ops', [], now)).toBeUndefined();
  });

  it('sorts each request into what waits, granted, extended, ended and failed, from its own times', () => {
    const pending = aRequest({ id: 'p1', createdAt: utc(2026, 11, 21, 6, 0) }); // waits since before the window
    // Asked 13:50, approved 13:55, granted 13:55:02 (UTC); extended at 07:00 today.
    const active = aRequestIn('active', {
      id: 'a1',
      createdAt: utc(2026, 11, 21, 13, 50),
      extensions: [
        { by: aPerson(), at: utc(2026, 11, 21, 7, 0), addedMs: 30 * MINUTE }, // before the window
        { by: aPerson(), at: utc(2026, 11, 22, 7, 0), addedMs: HOUR },
      ],
    });
    // Granted 20:05:02, expired 22:05:02 (2h).
    const expired = aRequestIn('expired', { id: 'e2', createdAt: utc(2026, 11, 21, 20, 0) });
    // Failed at 10:05:02.
    const failed = aRequestIn('failed', { id: 'f1', createdAt: utc(2026, 11, 21, 10, 0) });
    const extensionWaits = aRequestIn('active', {
      id: 'a2',
      createdAt: utc(2026, 11, 20, 6, 0), // granted the day before: only its waiting extension counts
      pendingExtension: { by: aPerson(), at: utc(2026, 11, 22, 7, 30), addedMs: HOUR, votes: [] },
    });
    const other = aRequestIn('active', {
      id: 'x1',
      approverChannel: 'dev',
      createdAt: utc(2026, 11, 21, 13, 0),
    });
    const content = digestContent(
      'ops',
      [pending, active, expired, failed, extensionWaits, other, active],
      now,
    )!;
    const ids = (items: Array<{ request: { id: string }; at: number }>) =>
      items.map((i) => [i.request.id, i.at]);
    expect(content.since).toBe(since);
    expect(content.until).toBe(now);
    expect(ids(content.waiting)).toEqual([
      ['p1', utc(2026, 11, 21, 6, 0)],
      ['a2', utc(2026, 11, 22, 7, 30)],
    ]);
    expect(ids(content.granted)).toEqual([
      ['a1', utc(2026, 11, 21, 13, 55) + 2000],
      ['e2', utc(2026, 11, 21, 20, 5) + 2000],
    ]);
    expect(ids(content.extended)).toEqual([['a1', utc(2026, 11, 22, 7, 0)]]);
    expect(ids(content.ended)).toEqual([['e2', utc(2026, 11, 21, 22, 5) + 2000]]);
    expect(ids(content.failed)).toEqual([['f1', utc(2026, 11, 21, 10, 5) + 2000]]);
  });

  it('counts the window as (now − 24 h, now]: a grant at its very start is yesterday’s news', () => {
    const atStart = aRequestIn('active', { id: 'g0', grantedAt: since });
    const atEnd = aRequestIn('active', { id: 'g1', grantedAt: now });
    const content = digestContent('ops', [atStart, atEnd], now)!;
    expect(content.granted.map((i) => i.request.id)).toEqual(['g1']);
  });

  it('counts released and revoked grants as ended, and a revoked scheduled request (never granted) not', () => {
    const released = aRequestIn('released', { id: 'r1', createdAt: utc(2026, 11, 21, 12, 0) });
    const revoked = aRequestIn('revoked', { id: 'r2', createdAt: utc(2026, 11, 21, 12, 0) });
    const neverGranted = aRequestIn('revoked', {
      id: 'r3',
      createdAt: utc(2026, 11, 21, 12, 0),
      grantedAt: undefined,
    });
    const content = digestContent('ops', [released, revoked, neverGranted], now)!;
    expect(content.ended.map((i) => i.request.id)).toEqual(['r2', 'r1']); // revoked 12:25:02, released 12:35:02
  });
});
