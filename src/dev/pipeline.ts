// `npm run dev:pipeline -- <target> --for 15m --because "…" [--wait] [--json] …`: `timebox request`
// (src/cli/pipeline-command.ts) as a pipeline of the demo tenant runs it, against `npm run dev`.
// It reads .dev/pipeline.json (the launcher writes it: the bot's URL, the local issuer's token
// endpoint and the demo apps), takes a token from the local issuer as the app `dev-pipeline`
// (TIMEBOX_DEV_APP=dev-stranger: an app the policy does not know, which gets 403), and sends
// the workflow context a GitHub Actions run would (a made-up one), so the card shows it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { registerPipelineCommands } from '../cli/pipeline-command';
import { PIPELINE_FILE, type DevPipelineFile } from './local-issuer/dev-issuer';

const root = path.resolve(__dirname, '../..');

/** The environment `timebox request` runs with; anything the caller set for these is replaced. */
function devPipelineEnv(file: DevPipelineFile, appName: string): NodeJS.ProcessEnv {
  const app = file.apps.find((a) => a.name === appName);
  if (!app)
    throw new Error(
      `TIMEBOX_DEV_APP: no demo app "${appName}" (try ${file.apps.map((a) => a.name).join(' or ')})`,
    );
  return {
    TIMEBOX_DEV: '1',
    TIMEBOX_URL: file.timeboxUrl,
    TIMEBOX_API_AUDIENCE: file.audience,
    TIMEBOX_DEV_TOKEN_URL: file.tokenUrl,
    AZURE_CLIENT_ID: app.clientId,
    AZURE_CLIENT_SECRET: app.secret,
    TIMEBOX_API_TOKEN: undefined,
    // A demo run's facts, as contextFromCi reads them in GitHub Actions (no step outputs here).
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'contoso/shop',
    GITHUB_RUN_ID: '4242',
    GITHUB_SHA: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
    GITHUB_WORKFLOW: 'deploy (demo)',
    GITHUB_OUTPUT: undefined,
  };
}

function readPipelineFile(devDir: string): DevPipelineFile {
  const file = path.join(devDir, PIPELINE_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevPipelineFile;
  } catch {
    throw new Error(`${file} is missing: start \`npm run dev\` in another terminal first.`);
  }
}

async function main(): Promise<void> {
  const devDir = path.resolve(root, process.env.TIMEBOX_DEV_DIR ?? '.dev');
  const env = devPipelineEnv(readPipelineFile(devDir), process.env.TIMEBOX_DEV_APP ?? 'dev-pipeline');
  for (const [key, value] of Object.entries(env))
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  // The demo's GitHub context makes the CLI mask the token for GitHub's log: not wanted here.
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('::add-mask::')) return;
    log(...args);
  };
  const program = new Command('timebox').showHelpAfterError();
  registerPipelineCommands(program);
  await program.parseAsync(['request', ...process.argv.slice(2)], { from: 'user' });
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run dev:pipeline: ${(error as Error).message}\n`);
  process.exit(1);
});
