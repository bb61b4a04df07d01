import type { Command } from 'commander';
import { parseAuditKey, type AuditKey } from '../adapters/store/audit-checkpoint';
import { copyStore, describeCopy } from '../adapters/store/copy-store';
import { DomainError, ErrorCodes } from '../domain/errors';
import { databaseUrlFrom, redactUrl } from './db';

/** TIMEBOX_AUDIT_KEY, when set: the source's signed checkpoints are checked before copying. */
function auditKeys(): AuditKey[] {
  const text = process.env.TIMEBOX_AUDIT_KEY;
  if (!text?.trim()) return [];
  try {
    return [parseAuditKey(text)];
  } catch (error) {
    throw new DomainError(ErrorCodes.COMMAND_INVALID, (error as Error).message);
  }
}

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('the store as a whole');
  store
    .command('copy')
    .description(
      'copy a data directory (stop the bot first) into an EMPTY PostgreSQL database, in one transaction, and verify both audit chains',
    )
    .requiredOption('--from <dir>', 'the data directory (TIMEBOX_DATA_DIR); only read')
    .option(
      '--to <url>',
      'the database (default: DATABASE_URL); migrated first; its password is never printed',
    )
    .action(async (options: { from: string; to?: string }) => {
      const to = databaseUrlFrom(options.to, '--to');
      const summary = await copyStore({ from: options.from, to, toLabel: redactUrl(to), keys: auditKeys() });
      console.log(describeCopy(summary));
    });
}
