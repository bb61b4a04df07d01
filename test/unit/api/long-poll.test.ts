import { holdWhile, type ChangeFeed } from '../../../src/adapters/api/long-poll';

/** A feed a test triggers by hand. */
function feed(): ChangeFeed & { emit(): void; listeners: number } {
  const listeners = new Set<() => void>();
  return {
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit: () => listeners.forEach((l) => l()),
    get listeners() {
      return listeners.size;
    },
  };
}

const elapsed = async <T>(p: Promise<T>) => {
  const started = Date.now();
  const value = await p;
  return { value, ms: Date.now() - started };
};

describe('holdWhile (the long-poll)', () => {
  it('answers at once when the first value is not held, or no wait was asked', async () => {
    const read = jest.fn(async () => 'x');
    expect(
      await elapsed(holdWhile('approved', { read, holding: (v) => v === 'pending', waitMs: 5000 })),
    ).toMatchObject({ value: 'approved' });
    expect(await holdWhile('pending', { read, holding: () => true, waitMs: 0 })).toBe('pending');
    expect(read).not.toHaveBeenCalled();
  });

  it('answers as soon as a change notice finds a value no longer held, and unsubscribes', async () => {
    const f = feed();
    let state = 'pending';
    const waiting = elapsed(
      holdWhile('pending', {
        read: async () => state,
        holding: (v) => v === 'pending',
        waitMs: 10_000,
        feed: f,
        pollMs: 60_000,
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(f.listeners).toBe(1);
    f.emit(); // a commit that changed nothing of ours: still held
    await new Promise((r) => setTimeout(r, 20));
    state = 'approved';
    f.emit();
    const { value, ms } = await waiting;
    expect(value).toBe('approved');
    expect(ms).toBeLessThan(1000);
    expect(f.listeners).toBe(0);
  });

  it('without a notice, the polling fallback finds the change', async () => {
    let state = 'pending';
    setTimeout(() => (state = 'denied'), 100);
    const { value, ms } = await elapsed(
      holdWhile('pending', {
        read: async () => state,
        holding: (v) => v === 'pending',
        waitMs: 10_000,
        pollMs: 50,
      }),
    );
    expect(value).toBe('denied');
    expect(ms).toBeLessThan(2000);
  });

  it('answers with the last value read once the wait is over', async () => {
    const { value, ms } = await elapsed(
      holdWhile(1, { read: async () => 2, holding: () => true, waitMs: 300, pollMs: 50 }),
    );
    expect(value).toBe(2);
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(1500);
  });

  it('a failing read is not an answer; the deadline still holds', async () => {
    let calls = 0;
    const read = async () => {
      calls++;
      throw new Error('store unreachable');
    };
    const { value } = await elapsed(
      holdWhile('pending', { read, holding: () => true, waitMs: 200, pollMs: 30 }),
    );
    expect(value).toBe('pending');
    expect(calls).toBeGreaterThan(1);
  });

  it('stops when the caller goes away', async () => {
    const controller = new AbortController();
    const f = feed();
    setTimeout(() => controller.abort(), 50);
    const { ms } = await elapsed(
      holdWhile('pending', {
        read: async () => 'pending',
        holding: () => true,
        waitMs: 10_000,
        feed: f,
        signal: controller.signal,
      }),
    );
    expect(ms).toBeLessThan(1000);
    expect(f.listeners).toBe(0);
  });

  it('one read at a time, however many notices arrive', async () => {
    const f = feed();
    let inFlight = 0;
    let most = 0;
    let reads = 0;
    const read = async () => {
      inFlight++;
      reads++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return reads > 5 ? 'done' : 'pending';
    };
    const waiting = holdWhile('pending', {
      read,
      holding: (v) => v === 'pending',
      waitMs: 5000,
      feed: f,
      pollMs: 60_000,
    });
    const storm = setInterval(() => f.emit(), 2);
    expect(await waiting).toBe('done');
    clearInterval(storm);
    expect(most).toBe(1);
  });
});
