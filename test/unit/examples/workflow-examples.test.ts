import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { parse } from 'yaml';
import { ApprovalTokens, generateSigningKey } from '../../../src/adapters/api/approval-tokens';
import { PROBLEM_CODES } from '../../../src/adapters/api/openapi';
import { registerPipelineCommands } from '../../../src/cli/pipeline-command';
import { startApiHarness, type ApiHarness } from '../../helpers/api-harness';
import { TEST_API_APP, TEST_PIPELINE_APP } from '../../helpers/local-issuer';
import { users } from '../../helpers/teams-client';

const ROOT = path.resolve(__dirname, '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const run = promisify(execFile);

type Step = {
  id?: string;
  name?: string;
  if?: string;
  run?: string;
  uses?: string;
  env?: Record<string, string>;
};
type AzStep = {
  task?: string;
  script?: string;
  name?: string;
  displayName?: string;
  condition?: string;
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

/** A step's bash script, run as the runner would: its exit code and what it printed. */
function runScript(script: string, env: Record<string, string>) {
  return run('bash', ['--norc', '--noprofile', '-c', script], {
    env: { PATH: process.env.PATH, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      out: error.stdout + error.stderr,
    }),
  );
}

/** The release call both examples make: POST /api/v1/requests/{id}/release with the token. */
const RELEASE_CALL =
  /-X POST[\s\S]*-H "Authorization: Bearer \$token"[\s\S]*"\$\{TIMEBOX_URL%\/\}\/api\/v1\/requests\/\$REQUEST_ID\/release"/;

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
    expect(after.map((s) => s.name)).toEqual(['Check the approval token', 'Deploy', 'Release the approval']);
    for (const step of after.slice(0, -1))
      expect(step.env?.APPROVAL_TOKEN).toBe('${{ steps.timebox.outputs.approval-token }}');
  });

  it('releases the approval last, even when a step before failed, once a request was filed', () => {
    const release = job.steps.at(-1)!;
    expect(release.name).toBe('Release the approval');
    expect(job.steps.indexOf(release)).toBeGreaterThan(job.steps.findIndex((s) => s.name === 'Deploy'));
    expect(release.if).toBe("always() && steps.timebox.outputs.request-id != ''");
    expect(release.env).toEqual({ REQUEST_ID: '${{ steps.timebox.outputs.request-id }}' });
    expect(release.run).toMatch(RELEASE_CALL);
    // The job's identity, as `timebox request` has it: GitHub's OIDC token for Entra's exchange.
    expect(release.run).toContain('$ACTIONS_ID_TOKEN_REQUEST_URL&audience=api://AzureADTokenExchange');
    expect(release.run).toContain('scope=${TIMEBOX_API_AUDIENCE%/}/.default');
    expect(release.run).toContain('echo "::add-mask::$token"');
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
    const later = steps.slice(steps.indexOf(gate) + 1, -1);
    expect(later.map((s) => s.displayName)).toEqual(['Check the approval token', 'Deploy']);
    for (const step of later) expect(step.env?.APPROVAL_TOKEN).toBe('$(approvalToken)');
  });

  it('releases the approval last, even when a step before failed, once a request was filed', () => {
    const release = steps.at(-1)!;
    expect(release).toMatchObject({ task: 'AzureCLI@2', displayName: 'Release the approval' });
    expect(release.condition).toBe("and(always(), ne(variables['timeboxRequestId'], ''))");
    // The service connection's identity, as the gate's.
    expect(release.inputs!.azureSubscription).toBe('$(TIMEBOX_SERVICE_CONNECTION)');
    expect(release.env).toEqual({ REQUEST_ID: '$(timeboxRequestId)' });
    const script = release.inputs!.inlineScript!;
    expect(script).toMatch(RELEASE_CALL);
    expect(script).toContain('echo "##vso[task.setsecret]$token"');
    expect(script).not.toMatch(/\$\((Build|System)\./);
  });

  describe('the gate, with `timebox request` answering as it does', () => {
    let bin: string;
    beforeAll(() => {
      bin = mkdtempSync(path.join(tmpdir(), 'timebox-npx-'));
      // A stand-in for `npx … timebox request … --json`: the request's JSON, and an exit code.
      writeFileSync(
        path.join(bin, 'npx'),
        '#!/bin/sh\ncase "$*" in *" timebox request deploy-prod "*" --json") ;; *) exit 9 ;; esac\n' +
          'printf \'%s\' "$FAKE_JSON"\nexit "$FAKE_EXIT"\n',
      );
      chmodSync(path.join(bin, 'npx'), 0o755);
    });
    afterAll(() => rmSync(bin, { recursive: true, force: true }));

    const gateRun = (json: string, exit: number) =>
      runScript(gate.inputs!.inlineScript!, {
        PATH: `${bin}:${process.env.PATH}`,
        FAKE_JSON: json,
        FAKE_EXIT: String(exit),
        TIMEBOX_CLI: 'timebox.tgz',
        BUILD_SOURCEVERSION: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
        BUILD_REPOSITORY_NAME: 'shop',
        BUILD_REQUESTEDFOR: 'Megan Bowen',
      });

    it('hands the request id on to the release, approved or not, and the token as a secret', async () => {
      const approved = await gateRun('{"id":"R-7K2M9Q","status":"approved","approvalToken":"eyJ.t.s"}', 0);
      expect(approved.code).toBe(0);
      expect(approved.out).toContain('##vso[task.setvariable variable=timeboxRequestId]R-7K2M9Q\n');
      expect(approved.out).toContain('##vso[task.setvariable variable=approvalToken;issecret=true]eyJ.t.s\n');
      const denied = await gateRun('{"id":"R-7K2M9Q","status":"denied"}', 3);
      expect(denied.code).toBe(3);
      expect(denied.out).toContain('##vso[task.setvariable variable=timeboxRequestId]R-7K2M9Q\n');
      expect(denied.out).not.toContain('variable=approvalToken');
      // Refused before anything was filed: no id, so no release.
      const refused = await gateRun('', 2);
      expect(refused.code).toBe(2);
      expect(refused.out).not.toContain('timeboxRequestId');
    });
  });
});

describe('the release steps, against the real bot', () => {
  const github = (
    parse(read('examples/github-actions/deploy.yml')) as { jobs: { deploy: { steps: Step[] } } }
  ).jobs.deploy.steps.find((s) => s.name === 'Release the approval')!.run!;
  const azure = (
    parse(read('examples/azure-pipelines/azure-pipelines.yml')) as {
      stages: Array<{ jobs: Array<{ steps: AzStep[] }> }>;
    }
  ).stages[0]!.jobs[0]!.steps.find((s) => s.displayName === 'Release the approval')!.inputs!.inlineScript!;

  let h: ApiHarness;
  let ids: Server;
  let idsUrl: string;
  let bin: string;
  /** What the token endpoint was asked, and what it answers (the pipeline app's token). */
  const asked: Array<Record<string, string>> = [];
  /** The tokens it answered with, in order. */
  const issued: string[] = [];
  let accessToken: () => Promise<string>;

  beforeAll(async () => {
    h = await startApiHarness();
    accessToken = () => h.token();
    // GitHub's OIDC endpoint and Entra's token endpoint, as the release step calls them.
    ids = createServer((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (req.method === 'GET' && url.pathname === '/oidc') {
        const ok =
          req.headers.authorization === 'Bearer gh-request-token' &&
          url.searchParams.get('audience') === 'api://AzureADTokenExchange';
        return void res.writeHead(ok ? 200 : 401).end(JSON.stringify({ value: 'gh-oidc-token' }));
      }
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = Object.fromEntries(new URLSearchParams(body));
        asked.push({ path: url.pathname, ...form });
        void accessToken().then((token) => {
          issued.push(token);
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ token_type: 'Bearer', access_token: token }));
        });
      });
    });
    await new Promise<void>((resolve) => ids.listen(0, '127.0.0.1', resolve));
    idsUrl = `http://127.0.0.1:${(ids.address() as AddressInfo).port}`;
    bin = mkdtempSync(path.join(tmpdir(), 'timebox-az-'));
    // The AzureCLI task's az, signed in with the service connection: the pipeline app's token.
    writeFileSync(
      path.join(bin, 'az'),
      '#!/bin/sh\n[ "$*" = "$EXPECTED_AZ" ] || { echo "unexpected: az $*" >&2; exit 2; }\nprintf \'%s\\n\' "$FAKE_AZ_TOKEN"\n',
    );
    chmodSync(path.join(bin, 'az'), 0o755);
  });
  afterAll(async () => {
    await h.close();
    await new Promise<void>((resolve) => ids.close(() => resolve()));
    rmSync(bin, { recursive: true, force: true });
  });

  /** An approved deploy-prod request of the pipeline, as the gate leaves it. */
  async function approved(): Promise<string> {
    const filed = await h.file({ target: 'deploy-prod', justification: 'a deploy to release' });
    expect(filed.status).toBe(201);
    const request = await h.posted(filed.body.id!);
    expect((await h.clickOnCard(users.megan, 'approve', request, { subject: 'request' })).status).toBe(200);
    expect((await h.call(`/api/v1/requests/${request.id}`)).body.status).toBe('approved');
    return request.id;
  }

  const runGithub = (id: string) =>
    runScript(github, {
      REQUEST_ID: id,
      TIMEBOX_URL: `${h.bot.url}/`,
      TIMEBOX_API_AUDIENCE: TEST_API_APP,
      AZURE_TENANT_ID: 'tenant-1',
      AZURE_CLIENT_ID: TEST_PIPELINE_APP,
      AZURE_AUTHORITY_HOST: idsUrl,
      ACTIONS_ID_TOKEN_REQUEST_URL: `${idsUrl}/oidc?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'gh-request-token',
    });

  const runAzure = async (id: string) =>
    runScript(azure, {
      PATH: `${bin}:${process.env.PATH}`,
      REQUEST_ID: id,
      TIMEBOX_URL: h.bot.url,
      TIMEBOX_API_AUDIENCE: TEST_API_APP,
      EXPECTED_AZ: `account get-access-token --scope ${TEST_API_APP}/.default --query accessToken --output tsv`,
      FAKE_AZ_TOKEN: await h.token(),
    });

  it('GitHub: exchanges the job’s OIDC token, releases the approval; again is a no-op that passes', async () => {
    const id = await approved();
    const next = { target: 'deploy-prod', justification: 'the next deploy' };
    // Why the step is there: while the approval holds, the next run's request is refused.
    expect(await h.file(next)).toMatchObject({ status: 409, body: { code: 'request.duplicate' } });
    asked.length = 0;
    issued.length = 0;
    const first = await runGithub(id);
    // NB: the token the endpoint gave the step, not a new one: a new one made a second later differs (its iat).
    expect(issued).toHaveLength(1);
    expect(first).toEqual({ code: 0, out: `::add-mask::${issued[0]}\n${id}: released\n` });
    expect((await h.call(`/api/v1/requests/${id}`)).body.status).toBe('released');
    expect(asked).toEqual([
      {
        path: '/tenant-1/oauth2/v2.0/token',
        grant_type: 'client_credentials',
        client_id: TEST_PIPELINE_APP,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: 'gh-oidc-token',
        scope: `${TEST_API_APP}/.default`,
      },
    ]);
    // A second run of the step (or a request denied, timed out, expired): 409, nothing to do.
    const again = await runGithub(id);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(new RegExp(`${id}: nothing to release: .*already released`));
    // The next run can ask at once (withdrawn here again, for the tests below).
    const nextRun = await h.file(next);
    expect(nextRun.status).toBe(201);
    expect((await h.call(`/api/v1/requests/${nextRun.body.id}/cancel`, { method: 'POST' })).status).toBe(200);
  });

  it('Azure Pipelines: releases with the service connection’s token; again passes', async () => {
    const id = await approved();
    expect(await runAzure(id)).toMatchObject({ code: 0, out: expect.stringContaining(`${id}: released\n`) });
    expect((await h.call(`/api/v1/requests/${id}`)).body.status).toBe('released');
    expect(await runAzure(id)).toMatchObject({
      code: 0,
      out: expect.stringContaining(`${id}: nothing to release:`),
    });
  });

  it('fails on any other answer: a request this client did not file, a token refused', async () => {
    const unknown = await runGithub('R-ZZZZZZ');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('::error::Releasing R-ZZZZZZ failed: 404');
    expect(unknown.out).toContain('request.not_found');
    const azureUnknown = await runAzure('R-ZZZZZZ');
    expect(azureUnknown.code).toBe(1);
    expect(azureUnknown.out).toContain('##vso[task.logissue type=error]Releasing R-ZZZZZZ failed: 404');
    const id = await approved();
    accessToken = () => Promise.resolve('not-a-token');
    try {
      const refused = await runGithub(id);
      expect(refused.code).toBe(1);
      expect(refused.out).toContain(`::error::Releasing ${id} failed: 401`);
    } finally {
      accessToken = () => h.token();
    }
    expect((await runGithub(id)).code).toBe(0);
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
