import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../chaos/bot-process';
import { isPortFree } from '../../src/dev/process-net';
import { waitFor } from '../helpers/fake-connector';

const ROOT = path.resolve(__dirname, '..', '..');

// NB: NOT RUN by any jest config yet. Under jest on the 2-core CI machine this file hangs before
// `npm run dev` reports ready (the same steps pass from a plain script: tsx this file's logic);
// the cause is not found. Kept out of `npm test` so that it cannot hang the suite; see issue 14's report.

/**
 * `npm run dev` (the local directory, the bot, the Agents Playground) stops all three however
 * it is ended: SIGTERM or SIGINT to npm (not only a terminal's Ctrl-C to the whole group), or
 * the death of whatever started it, even by SIGKILL.
 */
describe('npm run dev stops all three servers', () => {
  let dir: string;
  /** Process groups this test started: whatever a failed case leaves is killed. */
  const groups: number[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-dev-'));
  });
  afterEach(() => {
    for (const pgid of groups.splice(0)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `npm run dev` on free ports, through `parent` when given (a process that starts it). */
  async function start(viaParent: boolean) {
    const ports = { bot: await freePort(), directory: await freePort(), playground: await freePort() };
    // Not jest's NODE_ENV=test: the servers run as a developer's `npm run dev` does.
    const { NODE_ENV: _jest, JEST_WORKER_ID: _worker, ...inherited } = process.env;
    const env = {
      ...inherited,
      PORT: String(ports.bot),
      TIMEBOX_DIRECTORY_PORT: String(ports.directory),
      TIMEBOX_PLAYGROUND_PORT: String(ports.playground),
      TIMEBOX_DEV_DIR: dir,
      TIMEBOX_DATA_DIR: path.join(dir, 'data'),
      NO_COLOR: '1',
    };
    let output = '';
    // The parent: a plain node process that starts npm and then does nothing (an IDE, a runner).
    const child: ChildProcess = viaParent
      ? spawn(process.execPath, ['-e', "require('child_process').spawn('npm', ['run', 'dev'], { stdio: 'inherit' }); setInterval(() => {}, 1 << 30);"], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      : spawn('npm', ['run', 'dev'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    groups.push(child.pid!);
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('Ctrl-C stops everything'), 'npm run dev ready', 90_000);
    for (const port of Object.values(ports)) expect(await isPortFree(port)).toBe(false);
    return { child, ports, output: () => output };
  }

  async function allStopped(ports: Record<string, number>, output: () => string): Promise<void> {
    await waitFor(async () => (await Promise.all(Object.values(ports).map((p) => isPortFree(p)))).every(Boolean), `all three ports free:\n${output()}`, 20_000);
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} to npm`, async () => {
      const { child, ports, output } = await start(false);
      child.kill(signal);
      await allStopped(ports, output);
      const exit = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
      expect(exit).not.toBe(0);
      expect(output()).toMatch(new RegExp(`${signal}: stopping the playground, the bot and the directory`));
      expect(output()).toMatch(/Stopped\./);
    }, 120_000);
  }

  it('when what started it is SIGKILLed', async () => {
    const { child, ports, output } = await start(true);
    child.kill('SIGKILL');
    await allStopped(ports, output);
    // The launcher says why it stopped (its output went to the dead parent's pipe: read the servers instead).
    for (const port of Object.values(ports)) expect(await isPortFree(port)).toBe(true);
  }, 120_000);
});
