import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { SERVE_NODE_FLAGS } from '../../src/serve-node-flags';

/** The repository root (this file is test/chaos/bot-process.ts). */
export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * How the bot runs as a child process:
 * - `bundle`: src/cli.ts bundled once with esbuild (the one tsx uses; node_modules stay
 *   external), started with plain node: about 1 s to listening on 2 cores.
 * - `tsx`: `node --import tsx src/cli.ts`, what `npm start` does: 2.5-4 s to listening.
 * Both run the same source; the bundle is only faster to start, which keeps kill/restart
 * cycles short.
 */
export type Runner = 'bundle' | 'tsx';

/**
 * Bundles src/cli.ts into build/chaos-bot/cli.js. The file must sit two levels below the
 * root: src/cards/template.ts finds the card templates at `__dirname/../../cards`.
 */
export async function buildBot(): Promise<string> {
  return bundleEntry(path.join('src', 'cli.ts'), path.join('build', 'chaos-bot'), 'cli');
}

/**
 * Bundles `entry` (relative to the root) into `<dir>/<name>.js`, written atomically so that test
 * files or benchmarks building at the same time never start a half-written bundle.
 */
export async function bundleEntry(entry: string, dir: string, name: string): Promise<string> {
  const esbuild = (await import('esbuild')) as typeof import('esbuild');
  const outDir = path.join(ROOT, dir);
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `${name}.js`);
  const temporary = path.join(outDir, `${name}.${process.pid}.${Date.now()}.js`);
  await esbuild.build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outfile: temporary,
    logLevel: 'error',
  });
  renameSync(temporary, out);
  return out;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface BotProcess {
  child: ChildProcess;
  pid: number;
  /** Date.now() when spawned. */
  spawnedAt: number;
  /** Resolves with Date.now() once /healthz (or `readyPath`) answers; rejects if the process exits first or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<number>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** What it wrote to stdout/stderr so far. */
  output(): string;
}

export interface SpawnOptions {
  env: Record<string, string>;
  port: number;
  runner?: Runner;
  /** Prebuilt bundle (buildBot) for the `bundle` runner. */
  bundle?: string;
  args?: string[];
  /** Run as this user (root only): how "unreadable" is tested when root reads everything. */
  uid?: number;
  gid?: number;
  /** Keep at most this much output in memory (the tail). */
  maxOutput?: number;
  /** What `ready()` waits for a 200 on (default /healthz; replicas on PostgreSQL: /readyz, the store reachable). */
  readyPath?: string;
}

/** Starts `timebox serve` (or other `args`) as a child process in its own process group. */
export function spawnBot(options: SpawnOptions): BotProcess {
  const args = options.args ?? ['serve'];
  const runner = options.runner ?? 'bundle';
  if (runner === 'bundle' && !options.bundle)
    throw new Error('spawnBot: the bundle runner needs `bundle` (buildBot())');
  // The heap limits the bot is deployed with.
  const argv = [
    ...SERVE_NODE_FLAGS,
    ...(runner === 'bundle'
      ? [options.bundle!, ...args]
      : ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), ...args]),
  ];
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...options.env,
      PORT: String(options.port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  });
  const max = options.maxOutput ?? 256 * 1024;
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > max) output = output.slice(-max);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
    },
  );
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    pid: child.pid!,
    spawnedAt,
    exited,
    output: () => output,
    async ready(timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (gone) throw new Error(`the bot exited before it was ready:\n${output.slice(-4000)}`);
        try {
          const res = await fetch(`http://127.0.0.1:${options.port}${options.readyPath ?? '/healthz'}`, {
            signal: AbortSignal.timeout(1000),
          });
          if (res.ok) return Date.now();
        } catch {
          // not listening yet
        }
        if (Date.now() > end)
          throw new Error(
            `the bot did not answer ${options.readyPath ?? '/healthz'} within ${timeoutMs} ms:\n${output.slice(-4000)}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
