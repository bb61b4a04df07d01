import type { Command } from 'commander';
import { runDirectoryCheck } from '../adapters/graph/check';

/**
 * `timebox directory check`. The local directory is a development tool and not in the
 * production build: `npm run directory:serve -- --seed ... --port ...` runs it.
 */
export function registerDirectoryCommands(program: Command): void {
  const directory = program.command('directory').description('Microsoft Graph access');

  directory
    .command('check')
    .description(
      'get a Graph token, try the reads Timebox needs, and say which permission or setting is missing (GRAPH_BASE_URL, AZURE_*, TIMEBOX_POLICY, TIMEBOX_GRANT_MODE)',
    )
    .action(async () => {
      const report = await runDirectoryCheck(process.env);
      for (const line of report.lines) console.log(line);
      console.log(report.ok ? 'directory check passed' : 'directory check FAILED');
      if (!report.ok) process.exitCode = 1;
    });
}
