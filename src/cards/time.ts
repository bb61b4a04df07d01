import { validTimeZone } from '../domain/time-zone';
import { humanSpan, relative } from './format';

export { validTimeZone };

/**
 * Times as a reader sees them: in their time zone (an IANA name Teams or the policy gave),
 * else UTC, always naming the zone. The audit, CLI and exports keep formatUtc / ISO instead.
 */

export const UTC = 'UTC';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, timeZone: string): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(key, f);
  }
  return f;
}

interface Parts {
  date: string;
  time: string;
  zone: string;
}

const GMT_OFFSET = /^GMT[+-]/;

/** Parts of recent minutes, per zone: a card shows a handful of times, each formatted once a minute. */
const recentParts = new Map<string, Parts>();
const RECENT_PARTS = 4096;

/**
 * NB: formatToParts costs ~20 µs and an array of objects a call, and every card render asks for
 * several times (the same ones for each card of a request): remembered per zone and minute. All
 * zones' offsets are whole minutes (the seconds of pre-1900 local mean times aside, which cards
 * never show), so every instant of one UTC minute has the same parts.
 */
function partsOf(ms: number, timeZone: string): Parts {
  const key = `${timeZone}|${Math.floor(ms / 60_000)}`;
  let parts = recentParts.get(key);
  if (!parts) {
    if (recentParts.size >= RECENT_PARTS) recentParts.clear();
    parts = formatParts(ms, timeZone);
    recentParts.set(key, parts);
  }
  return parts;
}

function formatParts(ms: number, timeZone: string): Parts {
  const get = (f: Intl.DateTimeFormat) => {
    const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, x.value]));
    return {
      date: `${p.year}-${p.month}-${p.day}`,
      time: `${p.hour}:${p.minute}`,
      zone: p.timeZoneName ?? '',
    };
  };
  const us = get(formatter('en-US', timeZone));
  // en-US names American zones (EST), en-GB European ones (CET, BST); others stay "GMT+5:30".
  if (!GMT_OFFSET.test(us.zone)) return us;
  return { ...us, zone: get(formatter('en-GB', timeZone)).zone };
}

const zoneOrUtc = (timeZone: string | undefined): string => validTimeZone(timeZone) ?? UTC;

/** `2026-11-21 14:05 CET`: the date and time in `timeZone` (UTC when unknown), naming the zone. */
export function formatIn(ms: number, timeZone?: string): string {
  const p = partsOf(ms, zoneOrUtc(timeZone));
  return `${p.date} ${p.time} ${p.zone}`;
}

/** `14:05 CET`, or the full date when `ms` is not on the same day as `reference` in that zone. */
export function formatShortIn(ms: number, reference: number, timeZone?: string): string {
  const zone = zoneOrUtc(timeZone);
  const p = partsOf(ms, zone);
  return p.date === partsOf(reference, zone).date ? `${p.time} ${p.zone}` : `${p.date} ${p.time} ${p.zone}`;
}

/** `ends in 45m` / `ended 3m ago`: for an end a person reads live. */
export function endsRelative(end: number, now: number): string {
  const diff = end - now;
  if (Math.abs(diff) < 1000) return 'ends now';
  return diff > 0 ? `ends in ${humanSpan(diff)}` : `ended ${humanSpan(diff)} ago`;
}

/** `2026-11-21 14:05 CET (in 1h5m)`: an absolute time with how far off it is. */
export function formatWhenIn(ms: number, now: number, timeZone?: string): string {
  return `${formatIn(ms, timeZone)} (${relative(ms, now)})`;
}
