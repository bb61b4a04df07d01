import { toIsoDuration } from '../../../src/adapters/graph/iso-duration';
import { TtlCache } from '../../../src/adapters/graph/ttl-cache';
import { tokenRoles } from '../../../src/adapters/graph/check';
import { FaultRegistry } from '../../../src/dev/local-directory/faults';
import { parseIsoDuration } from '../../../src/dev/local-directory/iso-duration';

describe('ISO 8601 durations for PIM schedules', () => {
  test.each([
    [1_000, 'PT1S'],
    [90_000, 'PT1M30S'],
    [7_200_000, 'PT2H'],
    [5_400_000, 'PT1H30M'],
    [86_400_000 + 60_000, 'P1DT1M'],
    [1, 'PT1S'],
    [1_500, 'PT2S'],
  ])('%i ms → %s, and the local directory reads it back', (ms, iso) => {
    expect(toIsoDuration(ms)).toBe(iso);
    expect(parseIsoDuration(iso)).toBe(Math.max(1, Math.ceil(ms / 1000)) * 1000);
  });

  test('the local directory refuses what is not a duration', () => {
    expect(parseIsoDuration('2h')).toBeUndefined();
    expect(parseIsoDuration('PT')).toBeUndefined();
    expect(parseIsoDuration('P')).toBeUndefined();
    expect(parseIsoDuration('PT0.5S')).toBe(500);
  });
});

describe('TtlCache', () => {
  test('entries expire after the TTL on the given clock; TTL 0 caches nothing', () => {
    let now = 0;
    const cache = new TtlCache<string>(100, () => now);
    cache.set('k', 'v');
    now = 99;
    expect(cache.get('k')).toBe('v');
    now = 100;
    expect(cache.get('k')).toBeUndefined();
    const off = new TtlCache<string>(0, () => now);
    off.set('k', 'v');
    expect(off.get('k')).toBeUndefined();
  });

  test('the oldest entry goes when full', () => {
    const cache = new TtlCache<number>(1_000, () => 0, 2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 2, 3]);
  });
});

describe('token roles', () => {
  test('reads the roles claim of an app-only JWT; anything else is undefined', () => {
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    expect(tokenRoles(`${part({})}.${part({ roles: ['User.Read.All'] })}.x`)).toEqual(['User.Read.All']);
    expect(tokenRoles(`${part({})}.${part({ scp: 'User.Read' })}.x`)).toEqual([]);
    expect(tokenRoles('opaque')).toBeUndefined();
    expect(tokenRoles('a.%%%.c')).toBeUndefined();
  });
});

describe('local directory fault routes', () => {
  test('"*" is one segment, "**" the rest, method must match, "next N" then gone', () => {
    const faults = new FaultRegistry();
    faults.add({ route: 'POST /groups/*/members/$ref', status: 429, times: 2 });
    expect(faults.apply('POST', '/groups/g1/members/$ref').status).toBe(429);
    expect(faults.apply('DELETE', '/groups/g1/members/$ref').status).toBeUndefined();
    expect(faults.apply('POST', '/groups/g1/members/u/$ref').status).toBeUndefined();
    expect(faults.apply('POST', '/groups/g2/members/$ref').status).toBe(429);
    expect(faults.apply('POST', '/groups/g3/members/$ref').status).toBeUndefined();
    expect(faults.list()).toEqual([]);
    faults.add({ route: '* /identityGovernance/**', status: 503 });
    expect(faults.apply('GET', '/identityGovernance/privilegedAccess/group/assignmentSchedules').status).toBe(
      503,
    );
  });

  test('except leaves a route out: every request of a batch faulted, never the batch as a whole', () => {
    const faults = new FaultRegistry();
    faults.add({ route: '*', except: 'POST /$batch', status: 503 });
    expect(faults.apply('POST', '/$batch').status).toBeUndefined();
    expect(faults.apply('DELETE', '/groups/g/members/u/$ref').status).toBe(503);
    expect(() => faults.add({ route: '*', except: 7 as unknown as string, status: 503 })).toThrow(
      'except must be a route string',
    );
  });

  test('answering faults queue up; latency adds to the answer', () => {
    const faults = new FaultRegistry();
    faults.add({ route: '*', status: 429, times: 1, retryAfterSeconds: 3 });
    faults.add({ route: '*', status: 503, times: 1 });
    faults.add({ route: '*', latencyMs: 10 });
    expect(faults.apply('GET', '/users/x')).toMatchObject({
      status: 429,
      retryAfterSeconds: 3,
      latencyMs: 10,
    });
    expect(faults.apply('GET', '/users/x')).toMatchObject({ status: 503, latencyMs: 10 });
    const third = faults.apply('GET', '/users/x');
    expect([third.status, third.latencyMs]).toEqual([undefined, 10]);
  });

  test('probability uses the random source', () => {
    let next = 0.4;
    const faults = new FaultRegistry(() => next);
    faults.add({ status: 503, probability: 0.5 });
    expect(faults.apply('GET', '/users/x').status).toBe(503);
    next = 0.6;
    expect(faults.apply('GET', '/users/x').status).toBeUndefined();
  });

  test('bad specs are refused with the reason', () => {
    const faults = new FaultRegistry();
    expect(() => faults.add({ route: '*' })).toThrow(/status, latencyMs or drop/);
    expect(() => faults.add({ status: 429, probability: 2 })).toThrow(/probability/);
    expect(() => faults.add({ status: 429, retryAfter: 1 } as never)).toThrow(/unknown fault field/);
  });
});
