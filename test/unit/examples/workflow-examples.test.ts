import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { parse } from 'yaml';
import { ApprovalTokens, generateSigningKey } from '../../../src/adapters/api/approval-tokens';
import { PROBLEM_CODES } from '../../../src/adapters/api/openapi';
import { registerPipelineCommands } from '../../../src/cli/pipeline-command';

const ROOT = path.resolve(__dirname, '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const run = promisify(execFile);

type Step = { id?: string; name?: string; run?: string; uses?: string; env?: Record<string, string> };
type AzStep = {
  task?: string;
  script?: string;
  name?: string;
  inputs?: Record<string, string>;
  env?: Record<string, string>;
};

/** The long options of `timebox request`, as the CLI declares them. */
function requestOptions(): Set<string> {
  const program = new Command('timebox');
  registerPipelineCommands(program);
  const request = program.commands.find((c) => c.name() === 'request')!;
  return new Set(request.options.map((o) => o.long!));
}

/** Every `--option` written after `timebox request` in a script. */
function optionsUsed(script: string): string[] {
  const command = script.slice(script.indexOf('timebox request'));
  return [...command.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]);
}

describe('examples/github-actions/deploy.yml', () => {
  const workflow = parse(read('examples/github-actions/deploy.yml')) as {
    permissions: Record<string, string>;
    jobs: Record<
      string,
      { environment: string; permissions: Record<string, string>; env: Record<string, string>; steps: Step[] }
    >;
  };
  const job = workflow.jobs.deploy!;
  const gate = job.steps.find((s) => s.id === 'timebox')!;

  it('asks GitHub for an OIDC token in the production environment, with no azure/login step', () => {
    expect(job.permissions['id-token']).toBe('write');
    expect(workflow.permissions['id-token']).toBeUndefined();
    expect(job.environment).toBe('production');
    expect(job.steps.some((s) => s.uses?.startsWith('azure/login'))).toBe(false);
    // The names pipeline-credential.ts reads (with GitHub's ACTIONS_ID_TOKEN_REQUEST_*).
    expect(Object.keys(job.env)).toEqual(
      expect.arrayContaining(['TIMEBOX_URL', 'TIMEBOX_API_AUDIENCE', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID']),
    );
  });

  it('gates the deploy on `timebox request deploy-prod … --wait`, with options the CLI has', () => {
    expect(gate.run).toMatch(/npx --yes --package="\$TIMEBOX_CLI" -- timebox request deploy-prod /);
    const used = optionsUsed(gate.run!);
    expect(used).toEqual(expect.arrayContaining(['--for', '--because', '--wait', '--timeout']));
    const known = requestOptions();
    for (const option of used) expect([option, known.has(option)]).toEqual([option, true]);
    const after = job.steps.slice(job.steps.indexOf(gate) + 1);
    expect(after.map((s) => s.name)).toEqual(['Check the approval token', 'Deploy']);
    for (const step of after)
      expect(step.env?.APPROVAL_TOKEN).toBe('${{ steps.timebox.outputs.approval-token }}');
  });

  it('puts no ${{ }} expression into a shell script (injection), only into env', () => {
    for (const step of job.steps) expect(step.run ?? '').not.toContain('${{');
  });
});

describe('examples/azure-pipelines/azure-pipelines.yml', () => {
  const pipeline = parse(read('examples/azure-pipelines/azure-pipelines.yml')) as {
    variables: Record<string, string>;
    stages: Array<{ jobs: Array<{ steps: AzStep[] }> }>;
  };
  const steps = pipeline.stages[0]!.jobs[0]!.steps;
  const gate = steps.find((s) => s.task === 'AzureCLI@2')!;

  it('runs the gate in AzureCLI@2 with the service connection and the job token mapped in', () => {
    expect(gate.inputs!.azureSubscription).toBe('$(TIMEBOX_SERVICE_CONNECTION)');
    expect(gate.env!.SYSTEM_ACCESSTOKEN).toBe('$(System.AccessToken)');
    expect(Object.keys(pipeline.variables)).toEqual(
      expect.arrayContaining(['TIMEBOX_URL', 'TIMEBOX_API_AUDIENCE', 'TIMEBOX_CLI']),
    );
  });

  it('files `timebox request deploy-prod … --wait`, branches on its exit codes, keeps the token secret', () => {
    const script = gate.inputs!.inlineScript!;
    expect(script).toContain('timebox request deploy-prod');
    const known = requestOptions();
    for (const option of optionsUsed(script)) expect([option, known.has(option)]).toEqual([option, true]);
    expect(script).toMatch(/--wait/);
    expect(script).toMatch(/^\s*3\) .*exit 3/m);
    expect(script).toMatch(/^\s*4\) .*exit 4/m);
    expect(script).toContain('##vso[task.setvariable variable=approvalToken;issecret=true]$token');
    // Build facts through the environment, never as $(…) macros pasted into the script.
    expect(script).not.toMatch(/\$\((Build|System)\./);
    const later = steps.slice(steps.indexOf(gate) + 1);
    for (const step of later) expect(step.env?.APPROVAL_TOKEN).toBe('$(approvalToken)');
  });
});

describe('the docs of the workflow API name only what exists', () => {
  const docs = [
    'docs/workflow-api.md',
    'examples/github-actions/README.md',
    'examples/azure-pipelines/README.md',
  ].map(read);
  const sources = ['src/config.ts', 'src/cli/pipeline-command.ts', 'src/cli/pipeline-credential.ts']
    .concat(['src/dev/launcher.ts', 'src/dev/pipeline.ts', 'src/adapters/graph/credentials.ts'])
    .map(read)
    .join('\n');

  it('every TIMEBOX_* variable they mention is read by the code', () => {
    const named = new Set(docs.flatMap((d) => [...d.matchAll(/\bTIMEBOX_[A-Z_]+\b/g)].map((m) => m[0])));
    // Pipeline-side names the examples define for themselves (workflow variables, not Timebox's).
    for (const own of [
      'TIMEBOX_CLI',
      'TIMEBOX_PIPELINE_CLIENT_ID',
      'TIMEBOX_SERVICE_CONNECTION',
      'TIMEBOX_WEBHOOK_SECRET',
    ])
      named.delete(own);
    expect(named.size).toBeGreaterThan(8);
    for (const name of named) expect([name, sources.includes(name)]).toEqual([name, true]);
  });

  it('every `npm run` script they mention is in package.json', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const used = new Set(docs.flatMap((d) => [...d.matchAll(/npm run ([a-z:]+)/g)].map((m) => m[1]!)));
    for (const script of used) expect([script, script in scripts]).toEqual([script, true]);
  });

  it('every problem code in docs/workflow-api.md is one the API has, and every code is there', () => {
    const doc = docs[0]!;
    const listed = new Set(
      [
        ...doc.matchAll(
          /`((?:auth|body|api|target|person|duration|justification|ticket|idempotency|query|request)\.[a-z_]+)`/g,
        ),
      ].map((m) => m[1]!),
    );
    for (const code of listed)
      expect([code, (PROBLEM_CODES as readonly string[]).includes(code)]).toEqual([code, true]);
    for (const code of PROBLEM_CODES) expect([code, listed.has(code)]).toEqual([code, true]);
  });
});

describe('examples/github-actions/verify-approval.mjs', () => {
  let server: Server;
  let issuer: string;
  let tokens: ApprovalTokens;
  const now = Date.now();
  const commit = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b';

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tokens.jwks(Date.now())));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tokens = new ApprovalTokens([await generateSigningKey(now)], { issuer, retainRetiredMs: 3_600_000 });
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function verify(token: string, ...args: string[]) {
    const script = path.join(ROOT, 'examples/github-actions/verify-approval.mjs');
    return run(process.execPath, [script, ...args], {
      env: { PATH: process.env.PATH, APPROVAL_TOKEN: token, TIMEBOX_URL: `${issuer}/` },
    }).then(
      ({ stdout }) => ({ code: 0, out: stdout }),
      (error: { code: number; stderr: string }) => ({ code: error.code, out: error.stderr }),
    );
  }

  const sign = (target: string, signer = tokens, iss = issuer) =>
    signer
      .sign(
        {
          requestId: 'R-7K2M9Q',
          subject: 'sp-object-id',
          target,
          approvers: ['megan'],
          context: { commit },
          expiresAt: now + 15 * 60_000,
        },
        now,
      )
      .then((t) => ({ t, iss }));

  it('accepts a token of Timebox for the target and the commit, with the JWKS only', async () => {
    const { t } = await sign('deploy-prod');
    const result = await verify(t, 'deploy-prod', commit);
    expect(result).toEqual({
      code: 0,
      out: expect.stringContaining('R-7K2M9Q: deploy-prod approved (1 approver)'),
    });
  });

  it('refuses another target, another commit, and a key Timebox does not publish', async () => {
    const { t } = await sign('deploy-prod');
    expect(await verify(t, 'db-read')).toMatchObject({
      code: 1,
      out: expect.stringContaining('not "db-read"'),
    });
    expect(await verify(t, 'deploy-prod', 'deadbeef')).toMatchObject({ code: 1 });
    const stranger = new ApprovalTokens([await generateSigningKey(now)], { issuer, retainRetiredMs: 0 });
    expect(await verify((await sign('deploy-prod', stranger)).t, 'deploy-prod')).toMatchObject({ code: 1 });
    expect(await verify('not-a-token', 'deploy-prod')).toMatchObject({ code: 1 });
  });
});
