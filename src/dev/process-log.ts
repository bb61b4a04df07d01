// The bot writes pino JSON (what production log pipelines read); `npm run dev` shows it to a
// person instead, through pino-pretty's API. Only the launcher uses this: pino-pretty is a
// devDependency, and production code outside src/dev must not need it (.dependency-cruiser.cjs).
import { prettyFactory } from 'pino-pretty';

interface PinoRecord {
  level: number;
  msg?: unknown;
  requestId?: unknown;
  event?: unknown;
}

/** Lines the bot printed that are pino records: an object with a numeric level and a time. */
function asPinoRecord(line: string): PinoRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    return typeof record.level === 'number' && typeof record.time === 'number'
      ? (record as unknown as PinoRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns one output line of the bot into what the terminal shows ("14:05:12 INFO: R-4F2K
 * pending → approved by Megan Bowen"); several lines for an error's stack. A transition's
 * message says it all, so its fields are left out; other records keep theirs on one line.
 * Anything that is not a pino record passes unchanged.
 */
export function botLogPrettifier(options: { color: boolean }): (line: string) => string[] {
  const common = {
    colorize: options.color,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
    singleLine: true,
  };
  const transition = prettyFactory({ ...common, hideObject: true });
  const other = prettyFactory(common);
  const withStack = prettyFactory({ ...common, singleLine: false });
  return (line) => {
    const record = asPinoRecord(line);
    if (!record) return [line];
    const isTransition = typeof record.requestId === 'string' && typeof record.event === 'string';
    const pretty = isTransition ? transition : record.level >= 50 ? withStack : other;
    return pretty(record).replace(/\n+$/, '').split('\n');
  };
}
