import { DomainError, ErrorCodes } from './errors';
import { truncateForMessage } from './duration';

/**
 * When a scheduled request starts, as a person types it (PRODUCT.md §3): `02:00` (today, or
 * tomorrow when that time has passed), `tomorrow 02:00`, `Fri 18:00` (the next Friday, today
 * when it is Friday before 18:00), or ISO 8601 (`2026-12-04T02:00`, with `Z` or an offset, else
 * in the person's zone). Times of day are read in `timeZone` (the person's, from Teams; UTC
 * when unknown), so "02:00" is 02:00 where the person is.
 */
export function parseStartTime(text: string, now: number, timeZone = 'UTC'): number {
  const typed = text.trim();
  const iso = ISO.exec(typed);
  if (iso) return fromIso(iso, typed, timeZone);
  const words = typed.toLowerCase().split(/\s+/);
  const clock = words.length >= 1 ? CLOCK.exec(words[words.length - 1]!) : null;
  if (!clock || words.length > 2) throw invalid(typed);
  const hour = Number(clock[1]);
  const minute = Number(clock[2]);
  if (hour > 23 || minute > 59) throw invalid(typed);
  const today = partsIn(now, timeZone);
  const day = words.length === 2 ? dayOffset(words[0]!, today.weekday, typed) : 0;
  let at = zonedTime({ ...today, hour, minute, second: 0 }, day, timeZone);
  // A bare time of day already past, or a weekday's time already past today: the next one.
  if (at <= now && words.length === 1) at = zonedTime({ ...today, hour, minute, second: 0 }, 1, timeZone);
  if (at <= now && words.length === 2 && WEEKDAYS.includes(words[0]!.slice(0, 3)))
    at = zonedTime({ ...today, hour, minute, second: 0 }, day + 7, timeZone);
  return at;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const CLOCK = /^(\d{1,2}):(\d{2})$/;
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function invalid(typed: string): DomainError {
  return new DomainError(
    ErrorCodes.START_INVALID,
    `"${truncateForMessage(typed)}" is not a start time I read. Say 02:00, tomorrow 02:00, Fri 18:00 or 2026-12-04T02:00.`,
  );
}

function fromIso(m: RegExpExecArray, typed: string, timeZone: string): number {
  const [, y, mo, d, h, mi, s, offset] = m;
  const fields = { year: +y!, month: +mo!, day: +d!, hour: +h!, minute: +mi!, second: +(s ?? 0) };
  if (fields.month < 1 || fields.month > 12 || fields.day < 1 || fields.day > 31 || fields.hour > 23)
    throw invalid(typed);
  if (fields.minute > 59 || fields.second > 59) throw invalid(typed);
  const utc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  if (new Date(utc).getUTCDate() !== fields.day) throw invalid(typed); // 2026-02-30
  if (offset === undefined) return zonedTime(fields, 0, timeZone);
  if (offset.toUpperCase() === 'Z') return utc;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return utc - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}

/** How many days ahead `word` is: `today`, `tomorrow`, or a weekday (its next occurrence, 0 = today). */
function dayOffset(word: string, weekday: number, typed: string): number {
  if (word === 'today') return 0;
  if (word === 'tomorrow') return 1;
  const target = WEEKDAYS.indexOf(word.slice(0, 3));
  const full = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
  if (target < 0 || !(word.length === 3 || full[target]!.startsWith(word))) throw invalid(typed);
  return (target - weekday + 7) % 7;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
}

/** The wall-clock date and weekday at `ms` in `timeZone`. */
function partsIn(ms: number, timeZone: string): Parts & { weekday: number } {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  });
  const get = (type: string) => format.formatToParts(ms).find((p) => p.type === type)!.value;
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    second: Number(get('second')),
    weekday: WEEKDAYS.indexOf(get('weekday').toLowerCase().slice(0, 3)),
  };
}

/**
 * The instant a wall-clock time (`plusDays` after the given date) has in `timeZone`. The zone's
 * offset is found by asking Intl what the guessed instant looks like there, twice, which
 * also lands a time inside a DST gap just after it (02:30 on a spring-forward night → 03:30).
 */
function zonedTime(p: Parts, plusDays: number, timeZone: string): number {
  const wall = Date.UTC(p.year, p.month - 1, p.day + plusDays, p.hour, p.minute, p.second ?? 0);
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const seen = partsIn(guess, timeZone);
    const seenWall = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second ?? 0);
    guess += wall - seenWall;
  }
  return guess;
}
