import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts, isPortFree } from '../../src/dev/process-net';
import { commandLine, descendants, isGone } from './process-tree';

const ROOT = path.resolve(__dirname, '..', '..');
/** From the launcher's first line to "Ctrl-C stops everything" (about 6 s here, alone). */
const READY_MS = 90_000;
/** "Within a few seconds": an orderly stop takes about one; the watchdogs' grace is 3 s. */
const STOPPED_MS = 8_000;

/**
 * `npm run dev` (the local directory, the bot, the Agents Playground) stops all three however
 * it is ended: SIGTERM or SIGINT to npm (not only a terminal's Ctrl-C to the whole group, checked
 * too), the death of whatever started it, even by SIGKILL, and a SIGKILL of the launcher itself.
 * Each case checks that the three ports are free and that every process of the tree seen when
 * it was ready (npm, the launcher, the watchdogs, the servers and all between) has ended.
 */
describe('npm run dev stops all three servers', () => {
  let dir: string;
  /** Every process a case started: whatever a failed case leaves is killed. */
  const started: number[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'timebox-dev-'));
  });
  afterEach(() => {
    // With what is still below them (a case that failed before it recorded the whole tree).
    const pids = started.splice(0);
    for (const pid of [...pids, ...pids.flatMap(descendants)].filter((pid) => !isGone(pid))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts `npm run dev` on free ports and waits until it is ready. `viaParent`: npm is started
   * by a plain node process that then does nothing (as an IDE or a test runner would).
   */
  async function startDev(viaParent: boolean) {
    const [bot, directory, playground, issuer] = await freePorts(4);
    const ports = { bot, directory, playground, issuer };
    // Not jest's NODE_ENV=test: the servers run as a developer's `npm run dev` does.
    const { NODE_ENV: _jest, ...inherited } = process.env;
    const env = {
      ...inherited,
      PORT: String(bot),
      TIMEBOX_DIRECTORY_PORT: String(directory),
      TIMEBOX_PLAYGROUND_PORT: String(playground),
      TIMEBOX_ISSUER_PORT: String(issuer),
      TIMEBOX_DEV_DIR: dir,
      TIMEBOX_DATA_DIR: path.join(dir, 'data'),
      NO_COLOR: '1',
    };
    const parentScript =
      "require('child_process').spawn('npm', ['run', 'dev'], { stdio: 'inherit' }); setInterval(() => {}, 1 << 30);";
    const [command, args] = viaParent ? [process.execPath, ['-e', parentScript]] : ['npm', ['run', 'dev']];
    // detached: a process group of its own, apart from jest's.
    const top: ChildProcess = spawn(command, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    started.push(top.pid!);
    // Recorded from the start: npm may exit (of a signal: exitCode stays null) long before a check.
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    top.once('exit', (code, signal) => (exit = { code, signal }));
    // All of the output has arrived once every process holding npm's pipes has ended.
    let closed = false;
    top.once('close', () => (closed = true));
    let output = '';
    top.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    top.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await eventually(
      () => {
        if (closed) throw new Error(`npm run dev ended before it was ready:\n${output}`);
        return output.includes('Ctrl-C stops everything');
      },
      READY_MS,
      () => `npm run dev not ready:\n${output}`,
    );
    for (const port of Object.values(ports)) expect(await isPortFree(port)).toBe(false);
    const tree = [top.pid!, ...descendants(top.pid!)];
    started.push(...tree);
    return { top, ports, tree, exit: () => exit, closed: () => closed, output: () => output };
  }

  type Dev = Awaited<ReturnType<typeof startDev>>;

  /** The launcher: the deepest process whose command line names it (below it: the watchdogs). */
  function launcherOf(dev: Dev): number {
    const named = dev.tree.filter((pid) => commandLine(pid).includes('src/dev/launcher.ts'));
    const launcher = named.find((pid) => !descendants(pid).some((below) => named.includes(below)));
    if (launcher === undefined) throw new Error(`no launcher in ${dev.tree.map(commandLine).join('\n')}`);
    return launcher;
  }

  async function expectAllStopped(dev: Dev): Promise<void> {
    const since = Date.now();
    const survivors = (): number[] => dev.tree.filter((pid) => !isGone(pid));
    const portsTaken = async (): Promise<number[]> => {
      const free = await Promise.all(Object.values(dev.ports).map((port) => isPortFree(port)));
      return Object.values(dev.ports).filter((_, i) => !free[i]);
    };
    const explain = async (): Promise<string> => {
      const running = survivors().map((pid) => `\n  ${pid} ${commandLine(pid)}`);
      return (
        `after ${Date.now() - since} ms, ports still taken: [${(await portsTaken()).join(', ')}], ` +
        `processes still running: [${running.join('')}]\noutput:\n${dev.output()}`
      );
    };
    await eventually(
      async () => survivors().length === 0 && (await portsTaken()).length === 0 && dev.closed(),
      STOPPED_MS,
      explain,
    );
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} to npm`, async () => {
      const dev = await startDev(false);
      dev.top.kill(signal);
      await expectAllStopped(dev);
      expect(dev.exit()).not.toEqual({ code: 0, signal: null });
      // An orderly stop, not only the end of the processes.
      expect(dev.output()).toMatch(/stopping the playground, the bot and the directory…[\s\S]*\nStopped\.\n/);
    }, 120_000);
  }

  it("on a terminal's Ctrl-C (SIGINT to npm's whole process group), after showing the bot's logs pretty", async () => {
    const dev = await startDev(false);
    // The bot's pino JSON, pretty-printed for a person (NO_COLOR: no escapes to match around).
    expect(dev.output()).toMatch(/^bot +\| \[\d\d:\d\d:\d\d\] INFO: timebox listening /m);
    expect(dev.output()).not.toMatch(/^bot +\| \{"level"/m);
    process.kill(-dev.top.pid!, 'SIGINT');
    await expectAllStopped(dev);
    // npm passes on the SIGINT the launcher got from the terminal too: still one Ctrl-C.
    expect(dev.output()).not.toContain('Forced exit');
    expect(dev.output()).toMatch(
      /SIGINT: stopping the playground, the bot and the directory…[\s\S]*\nStopped\.\n/,
    );
  }, 120_000);

  it('when the process that started it is SIGKILLed', async () => {
    const dev = await startDev(true);
    dev.top.kill('SIGKILL');
    await expectAllStopped(dev);
    expect(dev.output()).toContain(`The process that started npm run dev (${dev.top.pid}) is gone: stopping`);
    expect(dev.output()).toMatch(/\nStopped\.\n/);
  }, 120_000);

  it('when the launcher itself is SIGKILLed', async () => {
    const dev = await startDev(false);
    process.kill(launcherOf(dev), 'SIGKILL');
    await expectAllStopped(dev);
  }, 120_000);
});

/** Polls `condition` every 100 ms; fails with `explain()` after `timeoutMs`. */
async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  explain: () => string | Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(await explain());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
