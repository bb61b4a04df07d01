import { RetryMiddleware, retryAfterMs } from '../../../src/adapters/graph/retry-middleware';

describe('Retry-After', () => {
  test('seconds, fractional seconds and HTTP dates', () => {
    expect(retryAfterMs('1')).toBe(1_000);
    expect(retryAfterMs('2.128')).toBe(2_128);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });

  test('absent or unreadable is undefined (then backoff applies)', () => {
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('')).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('exponential backoff with jitter', () => {
  const middleware = (random: number) =>
    new RetryMiddleware({
      policy: { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 1_000 },
      timeoutMs: 1_000,
      random: () => random,
    });

  test('doubles per attempt, between half and all of the ceiling', () => {
    expect([1, 2, 3].map((a) => middleware(0).backoffMs(a))).toEqual([100, 200, 400]);
    expect([1, 2, 3].map((a) => middleware(0.999999).backoffMs(a))).toEqual([200, 400, 800]);
  });

  test('never waits longer than maxDelayMs', () => {
    expect(middleware(0.999999).backoffMs(10)).toBe(1_000);
    expect(middleware(0).backoffMs(10)).toBe(500);
  });
});
