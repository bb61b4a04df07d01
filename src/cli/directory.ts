import type { Command } from 'commander';
import { runDirectoryCheck } from '../adapters/graph/check';
import { serveLocalDirectory } from '../dev/local-directory/serve';

/** `timebox directory check` and `timebox directory serve`. */
export function registerDirectoryCommands(program: Command): void {
  const directory = program
    .command('directory')
    .description('Microsoft Graph access and the local directory');

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

  directory
    .command('serve')
    .description(
      "run the local directory (Microsoft Graph's REST dialect, in memory or in a JSON file) for dev and tests",
    )
    .option('--seed <file>', 'users and groups to start with', 'examples/demo.directory.json')
    .option('--port <port>', 'port (0 = any free one)', '5100')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--state <file>', 'keep the directory in this JSON file across restarts')
    .option(
      '--faults <json>',
      'faults active from the start, e.g. \'{"route":"POST /groups/*/members/$ref","status":429,"retryAfterSeconds":1,"times":2}\'',
    )
    .action(
      async (options: { seed: string; port: string; host: string; state?: string; faults?: string }) => {
        await serveLocalDirectory(options);
      },
    );
}
