import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';

/** Wraps every child: it stops the child's group when this process is gone (see the file). */
const WATCHDOG = path.join(__dirname, 'watchdog.mjs');

export interface ChildSpec {
  /** Short name used as the log prefix and in error messages ("directory", "bot", "playground"). */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Receives every output line of the child (stdout and stderr), without a trailing newline. */
  onLine?: (line: string) => void;
  /** How many of the last output lines to keep for error reports. */
  keepLines?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Thrown when a child fails to start; `message` already contains its last output lines. */
export class ChildStartError extends Error {
  constructor(
    readonly child: string,
    reason: string,
    readonly lastLines: string[],
  ) {
    super(
      `${child} ${reason}` +
        (lastLines.length > 0
          ? `\n--- last lines of ${child} ---\n${lastLines.join('\n')}\n---`
          : ` (it printed nothing)`),
    );
    this.name = 'ChildStartError';
  }
}

const alive = new Set<ManagedChild>();
let exitHookInstalled = false;

// Children run in their own process groups (so that a stop reaches their grandchildren, e.g.
// the node process tsx starts). A Ctrl-C in the terminal therefore no longer reaches them by
// itself: whatever way this process ends, their groups are killed here, synchronously. When it
// cannot run this (SIGKILL, a crash of node itself), each child's watchdog does it.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of alive) child.killNow();
  });
}

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * A child process in its own process group, with line-wise output and a bounded tail of it.
 * It runs under watchdog.mjs, the group's leader, which holds a pipe from this process on its
 * stdin and stops the group when the pipe closes: this process is gone, however it ended.
 */
export class ManagedChild {
  readonly name: string;
  readonly exited: Promise<ExitInfo>;
  private readonly proc: ChildProcess;
  private readonly tail: string[] = [];
  private readonly keep: number;
  private readonly listeners = new Set<(line: string) => void>();
  private exitInfo: ExitInfo | undefined;
  private stopping = false;

  constructor(private readonly spec: ChildSpec) {
    this.name = spec.name;
    this.keep = spec.keepLines ?? 40;
    installExitHook();
    // stdin: a pipe never written to; the watchdog only waits for it to close.
    this.proc = spawn(process.execPath, [WATCHDOG, spec.command, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    alive.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.proc.once('error', (error) => {
        this.record(`failed to start ${spec.command}: ${error.message}`);
        this.exitInfo = { code: null, signal: null };
        alive.delete(this);
        resolve(this.exitInfo);
      });
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // The leader is gone; stragglers in its group (grandchildren) must not outlive it.
        this.signalGroup('SIGKILL');
        alive.delete(this);
        resolve(this.exitInfo);
      });
    });
    this.pipeLines(this.proc.stdout);
    this.pipeLines(this.proc.stderr);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** Whether stop() was called (an exit after it is expected, not a crash). */
  get isStopping(): boolean {
    return this.stopping;
  }

  lastLines(count = this.keep): string[] {
    return this.tail.slice(-count);
  }

  /** Adds a line to the tail as if the child had printed it (e.g. from a log file it writes). */
  record(line: string): void {
    this.tail.push(line);
    if (this.tail.length > this.keep) this.tail.shift();
    this.spec.onLine?.(line);
    for (const listener of this.listeners) listener(line);
  }

  /**
   * Resolves with the first match of `pattern` in the child's output; rejects with a
   * ChildStartError when the child exits first or `timeoutMs` passes.
   */
  waitForLine(pattern: RegExp, timeoutMs: number, what = `to print ${pattern}`): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
      };
      const onLine = (line: string): void => {
        const match = line.match(pattern);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new ChildStartError(
            this.name,
            `did not get ready within ${Math.round(timeoutMs / 1000)} s (waiting ${what})`,
            this.lastLines(),
          ),
        );
      }, timeoutMs);
      this.listeners.add(onLine);
      void this.exited.then((exit) => {
        if (!this.listeners.has(onLine)) return;
        cleanup();
        reject(new ChildStartError(this.name, `${describeExit(exit)} before it was ready`, this.lastLines()));
      });
    });
  }

  /**
   * Runs `work` (e.g. polling the child's health endpoint) and rejects with a ChildStartError
   * if the child exits first; `work` is then told to give up through the signal.
   */
  async whileRunning<T>(work: (signal: AbortSignal) => Promise<T>, what: string): Promise<T> {
    const giveUp = new AbortController();
    const exit = this.exited.then((info) => {
      giveUp.abort();
      throw new ChildStartError(this.name, `${describeExit(info)} ${what}`, this.lastLines());
    });
    // Whichever loses the race must not become an unhandled rejection.
    exit.catch(() => undefined);
    const running = work(giveUp.signal);
    running.catch(() => undefined);
    try {
      return await Promise.race([running, exit]);
    } finally {
      giveUp.abort();
    }
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader is gone. */
  async stop(graceMs = 5000): Promise<ExitInfo> {
    this.stopping = true;
    if (this.exitInfo) return this.exitInfo;
    this.signalGroup('SIGTERM');
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Synchronous SIGKILL of the group (for process 'exit' handlers). */
  killNow(): void {
    this.stopping = true;
    this.signalGroup('SIGKILL');
  }

  describeExit(): string {
    return this.exitInfo ? describeExit(this.exitInfo) : 'is running';
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, signal);
    } catch {
      // ESRCH: the group is already empty.
    }
  }

  private pipeLines(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) this.record(line);
    });
    stream.on('end', () => {
      if (pending) this.record(pending);
      pending = '';
    });
  }
}

/**
 * Follows a log file another process appends to (the playground writes its log to a file, not
 * to stdout, when stdout is not a terminal). Calls `onLine` for each new complete line.
 * Returns a function that stops following after reading what is left.
 */
export function followFile(file: string, onLine: (line: string) => void, intervalMs = 200): () => void {
  let offset = 0;
  let pending = '';
  const read = (): void => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size < offset) offset = 0; // truncated or recreated
    if (size === offset) return;
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(size - offset);
      const read = readSync(fd, buffer, 0, buffer.length, offset);
      offset += read;
      pending += buffer.subarray(0, read).toString('utf8');
    } finally {
      closeSync(fd);
    }
    const lines = pending.split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  const timer = setInterval(read, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    read();
  };
}
