import { DomainError, ErrorCodes } from './errors';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/;

/** Parses "30s", "15m", "2h", "1d", "1h30m" (case-insensitive) into milliseconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const match = DURATION.exec(trimmed);
  if (!trimmed || !match || match.slice(1).every((part) => part === undefined)) {
    throw new DomainError(
      ErrorCodes.DURATION_INVALID,
      `"${truncateForMessage(text)}" is not a duration. Use a number with a unit, like 30m, 2h, 1d or 1h30m.`,
    );
  }
  const [, d, h, m, s] = match;
  const ms =
    Number(d ?? 0) * UNIT_MS.d! +
    Number(h ?? 0) * UNIT_MS.h! +
    Number(m ?? 0) * UNIT_MS.m! +
    Number(s ?? 0) * UNIT_MS.s!;
  if (ms <= 0)
    throw new DomainError(
      ErrorCodes.DURATION_INVALID,
      'A duration must be longer than zero, like 30m or 2h.',
    );
  return ms;
}

const ISO_8601 = /^P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?$/i;

/**
 * What the workflow API accepts: the chat forms ("30m", "1h30m") or an ISO 8601 duration of
 * days and time ("PT30M", "P1DT2H"; no years, months or weeks, whose length depends on the date).
 */
export function parseApiDuration(text: string): number {
  const iso = ISO_8601.exec(text.trim());
  if (!iso) {
    if (/^P/i.test(text.trim()))
      throw new DomainError(
        ErrorCodes.DURATION_INVALID,
        `"${truncateForMessage(text)}" is not a duration this API takes: ISO 8601 with days, hours, minutes and seconds only, like PT30M or P1DT2H.`,
      );
    return parseDuration(text);
  }
  const [, d, h, m, s] = iso;
  if ([d, h, m, s].every((part) => part === undefined) || /T$/i.test(text.trim()))
    throw new DomainError(
      ErrorCodes.DURATION_INVALID,
      `"${truncateForMessage(text)}" names no length, like PT30M.`,
    );
  return parseDuration(`${d ?? 0}d${h ?? 0}h${m ?? 0}m${s ?? 0}s`);
}

/** Whether a word looks like a duration, for the command parser. */
export function looksLikeDuration(word: string): boolean {
  const match = DURATION.exec(word.trim().toLowerCase());
  return !!word.trim() && !!match && match.slice(1).some((part) => part !== undefined);
}

/** Formats milliseconds as the shortest "1d2h30m15s"-style text ("0s" for zero). */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000)) * 1000;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's']) {
    const size = UNIT_MS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out || '0s';
}

export function truncateForMessage(text: string, max = 40): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
