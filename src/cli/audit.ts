import path from 'node:path';
import type { Command } from 'commander';
import { verifyAuditFile } from '../adapters/store/audit-verify';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained audit log');
  audit
    .command('verify')
    .description('recompute the hash chain and report the first broken record')
    .option('--file <path>', 'audit file (default: TIMEBOX_DATA_DIR/audit.jsonl)')
    .action(async (options: { file?: string }) => {
      const file = options.file ?? path.join(process.env.TIMEBOX_DATA_DIR ?? './data', 'audit.jsonl');
      const result = await verifyAuditFile(file);
      if (result.ok) {
        console.log(`${file}: ${result.records} record(s), chain verified.`);
      } else {
        console.error(`${file}: ${result.problem}`);
        process.exitCode = 3;
      }
    });
}
