import { DomainError, ErrorCodes } from '../domain/errors';

/**
 * Optimistic concurrency: runs `attempt` (a fresh read, then a conditional commit) again while
 * it fails with REQUEST_CONFLICT — someone else wrote the request first — at most `retries`
 * more times. Any other error, or one conflict too many, is thrown.
 */
export async function retryOnConflict<T>(retries: number, attempt: () => Promise<T>): Promise<T> {
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isConflict(error) || tried >= retries) throw error;
    }
  }
}

export const isConflict = (error: unknown): boolean =>
  error instanceof DomainError && error.code === ErrorCodes.REQUEST_CONFLICT;
