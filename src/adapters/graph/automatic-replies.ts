import { validTimeZone } from '../../domain/time-zone';
import type { AutomaticReplies } from '../../ports/directory';

/** Graph's `dateTimeTimeZone`: a wall-clock time with no offset, and the zone it is read in. */
export interface DateTimeTimeZone {
  dateTime?: unknown;
  timeZone?: unknown;
}

/** The parts of `GET /users/{id}/mailboxSettings/automaticRepliesSetting` that Timebox reads. */
export interface AutomaticRepliesSetting {
  /** `disabled`, `alwaysEnabled` or `scheduled` (Graph's examples also spell it `Scheduled`). */
  status?: unknown;
  scheduledStartDateTime?: DateTimeTimeZone;
  scheduledEndDateTime?: DateTimeTimeZone;
}

/**
 * A setting as read once (what the cache keeps): whether someone is away depends on the time
 * it is asked at, so a scheduled window is kept as instants, not as an answer.
 */
export type RepliesWindow =
  { status: 'disabled' | 'alwaysEnabled' | 'unknown' } | { status: 'scheduled'; start: number; end: number };

/**
 * Windows time zone names Exchange uses by default for the common zones (CLDR windowsZones,
 * the "001" territory). Graph answers scheduled automatic replies in UTC in Microsoft's
 * examples; a mailbox set up in another zone may answer in its Windows name.
 */
const WINDOWS_ZONES: Record<string, string> = {
  'greenwich standard time': 'Atlantic/Reykjavik',
  'gmt standard time': 'Europe/London',
  'w. europe standard time': 'Europe/Berlin',
  'central europe standard time': 'Europe/Budapest',
  'central european standard time': 'Europe/Warsaw',
  'romance standard time': 'Europe/Paris',
  'e. europe standard time': 'Europe/Chisinau',
  'fle standard time': 'Europe/Kiev',
  'gtb standard time': 'Europe/Bucharest',
  'russian standard time': 'Europe/Moscow',
  'turkey standard time': 'Europe/Istanbul',
  'israel standard time': 'Asia/Jerusalem',
  'south africa standard time': 'Africa/Johannesburg',
  'arabian standard time': 'Asia/Dubai',
  'india standard time': 'Asia/Calcutta',
  'china standard time': 'Asia/Shanghai',
  'singapore standard time': 'Asia/Singapore',
  'tokyo standard time': 'Asia/Tokyo',
  'korea standard time': 'Asia/Seoul',
  'aus eastern standard time': 'Australia/Sydney',
  'e. australia standard time': 'Australia/Brisbane',
  'w. australia standard time': 'Australia/Perth',
  'new zealand standard time': 'Pacific/Auckland',
  'eastern standard time': 'America/New_York',
  'central standard time': 'America/Chicago',
  'mountain standard time': 'America/Denver',
  'us mountain standard time': 'America/Phoenix',
  'pacific standard time': 'America/Los_Angeles',
  'alaskan standard time': 'America/Anchorage',
  'hawaiian standard time': 'Pacific/Honolulu',
  'atlantic standard time': 'America/Halifax',
  'canada central standard time': 'America/Regina',
  'central standard time (mexico)': 'America/Mexico_City',
  'e. south america standard time': 'America/Sao_Paulo',
  'argentina standard time': 'America/Buenos_Aires',
};
const UTC_NAMES =
  /^(?:utc|gmt|z|etc\/(?:utc|gmt|uct|zulu)|coordinated universal time|utc[+-]?00?(?::?00)?)$/i;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at `at` (ms, positive east of Greenwich). */
function offsetAt(zone: string, at: number): number {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, format);
  }
  const whole = Math.floor(at / 1000) * 1000;
  const part = (type: string) => Number(format.formatToParts(whole).find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  );
  return asUtc - whole;
}

/** The IANA zone a Graph `timeZone` names ('UTC' for UTC), or undefined when it names none Timebox knows. */
function zoneOf(name: string): string | undefined {
  const text = name.trim();
  if (UTC_NAMES.test(text)) return 'UTC';
  return WINDOWS_ZONES[text.toLowerCase()] ?? validTimeZone(text);
}

/**
 * The instant a Graph `dateTimeTimeZone` names (epoch ms), or undefined when it cannot be read.
 * `dateTime` is a wall-clock time ("2016-03-14T07:00:00.0000000", 7 fraction digits), read in
 * `timeZone`; one carrying its own offset (or Z) is taken as it says.
 */
export function instantOf(value: DateTimeTimeZone | undefined): number | undefined {
  if (!value || typeof value.dateTime !== 'string') return undefined;
  const match = DATE_TIME.exec(value.dateTime.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, sec, fraction, offset] = match;
  const wall = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(sec ?? 0),
    Number((fraction ?? '0').padEnd(3, '0').slice(0, 3)),
  );
  if (!Number.isFinite(wall)) return undefined;
  if (offset) {
    if (offset.toUpperCase() === 'Z') return wall;
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    return wall - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const zone = typeof value.timeZone === 'string' ? zoneOf(value.timeZone) : 'UTC';
  if (!zone) return undefined;
  if (zone === 'UTC') return wall;
  // The offset at the guess, then at the instant it gives (right across a DST change too).
  const first = wall - offsetAt(zone, wall);
  const second = wall - offsetAt(zone, first);
  return second;
}

/** Reads Graph's setting into what the cache keeps; anything it cannot read is `unknown`. */
export function readRepliesSetting(setting: AutomaticRepliesSetting | undefined): RepliesWindow {
  const status = typeof setting?.status === 'string' ? setting.status.trim().toLowerCase() : '';
  if (status === 'disabled') return { status: 'disabled' };
  if (status === 'alwaysenabled') return { status: 'alwaysEnabled' };
  if (status !== 'scheduled') return { status: 'unknown' };
  const start = instantOf(setting?.scheduledStartDateTime);
  const end = instantOf(setting?.scheduledEndDateTime);
  if (start === undefined || end === undefined) return { status: 'unknown' };
  return { status: 'scheduled', start, end };
}

/** Away at `now`: always on, or scheduled with `now` in [start, end). */
export function repliesAt(window: RepliesWindow, now: number): AutomaticReplies {
  switch (window.status) {
    case 'alwaysEnabled':
      return 'away';
    case 'disabled':
      return 'in';
    case 'scheduled':
      return now >= window.start && now < window.end ? 'away' : 'in';
    default:
      return 'unknown';
  }
}
