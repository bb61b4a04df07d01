/** Time, so that tests control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once `delayMs` has passed; returns a function that cancels it. */
  setTimer(delayMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    // Node caps timers at 2^31-1 ms (~24.8 days); a longer wait re-arms itself.
    const max = 2 ** 31 - 1;
    let handle: NodeJS.Timeout;
    const arm = (remaining: number) => {
      handle = setTimeout(
        () => (remaining > max ? arm(remaining - max) : fn()),
        Math.min(Math.max(0, remaining), max),
      );
      handle.unref?.();
    };
    arm(delayMs);
    return () => clearTimeout(handle);
  },
};
