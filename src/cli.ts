#!/usr/bin/env node
import { Command } from 'commander';
import { loadConfig } from './config';
import { DomainError } from './domain/errors';
import { loadPolicyFile } from './policy-file';
import { startTimebox } from './main';
import { registerAuditCommands } from './cli/audit';
import { registerDirectoryCommands } from './cli/directory';
import { registerReconcileCommand } from './cli/reconcile';

const program = new Command('timebox').description('Just-in-time access for Microsoft Teams').showHelpAfterError();

program
  .command('serve')
  .description('run the bot (PORT, TIMEBOX_POLICY, TIMEBOX_DATA_DIR, MicrosoftAppId, ... from the environment)')
  .action(async () => {
    const config = loadConfig(process.env);
    const running = await startTimebox(config);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.error(`${signal}: stopping (work in flight is finished or left for the next start)`);
      const timer = setTimeout(() => process.exit(1), 10_000);
      await running.stop();
      clearTimeout(timer);
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

const policy = program.command('policy').description('the policy file');
policy
  .command('check [file]')
  .description('validate a policy file (default: TIMEBOX_POLICY or timebox.policy.yaml)')
  .action(async (file?: string) => {
    const path = file ?? process.env.TIMEBOX_POLICY ?? 'timebox.policy.yaml';
    const parsed = await loadPolicyFile(path);
    console.log(`${path} is valid: ${Object.keys(parsed.groups).length} group(s), ${Object.keys(parsed.approverChannels).length} approver channel(s).`);
  });

registerAuditCommands(program);
registerDirectoryCommands(program);
registerReconcileCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof DomainError ? error.message : error instanceof Error ? error.stack ?? error.message : String(error));
  process.exit(error instanceof DomainError ? 2 : 1);
});
