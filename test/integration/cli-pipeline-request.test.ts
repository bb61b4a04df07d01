import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { registerPipelineCommands } from '../../src/cli/pipeline-command';
import { PipelineExit, runPipelineRequest } from '../../src/cli/pipeline-request';
import { runCliStreams } from '../helpers/cli-runner';
import { GITHUB_RUN } from '../helpers/local-issuer';

/**
 * A stand-in for Timebox's workflow API, as product contract §11 describes it: POST files (once
 * per Idempotency-Key), GET ?wait=N holds while pending. Each test scripts the statuses a
 * request goes through and any failures.
 */
class FakeApi {
  filed = new Map<string, { id: string; body: unknown; statuses: string[]; polls: number }>();
  posts: Array<{ key?: string; auth?: string }> = [];
  failPostsWith: number[] = [];
  /** The answer to a POST instead of filing (a problem). */
  refuseWith?: { status: number; body: unknown };
  script: string[] = ['pending', 'approved'];
  private server?: Server;

  async start(): Promise<string> {
    const app = express();
    app.use(express.json());
    app.post('/api/v1/requests', (req, res) => {
      this.posts.push({ key: req.header('idempotency-key'), auth: req.header('authorization') });
      const fail = this.failPostsWith.shift();
      if (fail) return void res.status(fail).set('Retry-After', '1').json({ code: 'api.unavailable' });
      if (this.refuseWith)
        return void res
          .status(this.refuseWith.status)
          .type('application/problem+json')
          .send(JSON.stringify(this.refuseWith.body));
      const key = req.header('idempotency-key') ?? `none-${this.posts.length}`;
      let request = this.filed.get(key);
      if (!request) {
        request = {
          id: `R-${100000 + this.filed.size}`,
          body: req.body as unknown,
          statuses: [...this.script],
          polls: 0,
        };
        this.filed.set(key, request);
      }
      res.status(201).json(this.view(request));
    });
    app.get('/api/v1/requests/:id', async (req, res) => {
      const request = [...this.filed.values()].find((r) => r.id === req.params.id);
      if (!request) return void res.status(404).json({ code: 'request.not_found' });
      request.polls++;
      const wait = Number(req.query.wait ?? 0);
      if (request.statuses.length > 1) request.statuses.shift();
      else if (request.statuses[0] === 'pending')
        await new Promise((r) => setTimeout(r, Math.min(wait, 2) * 1000));
      res.json(this.view(request));
    });
    this.server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private view(r: { id: string; statuses: string[] }) {
    const status = r.statuses[0]!;
    return {
      id: r.id,
      status,
      target: 'deploy-prod',
      ...(status === 'approved'
        ? { approvalToken: `token-for-${r.id}`, expiresAt: '2026-12-03T10:15:00Z' }
        : {}),
    };
  }

  stop() {
    this.server?.close();
  }
}

let api: FakeApi;
let url: string;
let dir: string;
beforeEach(async () => {
  api = new FakeApi();
  url = await api.start();
  dir = mkdtempSync(path.join(tmpdir(), 'timebox-pipeline-'));
});
afterEach(() => {
  api.stop();
  rmSync(dir, { recursive: true, force: true });
});

const env = () => ({
  TIMEBOX_URL: url,
  TIMEBOX_API_AUDIENCE: 'api://timebox',
  TIMEBOX_API_TOKEN: 'pipeline-token',
  GITHUB_ACTIONS: 'true',
  GITHUB_REPOSITORY: 'contoso/shop',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '42',
  GITHUB_SHA: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
  GITHUB_WORKFLOW: 'deploy',
  GITHUB_OUTPUT: path.join(dir, 'github-output'),
});
const request = (...args: string[]) => runCliStreams(registerPipelineCommands, ['request', ...args], env());

describe('timebox request: the pipeline client', () => {
  it('--wait: files once, long-polls until approved, prints the approval token, exits 0, sets the step outputs', async () => {
    api.script = ['pending', 'pending', 'approved'];
    const run = await request(
      'deploy-prod',
      '--for',
      'PT30M',
      '--because',
      'release 2026.12.3',
      '--environment',
      'production',
      '--wait',
    );
    expect(run.code).toBe(0);
    // In GitHub Actions the token is masked (the line before it) wherever it would be logged.
    expect(run.stdout).toBe('::add-mask::token-for-R-100000\ntoken-for-R-100000');
    expect(run.stderr).toContain('R-100000: pending (deploy-prod)');
    expect(run.stderr).toContain('R-100000: approved');
    const [filed] = [...api.filed.values()];
    expect(filed!.body).toEqual({
      target: 'deploy-prod',
      duration: 'PT30M',
      justification: 'release 2026.12.3',
      context: { ...GITHUB_RUN, pipeline: 'deploy', environment: 'production' },
    });
    expect(api.posts[0]).toMatchObject({
      auth: 'Bearer pipeline-token',
      key: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(readFileSync(env().GITHUB_OUTPUT, 'utf8')).toBe(
      'request-id=R-100000\nstatus=approved\napproval-token=token-for-R-100000\n',
    );
  });

  it('a POST that met a 503 is sent again with the same Idempotency-Key: one request filed', async () => {
    api.failPostsWith = [503];
    const run = await request('deploy-prod', '--because', 'retry me', '--wait');
    expect(run.code).toBe(0);
    expect(api.posts).toHaveLength(2);
    expect(api.posts[0]!.key).toBe(api.posts[1]!.key);
    expect(api.filed.size).toBe(1);
  });

  it.each([
    ['denied', 3],
    ['revoked', 3],
    ['timed_out', 4],
    ['cancelled', 4],
    ['failed', 1],
  ])('decided %s → exit %d, no token printed', async (status, code) => {
    api.script = ['pending', status];
    const run = await request('deploy-prod', '--because', 'x', '--wait');
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`R-100000: ${status}`);
  });

  it('still pending at --timeout → exit 4, and the request stays open', async () => {
    api.script = ['pending'];
    const run = await request('deploy-prod', '--because', 'x', '--wait', '--timeout', '2s');
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('still pending after the timeout; it stays open in Teams');
  }, 15_000);

  it('without --wait: filed is success (exit 0), nothing polled', async () => {
    const run = await request('deploy-prod', '--because', 'x');
    expect(run.code).toBe(0);
    expect([...api.filed.values()][0]!.polls).toBe(0);
  });

  it('a problem from the API: 400 → exit 2 with its code and detail; 403 → exit 1', async () => {
    api.refuseWith = {
      status: 400,
      body: { code: 'request.duration_over_policy', detail: 'deploy-prod allows at most 1h' },
    };
    const bad = await request('deploy-prod', '--for', '8h', '--because', 'x', '--wait');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('400 request.duration_over_policy: deploy-prod allows at most 1h');
    api.refuseWith = {
      status: 403,
      body: { code: 'auth.unknown_client', title: 'This application may not call Timebox' },
    };
    const forbidden = await request('deploy-prod', '--because', 'x');
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('403 auth.unknown_client');
  });

  it('bad input is refused before any call, exit 2', async () => {
    const cases = [
      [['deploy-prod', '--because', 'x', '--for', 'P1M'], '--for:'],
      [['deploy-prod'], '--because: say why'],
      [['deploy-prod', '--because', 'x', '--timeout', 'forever'], '--timeout:'],
      [
        ['deploy-prod', '--because', 'x', '--url', 'http://timebox.contoso.com'],
        "--url must be Timebox's https URL",
      ],
    ] as const;
    for (const [args, message] of cases) {
      const run = await request(...args);
      expect([run.code, run.stderr]).toEqual([2, expect.stringContaining(message)]);
    }
    const noUrl = await runCliStreams(
      registerPipelineCommands,
      ['request', 'deploy-prod', '--because', 'x'],
      {
        ...env(),
        TIMEBOX_URL: undefined,
      },
    );
    expect([noUrl.code, noUrl.stderr]).toEqual([2, expect.stringContaining('Give --url or TIMEBOX_URL')]);
    expect(api.posts).toHaveLength(0);
  });

  it('Timebox unreachable: retried with doubling waits, then exit 1 saying so', async () => {
    api.stop();
    const slept: number[] = [];
    const said: string[] = [];
    const exit = await runPipelineRequest(
      { url: 'http://127.0.0.1:9', target: 'deploy-prod', justification: 'x', wait: true, timeoutMs: 60_000 },
      {
        token: () => Promise.resolve('t'),
        fetch,
        now: Date.now,
        sleep: (ms) => {
          slept.push(ms);
          return Promise.resolve();
        },
        say: (line) => void said.push(line),
        print: () => undefined,
        json: false,
      },
    );
    expect(exit).toBe(PipelineExit.FAILED);
    expect(slept).toEqual([1000, 2000, 4000, 8000, 16000]);
    expect(said.at(-1)).toMatch(/^gave up after 6 attempts: cannot reach Timebox/);
  });
});
