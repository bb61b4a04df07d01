import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ChildStartError, ManagedChild, followFile } from './process-child';
import { LOOPBACK, waitForHttp } from './process-net';

/**
 * The local stack of `npm run dev` and of the e2e suite: the local directory (Graph), the bot
 * in local mode, and the Microsoft 365 Agents Playground pointed at the bot.
 */
export interface StackOptions {
  /** Project root (where package.json, examples/ and .m365agentsplayground.yml are). */
  root: string;
  botPort: number;
  /** 0: the directory picks a free port itself and prints it. */
  directoryPort: number;
  playgroundPort: number;
  policyFile: string;
  seedFile: string;
  dataDir: string;
  /** The directory's persistent state; omitted: in memory only. */
  directoryStateFile?: string;
  playgroundConfigFile: string;
  playgroundLogFile: string;
  /** Replaces `tsx src/cli.ts serve` (e.g. a stand-in bot); it gets the same env and must serve GET /healthz. */
  botCommand?: { command: string; args: string[] };
  /** The environment every child starts from (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Extra env for the bot. */
  botEnv?: NodeJS.ProcessEnv;
  /** Every line of every child, e.g. to print with a prefix or to write to a file. */
  onLine?: (child: StackChildName, line: string) => void;
  /** Per child. */
  startTimeoutMs?: number;
  /** Aborting stops whatever has started; startStack then rejects. */
  signal?: AbortSignal;
}

export type StackChildName = 'directory' | 'bot' | 'playground';

export interface RunningStack {
  directoryUrl: string;
  botUrl: string;
  botEndpoint: string;
  playgroundUrl: string;
  /** The mocked Bot Connector: the `serviceUrl` of every activity the bot receives. */
  serviceUrl: string;
  children: ManagedChild[];
  /** Resolves when any child exits without stop() having been called. */
  unexpectedExit: Promise<ManagedChild>;
  stop(): Promise<void>;
}

function resolveFrom(root: string, request: string): string {
  return require.resolve(request, { paths: [root] });
}

function tsxCommand(root: string, script: string, args: string[]): { command: string; args: string[] } {
  // tsx's CLI run by this node directly: no npx in between (faster, one process less).
  return { command: process.execPath, args: [resolveFrom(root, 'tsx/cli'), script, ...args] };
}

async function stopAll(children: ManagedChild[]): Promise<void> {
  // Reverse start order: the playground first (it calls the bot), the directory last.
  for (const child of [...children].reverse()) await child.stop();
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const timeout = options.startTimeoutMs ?? 60_000;
  const baseEnv = options.env ?? process.env;
  const children: ManagedChild[] = [];
  const line = (name: StackChildName) => (text: string) => options.onLine?.(name, text);
  const start = (
    name: StackChildName,
    command: { command: string; args: string[] },
    env: NodeJS.ProcessEnv,
  ): ManagedChild => {
    if (options.signal?.aborted) throw new Error('start-up aborted');
    const child = new ManagedChild({ name, ...command, cwd: options.root, env, onLine: line(name) });
    children.push(child);
    return child;
  };
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(path.dirname(options.playgroundLogFile), { recursive: true });
  if (options.directoryStateFile) mkdirSync(path.dirname(options.directoryStateFile), { recursive: true });
  let stopFollowingLog: (() => void) | undefined;
  const onAbort = (): void => void stopAll(children);
  options.signal?.addEventListener('abort', onAbort);

  try {
    const directoryArgs = [
      '--seed',
      options.seedFile,
      '--port',
      String(options.directoryPort),
      '--host',
      LOOPBACK,
    ];
    if (options.directoryStateFile) directoryArgs.push('--state', options.directoryStateFile);
    const directory = start(
      'directory',
      tsxCommand(options.root, 'src/dev/local-directory/main.ts', directoryArgs),
      { ...baseEnv },
    );
    const [, directoryUrl] = await directory.waitForLine(
      /local directory listening on (http:\/\/\S+)/,
      timeout,
      'for "local directory listening on …"',
    );

    const serviceUrl = `http://${LOOPBACK}:${options.playgroundPort}/_connector`;
    const botUrl = `http://${LOOPBACK}:${options.botPort}`;
    const bot = start('bot', options.botCommand ?? tsxCommand(options.root, 'src/cli.ts', ['serve']), {
      ...baseEnv,
      TIMEBOX_DEV: '1',
      PORT: String(options.botPort),
      TIMEBOX_POLICY: options.policyFile,
      TIMEBOX_DATA_DIR: options.dataDir,
      GRAPH_BASE_URL: directoryUrl,
      // Lets the bot reach the channel before any activity has told it the serviceUrl.
      TIMEBOX_SERVICE_URL: serviceUrl,
      ...options.botEnv,
    });
    await bot.whileRunning(
      (signal) => waitForHttp(`${botUrl}/healthz`, timeout, undefined, signal),
      `before GET ${botUrl}/healthz answered 200`,
    );

    rmSync(options.playgroundLogFile, { force: true });
    const playgroundCli = resolveFrom(options.root, '@microsoft/m365agentsplayground/cli.js');
    const playground = start(
      'playground',
      {
        command: process.execPath,
        args: [
          '--require',
          path.join(options.root, 'scripts/playground-loopback.cjs'),
          playgroundCli,
          'start',
          '--app-endpoint',
          `${botUrl}/api/messages`,
          '--channel-id',
          'msteams',
          '--port',
          String(options.playgroundPort),
          '--service-url',
          serviceUrl,
          '--disable-telemetry',
        ],
      },
      {
        ...baseEnv,
        // Otherwise it tries to open a browser and exits with code 1 and no message.
        TEAMSAPPTESTER_BROWSER: 'none',
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: options.playgroundConfigFile,
        M365_AGENTS_PLAYGROUND_LOGFILE: options.playgroundLogFile,
      },
    );
    // With stdout not a terminal the playground prints only "Listening on <port>"; the rest of
    // its log goes to the log file, which is followed into the child's output.
    stopFollowingLog = followFile(options.playgroundLogFile, (text) => playground.record(text));
    const [, listening] = await playground.waitForLine(
      /^Listening on (\d+)/,
      timeout,
      'for "Listening on <port>"',
    );
    if (Number(listening) !== options.playgroundPort) {
      // It silently falls back to a random port when its port is taken.
      throw new ChildStartError(
        'playground',
        `listens on ${listening} instead of ${options.playgroundPort} (was the port taken?)`,
        playground.lastLines(),
      );
    }
    const playgroundUrl = `http://${LOOPBACK}:${options.playgroundPort}`;
    await playground.whileRunning(
      (signal) =>
        waitForHttp(
          `${playgroundUrl}/_debug/ping`,
          timeout,
          (status, body) => status === 200 && body.includes('pong'),
          signal,
        ),
      'before /_debug/ping answered',
    );

    const unexpectedExit = new Promise<ManagedChild>((resolve) => {
      for (const child of children) void child.exited.then(() => !child.isStopping && resolve(child));
    });
    let stopped: Promise<void> | undefined;
    options.signal?.removeEventListener('abort', onAbort);
    return {
      directoryUrl,
      botUrl,
      botEndpoint: `${botUrl}/api/messages`,
      playgroundUrl,
      serviceUrl,
      children,
      unexpectedExit,
      stop: () =>
        (stopped ??= stopAll(children).finally(() => {
          stopFollowingLog?.();
        })),
    };
  } catch (error) {
    options.signal?.removeEventListener('abort', onAbort);
    await stopAll(children);
    stopFollowingLog?.();
    throw options.signal?.aborted ? new Error('start-up aborted') : error;
  }
}
