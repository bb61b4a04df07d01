import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { graphDirectoryFor, ids, startTestDirectory } from '../../helpers/graph-local-directory';

const ADD = 'POST /groups/*/members/$ref';

let server: LocalDirectoryHandle;
beforeEach(async () => {
  server = await startTestDirectory();
});
afterEach(() => server.close());

const posts = () => server.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/members/$ref'));

async function domainError(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('GraphDirectory retries against the local directory (real HTTP, real waits)', () => {
  test('2 × 429 with Retry-After: 1, then success → exactly one membership after about 2 s', async () => {
    server.faults.throttle(ADD, 2, 1);
    const directory = graphDirectoryFor(server, {
      retry: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 10_000 },
    });
    const started = Date.now();
    await directory.addMember(ids.sandbox, ids.alex);
    const elapsed = Date.now() - started;
    expect(server.members(ids.sandbox)).toEqual([ids.alex]);
    expect(posts().map((c) => c.status)).toEqual([429, 429, 204]);
    expect(elapsed).toBeGreaterThanOrEqual(1_950);
    expect(elapsed).toBeLessThan(3_000);
  });

  test('403 → no retry, a clear error naming the permission, nothing added', async () => {
    server.faults.forbidden(ADD);
    const directory = graphDirectoryFor(server);
    const error = await domainError(directory.addMember(ids.sandbox, ids.alex));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('GroupMember.ReadWrite.All');
    expect(posts()).toHaveLength(1);
    expect(server.members(ids.sandbox)).toEqual([]);
  });

  test('503 twice, then success → retried with backoff', async () => {
    server.faults.unavailable(ADD, 2);
    const retries: number[] = [];
    const directory = graphDirectoryFor(server, { onRetry: (e) => retries.push(e.delayMs) });
    await directory.addMember(ids.sandbox, ids.alex);
    expect(posts().map((c) => c.status)).toEqual([503, 503, 204]);
    expect(retries).toHaveLength(2);
    expect(retries[1]).toBeGreaterThanOrEqual(retries[0] / 2);
    expect(server.members(ids.sandbox)).toEqual([ids.alex]);
  });

  test('504 is retried too', async () => {
    server.faults.add({ route: ADD, status: 504, times: 1 });
    await graphDirectoryFor(server).addMember(ids.sandbox, ids.alex);
    expect(posts().map((c) => c.status)).toEqual([504, 204]);
  });

  test('a call slower than the timeout is abandoned and retried; the late first attempt does not double anything', async () => {
    server.faults.latency(ADD, 1_500, 1);
    const directory = graphDirectoryFor(server, { timeoutMs: 300 });
    const started = Date.now();
    await directory.addMember(ids.sandbox, ids.alex);
    expect(Date.now() - started).toBeLessThan(1_400);
    await new Promise((resolve) => setTimeout(resolve, 1_400)); // let the slow first attempt land
    expect(server.members(ids.sandbox)).toEqual([ids.alex]);
    expect(posts()).toHaveLength(2);
  });

  test('every attempt timing out ends as DIRECTORY_UNAVAILABLE after the budget', async () => {
    server.faults.latency('GET /users/*', 2_000);
    const directory = graphDirectoryFor(server, {
      timeoutMs: 200,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 100 },
    });
    const error = await domainError(directory.findUser(ids.alex));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_UNAVAILABLE);
    expect(error.message).toMatch(/did not answer within 200 ms/);
    expect(server.calls.filter((c) => c.path.startsWith('/users/'))).toHaveLength(2);
  });

  test('a dropped connection (network error) is retried', async () => {
    server.faults.add({ route: 'DELETE /groups/*/members/*/$ref', drop: true, times: 1 });
    await graphDirectoryFor(server).removeMember(ids.dbRead, ids.adele);
    expect(server.calls.filter((c) => c.method === 'DELETE').map((c) => c.status)).toEqual([0, 204]);
    expect(server.members(ids.dbRead)).toEqual([]);
  });

  test('throttled past the retry budget → DIRECTORY_THROTTLED (transient), after maxAttempts calls', async () => {
    server.faults.add({ route: ADD, status: 429, retryAfterSeconds: 0 });
    const directory = graphDirectoryFor(server, {
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 1_000 },
    });
    const error = await domainError(directory.addMember(ids.sandbox, ids.alex));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_THROTTLED);
    expect(posts()).toHaveLength(3);
  });

  test('a Retry-After longer than the longest wait ends the retries at once, with the wait in the error', async () => {
    server.faults.add({ route: ADD, status: 429, retryAfterSeconds: 120, times: 1 });
    const directory = graphDirectoryFor(server, {
      retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 30_000 },
    });
    const started = Date.now();
    const error = await domainError(directory.addMember(ids.sandbox, ids.alex));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error.code).toBe(ErrorCodes.DIRECTORY_THROTTLED);
    expect(error.details.retryAfterMs).toBe(120_000);
    expect(error.message).toContain('120 s');
  });

  test('removal uses exactly DELETE /groups/{g}/members/{u}/$ref, once, and nothing else that deletes', async () => {
    await graphDirectoryFor(server).removeMember(ids.dbRead, ids.adele);
    expect(server.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `DELETE /groups/${ids.dbRead}/members/${ids.adele}/$ref`,
    ]);
    expect(server.state().users.map((u) => u.id)).toContain(ids.adele);
  });
});
