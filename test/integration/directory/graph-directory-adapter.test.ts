import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { startLocalDirectory } from '../../../src/dev/local-directory/server';
import { graphDirectoryFor, ids, startTestDirectory, testSeed } from '../../helpers/graph-local-directory';

let server: LocalDirectoryHandle;
afterEach(() => server.close());

describe('GraphDirectory on the local directory: what the contract does not pin down', () => {
  test('findUser is cached for cacheTtlMs, by id and by UPN, on the given clock', async () => {
    server = await startTestDirectory();
    let now = 1_000_000;
    const directory = graphDirectoryFor(server, { cacheTtlMs: 60_000, clock: { now: () => now } });
    await directory.findUser('alex@example.com');
    await directory.findUser('Alex@Example.com');
    await directory.findUser(ids.alex);
    expect(server.calls.filter((c) => c.path.startsWith('/users/'))).toHaveLength(1);
    now += 60_001;
    await directory.findUser(ids.alex);
    expect(server.calls.filter((c) => c.path.startsWith('/users/'))).toHaveLength(2);
  });

  test('memberGroups asks checkMemberGroups in batches of 20', async () => {
    server = await startTestDirectory();
    const asked = [
      ...Array.from({ length: 44 }, (_, i) => `c3000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
      ids.approvers,
    ];
    expect(await graphDirectoryFor(server).memberGroups(ids.megan, asked)).toEqual([ids.approvers]);
    expect(server.calls.filter((c) => c.path.endsWith('/checkMemberGroups'))).toHaveLength(3);
  });

  test("listMembers follows @odata.nextLink past Graph's 999-per-page limit", async () => {
    const seed = testSeed();
    const users = Array.from({ length: 1_234 }, (_, i) => ({
      id: `d4000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      displayName: `U${i}`,
      userPrincipalName: `u${i}@example.com`,
    }));
    seed.users.push(...users);
    seed.groups.push({
      id: 'e5000000-0000-4000-8000-000000000001',
      displayName: 'Big',
      members: users.map((u) => u.id),
    });
    server = await startTestDirectory(seed);
    const members = await graphDirectoryFor(server).listMembers('e5000000-0000-4000-8000-000000000001');
    expect(members).toHaveLength(1_234);
    expect(new Set(members).size).toBe(1_234);
    expect(server.calls.filter((c) => c.path.endsWith('/members'))).toHaveLength(2);
  });

  test('a guest UPN with #EXT# is encoded and found', async () => {
    const seed = testSeed();
    seed.users.push({
      id: 'a1000000-0000-4000-8000-0000000000e1',
      displayName: 'Guest',
      userPrincipalName: 'guest_partner.com#EXT#@contoso.onmicrosoft.com',
    });
    server = await startTestDirectory(seed);
    const user = await graphDirectoryFor(server).findUser('guest_partner.com#EXT#@contoso.onmicrosoft.com');
    expect(user?.id).toBe('a1000000-0000-4000-8000-0000000000e1');
  });

  test('PIM refused with 403 names PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup', async () => {
    server = await startTestDirectory();
    server.faults.forbidden('POST /identityGovernance/**');
    const error = await graphDirectoryFor(server)
      .assignTimeBound({
        groupId: ids.sandbox,
        userId: ids.alex,
        start: Date.now(),
        durationMs: 60_000,
        justification: 'x',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect((error as DomainError).message).toContain('PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup');
    expect(server.members(ids.sandbox)).toEqual([]);
  });

  test('a server that is not there is DIRECTORY_UNAVAILABLE (network errors retried, then given up)', async () => {
    server = await startTestDirectory();
    const url = server.url;
    await server.close();
    server = await startTestDirectory(); // for afterEach
    const directory = new GraphDirectory({
      baseUrl: url,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      timeoutMs: 1_000,
    });
    const error = await directory.addMember(ids.sandbox, ids.alex).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as DomainError).code).toBe(ErrorCodes.DIRECTORY_UNAVAILABLE);
    expect((error as DomainError).message).toMatch(/ECONNREFUSED|cannot reach/);
  });

  test('an attempt Graph does not answer within timeoutMs is cut off and retried; never answering is DIRECTORY_UNAVAILABLE', async () => {
    server = await startTestDirectory();
    const directory = (maxAttempts: number) =>
      new GraphDirectory({
        baseUrl: server.url,
        retry: { maxAttempts, baseDelayMs: 10, maxDelayMs: 50 },
        timeoutMs: 200,
      });
    server.faults.latency('POST /groups/*/members/$ref', 5_000, 1);
    const started = Date.now();
    await directory(2).addMember(ids.sandbox, ids.alex);
    expect(Date.now() - started).toBeLessThan(4_000); // the stalled attempt was not waited out
    expect(server.members(ids.sandbox)).toContain(ids.alex);

    server.faults.latency('POST /groups/*/members/$ref', 5_000, 2);
    const error = await directory(2)
      .addMember(ids.sandbox, ids.megan)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as DomainError).code).toBe(ErrorCodes.DIRECTORY_UNAVAILABLE);
    expect((error as DomainError).message).toContain('did not answer within 200 ms');
  });

  test("with Entra's 5-minute PIM minimum, a shorter assignment is refused with a pointer to the PIM settings", async () => {
    server = await startLocalDirectory({ seed: testSeed(), pimMinimumDurationMs: 300_000 });
    const directory = graphDirectoryFor(server);
    const short = directory.assignTimeBound({
      groupId: ids.sandbox,
      userId: ids.alex,
      start: Date.now(),
      durationMs: 60_000,
      justification: 'x',
    });
    const error = (await short.then(
      () => undefined,
      (e: unknown) => e,
    )) as DomainError;
    expect(error.code).toBe(ErrorCodes.DIRECTORY_INVALID);
    expect(error.message).toContain('PIM settings');
    await directory.assignTimeBound({
      groupId: ids.sandbox,
      userId: ids.alex,
      start: Date.now(),
      durationMs: 300_000,
      justification: 'x',
    });
    expect(server.members(ids.sandbox)).toEqual([ids.alex]);
  });
});
