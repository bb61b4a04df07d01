import { execFile, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { startLocalDirectory, type LocalDirectoryHandle } from '../../src/dev/local-directory/server';
import { FakeConnector, cardText, waitFor } from './fake-connector';
import { CHANNEL, testPolicy, testSeed } from './harness';
import { TeamsClient, TENANT, users } from './teams-client';

export const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * What a production install holds: package.json, the lock file, the card templates, the
 * privacy and terms pages (docs/) and
 * `dist/` built here with the production tsconfig (never the repository's own dist/), in `dir`.
 * No node_modules: the caller runs `npm ci --omit=dev` (on the host or in an image).
 */
export async function stageProductionTree(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const file of ['package.json', 'package-lock.json'])
    cpSync(path.join(ROOT, file), path.join(dir, file));
  cpSync(path.join(ROOT, 'cards'), path.join(dir, 'cards'), { recursive: true });
  mkdirSync(path.join(dir, 'docs'), { recursive: true });
  for (const page of ['privacy.md', 'terms.md'])
    cpSync(path.join(ROOT, 'docs', page), path.join(dir, 'docs', page));
  await run(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      path.join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      path.join(dir, 'dist'),
    ],
    { cwd: ROOT },
  );
}

/**
 * The world a built bot talks to: a fake Bot Connector and the local directory on loopback,
 * and a policy file in `workDir`. `env` is what the bot gets (add PORT and TIMEBOX_DATA_DIR).
 */
export interface World {
  connector: FakeConnector;
  directory: LocalDirectoryHandle;
  workDir: string;
  policyFile: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'timebox-world-'));
  const policyFile = path.join(workDir, 'policy.yaml');
  writeFileSync(policyFile, stringify(testPolicy()));
  const connector = await new FakeConnector().start();
  const directory = await startLocalDirectory({ seed: testSeed() });
  return {
    connector,
    directory,
    workDir,
    policyFile,
    env: {
      TIMEBOX_DEV: '1',
      TIMEBOX_POLICY: policyFile,
      GRAPH_BASE_URL: directory.url,
      LOG_LEVEL: 'info',
      TIMEBOX_SHARED_CARD_BUTTONS: '0',
    },
    async close() {
      await connector.stop();
      await directory.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** Polls `url`/healthz until it answers 200, or throws with the process's output. */
export async function waitHealthy(
  url: string,
  output: () => string,
  child?: ChildProcess,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null)
      throw new Error(
        `the bot exited (${child.exitCode}) before /healthz answered:\n${output().slice(-4000)}`,
      );
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`no /healthz within ${timeoutMs} ms:\n${output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The end-to-end check of a built bot at `url`: /healthz and /readyz answer, and a request in
 * chat makes the bot post its approval card to the approvers' channel through the connector.
 */
export async function expectRequestToPostCard(world: World, url: string): Promise<void> {
  const health = await fetch(`${url}/healthz`);
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status}`);
  const ready = await fetch(`${url}/readyz`);
  if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}: ${await ready.text()}`);
  // The Teams manifest's privacyUrl and termsOfUseUrl open these.
  for (const page of ['/privacy', '/terms']) {
    const res = await fetch(`${url}${page}`);
    if (res.status !== 200 || !(await res.text()).includes('Timebox'))
      throw new Error(`${page} answered ${res.status}`);
  }
  const teams = new TeamsClient(url, world.connector.url, TENANT);
  const said = await teams.say(users.alex, 'request sandbox for 1h because checking the build');
  if (said.status >= 300) throw new Error(`/api/messages answered ${said.status}: ${await said.text()}`);
  const post = await waitFor(
    () =>
      world.connector.created.find((c) =>
        cardText(c.params.activity?.attachments?.[0]?.content).includes('Sandbox'),
      ),
    'the approval card in the approvers channel',
    15_000,
  );
  if (post.params.channelData?.channel?.id !== CHANNEL.channelId)
    throw new Error(`card went to ${JSON.stringify(post.params.channelData)}`);
}
