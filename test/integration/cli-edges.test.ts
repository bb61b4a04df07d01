import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildBot, ROOT } from '../chaos/bot-process';
import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../src/dev/local-directory/server';
import { testPolicy, testSeed } from '../helpers/harness';

/** The CLI's rough edges (issue 14): each run as a person would, in a fresh process. */
describe('timebox CLI', () => {
  let bundle: string;
  let dir: string;
  beforeAll(async () => {
    bundle = await buildBot();
  }, 60_000);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [bundle, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      encoding: 'utf8',
    });

  it('reconcile --dry-run needs no bot credentials (no MicrosoftAppId, no TIMEBOX_DEV)', async () => {
    const directory: LocalDirectoryHandle = await startLocalDirectory({ seed: testSeed() });
    try {
      const policy = path.join(dir, 'policy.yaml');
      writeFileSync(policy, stringify(testPolicy()));
      // NB: asynchronously: the directory answering the CLI runs in this process.
      const run = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [bundle, 'reconcile', '--dry-run'],
          {
            cwd: ROOT,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: dir,
              TIMEBOX_POLICY: policy,
              TIMEBOX_DATA_DIR: path.join(dir, 'data'),
              GRAPH_BASE_URL: directory.url,
              MicrosoftAppType: 'SingleTenant',
            },
          },
          (error, stdout, stderr) =>
            resolve({ status: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect([run.status, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toMatch(/^Dry run at /);
      // Serving still refuses without them.
      const serve = cli(['serve'], {
        TIMEBOX_POLICY: policy,
        TIMEBOX_DATA_DIR: path.join(dir, 'data'),
        PORT: '0',
      });
      expect(serve.status).toBe(2);
      expect(serve.stderr).toMatch(/MicrosoftAppId is not set/);
    } finally {
      await directory.close();
    }
  }, 60_000);

  it('audit export | head ends quietly (no EPIPE trace, exit 0)', async () => {
    const store = new LowdbStore(path.join(dir, 'data'));
    await store.open();
    // Far more than a pipe holds (64 KiB), so that the export is still writing when head leaves.
    for (let batch = 0; batch < 20; batch++) {
      await store.appendAudit(
        Array.from({ length: 100 }, (_, i) => ({
          type: 'refused' as const,
          requestId: `r-${batch}-${i}`,
          at: Date.now(),
          reason: 'x'.repeat(400),
        })),
      );
    }
    await store.close();
    const run = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${bundle}" audit export --format json | head -c 200 > /dev/null`,
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: dir, TIMEBOX_DATA_DIR: path.join(dir, 'data') },
        encoding: 'utf8',
      },
    );
    expect(run.stderr).not.toMatch(/EPIPE|Error/);
    expect(run.status).toBe(0);
  }, 60_000);

  it('policy check reports a non-GUID groupId, a pasted channel link and every other problem in one pass', () => {
    const file = path.join(dir, 'policy.yaml');
    const policy = testPolicy();
    policy.approverChannels.ops = {
      teamId:
        'https://teams.microsoft.com/l/channel/19%3aabc123%40thread.tacv2/Ops?groupId=0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b&tenantId=c0000000-0000-4000-8000-000000000001',
      channelId: '19:ops@thread.tacv2',
    };
    policy.groups.sandbox = {
      ...policy.groups.sandbox!,
      groupId: 'Sandbox group',
      approverChannel: 'nope',
      maxDuration: '4x',
    };
    writeFileSync(file, stringify(policy));
    const run = cli(['policy', 'check', file], {});
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'approverChannels.ops.teamId: is a link, not a team id: the id in it is "19:abc123@thread.tacv2"',
    );
    expect(run.stderr).toContain("groups.sandbox.groupId: must be the Entra group's object id, a GUID");
    expect(run.stderr).toContain('groups.sandbox.maxDuration: "4x" is not a duration');
    expect(run.stderr).toContain('groups.sandbox.approverChannel: "nope" is not one of approverChannels');
    writeFileSync(file, stringify(testPolicy()));
    expect(cli(['policy', 'check', file], {}).status).toBe(0);
  });

  it("--version prints package.json's version", () => {
    const run = cli(['--version'], {});
    expect(run.stdout.trim()).toBe(
      (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
});
