/**
 * `--store postgres`: one embedded PostgreSQL for the whole run (test/helpers/
 * embedded-postgres-server.mjs, as the tests start it), a fresh database per benchmark, so
 * that no benchmark sees another's rows and each starts the bot on an empty schema as a first
 * deploy does. The server is a child process that stops when its stdin closes: `stopBenchPostgres`
 * at the end of a run, or this process dying, whatever the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';

export type StoreKind = 'lowdb' | 'postgres';

/** `--store lowdb|postgres` (lowdb when absent); anything else stops the run with a clear message. */
export function storeArg(argv: readonly string[] = process.argv): StoreKind {
  const at = argv.indexOf('--store');
  if (at < 0) return 'lowdb';
  const value = argv[at + 1];
  if (value === 'lowdb' || value === 'postgres') return value;
  throw new Error(`--store must be "lowdb" or "postgres", not ${JSON.stringify(value ?? '')}`);
}

const SERVER = path.join(__dirname, '..', 'test', 'helpers', 'embedded-postgres-server.mjs');
/** Database names go into CREATE/DROP DATABASE, which take no parameters: only names made here, checked. */
const DATABASE_NAME = /^bench_[a-z0-9_]{1,40}$/;

export interface BenchDatabase {
  url: string;
  /** Drops the database (the bot using it must have stopped). */
  drop(): Promise<void>;
}

interface Server {
  /** postgres://user:password@127.0.0.1:port, without a database. */
  base: string;
  child: ChildProcess;
}

let server: Promise<Server> | undefined;
let made = 0;

function startServer(timeoutMs = 120_000): Promise<Server> {
  const child = spawn(process.execPath, [SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise<Server>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('embedded PostgreSQL did not start in time')), timeoutMs);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const { port, user, password } = JSON.parse(line) as { port: number; user: string; password: string };
      resolve({ base: `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}`, child });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded PostgreSQL exited before it started (code ${code})`));
    });
  });
}

async function admin<T>(base: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: `${base}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the run's server (started on first use). */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  server ??= startServer();
  const { base } = await server;
  const name = `bench_${process.pid}_${++made}`;
  if (!DATABASE_NAME.test(name)) throw new Error(`not a bench database name: ${name}`);
  await admin(base, (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    url: `${base}/${name}`,
    drop: () =>
      admin(base, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Stops the server (if one was started) and deletes its files. */
export async function stopBenchPostgres(): Promise<void> {
  const started = server;
  server = undefined;
  if (!started) return;
  const { child } = await started.catch(() => ({ child: undefined }));
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin!.end();
  await exited;
}

/** Runs one benchmark script alone, stopping the server afterwards even when it fails. */
export function runAlone(main: () => Promise<unknown>): void {
  void main()
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => stopBenchPostgres());
}
