import type { Clock } from '../ports/clock';

/**
 * What a pass asks for next: a time (epoch ms) for the timer to wake the loop at, `'now'` to
 * run once more at once (more may be due), or `undefined` to sleep until poked.
 */
export type NextPass = number | 'now' | undefined;

/**
 * A background loop's passes, one at a time, and its one timer. A poke during a pass runs one
 * more pass after it, never two side by side; each pass starts by cancelling the timer and
 * ends by saying when it wants the next, and the timer is re-armed for that time. Once
 * stopped, no pass starts and no timer is armed. The shape of the scheduler and the digests.
 */
export class PassLoop {
  private cancelTimer?: () => void;
  private running?: Promise<void>;
  private again = false;
  private halted = false;

  constructor(
    private readonly clock: Clock,
    private readonly pass: () => Promise<NextPass>,
  ) {}

  /** Runs a pass now, or once more after the one that is running. */
  poke(): void {
    if (this.halted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  /** No pass after this one and no timer; resolves once the running pass is over. */
  async stop(): Promise<void> {
    this.halted = true;
    this.cancelTimer?.();
    await this.running;
  }

  /** Whether stop() was called: a pass checks it to end early. */
  get stopped(): boolean {
    return this.halted;
  }

  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Whether a pass is running or about to (for tests that wait until nothing moves). */
  get busy(): boolean {
    return this.running !== undefined || this.again;
  }

  private async run(): Promise<void> {
    this.cancelTimer?.();
    const next = await this.pass();
    if (this.halted || next === undefined) return;
    if (next === 'now') this.again = true;
    // NB: from the time now, not the pass's start: time that passed meanwhile is not slept
    // again, and a time already past fires at once.
    else this.cancelTimer = this.clock.setTimer(Math.max(0, next - this.clock.now()), () => this.poke());
  }
}
