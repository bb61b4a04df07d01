import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { sleep } from './workload';

/** test/helpers/embedded-postgres-server.mjs: the server the tests start, reused with its kill/resume commands. */
const SERVER = path.join(__dirname, '..', 'helpers', 'embedded-postgres-server.mjs');

export interface ChaosPostgres {
  /** The database the replicas share. */
  url: string;
  /** SIGKILL of the postmaster (its data directory kept). */
  kill(): Promise<void>;
  /** Starts it again on the same data; retried while the killed server's backends still hold its shared memory. */
  restart(): Promise<void>;
  /** Stops it and deletes its files. */
  close(): Promise<void>;
}

/** Starts an embedded PostgreSQL in a child process (as the tests do) with one database, `chaos`. */
export async function startChaosPostgres(timeoutMs = 120_000): Promise<ChaosPostgres> {
  const child: ChildProcess = spawn(process.execPath, [SERVER, '--durable'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers: Array<(line: string) => void> = [];
  const started = await new Promise<{ port: number; user: string; password: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('embedded PostgreSQL did not start in time')), timeoutMs);
    let first = true;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!first) return void answers.shift()?.(line);
      first = false;
      clearTimeout(timer);
      resolve(JSON.parse(line) as { port: number; user: string; password: string });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded PostgreSQL exited before it started (code ${code})`));
    });
  });
  const base = `postgres://${started.user}:${encodeURIComponent(started.password)}@127.0.0.1:${started.port}`;
  const admin = new Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE chaos');
  await admin.end();
  const command = async (name: 'kill' | 'resume'): Promise<boolean> => {
    const answered = new Promise<string>((resolve) => answers.push(resolve));
    child.stdin!.write(`${name}\n`);
    return (JSON.parse(await answered) as { done?: string }).done === name;
  };
  return {
    url: `${base}/chaos`,
    async kill() {
      if (!(await command('kill'))) throw new Error('embedded PostgreSQL could not be killed');
    },
    async restart() {
      for (let attempt = 1; ; attempt++) {
        if (await command('resume')) return;
        if (attempt >= 30) throw new Error('embedded PostgreSQL did not start again after its kill');
        await sleep(500);
      }
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}
