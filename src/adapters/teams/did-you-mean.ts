import { DomainError, ErrorCodes } from '../../domain/errors';
import type { Policy } from '../../domain/policy';

/** Edit distance (insert, delete, substitute, swap of neighbours), stopping early past `max`. */
export function distance(a: string, b: string, max = 3): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]!.push(best);
    }
  }
  return rows[a.length]![b.length]!;
}

/** Near misses allowed: one edit for short words ("hlep"), two for longer ones ("requets", "relase"). */
const limitFor = (word: string): number => (word.length <= 4 ? 1 : 2);

/** The word of `candidates` closest to `typed` (a mistyped command word), if one is close enough. */
export function suggestWord(typed: string, candidates: readonly string[]): string | undefined {
  const wanted = typed.trim().toLowerCase();
  if (!wanted || wanted.length > 40) return undefined;
  let best: { word: string; score: number } | undefined;
  for (const word of candidates) {
    const score = distance(wanted, word, limitFor(word));
    if (score <= limitFor(word) && (!best || score < best.score)) best = { word, score };
  }
  return best?.word;
}

/** The group a person most likely meant by a near miss ("db-raed", "prod admin"), if one is close. */
export function suggestGroup(policy: Policy, typed: string): string | undefined {
  const wanted = typed
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  if (!wanted || wanted.length > 80) return undefined;
  let best: { alias: string; score: number } | undefined;
  for (const [alias, group] of Object.entries(policy.groups)) {
    for (const name of [alias, group.displayName.toLowerCase().replace(/\s+/g, '-')]) {
      const limit = limitFor(name);
      const score = name.startsWith(wanted) && wanted.length >= 3 ? 0.5 : distance(wanted, name, limit);
      if (score <= limit && (!best || score < best.score)) best = { alias, score };
    }
  }
  return best?.alias;
}

/** Adds "Did you mean …?" to an unknown-group error when a group is close to what was typed. */
export function withSuggestion(error: unknown, policy: Policy): unknown {
  if (
    !(error instanceof DomainError) ||
    error.code !== ErrorCodes.GROUP_UNKNOWN ||
    typeof error.details.text !== 'string'
  )
    return error;
  const suggestion = suggestGroup(policy, error.details.text);
  if (!suggestion) return error;
  return new DomainError(
    error.code,
    `There is no group "${clip(error.details.text)}". Did you mean ${suggestion}?`,
    { ...error.details, suggestion },
  );
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 40 ? `${flat.slice(0, 39)}…` : flat;
}
