import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import { parseAnchor, verifyAuditFile, type VerifyResult } from '../adapters/store/audit-verify';
import { exportAudit, parseTimeBound, type ExportFormat } from '../adapters/store/audit-export';
import { DomainError, ErrorCodes } from '../domain/errors';

/** Exit code when the chain does not verify (0 = verified, 1/2 = the command itself failed). */
export const EXIT_CHAIN_BROKEN = 3;

const dataDir = () => process.env.TIMEBOX_DATA_DIR ?? './data';
const defaultFile = () => path.join(dataDir(), 'audit.jsonl');

/** The store's hot file next to the audit log, when there is one (it tells how many records were written). */
function storeFileBeside(file: string): string | undefined {
  const candidate = path.join(path.dirname(file), 'timebox.json');
  return existsSync(candidate) ? candidate : undefined;
}

function describe(file: string, result: VerifyResult): string {
  const head = result.head ? ` Last good record: ${result.head.seq}:${result.head.hash}` : '';
  return `${file}: ${result.problem}.${head}`;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('recompute the hash chain and report the first broken record (exit code 3 when broken)')
    .option('--file <path>', 'audit file (default: TIMEBOX_DATA_DIR/audit.jsonl)')
    .option('--anchor <seq:hash...>', 'records known from an earlier check (the "head" it printed); each must still be there', (value: string, previous: string[] = []) => [...previous, value])
    .option('--no-store', 'do not compare with the store file beside the log (timebox.json)')
    .action(async (options: { file?: string; anchor?: string[]; store: boolean }) => {
      const file = options.file ?? defaultFile();
      let anchors;
      try {
        anchors = (options.anchor ?? []).map(parseAnchor);
      } catch (error) {
        throw new DomainError(ErrorCodes.COMMAND_INVALID, (error as Error).message);
      }
      const result = await verifyAuditFile(file, { anchors, storeFile: options.store ? storeFileBeside(file) : undefined });
      if (result.ok) {
        console.log(`${file}: ${result.records} record(s), chain verified.${result.head ? ` Head: ${result.head.seq}:${result.head.hash}` : ''}`);
      } else {
        console.error(describe(file, result));
        process.exitCode = EXIT_CHAIN_BROKEN;
      }
    });

  audit
    .command('export')
    .description('write the audit log as CSV or JSON (to stdout, or --out); verifies the chain first')
    .option('--file <path>', 'audit file (default: TIMEBOX_DATA_DIR/audit.jsonl)')
    .option('--format <format>', 'csv or json', (value: string) => {
      if (value !== 'csv' && value !== 'json') throw new InvalidArgumentError('use csv or json.');
      return value as ExportFormat;
    }, 'csv' as ExportFormat)
    .option('--since <time>', 'records at or after: 2026-11-01, 2026-11-01T14:00:00Z, or 7d back from now')
    .option('--until <time>', 'records before: same forms as --since')
    .option('--group <alias>', 'records of requests for this group only')
    .option('--out <path>', 'write to this file instead of stdout')
    .action(async (options: { file?: string; format: ExportFormat; since?: string; until?: string; group?: string; out?: string }) => {
      const file = options.file ?? defaultFile();
      const now = Date.now();
      const bound = (text: string | undefined, flag: string) => {
        if (text === undefined) return undefined;
        try {
          return parseTimeBound(text, now);
        } catch (error) {
          throw new DomainError(ErrorCodes.COMMAND_INVALID, `${flag}: ${(error as Error).message}`);
        }
      };
      const since = bound(options.since, '--since');
      const until = bound(options.until, '--until');
      if (!existsSync(file)) throw new DomainError(ErrorCodes.COMMAND_INVALID, `${file} does not exist (set --file or TIMEBOX_DATA_DIR).`);
      // The export goes ahead on a broken chain (an investigator needs what is there), but says so.
      const verified = await verifyAuditFile(file, { storeFile: storeFileBeside(file) });
      if (!verified.ok) {
        console.error(`warning: ${describe(file, verified)} The export below includes records that cannot be trusted.`);
        process.exitCode = EXIT_CHAIN_BROKEN;
      }
      const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
      const { exported, unreadable } = await exportAudit(file, { format: options.format, since, until, group: options.group }, out);
      if (options.out) {
        out.end();
        await once(out, 'finish');
      }
      console.error(`${exported} record(s) exported${unreadable ? `, ${unreadable} unreadable line(s) skipped` : ''}.`);
    });
}
