import type { AccessRequest } from '../domain/request';
import type { GroupRules } from '../domain/policy';
import { formatDuration } from './format';

const LADDER_MS = [15, 30, 60, 120, 240, 480, 720, 1440].map((m) => m * 60_000);
/** Without policy at hand, extensions are offered up to this; the bot still checks the cap. */
const DEFAULT_EXTENSION_MAX_MS = 4 * 3_600_000;

export interface Choice {
  title: string;
  value: string;
}

/** Durations from the usual ladder up to `maxMs`, plus `maxMs` itself when it is off the ladder. */
export function durationChoices(maxMs: number): Choice[] {
  const values = LADDER_MS.filter((ms) => ms <= maxMs);
  if (maxMs > 0 && !values.includes(maxMs)) values.push(maxMs);
  return values.map((ms) => ({ title: formatDuration(ms), value: formatDuration(ms) }));
}

/** How much longer an active grant may become, by the group's caps when they are known. */
export function extensionChoices(request: AccessRequest, rules?: GroupRules): Choice[] {
  if (!rules) return durationChoices(DEFAULT_EXTENSION_MAX_MS);
  const total = request.durationMs + request.extensions.reduce((sum, e) => sum + e.addedMs, 0);
  const room = Math.min(rules.maxDurationMs, rules.extension.maxTotalMs - total);
  return room >= 60_000 ? durationChoices(room) : [];
}

/** The preselected choice: `preferred` when offered, else the middle-ish "1h", else the first. */
export function defaultChoice(choices: Choice[], preferred?: string): string {
  const values = choices.map((c) => c.value);
  if (preferred && values.includes(preferred)) return preferred;
  return values.includes('1h') ? '1h' : (values[0] ?? '');
}
