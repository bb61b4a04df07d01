// Runs one server of `npm run dev` (or of the e2e stack) and stops it when the process that
// started it is gone, however that process ended. Usage, as the leader of a new process group
// (spawn with `detached: true`) and with a pipe from the parent on stdin:
//
//   node watchdog.mjs <command> [args...]
//
// Why: each server runs in a process group of its own (so that a stop reaches grandchildren,
// e.g. the node process tsx starts), so when the launcher is SIGKILLed nothing reaches them: no
// exit hook runs and a terminal's Ctrl-C only reaches the launcher's group. Node cannot ask for
// a parent-death signal (Linux's prctl), and the Agents Playground cannot be changed, so this
// wrapper does it portably: the kernel closes the parent's end of the stdin pipe however the
// parent dies, and end of input means "parent gone".
//
// Otherwise it stays out of the way: the server writes straight to the parent's pipes, a signal
// to the group reaches the server itself, and the wrapper exits as the server did.
// Plain JavaScript run by node, not tsx: it starts in tens of milliseconds.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** How long the server gets to stop after SIGTERM before the group is SIGKILLed. */
const GRACE_MS = 3000;

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: node watchdog.mjs <command> [args...]\n');
  process.exit(2);
}

// A stop signals the whole group: the server gets the signal too; this waits for its exit.
const ignore = () => undefined;
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, ignore);

let orphaned = false;
const server = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
server.once('error', (error) => {
  process.stderr.write(`failed to start ${command}: ${error.message}\n`);
  process.exit(127);
});
server.once('exit', (code, signal) => {
  // Nobody is left to clean up after the server's own children: take the whole group along.
  if (orphaned) killGroup('SIGKILL');
  if (signal) {
    // Die of the same signal, so that the parent sees what the server saw.
    process.removeListener(signal, ignore);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});

const parentGone = () => {
  if (orphaned) return;
  orphaned = true;
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), GRACE_MS);
};
process.stdin.on('data', ignore);
process.stdin.once('end', parentGone);
process.stdin.once('error', parentGone);

function killGroup(signal) {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}
