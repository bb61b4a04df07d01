import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { freePorts } from '../../src/dev/process-net';
import { startDevIssuer, type DevIssuer } from '../../src/dev/local-issuer/dev-issuer';
import { DEMO, Evidence, ROOT, useE2E, type NpmRun } from './harness';

// The README's pipeline try-out: `npm run dev:pipeline -- deploy-prod … --wait` waits in a
// "second terminal" while Alex clicks Approve on the card in the playground's channel; the
// command then prints an approval token that verifies against the bot's JWKS alone.
const devDir = mkdtempSync(path.join(tmpdir(), 'timebox-e2e-pipeline-'));
let issuer: DevIssuer | undefined;
beforeAll(async () => {
  const [port] = await freePorts(1);
  issuer = await startDevIssuer({ port: port!, devDir });
});
afterAll(async () => {
  await issuer?.close();
  rmSync(devDir, { recursive: true, force: true });
});

const e2e = useE2E({
  label: 'pipeline-approval',
  // Read when the stack starts (after the issuer above): the API on, trusting the issuer.
  get botEnv() {
    return issuer!.botEnv;
  },
});

/** `npm run dev:pipeline -- …args` as a second terminal runs it, against this test's stack. */
function devPipeline(args: string[]): Promise<NpmRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, TIMEBOX_DEV_DIR: devDir };
  delete env.NODE_ENV;
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'dev:pipeline', '--', ...args],
      { cwd: ROOT, env, timeout: 120_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

test('a pipeline waits on deploy-prod; Approve on the card; it gets a token that verifies', async () => {
  const { playground, stack } = e2e;
  issuer!.writeClientFile(stack.botUrl);
  const shots = new Evidence(playground, 'pipeline-approval');
  const run = devPipeline([
    'deploy-prod',
    '--for',
    '10m',
    '--because',
    'release 4.2 from the e2e pipeline',
    '--wait',
    '--timeout',
    '100s',
  ]);

  await playground.openChannel(DEMO.approverChannel);
  const card = await playground.waitForCardWithText('release 4.2 from the e2e pipeline', 60_000);
  await card.waitForText('Waiting for approval');
  const pending = await card.text();
  expect(pending).toContain('APPROVAL REQUEST · deploy-prod');
  expect(pending).toContain('Caller');
  expect(pending).toContain('contoso/shop');
  expect(pending).not.toMatch(/\baccess\b|membership/i);
  await shots.capture('channel-pending', { focus: card.thread() });

  const answer = await playground.clickCardButton(card, 'Approve');
  expect(answer?.status).toBe(200);
  await card.waitForText('Approved');
  await shots.capture('channel-approved', { focus: card.thread() });

  const result = await run;
  expect(result.code).toBe(0);
  const token = result.stdout.trim().split('\n').at(-1)!;
  const jwks = createRemoteJWKSet(new URL(`${stack.botUrl}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { audience: 'timebox-approval' });
  expect(protectedHeader.alg).toBe('ES256');
  expect(payload).toMatchObject({ target: 'deploy-prod', jti: expect.stringMatching(/^R-/) });
  expect(payload.approvers).toEqual([DEMO.users.alex.objectId]);
}, 180_000);
