/** The longest `?wait=` (s): proxies in front of Timebox may cut a connection quiet for longer. */
export const MAX_WAIT_SECONDS = 60;

/** Something that says "the store may have changed": this process's commits, another replica's. */
export interface ChangeFeed {
  subscribe(listener: () => void): () => void;
}

export interface HoldOptions<T> {
  /** Reads the current value again (the store, never a cached copy). */
  read: () => Promise<T>;
  /** Whether to keep holding the answer for this value. */
  holding: (value: T) => boolean;
  /** At most this long (ms). */
  waitMs: number;
  feed?: ChangeFeed;
  /**
   * A read this often whatever the feed says: a store without change notices across
   * processes, or a notice lost, costs at most this much delay.
   */
  pollMs?: number;
  /** The caller went away: answer (nobody reads it) and stop looking. */
  signal?: AbortSignal;
}

/**
 * Long-poll: resolves with the first value read for which `holding` is false — looked at on
 * every change notice and every `pollMs` — or with the last value read after `waitMs`. A read
 * that fails (the store briefly unreachable) is not an answer: the next notice or poll reads
 * again, and the deadline still holds.
 */
export function holdWhile<T>(first: T, options: HoldOptions<T>): Promise<T> {
  if (!options.holding(first) || options.waitMs <= 0 || options.signal?.aborted)
    return Promise.resolve(first);
  return new Promise<T>((resolve) => {
    let latest = first;
    let done = false;
    let reading = false;
    let again = false;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe?.();
      clearInterval(poll);
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', finish);
      resolve(latest);
    };
    // One read at a time; notices that arrive during a read ask for one more after it.
    const look = async () => {
      if (done) return;
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      try {
        do {
          again = false;
          try {
            latest = await options.read();
          } catch {
            // not an answer: looked at again on the next notice or poll
          }
          if (!options.holding(latest)) return finish();
        } while (again && !done);
      } finally {
        reading = false;
      }
    };
    const unsubscribe = options.feed?.subscribe(() => void look());
    const poll = setInterval(() => void look(), options.pollMs ?? 1000);
    const deadline = setTimeout(finish, options.waitMs);
    poll.unref();
    deadline.unref();
    options.signal?.addEventListener('abort', finish);
    // A change between the caller's first read and the subscription above.
    void look();
  });
}
