import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes } from '../../../src/domain/errors';
import { DEV_APPS } from '../../../src/dev/local-issuer/dev-identity';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { graphDirectoryFor, ids, startTestDirectory, testSeed } from '../../helpers/graph-local-directory';

/**
 * Issue 16: the local directory serves a client's service principal as Graph does (what the
 * contract does not pin down: the wire shapes, the routes of each kind, the state file), and
 * GraphDirectory asks for it the way that works for a service principal in Graph too.
 */
const json = { 'content-type': 'application/json' };
const body = (value: unknown) => ({ method: 'POST', headers: json, body: JSON.stringify(value) });

let server: LocalDirectoryHandle;
// NB: some tests close it themselves (a restart); closing again is harmless here.
afterEach(() => server.close().catch(() => undefined));

describe('local directory: service principals in the Graph dialect', () => {
  beforeEach(async () => {
    server = await startTestDirectory();
  });

  test('GET /servicePrincipals/{id} and (appId=…): the entity with its type, $select honoured; /users/{id} of one is 404', async () => {
    const byId = (await (await fetch(`${server.url}/servicePrincipals/${ids.pipeline}`)).json()) as Record<
      string,
      unknown
    >;
    expect(byId).toMatchObject({
      '@odata.type': '#microsoft.graph.servicePrincipal',
      id: ids.pipeline,
      appId: ids.pipelineApp,
      displayName: 'Deploy pipeline',
    });
    const selected = (await (
      await fetch(`${server.url}/servicePrincipals(appId='${ids.pipelineApp}')?$select=id,appId`)
    ).json()) as Record<string, unknown>;
    expect(Object.keys(selected).sort()).toEqual(['@odata.context', '@odata.type', 'appId', 'id']);
    expect((await fetch(`${server.url}/users/${ids.pipeline}`)).status).toBe(404);
    expect((await fetch(`${server.url}/servicePrincipals/${ids.alex}`)).status).toBe(404);
    expect((await fetch(`${server.url}/servicePrincipals(appId='${ids.ghost}')`)).status).toBe(404);
    const list = (await (await fetch(`${server.url}/servicePrincipals?$top=1&$select=id`)).json()) as {
      value: unknown[];
    };
    expect(list.value).toEqual([{ '@odata.type': '#microsoft.graph.servicePrincipal', id: ids.pipeline }]);
  });

  test('a $ref to /servicePrincipals/{id} or /directoryObjects/{id} adds it; members list it as a servicePrincipal', async () => {
    const add = (group: string, path: string) =>
      fetch(
        `${server.url}/groups/${group}/members/$ref`,
        body({ '@odata.id': `https://graph.microsoft.com/v1.0/${path}` }),
      );
    expect((await add(ids.sandbox, `servicePrincipals/${ids.pipeline}`)).status).toBe(204);
    expect((await add(ids.approvers, `directoryObjects/${ids.pipeline}`)).status).toBe(204);
    expect(server.calls.map((c) => c.subject).filter(Boolean)).toEqual([ids.pipeline, ids.pipeline]);
    const members = (await (
      await fetch(`${server.url}/groups/${ids.approvers}/members?$select=id`)
    ).json()) as {
      value: Record<string, unknown>[];
    };
    expect(members.value).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: ids.megan },
      { '@odata.type': '#microsoft.graph.user', id: ids.adele },
      { '@odata.type': '#microsoft.graph.servicePrincipal', id: ids.pipeline },
    ]);
    const removed = await fetch(`${server.url}/groups/${ids.sandbox}/members/${ids.pipeline}/$ref`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    expect(server.members(ids.sandbox)).toEqual([]);
  });

  test('checkMemberGroups on /directoryObjects and /servicePrincipals answers for it; /users/{id} of it is 404', async () => {
    server.reset({
      ...testSeed(),
      groups: testSeed().groups.map((g) =>
        g.id === ids.approvers ? { ...g, members: [...g.members, ids.pipeline] } : g,
      ),
    });
    const ask = (path: string) =>
      fetch(`${server.url}/${path}/checkMemberGroups`, body({ groupIds: [ids.allStaff, ids.sandbox] }));
    for (const path of [`directoryObjects/${ids.pipeline}`, `servicePrincipals/${ids.pipeline}`]) {
      const res = await ask(path);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { value: string[] }).value).toEqual([ids.allStaff]);
    }
    expect((await ask(`users/${ids.pipeline}`)).status).toBe(404);
    expect((await ask(`servicePrincipals/${ids.megan}`)).status).toBe(404);
    // A user through /directoryObjects too, as Graph answers for any object.
    const megan = await ask(`directoryObjects/${ids.megan}`);
    expect(((await megan.json()) as { value: string[] }).value).toEqual([ids.allStaff]);
  });

  test('$batch adds and removes a service principal as single calls would, each logged', async () => {
    const res = await fetch(
      `${server.url}/$batch`,
      body({
        requests: [
          {
            id: '1',
            method: 'POST',
            url: `/groups/${ids.sandbox}/members/$ref`,
            headers: json,
            body: { '@odata.id': `${server.url}/directoryObjects/${ids.pipeline}` },
          },
          { id: '2', method: 'DELETE', url: `/groups/${ids.dbRead}/members/${ids.pipeline}/$ref` },
        ],
      }),
    );
    const answer = (await res.json()) as { responses: { id: string; status: number }[] };
    expect(answer.responses.map((r) => [r.id, r.status])).toEqual([
      ['1', 204],
      ['2', 404],
    ]);
    expect(server.members(ids.sandbox)).toEqual([ids.pipeline]);
    expect(server.calls.find((c) => c.method === 'POST' && c.path.endsWith('/$ref'))?.subject).toBe(
      ids.pipeline,
    );
  });

  test('a PIM for Groups assignment of a service principal is refused (400), nothing assigned', async () => {
    const res = await fetch(
      `${server.url}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests`,
      body({
        action: 'adminAssign',
        accessId: 'member',
        principalId: ids.pipeline,
        groupId: ids.sandbox,
        justification: 'x',
        scheduleInfo: { expiration: { type: 'afterDuration', duration: 'PT1H' } },
      }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'service principal',
    );
    expect(server.state().pimAssignments).toEqual([]);
    expect(server.members(ids.sandbox)).toEqual([]);
  });
});

describe('GraphDirectory asks for service principals the way Graph answers them', () => {
  beforeEach(async () => {
    server = await startTestDirectory();
  });

  test("memberGroups asks a person's on /users as ever, a service principal's on /servicePrincipals (after one 404, then straight)", async () => {
    const directory = graphDirectoryFor(server);
    await directory.memberGroups(ids.megan, [ids.sandbox]);
    await directory.memberGroups(ids.pipeline, [ids.sandbox]);
    await directory.memberGroups(ids.pipeline, [ids.sandbox]);
    expect(
      server.calls.filter((c) => c.path.endsWith('/checkMemberGroups')).map((c) => [c.path, c.status]),
    ).toEqual([
      [`/users/${ids.megan}/checkMemberGroups`, 200],
      [`/users/${ids.pipeline}/checkMemberGroups`, 404],
      [`/servicePrincipals/${ids.pipeline}/checkMemberGroups`, 200],
      [`/servicePrincipals/${ids.pipeline}/checkMemberGroups`, 200],
    ]);
    // One found by findServicePrincipal goes straight to its route too.
    const other = graphDirectoryFor(server);
    await other.findServicePrincipal(ids.pipeline);
    server.calls.length = 0;
    await other.memberGroups(ids.pipeline, [ids.sandbox]);
    expect(server.calls.map((c) => c.path)).toEqual([`/servicePrincipals/${ids.pipeline}/checkMemberGroups`]);
  });

  test('findServicePrincipal is cached by id and by appId; a refusal names Application.Read.All', async () => {
    const directory = graphDirectoryFor(server, { cacheTtlMs: 60_000 });
    await directory.findServicePrincipal(ids.pipeline);
    await directory.findServicePrincipal(ids.pipelineApp, 'appId');
    await directory.findServicePrincipal(ids.pipeline.toUpperCase());
    expect(server.calls.filter((c) => c.path.startsWith('/servicePrincipals'))).toHaveLength(1);

    server.faults.forbidden('GET /**');
    const refused = await graphDirectoryFor(server)
      .findServicePrincipal(ids.pipeline)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toMatchObject({
      code: ErrorCodes.DIRECTORY_PERMISSION,
      message: expect.stringContaining('Application.Read.All'),
    });
    server.faults.clear();
    server.faults.forbidden('POST /servicePrincipals/*/checkMemberGroups');
    const check = await graphDirectoryFor(server)
      .memberGroups(ids.pipeline, [ids.sandbox])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(check).toMatchObject({
      code: ErrorCodes.DIRECTORY_PERMISSION,
      message: expect.stringContaining('Application.Read.All'),
    });
  });

  test('PIM mode refuses a service principal before any Graph call', async () => {
    const directory = graphDirectoryFor(server);
    await expect(
      directory.assignTimeBound({
        groupId: ids.sandbox,
        userId: ids.pipeline,
        principalKind: 'service_principal',
        start: Date.now(),
        durationMs: 60_000,
        justification: 'deploy',
      }),
    ).rejects.toMatchObject({ code: ErrorCodes.DIRECTORY_INVALID });
    expect(server.calls).toEqual([]);
  });
});

describe('local directory state and seed with service principals', () => {
  test('a state file keeps them; one written before they existed opens with none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'timebox-sp-'));
    const stateFile = join(dir, 'directory.json');
    server = await startLocalDirectory({ seed: testSeed(), stateFile });
    await fetch(
      `${server.url}/groups/${ids.sandbox}/members/$ref`,
      body({ '@odata.id': `${server.url}/directoryObjects/${ids.pipeline}` }),
    );
    await server.close();
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { servicePrincipals: { id: string }[] };
    expect(saved.servicePrincipals.map((sp) => sp.id)).toEqual([ids.pipeline]);
    server = await startLocalDirectory({ seed: { users: [], groups: [] }, stateFile });
    expect(server.members(ids.sandbox)).toEqual([ids.pipeline]);
    expect((await fetch(`${server.url}/servicePrincipals/${ids.pipeline}`)).status).toBe(200);
    await server.close();

    const { servicePrincipals: _dropped, ...old } = saved;
    writeFileSync(stateFile, JSON.stringify({ ...old, groups: testSeed().groups }));
    server = await startLocalDirectory({ seed: testSeed(), stateFile });
    expect(server.state().servicePrincipals).toEqual([]);
    expect((await fetch(`${server.url}/servicePrincipals/${ids.pipeline}`)).status).toBe(404);
  });

  test('a seed may name a service principal as a group member; a malformed one stops start-up', async () => {
    const seed = testSeed();
    seed.groups[0]!.members = [ids.pipeline];
    server = await startLocalDirectory({ seed });
    expect(server.members(ids.sandbox)).toEqual([ids.pipeline]);
    await server.close();
    await expect(
      startLocalDirectory({
        seed: { ...testSeed(), servicePrincipals: [{ id: 'x' } as never] },
      }),
    ).rejects.toThrow(/service principal needs id, appId and displayName/);
  });

  test("the demo directory holds the local issuer's workloads, by the same ids (a dev token's oid is a member)", () => {
    const demo = JSON.parse(
      readFileSync(join(__dirname, '../../../examples/demo.directory.json'), 'utf8'),
    ) as {
      servicePrincipals: { id: string; appId: string; displayName: string }[];
    };
    expect(demo.servicePrincipals).toEqual(
      DEV_APPS.map((app) => ({ id: app.objectId, appId: app.clientId, displayName: app.displayName })),
    );
  });
});
