import { formatDuration } from '../domain/duration';

const pad = (n: number): string => String(n).padStart(2, '0');

/** `2026-11-21 14:05 UTC`: unambiguous for every reader, whatever their locale. */
export function formatUtc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** `14:05 UTC`, or the full date when `ms` is not on the same UTC day as `now`. */
export function formatUtcShort(ms: number, now: number): string {
  const full = formatUtc(ms);
  return full.slice(0, 10) === formatUtc(now).slice(0, 10) ? full.slice(11) : full;
}

/** A coarse span for people: `1h5m`, `45m`, `30s`; seconds only under a minute. */
export function humanSpan(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 60_000) return formatDuration(abs);
  return formatDuration(Math.round(abs / 60_000) * 60_000);
}

/** `in 1h5m` / `5m ago` / `now`. */
export function relative(ms: number, now: number): string {
  const diff = ms - now;
  if (Math.abs(diff) < 1000) return 'now';
  return diff > 0 ? `in ${humanSpan(diff)}` : `${humanSpan(diff)} ago`;
}

/** `2026-11-21 14:05 UTC (in 1h5m)`. */
export function formatWhen(ms: number, now: number): string {
  return `${formatUtc(ms)} (${relative(ms, now)})`;
}

export { formatDuration };
