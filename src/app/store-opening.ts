import { DomainError, ErrorCodes } from '../domain/errors';
import type { Logger } from '../ports/logger';
import type { Store } from '../ports/store';

/** A store being opened: `opened` resolves once it is (never, if cancelled first). */
export interface Opening {
  isOpen(): boolean;
  opened: Promise<void>;
  /** Stops retrying (shutdown before the store ever opened). */
  cancel(): void;
}

export const FIRST_OPEN_RETRY_MS = 500;
export const MAX_OPEN_RETRY_MS = 30_000;

/**
 * Opens the store. A store that cannot be read (STORE_CORRUPT, a schema newer than the code, a
 * bad configuration) stops the start, as it always did. One that cannot be reached now
 * (STORE_UNAVAILABLE: the database is not up yet) is retried in the background with backoff,
 * each failure logged once, while /healthz answers 200 and /readyz 503: a replica started
 * before its database waits for it instead of crash-looping.
 */
export async function openOrRetry(store: Pick<Store, 'open'>, logger: Logger): Promise<Opening> {
  let open = false;
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = () =>
    store.open().then(
      () => {
        open = true;
      },
      (error: unknown) => {
        if (!(error instanceof DomainError && error.code === ErrorCodes.STORE_UNAVAILABLE)) throw error;
        return error;
      },
    );
  const first = await attempt();
  const handle: Opening = {
    isOpen: () => open,
    opened: Promise.resolve(),
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
  if (open) return handle;
  handle.opened = new Promise<void>((resolve) => {
    let failures = 0;
    const retry = (error: DomainError) => {
      const waitMs = Math.min(MAX_OPEN_RETRY_MS, FIRST_OPEN_RETRY_MS * 2 ** failures++);
      logger.warn(
        { attempt: failures, err: error.message, cause: error.details?.cause, retryInMs: waitMs },
        'the store cannot be reached; Timebox is up but not ready, and opens it again shortly',
      );
      timer = setTimeout(() => {
        if (cancelled) return;
        attempt().then(
          (outcome) => (open ? resolve() : retry(outcome as DomainError)),
          (fatal: unknown) => {
            // Reachable now, but unreadable (a schema newer than the code): stay unready, say why.
            logger.error({ err: fatal }, 'the store cannot be opened; Timebox stays not ready');
          },
        );
      }, waitMs);
      timer.unref();
    };
    retry(first as DomainError);
  });
  return handle;
}
