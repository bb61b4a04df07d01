import type { Clock } from '../../src/ports/clock';

/** 2026-11-21 09:00:00 UTC: where fake time starts unless a test says otherwise. */
export const CLOCK_START = Date.UTC(2026, 10, 21, 9, 0, 0);

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets the promise chains a timer started run to their end (a few turns of the event loop). */
export async function flushAsync(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A Clock that only moves when the test says so. `advance` fires the timers that fall due on
 * the way, in time order, each at its own time, and waits for `settle` after each one, so the
 * async work a timer starts (a scheduler pass, a worker pass doing real file I/O) is finished
 * before the next timer fires and before `advance` returns.
 */
export class FakeClock implements Clock {
  private current: number;
  private timers: Timer[] = [];
  private nextId = 1;
  /** Awaited after each fired timer; tests set it to wait for their loops (see the app rig). */
  settle: () => Promise<void> = () => flushAsync();

  constructor(start: number = CLOCK_START) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const timer: Timer = { id: this.nextId++, at: this.current + Math.max(0, delayMs), fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** When the armed timers fire, earliest first. */
  pending(): number[] {
    return this.timers.map((t) => t.at).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  /** Moves time forward to `at` (never back), firing every timer due on the way. */
  async advanceTo(at: number): Promise<void> {
    const end = Math.max(at, this.current);
    await this.settle(); // what is under way now happens now, not at the end of the jump
    for (;;) {
      const next = this.earliestDueBy(end);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      this.fire(next);
      await this.settle();
    }
    // NB: never back, also when time jumped meanwhile (a crash's jumpWhileDown under an advance that never finished).
    this.current = Math.max(this.current, end);
    await this.settle();
  }

  /** Fires the timers already due now (a delay of 0 set by the work of another timer). */
  async runDue(): Promise<number> {
    let fired = 0;
    for (let next = this.earliestDueBy(this.current); next; next = this.earliestDueBy(this.current)) {
      this.fire(next);
      fired++;
      await this.settle();
    }
    return fired;
  }

  /**
   * Moves time without firing anything, like a machine that was off: the timers armed before
   * are dropped, as a process's would be. For "the bot was down while time passed".
   */
  jumpWhileDown(ms: number): void {
    this.timers = [];
    this.current += ms;
  }

  /** Drops every armed timer (a crashed process's timers die with it). */
  clearTimers(): void {
    this.timers = [];
  }

  private earliestDueBy(end: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (t.at <= end && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t;
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    timer.fn();
  }
}
