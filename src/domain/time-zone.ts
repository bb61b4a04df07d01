/**
 * Time zone names from outside (a Teams activity's `localTimezone`, a policy's `timeZone`):
 * accepted only when they are real IANA zones, because both are text someone else wrote.
 */

// IANA names are letters, digits and `_ + - /`; anything else (paths, markup) is refused before Intl sees it.
const IANA_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/;
const MAX_ZONE_LENGTH = 64;

/**
 * `value` when it is a real time zone, else undefined. Kept as written: ICU's own spelling
 * differs across runtimes (it answers Asia/Calcutta for Asia/Kolkata).
 */
export function validTimeZone(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_ZONE_LENGTH || !IANA_SHAPE.test(value))
    return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return value;
  } catch {
    return undefined; // RangeError: not a zone this runtime knows
  }
}
