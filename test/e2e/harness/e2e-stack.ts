import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from '../../../src/dev/process-net';
import { startStack, type RunningStack } from '../../../src/dev/process-stack';
import { DirectoryClient } from './directory-client';

export const ROOT = path.resolve(__dirname, '../../..');
export const RESULTS_DIR = path.join(ROOT, 'test-results/e2e');

export interface E2EStackOptions {
  /** Names the log files under test-results/e2e/logs/. */
  label: string;
  policyFile?: string;
  seedFile?: string;
  botEnv?: NodeJS.ProcessEnv;
  /**
   * The IANA zone of the demo users' Teams (TZ of the children): the playground reports it as
   * `localTimezone` on the activities its server makes (invokes). Pair it with the browser's.
   */
  timeZone?: string;
}

export interface E2EStack extends RunningStack {
  directory: DirectoryClient;
  dataDir: string;
  /** All three children's output, prefixed: test-results/e2e/logs/<label>.log. */
  logFile: string;
  dispose(): Promise<void>;
}

/**
 * `E2E_BOT_COMMAND` (a JSON array, e.g. '["node","/tmp/echo-bot.js"]') runs another bot in place
 * of `tsx src/cli.ts serve`: for working on the harness without the real bot.
 */
function botCommandOverride(): { command: string; args: string[] } | undefined {
  const raw = process.env.E2E_BOT_COMMAND;
  if (!raw) return undefined;
  const parsed = JSON.parse(raw) as unknown;
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((part) => typeof part === 'string')) {
    throw new Error('E2E_BOT_COMMAND must be a JSON array of strings, e.g. ["node", "bot.js"]');
  }
  const [command, ...args] = parsed as string[];
  return { command, args };
}

/** Directory, bot and playground on free loopback ports, with a fresh data directory. */
export async function startE2EStack(options: E2EStackOptions): Promise<E2EStack> {
  const logsDir = path.join(RESULTS_DIR, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const logFile = path.join(logsDir, `${options.label}.log`);
  const log = createWriteStream(logFile, { flags: 'w' });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'timebox-e2e-data-'));
  const [botPort, playgroundPort] = await freePorts(2);
  // jest sets NODE_ENV=test, which would silence the bot's log and switch lowdb presets to memory.
  const env = { ...process.env };
  delete env.NODE_ENV;
  if (options.timeZone) env.TZ = options.timeZone;
  try {
    const stack = await startStack({
      root: ROOT,
      botPort,
      directoryPort: 0,
      playgroundPort,
      policyFile: options.policyFile ?? 'examples/demo.policy.yaml',
      seedFile: options.seedFile ?? 'examples/demo.directory.json',
      dataDir,
      playgroundConfigFile: path.join(ROOT, '.m365agentsplayground.yml'),
      playgroundLogFile: path.join(logsDir, `${options.label}.playground.log`),
      botCommand: botCommandOverride(),
      env,
      botEnv: { LOG_LEVEL: 'debug', ...options.botEnv },
      onLine: (child, line) => log.write(`${new Date().toISOString()} ${child.padEnd(10)} ${line}\n`),
    });
    const directory = new DirectoryClient(stack.directoryUrl);
    let disposed: Promise<void> | undefined;
    return {
      ...stack,
      directory,
      dataDir,
      logFile,
      dispose: () =>
        (disposed ??= stack.stop().finally(() => {
          log.end();
          rmSync(dataDir, { recursive: true, force: true });
        })),
    };
  } catch (error) {
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
    if (error instanceof Error) error.message += `\n(all output: ${path.relative(ROOT, logFile)})`;
    throw error;
  }
}
