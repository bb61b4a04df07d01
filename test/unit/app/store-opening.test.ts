import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { FIRST_OPEN_RETRY_MS, MAX_OPEN_RETRY_MS, openOrRetry } from '../../../src/app/store-opening';
import type { Logger } from '../../../src/ports/logger';

const unavailable = () => new DomainError(ErrorCodes.STORE_UNAVAILABLE, 'the database cannot be reached');

/** A store whose open() answers from a script, one outcome per call (the last one repeats). */
function scriptedStore(outcomes: Array<'ok' | Error>) {
  let calls = 0;
  return {
    calls: () => calls,
    open: () => {
      const outcome = outcomes[Math.min(calls++, outcomes.length - 1)];
      return outcome === 'ok' ? Promise.resolve() : Promise.reject(outcome);
    },
  };
}

function recordingLogger() {
  const warnings: Array<Record<string, unknown>> = [];
  const errors: unknown[] = [];
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (fields: Record<string, unknown>) => void warnings.push(fields),
    error: (fields: Record<string, unknown>) => void errors.push(fields),
  } as unknown as Logger;
  return { logger, warnings, errors };
}

/** Lets the store's promise callbacks run after a timer fired. */
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('openOrRetry: a store that cannot be reached yet is opened later, one that cannot be read stops the start', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('opens at once when the store answers', async () => {
    const store = scriptedStore(['ok']);
    const { logger, warnings } = recordingLogger();
    const opening = await openOrRetry(store, logger);
    expect(opening.isOpen()).toBe(true);
    await expect(opening.opened).resolves.toBeUndefined();
    expect(store.calls()).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('a store that is unreadable (corrupt, newer schema) fails the start as it always did', async () => {
    const corrupt = new DomainError(ErrorCodes.STORE_CORRUPT, 'hot.json is not JSON');
    await expect(openOrRetry(scriptedStore([corrupt]), recordingLogger().logger)).rejects.toBe(corrupt);
  });

  it('retries an unreachable store with doubling waits capped at 30 s, logging each failure once, and opens when it answers', async () => {
    const store = scriptedStore([unavailable(), unavailable(), unavailable(), 'ok']);
    const { logger, warnings } = recordingLogger();
    const opening = await openOrRetry(store, logger);
    expect(opening.isOpen()).toBe(false);
    let opened = false;
    void opening.opened.then(() => (opened = true));

    await jest.advanceTimersByTimeAsync(FIRST_OPEN_RETRY_MS - 1);
    expect(store.calls()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await flush();
    expect(store.calls()).toBe(2);
    await jest.advanceTimersByTimeAsync(FIRST_OPEN_RETRY_MS * 2);
    await flush();
    expect(store.calls()).toBe(3);
    expect(opening.isOpen()).toBe(false);
    await jest.advanceTimersByTimeAsync(FIRST_OPEN_RETRY_MS * 4);
    await flush();
    expect(store.calls()).toBe(4);
    expect(opening.isOpen()).toBe(true);
    expect(opened).toBe(true);
    expect(warnings.map((w) => w.retryInMs)).toEqual([500, 1000, 2000]);
    expect(warnings.map((w) => w.attempt)).toEqual([1, 2, 3]);

    const longOutage = scriptedStore([unavailable()]);
    const capped = recordingLogger();
    const stuck = await openOrRetry(longOutage, capped.logger);
    await jest.advanceTimersByTimeAsync(10 * MAX_OPEN_RETRY_MS);
    await flush();
    expect(Math.max(...capped.warnings.map((w) => w.retryInMs as number))).toBe(MAX_OPEN_RETRY_MS);
    stuck.cancel();
  });

  it('once cancelled (shutdown before the store opened), it never opens it', async () => {
    const store = scriptedStore([unavailable(), 'ok']);
    const opening = await openOrRetry(store, recordingLogger().logger);
    opening.cancel();
    await jest.advanceTimersByTimeAsync(10 * MAX_OPEN_RETRY_MS);
    await flush();
    expect(store.calls()).toBe(1);
    expect(opening.isOpen()).toBe(false);
  });

  it('reachable later but unreadable: stays not ready and says why, without crashing', async () => {
    const newer = new DomainError(ErrorCodes.STORE_CORRUPT, 'the database schema is newer than this Timebox');
    const store = scriptedStore([unavailable(), newer]);
    const { logger, errors } = recordingLogger();
    const opening = await openOrRetry(store, logger);
    await jest.advanceTimersByTimeAsync(FIRST_OPEN_RETRY_MS);
    await flush();
    expect(store.calls()).toBe(2);
    expect(opening.isOpen()).toBe(false);
    expect(errors).toEqual([{ err: newer }]);
    await jest.advanceTimersByTimeAsync(10 * MAX_OPEN_RETRY_MS);
    expect(store.calls()).toBe(2);
  });
});
