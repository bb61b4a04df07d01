import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../chaos/bot-process';
import {
  ROOT,
  expectRequestToPostCard,
  stageProductionTree,
  startWorld,
  waitHealthy,
  type World,
} from '../helpers/built-bot';

const run = promisify(execFile);

/**
 * PRODUCT.md §14: production is `npm ci --omit=dev` plus `dist/`. This installs exactly that in
 * an empty directory outside the repository (so nothing resolves from the repository's
 * node_modules), starts `node dist/cli.js serve` and serves a request end to end.
 */
describe('a production install (npm ci --omit=dev + dist/)', () => {
  let dir: string;
  let world: World;
  let bot: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-prod-'));
    await stageProductionTree(dir);
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production' },
    });
    world = await startWorld();
  }, 180_000);

  afterAll(async () => {
    if (bot && bot.exitCode === null) {
      bot.kill('SIGTERM');
      await new Promise((resolve) => bot!.once('exit', resolve));
    }
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds no devDependency and no development tool', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.dependencies.tsx).toBeUndefined();
    // Type packages may come along with a production dependency (botbuilder's own): they are never loaded.
    const tools = Object.keys(pkg.devDependencies).filter((name) => !name.startsWith('@types/'));
    expect(tools).toEqual(
      expect.arrayContaining(['tsx', 'typescript', 'jest', 'fflate', '@microsoft/m365agentsplayground']),
    );
    for (const name of tools)
      expect([name, existsSync(path.join(dir, 'node_modules', name))]).toEqual([name, false]);
    for (const name of Object.keys(pkg.dependencies))
      expect([name, existsSync(path.join(dir, 'node_modules', name))]).toEqual([name, true]);
    expect(existsSync(path.join(dir, 'node_modules', 'esbuild'))).toBe(false);
    expect(existsSync(path.join(dir, 'dist', 'dev'))).toBe(false);
    expect(existsSync(path.join(dir, 'dist', 'teams-package.js'))).toBe(false);
    expect(existsSync(path.join(dir, 'dist', 'cli.js'))).toBe(true);
  });

  it('prints its version', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli.js', '--version'], { cwd: dir });
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(stdout.trim()).toBe(pkg.version);
  });

  it('serves /healthz and posts the approval card for a request', async () => {
    const port = await freePort();
    bot = spawn(process.execPath, ['dist/cli.js', 'serve'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        NODE_ENV: 'production',
        ...world.env,
        PORT: String(port),
        TIMEBOX_DATA_DIR: path.join(dir, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bot.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bot.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, () => output, bot);
    await expectRequestToPostCard(world, url);
    // Info-level logs say what happened, with ids and never a secret.
    expect(output).toMatch(/"msg":"timebox listening"/);
    bot.kill('SIGTERM');
    const code = await new Promise((resolve) => bot!.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  }, 60_000);
});
