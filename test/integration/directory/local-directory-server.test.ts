import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { ids, startTestDirectory, testSeed } from '../../helpers/graph-local-directory';

const json = { 'content-type': 'application/json' };
const ref = (id: string) =>
  JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });

describe('local directory: Graph dialect over plain HTTP', () => {
  let server: LocalDirectoryHandle;
  beforeEach(async () => {
    server = await startTestDirectory();
  });
  afterEach(() => server.close());

  test("errors have Graph's shape and status: already a member → 400 Request_BadRequest", async () => {
    const res = await fetch(`${server.url}/groups/${ids.dbRead}/members/$ref`, {
      method: 'POST',
      headers: json,
      body: ref(ids.adele),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      error: { code: string; message: string; innerError: Record<string, string> };
    };
    expect(body.error.code).toBe('Request_BadRequest');
    expect(body.error.message).toBe(
      "One or more added object references already exist for the following modified properties: 'members'.",
    );
    expect(Object.keys(body.error.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
  });

  test('DELETE without /$ref never deletes anything: 405, recorded, user and membership intact', async () => {
    const res = await fetch(`${server.url}/groups/${ids.dbRead}/members/${ids.adele}`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('/$ref');
    expect((await fetch(`${server.url}/users/${ids.adele}`, { method: 'DELETE' })).status).toBe(405);
    expect(server.members(ids.dbRead)).toEqual([ids.adele]);
    expect(server.state().users).toHaveLength(3);
    expect(server.calls.filter((c) => c.status === 405).map((c) => c.path)).toEqual([
      `/groups/${ids.dbRead}/members/${ids.adele}`,
      `/users/${ids.adele}`,
    ]);
  });

  test('GET /groups/{id}/members pages with @odata.nextLink and honours $select', async () => {
    const many = testSeed();
    many.users = Array.from({ length: 250 }, (_, i) => ({
      id: `d4000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      displayName: `User ${i}`,
      userPrincipalName: `u${i}@example.com`,
    }));
    many.groups = [{ id: ids.sandbox, displayName: 'Big', members: many.users.map((u) => u.id) }];
    server.reset(many);
    let next: string | undefined = `${server.url}/groups/${ids.sandbox}/members?$select=id&$top=100`;
    const seen: string[] = [];
    let pages = 0;
    while (next) {
      const page = (await (await fetch(next)).json()) as {
        value: Record<string, unknown>[];
        '@odata.nextLink'?: string;
      };
      pages += 1;
      for (const item of page.value) {
        expect(Object.keys(item).sort()).toEqual(['@odata.type', 'id']);
        seen.push(item.id as string);
      }
      next = page['@odata.nextLink'];
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(many.users.map((u) => u.id));
  });

  test('checkMemberGroups refuses more than 20 ids, as Graph does', async () => {
    const groupIds = Array.from(
      { length: 21 },
      (_, i) => `c3000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const res = await fetch(`${server.url}/users/${ids.alex}/checkMemberGroups`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ groupIds }),
    });
    expect(res.status).toBe(400);
  });

  test('faults over HTTP from another process: POST /_admin/faults, GET /_admin/state, POST /_admin/reset', async () => {
    const admin = server.url.replace(/\/v1\.0$/, '/_admin');
    const added = await fetch(`${admin}/faults`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify([
        { route: 'GET /users/*', status: 429, retryAfterSeconds: 7, times: 1 },
        { route: 'GET /users/*', status: 503, times: 1 },
      ]),
    });
    expect(added.status).toBe(201);
    const first = await fetch(`${server.url}/users/${ids.alex}`);
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '7']);
    expect((await fetch(`${server.url}/users/${ids.alex}`)).status).toBe(503);
    expect((await fetch(`${server.url}/users/${ids.alex}`)).status).toBe(200);

    await fetch(`${server.url}/groups/${ids.sandbox}/members/$ref`, {
      method: 'POST',
      headers: json,
      body: ref(ids.alex),
    });
    const state = (await (await fetch(`${admin}/state`)).json()) as {
      groups: { id: string; members: string[] }[];
      calls: unknown[];
      faults: unknown[];
    };
    expect(state.groups.find((g) => g.id === ids.sandbox)?.members).toEqual([ids.alex]);
    expect(state.calls).toHaveLength(4);
    expect(state.faults).toEqual([]);

    expect(
      (
        await fetch(`${admin}/faults`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ status: 'soon' }),
        })
      ).status,
    ).toBe(400);
    expect((await fetch(`${admin}/reset`, { method: 'POST' })).status).toBe(204);
    expect(server.members(ids.sandbox)).toEqual([]);
    expect(server.calls).toEqual([]);
  });

  test('probability faults: p = 1 hits every call, p = 0 none', async () => {
    server.faults.add({ route: 'GET /organization', status: 503, probability: 0 });
    expect((await fetch(`${server.url}/organization`)).status).toBe(200);
    server.faults.clear();
    server.faults.add({ route: 'GET /organization', status: 503, probability: 1 });
    expect((await fetch(`${server.url}/organization`)).status).toBe(503);
    expect((await fetch(`${server.url}/organization`)).status).toBe(503);
  });

  test("403 fault answers with Graph's Authorization_RequestDenied body", async () => {
    server.faults.forbidden('POST /groups/*/members/$ref', 1);
    const res = await fetch(`${server.url}/groups/${ids.sandbox}/members/$ref`, {
      method: 'POST',
      headers: json,
      body: ref(ids.alex),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
    });
  });
});

describe('local directory: state file', () => {
  test('membership and PIM schedules survive a restart; an expired schedule ends on start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'timebox-directory-'));
    const stateFile = join(dir, 'directory.json');
    const first = await startLocalDirectory({ seed: testSeed(), stateFile });
    await fetch(`${first.url}/groups/${ids.sandbox}/members/$ref`, {
      method: 'POST',
      headers: json,
      body: ref(ids.alex),
    });
    const pim = await fetch(
      `${first.url}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests`,
      {
        method: 'POST',
        headers: json,
        body: JSON.stringify({
          action: 'adminAssign',
          accessId: 'member',
          principalId: ids.megan,
          groupId: ids.dbRead,
          justification: 't',
          scheduleInfo: {
            startDateTime: new Date().toISOString(),
            expiration: { type: 'afterDuration', duration: 'PT1S' },
          },
        }),
      },
    );
    expect(pim.status).toBe(201);
    await first.close();
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).pimAssignments).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await startLocalDirectory({ seed: testSeed(), stateFile });
    expect(second.members(ids.sandbox)).toEqual([ids.alex]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(second.members(ids.dbRead)).toEqual([ids.adele]);
    expect(second.state().pimAssignments).toEqual([]);
    await second.close();
  });

  test('a corrupt state file stops start-up, naming the file, and is left as it was', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'timebox-directory-')), 'directory.json');
    writeFileSync(stateFile, '{"users": [');
    await expect(startLocalDirectory({ seed: testSeed(), stateFile })).rejects.toThrow(stateFile);
    expect(readFileSync(stateFile, 'utf8')).toBe('{"users": [');
  });

  test('a seed naming an unknown member is refused', async () => {
    const seed = testSeed();
    seed.groups[0].members = ['not-a-user'];
    await expect(startLocalDirectory({ seed })).rejects.toThrow('not-a-user');
  });
});

describe('local directory: the runnable entry', () => {
  test('prints one line with its URL, obeys --faults, stops cleanly on SIGTERM', async () => {
    const faults = JSON.stringify({ route: 'GET /organization', status: 503, times: 1 });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/dev/local-directory/main.ts',
        '--seed',
        'examples/demo.directory.json',
        '--port',
        '0',
        '--faults',
        faults,
      ],
      {
        cwd: join(__dirname, '../../..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^local directory listening on (http:\/\/127\.0\.0\.1:\d+\/v1\.0)\n$/.exec(out);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err}`)));
    });
    expect((await fetch(`${url}/organization`)).status).toBe(503);
    expect((await fetch(`${url}/users/alex@example.com`)).status).toBe(200);
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(1);
  });
});
