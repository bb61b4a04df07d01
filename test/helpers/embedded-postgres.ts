import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';

/** A database of the test file's server: its URL, and when it exists. */
export interface TestDatabase {
  url: string;
  ready: Promise<void>;
}

export interface EmbeddedPostgresHandle {
  /**
   * A new, empty database (synchronous, for a StoreUnderTest `make`): created in the
   * background; await `ready` before connecting.
   */
  freshDatabase(): TestDatabase;
  /** Something to close in afterAll even if the test never did (a store dropped "as after a crash"). */
  track<T extends { close(): Promise<void> }>(closable: T): T;
  /** Stops the server, keeping its data (an outage): connections break, new ones are refused. */
  pause(): Promise<void>;
  /** Starts the paused server again on the same data and port. */
  resume(): Promise<void>;
}

const SERVER = path.join(__dirname, 'embedded-postgres-server.mjs');
const START_TIMEOUT_MS = 60_000;

/**
 * One embedded PostgreSQL for the calling test file: started in beforeAll (a free port, a temp
 * dir, as root with createPostgresUser), stopped in afterAll whatever the tests did. The server
 * runs in a child process (see embedded-postgres-server.mjs); it stops itself when its stdin
 * closes, so a jest worker that dies takes it down too.
 */
export function useEmbeddedPostgres(): EmbeddedPostgresHandle {
  let child: ChildProcess | undefined;
  let admin: Client | undefined;
  let base = '';
  let n = 0;
  // CREATE DATABASE copies template1 and fails while another copy of it runs: one at a time.
  let creating: Promise<void> = Promise.resolve();
  const closables: Array<{ close(): Promise<void> }> = [];
  // The server's stdout after its first line: answers to pause/resume, in order.
  const answers: Array<(line: string) => void> = [];
  const command = async (name: 'pause' | 'resume'): Promise<void> => {
    if (!child?.stdin) throw new Error(`${name}() before the server started`);
    const answered = new Promise<string>((resolve) => answers.push(resolve));
    child.stdin.write(`${name}\n`);
    const answer = JSON.parse(await answered) as { done?: string; error?: string };
    if (answer.done !== name) throw new Error(`embedded PostgreSQL could not ${name}: ${answer.error}`);
  };

  beforeAll(async () => {
    child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    const started = await new Promise<{ port: number; user: string; password: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('embedded PostgreSQL did not start in time')),
        START_TIMEOUT_MS,
      );
      let first = true;
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        if (!first) return void answers.shift()?.(line);
        first = false;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number; user: string; password: string });
      });
      child!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`embedded PostgreSQL exited before it started (code ${code})`));
      });
    });
    base = `postgres://${started.user}:${encodeURIComponent(started.password)}@127.0.0.1:${started.port}`;
    admin = new Client({ connectionString: `${base}/postgres` });
    await admin.connect();
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.allSettled(closables.map((c) => c.close()));
    await creating.catch(() => undefined);
    await admin?.end().catch(() => undefined);
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.stdin?.end();
      await exited;
    }
  }, START_TIMEOUT_MS);

  return {
    freshDatabase() {
      if (!admin)
        throw new Error('freshDatabase() before the server started (call it in a test or beforeEach)');
      const name = `contract_${++n}`;
      // NB: an identifier cannot be a query parameter; the name is ours, checked, and quoted.
      if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
      const ready = creating.then(async () => {
        await admin!.query(`CREATE DATABASE "${name}"`);
      });
      creating = ready.catch(() => undefined);
      return { url: `${base}/${name}`, ready };
    },
    track(closable) {
      closables.push(closable);
      return closable;
    },
    async pause() {
      // The admin connection breaks with the server: dropped now, opened again at resume.
      await admin?.end().catch(() => undefined);
      admin = undefined;
      await command('pause');
    },
    async resume() {
      await command('resume');
      admin = new Client({ connectionString: `${base}/postgres` });
      await admin.connect();
    },
  };
}
