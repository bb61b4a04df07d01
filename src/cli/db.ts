import type { Command } from 'commander';
import { connect as connectTo } from '../adapters/store/postgres/import';
import { migrate, newerThanCode, schemaStatus } from '../adapters/store/postgres/migrate';
import { MIGRATIONS } from '../adapters/store/postgres/migrations';
import { DomainError, ErrorCodes } from '../domain/errors';

/**
 * `timebox db migrate | status`: the PostgreSQL schema, for an operator who migrates before a
 * rolling deploy rather than letting the first replica do it at start. The same migrate() the
 * store runs at open(), under the same advisory lock, so a replica starting meanwhile waits.
 */

/** The URL given (--database-url, else DATABASE_URL), checked: a postgres:// URL, nothing else. */
export function databaseUrlFrom(option: string | undefined, flag = '--database-url'): string {
  const text = (option ?? process.env.DATABASE_URL ?? '').trim();
  if (!text)
    throw new DomainError(ErrorCodes.COMMAND_INVALID, `No database: set DATABASE_URL or pass ${flag}.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      `${flag}: not a URL; use postgres://user@host:5432/database.`,
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new DomainError(
      ErrorCodes.COMMAND_INVALID,
      `${flag}: "${url.protocol}" is not a PostgreSQL URL; use postgres://user@host:5432/database.`,
    );
  return text;
}

/** The URL as it may be printed: user, host and database, never the password or the query string. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    const user = url.username ? `${url.username}@` : '';
    return `${url.protocol}//${user}${url.host}${url.pathname}`;
  } catch {
    return 'the database';
  }
}

const connect = (url: string) => connectTo(url, redactUrl(url));

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const nameOf = (version: number) => MIGRATIONS.find((m) => m.version === version)?.name ?? '';

/** "applied 1 migration: 2 rate limits …" or "… is up to date at version N". */
export async function runMigrate(url: string): Promise<string> {
  const client = await connect(url);
  try {
    const applied = await migrate(client);
    const { current } = await schemaStatus(client);
    if (applied.length === 0) return `${redactUrl(url)}: the database is up to date at version ${current}.`;
    const list = applied.map((v) => `${v} ${nameOf(v)}`).join('; ');
    return `${redactUrl(url)}: applied ${plural(applied.length, 'migration')}: ${list}. Now at version ${current}.`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The version and what a migrate would apply; a database newer than the code is refused as migrate refuses it. */
export async function runStatus(url: string): Promise<string> {
  const client = await connect(url);
  try {
    const status = await schemaStatus(client);
    if (status.current > status.known) throw newerThanCode(status);
    const where = `${redactUrl(url)}: schema version ${status.current} (this Timebox knows up to ${status.known})`;
    if (status.pending.length === 0) return `${where}; up to date.`;
    const list = status.pending.map((m) => `${m.version} ${m.name}`).join('; ');
    return `${where}; ${plural(status.pending.length, 'pending migration')}: ${list}. Run: timebox db migrate`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the PostgreSQL database (DATABASE_URL)');
  const urlOption = '--database-url <url>';
  const urlHelp = 'the database (default: DATABASE_URL); its password is never printed';
  db.command('migrate')
    .description('apply pending schema migrations (under the advisory lock replicas take at start)')
    .option(urlOption, urlHelp)
    .action(async (options: { databaseUrl?: string }) => {
      console.log(await runMigrate(databaseUrlFrom(options.databaseUrl)));
    });
  db.command('status')
    .description('print the schema version and the pending migrations; changes nothing')
    .option(urlOption, urlHelp)
    .action(async (options: { databaseUrl?: string }) => {
      console.log(await runStatus(databaseUrlFrom(options.databaseUrl)));
    });
}
