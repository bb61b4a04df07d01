import { appendFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseApiDuration } from '../domain/duration';
import { contextFromCi, pipelineToken } from './pipeline-credential';
import { PipelineExit, runPipelineRequest, type ApiRequestView } from './pipeline-request';

interface RequestOptions {
  because?: string;
  for?: string;
  ticket?: string;
  onBehalfOf?: string;
  environment?: string;
  wait?: boolean;
  timeout: string;
  url?: string;
  audience?: string;
  json?: boolean;
}

/**
 * `timebox request <target> --for 30m --because "…" --wait`: the pipeline client of the
 * workflow API (product contract §11). Exit 0 approved, 3 denied, 4 timed out or cancelled,
 * 2 bad input, 1 anything else; the approval token on stdout.
 */
export function registerPipelineCommands(program: Command): void {
  program
    .command('request <target>')
    .description(
      'ask for a group or an action through the workflow API and (with --wait) wait for the decision',
    )
    .option('--because <text>', 'why (the approvers read it)')
    .option('--for <duration>', 'how long: 30m, 1h30m or ISO 8601 (PT30M); default: the target’s')
    .option('--ticket <id>', 'the change or incident ticket, where policy asks for one')
    .option('--on-behalf-of <person>', 'the person this is for (UPN or object id), where the client may')
    .option('--environment <name>', 'the deployment environment, shown on the card')
    .option('--wait', 'wait for the decision; the exit code says what it was')
    .option('--timeout <duration>', 'how long --wait waits', '30m')
    .option('--url <url>', "Timebox's URL (default: TIMEBOX_URL)")
    .option(
      '--audience <id>',
      "the API's app id URI or client id (default: the first of TIMEBOX_API_AUDIENCE)",
    )
    .option('--json', 'print the request as JSON instead of the approval token')
    .action(async (target: string, options: RequestOptions) => {
      process.exitCode = await requestFromCli(target, options, process.env);
    });
}

async function requestFromCli(target: string, o: RequestOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const say = (line: string) => console.error(line);
  const url = o.url ?? env.TIMEBOX_URL;
  const audience = o.audience ?? env.TIMEBOX_API_AUDIENCE?.split(',')[0]?.trim();
  let timeoutMs: number;
  try {
    timeoutMs = parseApiDuration(o.timeout);
  } catch (error) {
    say(`--timeout: ${(error as Error).message}`);
    return PipelineExit.BAD_INPUT;
  }
  if (!url || !audience) {
    say(
      `${!url ? 'Give --url or TIMEBOX_URL' : 'Give --audience or TIMEBOX_API_AUDIENCE'}: where Timebox is, and the API it serves.`,
    );
    return PipelineExit.BAD_INPUT;
  }
  const token = pipelineToken(env, audience);
  say(`asking ${url} for ${target} as ${token.description}`);
  const context = { ...contextFromCi(env), ...(o.environment ? { environment: o.environment } : {}) };
  let last: ApiRequestView | undefined;
  const exit = await runPipelineRequest(
    {
      url,
      target,
      duration: o.for,
      justification: o.because ?? '',
      ticket: o.ticket,
      onBehalfOf: o.onBehalfOf,
      context,
      wait: !!o.wait,
      timeoutMs,
    },
    {
      token: token.token,
      fetch,
      now: Date.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      say,
      print: (line) => console.log(line),
      json: !!o.json,
      onResult: (request) => {
        last = request;
        // Before the token is printed: GitHub then shows *** wherever it would appear in the log
        // (a later step's env, a --json dump). On stdout, as the line before it, so no race.
        if (env.GITHUB_ACTIONS === 'true' && request.approvalToken)
          console.log(`::add-mask::${request.approvalToken}`);
      },
    },
  );
  if (last && env.GITHUB_OUTPUT) githubOutputs(env.GITHUB_OUTPUT, last);
  return exit;
}

/** In GitHub Actions, the outcome as step outputs (`steps.<id>.outputs.approval-token`). */
function githubOutputs(file: string, request: ApiRequestView): void {
  const lines = [`request-id=${request.id}`, `status=${request.status}`];
  if (request.approvalToken) lines.push(`approval-token=${request.approvalToken}`);
  appendFileSync(file, `${lines.join('\n')}\n`);
}
