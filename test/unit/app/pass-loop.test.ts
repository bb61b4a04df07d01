import { PassLoop, type NextPass } from '../../../src/app/pass-loop';
import { CLOCK_START, FakeClock } from '../../helpers/fake-clock';

/** A loop whose passes answer what `answers` says, one by one (then undefined), and count. */
function rig(answers: NextPass[] = []) {
  const clock = new FakeClock();
  let release: (() => void) | undefined;
  const state = { passes: 0, hold: false };
  const loop = new PassLoop(clock, async () => {
    state.passes++;
    if (state.hold) await new Promise<void>((resolve) => (release = resolve));
    return answers.shift();
  });
  return { clock, loop, state, release: () => release?.() };
}

describe('PassLoop', () => {
  it('arms one timer for the time the pass asks, re-arming it on every pass', async () => {
    const { clock, loop, state } = rig([CLOCK_START + 5000, CLOCK_START + 2000]);
    loop.poke();
    await loop.settled();
    expect(clock.pending()).toEqual([CLOCK_START + 5000]);
    // A poke before the timer: the pass cancels the old timer, arms the new time.
    loop.poke();
    await loop.settled();
    expect(clock.pending()).toEqual([CLOCK_START + 2000]);
    await clock.advance(2000);
    await loop.settled();
    expect(state.passes).toBe(3);
    expect(clock.pending()).toEqual([]); // the third pass asked for nothing
  });

  it('a time already past fires at once; `now` runs again without a timer', async () => {
    const { clock, loop, state } = rig([CLOCK_START - 1, 'now', undefined]);
    loop.poke();
    await loop.settled();
    expect(clock.pending()).toEqual([CLOCK_START]);
    await clock.runDue();
    await loop.settled();
    expect(state.passes).toBe(3);
    expect(clock.pending()).toEqual([]);
  });

  it('a poke during a pass runs one more pass after it, never two side by side', async () => {
    const r = rig();
    r.state.hold = true;
    r.loop.poke();
    r.loop.poke();
    r.loop.poke();
    expect(r.loop.busy).toBe(true);
    expect(r.state.passes).toBe(1);
    r.state.hold = false;
    r.release();
    await r.loop.settled();
    expect(r.state.passes).toBe(2);
    expect(r.loop.busy).toBe(false);
  });

  it('stop waits for the running pass, then arms no timer and runs no pass', async () => {
    const r = rig([CLOCK_START + 1000]);
    r.state.hold = true;
    r.loop.poke();
    const stopped = r.loop.stop();
    expect(r.loop.stopped).toBe(true);
    r.release();
    await stopped;
    expect(r.clock.pending()).toEqual([]);
    r.loop.poke();
    await r.loop.settled();
    expect(r.state.passes).toBe(1);
  });
});
