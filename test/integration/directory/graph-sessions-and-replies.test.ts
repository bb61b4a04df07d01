import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import type { Directory } from '../../../src/ports/directory';
import type { Logger } from '../../../src/ports/logger';
import { FakeDirectory } from '../../helpers/fake-directory';
import { startStubGraph, type StubGraph } from '../../helpers/graph-stub-server';
import { graphDirectoryFor, ids, startTestDirectory, testSeed } from '../../helpers/graph-local-directory';

const HOUR = 3_600_000;

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, error() {}, debug() {}, warn: (_o, msg) => void warnings.push(msg ?? '') };
}

/** Graph's wall-clock form of an instant, in UTC: "2026-03-14T07:00:00.0000000". */
const wall = (at: number) => `${new Date(at).toISOString().slice(0, 19)}.0000000`;

async function patchReplies(
  server: LocalDirectoryHandle,
  userId: string,
  setting: unknown,
): Promise<Response> {
  return fetch(`${server.url}/users/${userId}/mailboxSettings`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ automaticRepliesSetting: setting }),
  });
}

describe('revokeSignInSessions on the local directory', () => {
  let server: LocalDirectoryHandle;
  beforeEach(async () => (server = await startTestDirectory()));
  afterEach(() => server.close());

  test('POST /users/{id}/revokeSignInSessions, recorded in the state; again is fine', async () => {
    const directory = graphDirectoryFor(server);
    const before = Date.now();
    await directory.revokeSignInSessions(ids.alex);
    const calls = server.calls.filter((c) => c.path.endsWith('/revokeSignInSessions'));
    expect(calls).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/users/${ids.alex}/revokeSignInSessions`,
        status: 200,
      }),
    ]);
    const alex = server.state().users.find((u) => u.id === ids.alex)!;
    expect(Date.parse(alex.signInSessionsValidFromDateTime!)).toBeGreaterThanOrEqual(before - 1000);
    await expect(directory.revokeSignInSessions(ids.alex)).resolves.toBeUndefined();
    expect(
      server.state().users.find((u) => u.id === ids.megan)!.signInSessionsValidFromDateTime,
    ).toBeUndefined();
  });

  test('403 names User.RevokeSessions.All and is not retried', async () => {
    server.faults.forbidden('POST /users/*/revokeSignInSessions');
    const error = await failure(graphDirectoryFor(server).revokeSignInSessions(ids.alex));
    expect(error.code).toBe(ErrorCodes.DIRECTORY_PERMISSION);
    expect(error.message).toContain('User.RevokeSessions.All');
    expect(error.details).toMatchObject({ status: 403, permission: 'User.RevokeSessions.All' });
    expect(server.calls.filter((c) => c.path.endsWith('/revokeSignInSessions'))).toHaveLength(1);
  });

  test('503 and 429 are retried by the middleware like every write', async () => {
    server.faults.unavailable('POST /users/*/revokeSignInSessions', 1);
    server.faults.throttle('POST /users/*/revokeSignInSessions', 1, 0);
    await graphDirectoryFor(server).revokeSignInSessions(ids.alex);
    expect(server.calls.filter((c) => c.path.endsWith('/revokeSignInSessions')).map((c) => c.status)).toEqual(
      [503, 429, 200],
    );
  });

  test('unknown user → DIRECTORY_USER_NOT_FOUND; past the retries an outage is DIRECTORY_UNAVAILABLE', async () => {
    expect((await failure(graphDirectoryFor(server).revokeSignInSessions(ids.ghost))).code).toBe(
      ErrorCodes.DIRECTORY_USER_NOT_FOUND,
    );
    server.faults.unavailable('POST /users/*/revokeSignInSessions', 10);
    const error = await failure(
      graphDirectoryFor(server, {
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 10 },
      }).revokeSignInSessions(ids.alex),
    );
    expect(error.code).toBe(ErrorCodes.DIRECTORY_UNAVAILABLE);
  });
});

describe('revokeSignInSessions against recorded answers', () => {
  let stub: StubGraph;
  beforeEach(async () => (stub = await startStubGraph()));
  afterEach(() => stub.close());

  test('both the documented 204 and what Graph answers (200 { value: true }) are success; no body is sent', async () => {
    const path = `/users/${ids.alex}/revokeSignInSessions`;
    const directory = new GraphDirectory({ baseUrl: stub.url, retry: { maxAttempts: 1 } });
    stub.on('POST', path, { status: 204 });
    await directory.revokeSignInSessions(ids.alex);
    stub.on('POST', path, {
      status: 200,
      body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean', value: true },
    });
    await directory.revokeSignInSessions(ids.alex);
    expect(stub.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`POST ${path}`, `POST ${path}`]);
    expect(stub.calls.every((c) => c.body === undefined || Object.keys(c.body as object).length === 0)).toBe(
      true,
    );
  });
});

describe('automaticReplies on the local directory', () => {
  let server: LocalDirectoryHandle;
  let now: number;
  afterEach(() => server.close());
  beforeEach(async () => {
    const seed = testSeed();
    seed.users.push({
      id: 'a1000000-0000-4000-8000-0000000000b1',
      displayName: 'No Mailbox',
      userPrincipalName: 'nomail@example.com',
      mailbox: false,
    });
    seed.users.find((u) => u.id === ids.megan)!.automaticReplies = { status: 'alwaysEnabled' };
    server = await startTestDirectory(seed);
    now = Date.now();
  });
  const directoryAt = (options: Partial<ConstructorParameters<typeof GraphDirectory>[0]> = {}) =>
    graphDirectoryFor(server, { clock: { now: () => now }, ...options });

  test('off by default (in), on from the seed (away), a user without a mailbox or no user at all: unknown', async () => {
    const directory = directoryAt();
    expect(await directory.automaticReplies(ids.alex)).toBe('in');
    expect(await directory.automaticReplies(ids.megan)).toBe('away');
    expect(await directory.automaticReplies('a1000000-0000-4000-8000-0000000000b1')).toBe('unknown');
    expect(await directory.automaticReplies(ids.ghost)).toBe('unknown');
    expect(server.calls.map((c) => c.path)).toContain(
      `/users/${ids.alex}/mailboxSettings/automaticRepliesSetting`,
    );
  });

  test('scheduled: away inside the window only, read in its time zone; the cached setting is judged at each call', async () => {
    const start = now + HOUR;
    const response = await patchReplies(server, ids.alex, {
      status: 'scheduled',
      scheduledStartDateTime: { dateTime: wall(start), timeZone: 'UTC' },
      scheduledEndDateTime: { dateTime: wall(start + 2 * HOUR), timeZone: 'UTC' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ automaticRepliesSetting: { status: 'scheduled' } });
    const directory = directoryAt({ automaticRepliesTtlMs: 10 * HOUR });
    expect(await directory.automaticReplies(ids.alex)).toBe('in');
    now = start + 1000;
    expect(await directory.automaticReplies(ids.alex)).toBe('away');
    now = start + 2 * HOUR + 1000;
    expect(await directory.automaticReplies(ids.alex)).toBe('in');
    expect(server.calls.filter((c) => c.path.endsWith('/automaticRepliesSetting'))).toHaveLength(1);
  });

  test('cached for a few minutes: a change is seen once the cache expires', async () => {
    const directory = directoryAt({ automaticRepliesTtlMs: 3 * 60_000 });
    expect(await directory.automaticReplies(ids.alex)).toBe('in');
    expect((await patchReplies(server, ids.alex, { status: 'AlwaysEnabled' })).status).toBe(200);
    expect(await directory.automaticReplies(ids.alex)).toBe('in');
    now += 3 * 60_000 + 1;
    expect(await directory.automaticReplies(ids.alex)).toBe('away');
    expect(server.calls.filter((c) => c.path.endsWith('/automaticRepliesSetting'))).toHaveLength(2);
  });

  test('403 (no MailboxSettings.Read): unknown, one warning for all users and calls, never an error', async () => {
    server.faults.forbidden('GET /users/*/mailboxSettings/**');
    const logger = recordingLogger();
    const directory = directoryAt({ logger });
    expect(await directory.automaticReplies(ids.alex)).toBe('unknown');
    expect(await directory.automaticReplies(ids.megan)).toBe('unknown');
    now += HOUR;
    expect(await directory.automaticReplies(ids.alex)).toBe('unknown');
    const about = logger.warnings.filter((w) => w.includes('MailboxSettings.Read'));
    expect(about).toHaveLength(1);
  });

  test('an outage: unknown at once (few, short retries), asked again after half a minute', async () => {
    server.faults.unavailable('GET /users/*/mailboxSettings/**', 10);
    const directory = directoryAt();
    const started = Date.now();
    expect(await directory.automaticReplies(ids.megan)).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(2_000);
    const asked = () => server.calls.filter((c) => c.path.endsWith('/automaticRepliesSetting')).length;
    expect(asked()).toBe(2);
    expect(await directory.automaticReplies(ids.megan)).toBe('unknown');
    expect(asked()).toBe(2);
    server.faults.clear();
    now += 30_001;
    expect(await directory.automaticReplies(ids.megan)).toBe('away');
  });

  test('PATCH is validated as Graph does', async () => {
    expect((await patchReplies(server, ids.alex, { status: 'sometimes' })).status).toBe(400);
    expect((await patchReplies(server, ids.alex, { status: 'scheduled' })).status).toBe(400);
    const backwards = await patchReplies(server, ids.alex, {
      status: 'scheduled',
      scheduledStartDateTime: { dateTime: '2026-03-02T00:00:00', timeZone: 'UTC' },
      scheduledEndDateTime: { dateTime: '2026-03-01T00:00:00', timeZone: 'UTC' },
    });
    expect(backwards.status).toBe(400);
    expect(
      (await patchReplies(server, 'a1000000-0000-4000-8000-0000000000b1', { status: 'disabled' })).status,
    ).toBe(404);
    const full = await fetch(`${server.url}/users/${ids.megan}/mailboxSettings`);
    expect(await full.json()).toMatchObject({ automaticRepliesSetting: { status: 'alwaysEnabled' } });
  });
});

describe('automaticReplies against recorded answers', () => {
  let stub: StubGraph;
  beforeEach(async () => (stub = await startStubGraph()));
  afterEach(() => stub.close());
  const path = `/users/${ids.alex}/mailboxSettings/automaticRepliesSetting`;
  const at = (iso: string) => ({ now: () => Date.parse(iso) });

  test("Microsoft's example (status Scheduled, times in UTC, seven fraction digits)", async () => {
    stub.on('GET', path, {
      status: 200,
      body: {
        '@odata.context':
          'https://graph.microsoft.com/v1.0/$metadata#Me/mailboxSettings/automaticRepliesSetting',
        status: 'Scheduled',
        externalAudience: 'All',
        scheduledStartDateTime: { dateTime: '2016-03-14T07:00:00.0000000', timeZone: 'UTC' },
        scheduledEndDateTime: { dateTime: '2016-03-28T07:00:00.0000000', timeZone: 'UTC' },
      },
    });
    const inside = new GraphDirectory({ baseUrl: stub.url, clock: at('2016-03-20T00:00:00Z') });
    expect(await inside.automaticReplies(ids.alex)).toBe('away');
    const before = new GraphDirectory({ baseUrl: stub.url, clock: at('2016-03-14T06:59:59Z') });
    expect(await before.automaticReplies(ids.alex)).toBe('in');
  });

  test('a Windows time zone name is read in that zone', async () => {
    stub.on('GET', path, {
      status: 200,
      body: {
        status: 'scheduled',
        scheduledStartDateTime: {
          dateTime: '2026-07-01T09:00:00.0000000',
          timeZone: 'Pacific Standard Time',
        },
        scheduledEndDateTime: { dateTime: '2026-07-01T17:00:00.0000000', timeZone: 'Pacific Standard Time' },
      },
    });
    // 09:00 in Los Angeles in July is 16:00 UTC.
    expect(
      await new GraphDirectory({ baseUrl: stub.url, clock: at('2026-07-01T15:59:00Z') }).automaticReplies(
        ids.alex,
      ),
    ).toBe('in');
    expect(
      await new GraphDirectory({ baseUrl: stub.url, clock: at('2026-07-01T16:01:00Z') }).automaticReplies(
        ids.alex,
      ),
    ).toBe('away');
  });

  test('404 MailboxNotEnabledForRESTAPI (no Exchange Online mailbox) is unknown, without a warning', async () => {
    stub.on('GET', path, {
      status: 404,
      body: {
        error: {
          code: 'MailboxNotEnabledForRESTAPI',
          message: 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
        },
      },
    });
    const logger = recordingLogger();
    expect(await new GraphDirectory({ baseUrl: stub.url, logger }).automaticReplies(ids.alex)).toBe(
      'unknown',
    );
    expect(logger.warnings).toEqual([]);
  });

  test('403 ErrorAccessDenied (an application access policy leaves this mailbox out) is unknown', async () => {
    stub.on('GET', path, {
      status: 403,
      body: {
        error: {
          code: 'ErrorAccessDenied',
          message: 'Access to OData is disabled: Blocked by tenant configured AppOnly AccessPolicy settings.',
        },
      },
    });
    expect(await new GraphDirectory({ baseUrl: stub.url }).automaticReplies(ids.alex)).toBe('unknown');
  });
});

/** What both the app's FakeDirectory and GraphDirectory on the local directory must agree on. */
describe.each([
  [
    'FakeDirectory (tests)',
    async () => {
      const directory = new FakeDirectory(testSeed());
      return {
        directory: directory as Directory,
        away: async (userId: string) => directory.setAutomaticReplies(userId, 'away'),
        close: async () => undefined,
      };
    },
  ],
  [
    'GraphDirectory → local directory over HTTP',
    async () => {
      const server = await startTestDirectory();
      return {
        directory: graphDirectoryFor(server, { automaticRepliesTtlMs: 0 }) as Directory,
        away: async (userId: string) =>
          void (await patchReplies(server, userId, { status: 'alwaysEnabled' })),
        close: () => server.close(),
      };
    },
  ],
])('sessions and automatic replies contract: %s', (_name, start) => {
  let subject: Awaited<ReturnType<typeof start>>;
  beforeEach(async () => (subject = await start()));
  afterEach(() => subject.close());

  test('revokeSignInSessions: a user is fine (twice too); nobody is DIRECTORY_USER_NOT_FOUND', async () => {
    await subject.directory.revokeSignInSessions(ids.alex);
    await subject.directory.revokeSignInSessions(ids.alex);
    expect((await failure(subject.directory.revokeSignInSessions(ids.ghost))).code).toBe(
      ErrorCodes.DIRECTORY_USER_NOT_FOUND,
    );
  });

  test('automaticReplies: in by default, away once set, unknown for nobody', async () => {
    expect(await subject.directory.automaticReplies(ids.alex)).toBe('in');
    await subject.away(ids.alex);
    expect(await subject.directory.automaticReplies(ids.alex)).toBe('away');
    expect(await subject.directory.automaticReplies(ids.megan)).toBe('in');
    expect(await subject.directory.automaticReplies(ids.ghost)).toBe('unknown');
  });
});
