import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { verifyAuditFile } from '../../src/adapters/store/audit-verify';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../src/dev/local-directory/server';
import { buildBot, freePort, spawnBot, type BotProcess } from '../chaos/bot-process';
import { FakeConnector, waitFor } from '../helpers/fake-connector';
import { GROUPS, testPolicy, testSeed } from '../helpers/harness';
import { TeamsClient, users } from '../helpers/teams-client';

/**
 * SIGTERM (PRODUCT.md, issue 8): stop taking work, finish or hand back the side effects under
 * way, flush, exit within 10 s — with the real `timebox serve` as a child process.
 */
describe('graceful shutdown of `timebox serve` on SIGTERM', () => {
  let root: string;
  let bundle: string;
  let directory: LocalDirectoryHandle;
  let connector: FakeConnector;
  let bot: BotProcess | undefined;
  let port: number;

  beforeAll(async () => {
    bundle = await buildBot();
  });
  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'timebox-shutdown-'));
    writeFileSync(path.join(root, 'policy.yaml'), stringify(testPolicy()));
    directory = await startLocalDirectory({ seed: testSeed() });
    connector = await new FakeConnector().start();
  });
  afterEach(async () => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await bot?.exited;
    await connector.stop();
    await directory.close();
    rmSync(root, { recursive: true, force: true });
  });

  const data = () => path.join(root, 'data');
  async function start(): Promise<TeamsClient> {
    port = await freePort();
    bot = spawnBot({
      bundle,
      port,
      env: {
        TIMEBOX_DEV: '1',
        TIMEBOX_POLICY: path.join(root, 'policy.yaml'),
        TIMEBOX_DATA_DIR: data(),
        GRAPH_BASE_URL: directory.url,
        LOG_LEVEL: 'warn',
        TIMEBOX_RECONCILE_INTERVAL: 'off',
      },
    });
    await bot.ready();
    return new TeamsClient(`http://127.0.0.1:${port}`, connector.url);
  }
  const hotState = () =>
    JSON.parse(readFileSync(path.join(data(), 'timebox.json'), 'utf8')) as {
      effects: Array<{ kind: string; requestId: string }>;
    };
  const auditTypes = (requestId: string) =>
    readFileSync(path.join(data(), 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; requestId?: string })
      .filter((r) => r.requestId === requestId)
      .map((r) => r.type);

  /** A 2 s sandbox grant for Alex, approved by himself (the test policy allows it), active. */
  async function activeGrant(teams: TeamsClient): Promise<string> {
    await teams.say(users.alex, 'request sandbox for 2s because shutdown test');
    const post = await waitFor(
      () => connector.created.find((c) => JSON.stringify(c.params.activity).includes('Sandbox')),
      'approval card',
    );
    const requestId = /"requestId":"(R-[A-Z0-9]+)"/.exec(JSON.stringify(post.params.activity))![1]!;
    const click = await teams.click(
      users.alex,
      'approve',
      { requestId },
      { conversationId: post.id, replyToId: post.activityId },
    );
    expect(click.status).toBe(200);
    await waitFor(
      () => directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership added',
    );
    return requestId;
  }
  const removalUnderWay = () =>
    waitFor(
      () =>
        directory.calls.find(
          (c) => c.method === 'DELETE' && c.path.includes(GROUPS.sandbox) && c.status === 0,
        ),
      'the removal under way (answer delayed)',
      8000,
    );

  it('finishes the removal under way, refuses new work, and exits 0 within 10 s', async () => {
    const teams = await start();
    const requestId = await activeGrant(teams);
    directory.faults.latency('DELETE /groups/*/members/*/$ref', 2_000); // Graph answers the removal 2 s late
    await removalUnderWay();

    const signalled = Date.now();
    bot!.child.kill('SIGTERM');
    // Once the process has taken the signal in (readiness turns 503 or the listener closes),
    // new work is refused: a 503 (Teams retries it) or a closed listener.
    await waitFor(
      () =>
        fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 503,
          () => true,
        ),
      'the bot to notice SIGTERM',
      5000,
    );
    const late = await teams.say(users.megan, 'request db-read for 1h because too late').then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(late);
    const exit = await bot!.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeLessThan(10_000);

    // The removal under way was finished and recorded, not lost and not left half-done.
    expect(directory.members(GROUPS.sandbox)).not.toContain(users.alex.aadObjectId);
    expect(
      hotState().effects.filter((e) => e.requestId === requestId && e.kind === 'directory.remove'),
    ).toEqual([]);
    expect(auditTypes(requestId)).toEqual(expect.arrayContaining(['expired', 'member_removed']));
    expect(bot!.output()).not.toMatch(/"level":50/); // no errors logged
    expect((await verifyAuditFile(path.join(data(), 'audit.jsonl'))).ok).toBe(true);
    const db = directory.calls.filter((c) => c.method === 'POST' && c.path.endsWith('$ref'));
    expect(db).toHaveLength(1);
  });

  it('hands back a side effect that does not finish in time, and the next start finishes it', async () => {
    const teams = await start();
    const requestId = await activeGrant(teams);
    const slow = directory.faults.latency('DELETE /groups/*/members/*/$ref', 20_000, 1); // one removal call hangs
    await removalUnderWay();

    const signalled = Date.now();
    bot!.child.kill('SIGTERM');
    const exit = await bot!.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalled).toBeLessThan(10_000);
    // Handed back: still in the outbox on disk, and not recorded as done.
    expect(
      hotState().effects.filter((e) => e.requestId === requestId && e.kind === 'directory.remove'),
    ).toHaveLength(1);
    expect(auditTypes(requestId)).not.toContain('member_removed');
    directory.faults.remove(slow);

    await start();
    await waitFor(
      () =>
        !directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId) &&
        auditTypes(requestId).includes('member_removed'),
      'removed after the restart',
      8000,
    );
    expect(auditTypes(requestId).filter((t) => t === 'member_removed')).toHaveLength(1);
    bot!.child.kill('SIGTERM');
    expect((await bot!.exited).code).toBe(0);
    expect((await verifyAuditFile(path.join(data(), 'audit.jsonl'))).ok).toBe(true);
  });
});
