import { DomainError } from '../domain/errors';

export interface BackoffOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * How long to wait before attempt `attempts + 1` of a side effect: exponential with "equal
 * jitter" (between half and all of base × 2^(attempts-1), capped), never sooner than a
 * Retry-After the dependency asked for (`details.retryAfterMs` of a DomainError).
 */
export function backoffMs(
  attempts: number,
  error: unknown,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempts - 1));
  const jittered = Math.round(exp / 2 + random() * (exp / 2));
  const asked = retryAfterOf(error);
  return asked === undefined ? jittered : Math.max(jittered, asked);
}

/** The Retry-After (ms) a dependency asked for, when the error carries one. */
export function retryAfterOf(error: unknown): number | undefined {
  const asked = error instanceof DomainError ? Number(error.details.retryAfterMs) : NaN;
  return Number.isFinite(asked) ? asked : undefined;
}
