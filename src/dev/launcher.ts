// `npm run dev`: the local directory, the bot in local mode and the Microsoft 365 Agents
// Playground, wired together on loopback, and a local token issuer (in this process) whose
// tokens the bot's workflow API accepts, for `npm run dev:pipeline`. Ctrl-C, SIGTERM or SIGHUP stops all three, and so
// does the end of whatever started it (an IDE, a test runner, a CI step): see watchAncestors.
// If this process itself is SIGKILLed, each server's watchdog stops it (process-child.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_ISSUER_PORT } from './local-issuer/dev-identity';
import { startDevIssuer, type DevIssuer } from './local-issuer/dev-issuer';
import { ChildStartError, type ManagedChild } from './process-child';
import { botLogPrettifier } from './process-log';
import { PortInUseError, assertPortFree, parsePort } from './process-net';
import { startStack, type RunningStack, type StackChildName } from './process-stack';

const root = path.resolve(__dirname, '../..');
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const colors: Record<StackChildName, string> = { directory: '36', bot: '35', playground: '33' };
const width = Math.max(...Object.keys(colors).map((name) => name.length));

function prefix(name: StackChildName): string {
  const label = name.padEnd(width);
  return useColor ? `\x1b[${colors[name]}m${label}\x1b[0m │ ` : `${label} | `;
}

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

// The playground logs every activity as JSON at "debug" level into its log file: only its
// warnings, errors and a few landmarks are worth a line in the terminal.
function worthShowing(name: StackChildName, line: string): boolean {
  if (name !== 'playground') return line.trim() !== '';
  return /^(warn|error) /.test(line) || /^Listening on /.test(line);
}

// The bot logs pino JSON, as in production; here a person reads it.
const prettyBotLine = botLogPrettifier({ color: useColor });

/** Stop requests closer together than this are one (see requestStop). */
const SAME_REQUEST_MS = 500;

/** What the launcher tells people to try; README.md shows the same line. */
const DEV_PIPELINE_COMMAND =
  'npm run dev:pipeline -- deploy-prod --for 15m --because "release 1.2.3" --environment production --wait';

function ports(): { bot: number; directory: number; playground: number; issuer: number } {
  return {
    bot: parsePort(process.env.PORT, 3978, 'PORT'),
    directory: parsePort(process.env.TIMEBOX_DIRECTORY_PORT, 5100, 'TIMEBOX_DIRECTORY_PORT'),
    playground: parsePort(process.env.TIMEBOX_PLAYGROUND_PORT, 56150, 'TIMEBOX_PLAYGROUND_PORT'),
    issuer: parsePort(process.env.TIMEBOX_ISSUER_PORT, DEFAULT_ISSUER_PORT, 'TIMEBOX_ISSUER_PORT'),
  };
}

async function main(): Promise<number> {
  const port = ports();
  const distinct = new Set(Object.values(port));
  if (distinct.size !== 4)
    throw new Error(
      `PORT, TIMEBOX_DIRECTORY_PORT, TIMEBOX_PLAYGROUND_PORT and TIMEBOX_ISSUER_PORT must differ (${port.bot}, ${port.directory}, ${port.playground}, ${port.issuer}).`,
    );
  await assertPortFree(port.directory, 'local directory', 'TIMEBOX_DIRECTORY_PORT');
  await assertPortFree(port.bot, 'bot', 'PORT');
  await assertPortFree(port.playground, 'Agents Playground', 'TIMEBOX_PLAYGROUND_PORT');
  await assertPortFree(port.issuer, 'local token issuer', 'TIMEBOX_ISSUER_PORT');

  const dev = path.resolve(root, process.env.TIMEBOX_DEV_DIR ?? '.dev');
  say('Starting the local directory, the bot (local mode) and the Agents Playground…');
  // In this process: it ends with it, and the bot needs its URL before it starts.
  const issuer: DevIssuer = await startDevIssuer({ port: port.issuer, devDir: dev });
  const abort = new AbortController();
  let stack: RunningStack | undefined;
  let stopping: Promise<void> | undefined;
  let resolveSignalled: (code: number) => void = () => undefined;
  const signalled = new Promise<number>((resolve) => (resolveSignalled = resolve));
  let stopRequestedAt: number | undefined;
  /** `why`: what is printed first; `code`: the exit code once all three have stopped. */
  const requestStop = (why: string, code: number): void => {
    if (stopRequestedAt !== undefined) {
      // The terminal's Ctrl-C reaches this process and npm, which passes it on: one Ctrl-C, twice.
      if (Date.now() - stopRequestedAt < SAME_REQUEST_MS) return;
      // A second Ctrl-C: no more waiting (the exit hook SIGKILLs the process groups).
      say('Forced exit.');
      process.exit(130);
    }
    stopRequestedAt = Date.now();
    say(`\n${why}: stopping the playground, the bot and the directory…`);
    if (!stack) {
      abort.abort();
      void issuer.close().then(() => resolveSignalled(code));
      return;
    }
    stopping ??= stack.stop().finally(() => issuer.close());
    void stopping.then(() => resolveSignalled(code));
  };
  const exitCodes = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => requestStop(signal, exitCodes[signal]));
  // npm passes a SIGTERM or SIGINT on to its own child only, so package.json's dev script execs
  // node on this file: a `sh -c` in between dies of SIGTERM (noticed below, not as a signal) but
  // holds SIGINT back while its child runs, and the tsx CLI SIGKILLs a child slow to confirm one.
  watchAncestors((pid) => {
    // Already stopping: an ancestor ending meanwhile (a SIGTERM to the whole group ends the
    // shell too) is no reason to force it.
    if (stopRequestedAt === undefined)
      requestStop(`The process that started npm run dev (${pid}) is gone`, exitCodes.SIGHUP);
  });

  try {
    stack = await startStack({
      root,
      botPort: port.bot,
      directoryPort: port.directory,
      playgroundPort: port.playground,
      policyFile: process.env.TIMEBOX_POLICY ?? 'examples/demo.policy.yaml',
      seedFile: 'examples/demo.directory.json',
      dataDir: process.env.TIMEBOX_DATA_DIR ?? '.dev/data',
      directoryStateFile: path.join(dev, 'directory.json'),
      playgroundConfigFile: path.join(root, '.m365agentsplayground.yml'),
      playgroundLogFile: path.join(dev, 'playground.log'),
      // The workflow API on, trusting the local issuer's tokens (TIMEBOX_DEV relaxes none of its checks).
      botEnv: issuer.botEnv,
      signal: abort.signal,
      onLine: (name, line) => {
        if (!worthShowing(name, line)) return;
        const shown = name === 'bot' ? prettyBotLine(line) : [line];
        for (const text of shown) say(`${prefix(name)}${text}`);
      },
    });
  } catch (error) {
    if (abort.signal.aborted) {
      say('Stopped.');
      return signalled;
    }
    await issuer.close();
    throw error;
  }
  const running = stack;
  issuer.writeClientFile(running.botUrl);

  const bold = (text: string): string => (useColor ? `\x1b[1m${text}\x1b[0m` : text);
  say('');
  say(
    `  Local directory   ${running.directoryUrl}   (state: .dev/directory.json, GET ${running.directoryUrl.replace(/\/v1\.0$/, '')}/_admin/state)`,
  );
  say(`  Bot               ${running.botEndpoint}   (data: .dev/data)`);
  say(`  Agents Playground ${running.playgroundUrl}   (log: .dev/playground.log)`);
  say(
    `  Token issuer      ${issuer.handle.origin}   (Entra-shaped, for the workflow API: .dev/pipeline.json)`,
  );
  say('');
  say(`  Open ${bold(running.playgroundUrl)} in your browser, then:`);
  say(`    1. In "Personal Chat" type:  ${bold('request sandbox for 2m because trying it')}`);
  say(
    `    2. Open the ${bold('ops-approvals')} channel (team Platform) and click ${bold('Approve')} on the card.`,
  );
  say(
    '    3. Alex is now in "Sandbox (demo)"; two minutes later the bot removes him and says so in both places.',
  );
  say(
    `    4. db-read and prod-admin need other approvers: in a second terminal, ${bold('npm run dev:as -- megan approve R-…')}`,
  );
  say('  A pipeline asking through the workflow API, in a second terminal:');
  say(`    ${bold(DEV_PIPELINE_COMMAND)}`);
  say('    then Approve its card in ops-approvals: the command prints the approval token and exits 0.');
  say('');
  say('  Ctrl-C stops everything.');
  say('');

  const crashed = running.unexpectedExit.then(async (child: ManagedChild) => {
    if (stopping) return signalled;
    say(
      `\n${child.name} ${child.describeExit()} unexpectedly. Its last lines:\n${child.lastLines(20).join('\n')}`,
    );
    say('Stopping the others…');
    stopping = running.stop();
    await stopping;
    return 1;
  });
  const code = await Promise.race([signalled, crashed]);
  say('Stopped.');
  return code;
}

/** The parent chain of this process (pid → its parent → …), without pid 1, from /proc (Linux). */
function ancestors(): number[] {
  const chain: number[] = [];
  for (let pid = process.ppid; pid > 1 && chain.length < 32;) {
    chain.push(pid);
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return chain;
}

/**
 * Calls `onGone` once when any process above this one ends: npm, the shell, tsx, or what ran
 * `npm run dev`, even by SIGKILL. The servers run in process groups of their own
 * (process-child.ts), so no signal sent to those processes' groups reaches them.
 */
function watchAncestors(onGone: (pid: number) => void): void {
  const watched = ancestors();
  const parent = process.ppid;
  const timer = setInterval(() => {
    const gone = process.ppid !== parent ? parent : watched.find((pid) => !alive(pid));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(gone);
  }, 500);
  timer.unref();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ChildStartError || error instanceof PortInUseError) {
      process.stderr.write(`\nnpm run dev: ${error.message}\n`);
    } else {
      process.stderr.write(
        `\nnpm run dev: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  },
);
