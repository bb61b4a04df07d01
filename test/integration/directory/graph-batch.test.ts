import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import type { MemberChange, MemberChangeResult } from '../../../src/ports/directory';
import { graphDirectoryFor, ids, startTestDirectory, testSeed } from '../../helpers/graph-local-directory';

/** 45 extra users, so that one call carries more than two batches. */
function bigSeed() {
  const seed = testSeed();
  const extra = Array.from({ length: 45 }, (_, i) => ({
    id: `b1000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    displayName: `Batch user ${i}`,
    userPrincipalName: `batch${i}@example.com`,
  }));
  seed.users.push(...extra);
  seed.groups.find((g) => g.id === ids.sandbox)!.members.push(...extra.map((u) => u.id));
  return { seed, extra: extra.map((u) => u.id) };
}

const codeOf = (result: MemberChangeResult) =>
  result.ok ? 'ok' : result.error instanceof DomainError ? result.error.code : result.error.message;
const batchCalls = (server: LocalDirectoryHandle) =>
  server.calls.filter((c) => c.method === 'POST' && c.path === '/$batch');

describe('GraphDirectory.changeMembers: Graph JSON batching against the local directory', () => {
  let server: LocalDirectoryHandle;
  afterEach(() => server.close());

  test('45 removals go as 3 batches of at most 20, each item logged as its own DELETE …/$ref', async () => {
    const { seed, extra } = bigSeed();
    server = await startTestDirectory(seed);
    const directory = graphDirectoryFor(server);
    const results = await directory.changeMembers(
      extra.map((userId) => ({ op: 'remove', groupId: ids.sandbox, userId })),
    );
    expect(results.map(codeOf)).toEqual(extra.map(() => 'ok'));
    expect(server.members(ids.sandbox)).toEqual([]);
    expect(batchCalls(server)).toHaveLength(3);
    const deletes = server.calls.filter((c) => c.method === 'DELETE');
    expect(deletes).toHaveLength(45);
    expect(deletes.every((c) => c.path.endsWith('/$ref') && c.status === 204)).toBe(true);
  });

  test('per item as the single calls: removing a non-member is ok, adding a member is already-member, an unknown group and a dynamic group fail with their codes', async () => {
    server = await startTestDirectory();
    const directory = graphDirectoryFor(server);
    const changes: MemberChange[] = [
      { op: 'remove', groupId: ids.dbRead, userId: ids.adele }, // 204
      { op: 'remove', groupId: ids.sandbox, userId: ids.megan }, // not a member: 404 → ok
      { op: 'add', groupId: ids.approvers, userId: ids.megan }, // already a member
      { op: 'add', groupId: ids.sandbox, userId: ids.alex }, // added
      { op: 'remove', groupId: ids.missingGroup, userId: ids.alex },
      { op: 'add', groupId: ids.dynamic, userId: ids.megan },
      { op: 'add', groupId: ids.sandbox, userId: ids.ghost },
    ];
    const results = await directory.changeMembers(changes);
    expect(results.map(codeOf)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
      ErrorCodes.DIRECTORY_DYNAMIC_GROUP,
      ErrorCodes.DIRECTORY_USER_NOT_FOUND,
    ]);
    expect(results[2]).toEqual({ ok: true, outcome: 'already-member' });
    expect(results[3]).toEqual({ ok: true, outcome: 'added' });
    expect(server.members(ids.dbRead)).toEqual([]);
    expect(server.members(ids.sandbox)).toEqual([ids.alex]);
    expect(batchCalls(server)).toHaveLength(1);
  });

  test('an item answered 429 with Retry-After is sent again on its own after the wait; the others are not repeated', async () => {
    server = await startTestDirectory();
    const retries: number[] = [];
    const directory = graphDirectoryFor(server, { onRetry: (e) => retries.push(e.delayMs) });
    server.faults.throttle(`DELETE /groups/${ids.approvers}/members/${ids.megan}/$ref`, 1, 1);
    const started = Date.now();
    const results = await directory.changeMembers([
      { op: 'remove', groupId: ids.approvers, userId: ids.megan },
      { op: 'remove', groupId: ids.approvers, userId: ids.adele },
    ]);
    expect(results.map(codeOf)).toEqual(['ok', 'ok']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(retries).toEqual([1000]);
    expect(server.members(ids.approvers)).toEqual([]);
    const deletes = server.calls
      .filter((c) => c.method === 'DELETE')
      .map((c) => [c.path.split('/')[4], c.status]);
    expect(deletes).toEqual([
      [ids.megan, 429],
      [ids.adele, 204],
      [ids.megan, 204],
    ]);
    expect(batchCalls(server)).toHaveLength(2); // the first, and one with the throttled item only
  });

  test('an item throttled past the retry budget fails alone with DIRECTORY_THROTTLED and its Retry-After', async () => {
    server = await startTestDirectory();
    const directory = graphDirectoryFor(server);
    server.faults.throttle(`DELETE /groups/${ids.approvers}/members/${ids.megan}/$ref`, 1, 120);
    const results = await directory.changeMembers([
      { op: 'remove', groupId: ids.approvers, userId: ids.megan },
      { op: 'remove', groupId: ids.approvers, userId: ids.adele },
    ]);
    expect(results.map(codeOf)).toEqual([ErrorCodes.DIRECTORY_THROTTLED, 'ok']);
    expect(results[0]).toMatchObject({ ok: false, error: { details: { retryAfterMs: 120_000 } } });
    expect(server.members(ids.approvers)).toEqual([ids.megan]);
  });

  test('403 on one item is a permission error naming GroupMember.ReadWrite.All for that item only', async () => {
    server = await startTestDirectory();
    const directory = graphDirectoryFor(server);
    server.faults.forbidden(`POST /groups/${ids.sandbox}/members/$ref`);
    const results = await directory.changeMembers([
      { op: 'add', groupId: ids.sandbox, userId: ids.alex },
      { op: 'remove', groupId: ids.approvers, userId: ids.adele },
    ]);
    expect(results.map(codeOf)).toEqual([ErrorCodes.DIRECTORY_PERMISSION, 'ok']);
    expect((results[0] as { error: Error }).error.message).toContain('GroupMember.ReadWrite.All');
    expect(server.members(ids.sandbox)).toEqual([]);
  });

  test('a throttled batch call as a whole is retried by the middleware, then every item is done', async () => {
    server = await startTestDirectory();
    const directory = graphDirectoryFor(server);
    server.faults.throttle('POST /$batch', 1, 0);
    const results = await directory.changeMembers([
      { op: 'remove', groupId: ids.approvers, userId: ids.megan },
      { op: 'remove', groupId: ids.approvers, userId: ids.adele },
    ]);
    expect(results.map(codeOf)).toEqual(['ok', 'ok']);
    expect(batchCalls(server).map((c) => c.status)).toEqual([429, 200]);
  });

  test('the local directory refuses more than 20 requests in a batch, as Graph does', async () => {
    server = await startTestDirectory();
    const requests = Array.from({ length: 21 }, (_, i) => ({
      id: String(i),
      method: 'GET',
      url: '/organization',
    }));
    const answer = await fetch(`${server.url}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ requests }),
    });
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toMatch(/maximum of 20/);
  });

  test('latency is applied once per batch (the slowest item), not once per item', async () => {
    const { seed, extra } = bigSeed();
    server = await startTestDirectory(seed);
    server.faults.latency('DELETE /groups/*/members/*/$ref', 300);
    const directory = graphDirectoryFor(server);
    const started = Date.now();
    await directory.changeMembers(
      extra.slice(0, 20).map((userId) => ({ op: 'remove', groupId: ids.sandbox, userId })),
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1500);
  });
});
