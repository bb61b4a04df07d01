import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { startStubGraph, type StubGraph } from '../../helpers/graph-stub-server';
import * as recorded from '../../helpers/graph-recorded-payloads';

const G = 'b2000000-0000-4000-8000-000000000002';
const U = 'a1000000-0000-4000-8000-000000000001';
const ADD = `/groups/${G}/members/$ref`;
const REMOVE = `/groups/${G}/members/${U}/$ref`;
const PIM = '/identityGovernance/privilegedAccess/group/assignmentScheduleRequests';

let stub: StubGraph;
let sleeps: number[];
let directory: GraphDirectory;

beforeEach(async () => {
  stub = await startStubGraph();
  sleeps = [];
  directory = new GraphDirectory({
    baseUrl: stub.url,
    retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 10_000 },
    sleep: async (ms) => void sleeps.push(ms),
  });
});
afterEach(() => stub.close());

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('GraphDirectory maps recorded Graph error payloads', () => {
  test('403 Authorization_RequestDenied on add names GroupMember.ReadWrite.All and is not retried', async () => {
    stub.on('POST', ADD, recorded.insufficientPrivileges);
    stub.on('GET', `/groups/${G}`, recorded.group(G, 'assigned'));
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('GroupMember.ReadWrite.All');
    expect(error.details).toMatchObject({
      status: 403,
      graphCode: 'Authorization_RequestDenied',
      requestId: 'aa324f0f-b4a3-4af6-9c4f-996e1959074e',
    });
    expect(stub.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  test('the same 403 on a role-assignable group names RoleManagement.ReadWrite.Directory', async () => {
    stub.on('POST', ADD, recorded.insufficientPrivileges);
    stub.on('GET', `/groups/${G}`, recorded.group(G, 'roleAssignable'));
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('RoleManagement.ReadWrite.Directory');
    expect(error.details.permission).toBe('RoleManagement.ReadWrite.Directory');
  });

  test('the same 403 on a dynamic group says the group is dynamic', async () => {
    stub.on('DELETE', REMOVE, recorded.insufficientPrivileges);
    stub.on('GET', `/groups/${G}`, recorded.group(G, 'dynamic'));
    const error = await failure(directory.removeMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_DYNAMIC_GROUP);
    expect(error.message).toMatch(/dynamic membership/);
  });

  test('403 when even the group cannot be read still names the permission (and role-assignable as a possibility)', async () => {
    stub.on('POST', ADD, recorded.insufficientPrivileges);
    stub.on('GET', `/groups/${G}`, recorded.insufficientPrivileges);
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('GroupMember.ReadWrite.All');
    expect(error.message).toContain('RoleManagement.ReadWrite.Directory');
  });

  test('"already exist" on add is success, told apart from an add', async () => {
    stub.on('POST', ADD, recorded.alreadyMember);
    await expect(directory.addMember(G, U)).resolves.toBe('already-member');
  });

  test('"removed object references do not exist" on remove is success', async () => {
    stub.on('DELETE', REMOVE, recorded.notMember);
    await expect(directory.removeMember(G, U)).resolves.toBeUndefined();
  });

  test('Request_ResourceNotFound naming the group is DIRECTORY_GROUP_NOT_FOUND, on add and on remove', async () => {
    stub.on('POST', ADD, recorded.resourceNotFound(G));
    stub.on('DELETE', REMOVE, recorded.resourceNotFound(G));
    expect((await failure(directory.addMember(G, U))).code).toBe(ErrorCodes.DIRECTORY_GROUP_NOT_FOUND);
    const removal = await failure(directory.removeMember(G, U));
    expect(removal.code).toBe(ErrorCodes.DIRECTORY_GROUP_NOT_FOUND);
    expect(removal.message).toContain('policy');
  });

  test('Request_ResourceNotFound naming the user on add is DIRECTORY_USER_NOT_FOUND', async () => {
    stub.on('POST', ADD, recorded.resourceNotFound(U));
    expect((await failure(directory.addMember(G, U))).code).toBe(ErrorCodes.DIRECTORY_USER_NOT_FOUND);
  });

  test('findUser: Request_ResourceNotFound is "no such user"; 403 names User.Read.All', async () => {
    stub.on('GET', '/users/nobody@example.com', recorded.resourceNotFound('nobody@example.com'));
    await expect(directory.findUser('nobody@example.com')).resolves.toBeUndefined();
    stub.on('GET', '/users/alex@example.com', recorded.insufficientPrivileges);
    const error = await failure(directory.findUser('alex@example.com'));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('User.Read.All');
  });

  test('a group synced from on-premises is explained', async () => {
    stub.on('POST', ADD, recorded.onPremisesMastered);
    stub.on('GET', `/groups/${G}`, recorded.group(G, 'onPremises'));
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_INVALID);
    expect(error.message).toContain('on-premises');
  });

  test('429 TooManyRequests past the retry budget is DIRECTORY_THROTTLED after waiting Retry-After each time', async () => {
    stub.on('POST', ADD, recorded.tooManyRequests);
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_THROTTLED);
    expect(error.details).toMatchObject({ status: 429, retryAfterMs: 5000 });
    expect(sleeps).toEqual([5000, 5000]);
    expect(stub.calls.filter((c) => c.method === 'POST')).toHaveLength(3);
  });

  test('a 429 whose body is UnknownError is still throttling (the status decides), with backoff when there is no Retry-After', async () => {
    stub.on('DELETE', REMOVE, recorded.throttledUnknownError);
    const error = await failure(directory.removeMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_THROTTLED);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThanOrEqual(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThanOrEqual(200);
  });

  test('503 serviceNotAvailable is retried, then DIRECTORY_UNAVAILABLE; one success in between ends it', async () => {
    stub.on('POST', ADD, recorded.serviceNotAvailable, { status: 204 });
    await expect(directory.addMember(G, U)).resolves.toBe('added');
    expect(sleeps).toEqual([1000]);
    stub.on('POST', ADD, recorded.serviceNotAvailable);
    expect((await failure(directory.addMember(G, U))).code).toBe(ErrorCodes.DIRECTORY_UNAVAILABLE);
  });

  test('401 InvalidAuthenticationToken is DIRECTORY_AUTH and not retried', async () => {
    stub.on('POST', ADD, recorded.expiredToken);
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_AUTH);
    expect(stub.calls).toHaveLength(1);
  });

  test('PIM: PermissionScopeNotGranted (non-standard body) names PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup and the licence', async () => {
    stub.on('POST', PIM, recorded.pimPermissionScopeNotGranted);
    const error = await failure(
      directory.assignTimeBound({
        groupId: G,
        userId: U,
        start: Date.UTC(2026, 0, 1),
        durationMs: 7_200_000,
        justification: 'INC-1',
      }),
    );
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup');
    expect(error.message).toMatch(/licen/);
    expect(error.details.graphCode).toBe('PermissionScopeNotGranted');
  });

  test('PIM: RoleAssignmentExists on assign and RoleAssignmentDoesNotExist on remove are success', async () => {
    stub.on('POST', PIM, recorded.roleAssignmentExists);
    await expect(
      directory.assignTimeBound({
        groupId: G,
        userId: U,
        start: Date.UTC(2026, 0, 1),
        durationMs: 60_000,
        justification: 'x',
      }),
    ).resolves.toBeUndefined();
    stub.on('POST', PIM, recorded.roleAssignmentDoesNotExist);
    await expect(directory.removeTimeBound(G, U, 'released')).resolves.toBeUndefined();
  });

  test('PIM: RoleAssignmentDoesNotExist on extend is an error (nothing to extend)', async () => {
    stub.on('POST', PIM, recorded.roleAssignmentDoesNotExist);
    stub.on('GET', `/groups/${G}`, recorded.group(G, 'assigned'));
    const error = await failure(
      directory.extendTimeBound({
        groupId: G,
        userId: U,
        start: Date.UTC(2026, 0, 1),
        durationMs: 60_000,
        justification: 'x',
      }),
    );
    expect(error.code).toBe(ErrorCodes.DIRECTORY_INVALID);
    expect(error.message).toContain('no active assignment');
  });

  test('PIM request body: member access, afterDuration as ISO 8601, start as ISO date', async () => {
    stub.on('POST', PIM, { status: 201, body: { id: 'r1', status: 'Provisioned' } });
    await directory.assignTimeBound({
      groupId: G,
      userId: U,
      start: Date.UTC(2026, 0, 1, 9),
      durationMs: 5_400_000,
      justification: 'INC-42 debugging',
    });
    expect(stub.calls[0].body).toEqual({
      accessId: 'member',
      principalId: U,
      groupId: G,
      action: 'adminAssign',
      justification: 'INC-42 debugging',
      scheduleInfo: {
        startDateTime: '2026-01-01T09:00:00.000Z',
        expiration: { type: 'afterDuration', duration: 'PT1H30M' },
      },
    });
  });
});

describe('GraphDirectory maps credential failures', () => {
  const failing = (name: string, message: string) => ({
    async getToken(): Promise<never> {
      const error = new Error(message);
      error.name = name;
      throw error;
    },
  });
  // An https base makes the Graph client ask the credential for a token before any connection.
  const base = 'https://127.0.0.1:9/v1.0';

  test('a refused client secret is DIRECTORY_AUTH with what to check', async () => {
    const directory = new GraphDirectory({
      baseUrl: base,
      credential: failing(
        'AuthenticationError',
        'ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided.',
      ),
      retry: { maxAttempts: 1 },
    });
    const error = await failure(directory.addMember(G, U));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_AUTH);
    expect(error.message).toContain('AADSTS7000215');
    expect(error.message).toContain('AZURE_CLIENT_SECRET');
  });

  test('an unreachable sign-in endpoint is DIRECTORY_UNAVAILABLE (retried later), not a configuration error', async () => {
    const directory = new GraphDirectory({
      baseUrl: base,
      credential: failing(
        'AuthenticationError',
        'network_error: See https://aka.ms/msal.js.errors#network_error for details',
      ),
      retry: { maxAttempts: 1 },
    });
    expect((await failure(directory.addMember(G, U))).code).toBe(ErrorCodes.DIRECTORY_UNAVAILABLE);
  });
});
