import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { connect } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { startHarness, testPolicy, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { TeamsClient, TENANT, users, personalChatOf } from '../helpers/teams-client';
import { loadConfig } from '../../src/config';
import { isBackground } from './background';

const ROOT = path.join(__dirname, '../..');
const OTHER_TENANT = 'f0000000-0000-4000-8000-00000000bad1';

/** Runs the real CLI (`tsx src/cli.ts ...`) with exactly `env` (plus PATH), like a fresh shell. */
function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/cli.ts'), ...args],
      {
        cwd: mkdtempSync(path.join(tmpdir(), 'timebox-cli-')),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `timebox ${args.join(' ')} did not exit within ${timeoutMs} ms (it should refuse to start)\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('start-up: production refuses to run without authentication', () => {
  it('`timebox serve` with a clean environment exits non-zero and says what to set', async () => {
    const { code, stdout, stderr } = await runCli(['serve'], { PORT: '0' });
    expect(code).toBe(2);
    expect(stderr).toContain('MicrosoftAppId is not set');
    expect(stderr).toContain('TIMEBOX_DEV=1');
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(stdout).not.toMatch(/listening/i);
  });

  it('an empty or blank MicrosoftAppId counts as none', async () => {
    for (const MicrosoftAppId of ['', '   '])
      expect(() => loadConfig({ MicrosoftAppId })).toThrow(/MicrosoftAppId is not set/);
  });

  it("SingleTenant without MicrosoftAppTenantId refuses to start with a message (not botbuilder's assertion)", async () => {
    const { code, stderr } = await runCli(['serve'], {
      PORT: '0',
      MicrosoftAppId: '0b0b0b0b-1111-4222-8333-444444444444',
      MicrosoftAppPassword: 'x',
      MicrosoftAppType: 'SingleTenant',
    });
    expect(code).toBe(2);
    expect(stderr).toContain('MicrosoftAppTenantId must be set');
  });

  it('local mode binds 127.0.0.1 only, whatever HOST says; production binds HOST', () => {
    expect(loadConfig({ TIMEBOX_DEV: '1', HOST: '0.0.0.0' }).host).toBe('127.0.0.1');
    expect(loadConfig({ TIMEBOX_DEV: '1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ MicrosoftAppId: 'app' }).host).toBe('0.0.0.0');
    expect(loadConfig({ MicrosoftAppId: 'app', HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
  });

  it('a bot in local mode cannot be reached on any other address of the machine', async () => {
    const h = await startHarness();
    try {
      expect(new URL(h.bot.url).hostname).toBe('127.0.0.1');
      expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
      const others = Object.values(networkInterfaces())
        .flat()
        .filter((i): i is NonNullable<typeof i> => !!i && !i.internal && i.family === 'IPv4')
        .map((i) => i.address);
      for (const address of others) {
        const reached = await new Promise<boolean>((resolve) => {
          const socket = connect({ host: address, port: h.bot.port, timeout: 1000 });
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(false));
          socket.once('timeout', () => (socket.destroy(), resolve(false)));
        });
        expect({ address, reached }).toEqual({ address, reached: false });
      }
    } finally {
      await h.close();
    }
  });

  it('refuses a bad TIMEBOX_REQUEST_RATE_LIMIT rather than running without a limit', () => {
    expect(() => loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_REQUEST_RATE_LIMIT: 'lots' })).toThrow(
      /TIMEBOX_REQUEST_RATE_LIMIT/,
    );
    expect(loadConfig({ TIMEBOX_DEV: '1' }).requestRateLimit).toEqual({ max: 10, windowMs: 600_000 });
    expect(loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_REQUEST_RATE_LIMIT: '3/1h' }).requestRateLimit).toEqual({
      max: 3,
      windowMs: 3_600_000,
    });
    expect(
      loadConfig({ TIMEBOX_DEV: '1', TIMEBOX_REQUEST_RATE_LIMIT: 'off' }).requestRateLimit,
    ).toBeUndefined();
  });

  it('`timebox serve` in local mode with a bad policy stops with the file named', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'timebox-cli-policy-'));
    try {
      const file = path.join(dir, 'policy.yaml');
      writeFileSync(
        file,
        stringify({ ...testPolicy(), groups: { x: { groupId: 'g', approverChannel: 'nope' } } }),
      );
      const { code, stderr } = await runCli(['serve'], {
        TIMEBOX_DEV: '1',
        PORT: '0',
        TIMEBOX_POLICY: file,
        TIMEBOX_DATA_DIR: path.join(dir, 'data'),
      });
      expect(code).not.toBe(0);
      expect(stderr).toContain(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('activities from another tenant are refused', () => {
  let h: Harness;
  let foreign: TeamsClient;
  beforeAll(async () => {
    h = await startHarness({ env: { MicrosoftAppTenantId: TENANT } });
    foreign = new TeamsClient(h.bot.url, h.connector.url, OTHER_TENANT);
  });
  afterAll(async () => {
    await h.close();
  });

  const audit = async () => {
    const out = [];
    for await (const record of h.bot.store.readAudit()) if (!isBackground(record)) out.push(record);
    return out;
  };

  it.each([
    'request sandbox for 1h because I am from elsewhere',
    'status',
    'pending',
    'help',
    'cancel R-AAAAAA',
    'fly me to the moon',
  ])('"%s" from another tenant: a refusal, nothing stored, nothing learned, audited', async (text) => {
    const before = (await audit()).length;
    const res = await foreign.say(users.megan, text);
    expect(res.status).toBe(200);
    const reply = await waitFor(() => h.connector.sentTo(personalChatOf(users.megan)).at(-1), 'a reply');
    expect(reply.activity.text).toMatch(/another tenant/i);
    expect(await h.bot.store.listOpen()).toEqual([]);
    expect(await h.bot.store.getServiceUrl(OTHER_TENANT)).toBeUndefined();
    expect(await h.bot.store.getPersonalChat(users.megan.aadObjectId)).toBeUndefined();
    const records = (await audit()).slice(before);
    expect(records).toEqual([
      expect.objectContaining({
        type: 'refused',
        detail: expect.objectContaining({
          code: 'AUTH.WRONG_TENANT',
          claimed: expect.objectContaining({ tenantId: OTHER_TENANT }),
        }),
      }),
    ]);
    h.connector.sent.length = 0;
  });

  it('an activity whose conversation and channelData name different tenants is refused', async () => {
    const activity = foreign.message(users.alex, 'request sandbox for 1h because mixed tenants');
    const mixed = {
      ...activity,
      conversation: { ...(activity.conversation as object), tenantId: TENANT },
      channelData: { tenant: { id: OTHER_TENANT } },
    };
    await foreign.post(mixed);
    const reply = await waitFor(() => h.connector.sentTo(personalChatOf(users.alex)).at(-1), 'a reply');
    expect(reply.activity.text).toMatch(/another tenant/i);
    expect(await h.bot.store.listOpen()).toEqual([]);
  });

  it('an activity with no tenant at all, or the tenant only in channelData, is refused with 403 and audited', async () => {
    const activity = foreign.message(users.alex, 'request sandbox for 1h because no tenant');
    const before = (await audit()).length;
    for (const channelData of [{}, { tenant: { id: TENANT } }]) {
      const bare = {
        ...activity,
        conversation: { id: personalChatOf(users.alex), conversationType: 'personal' },
        channelData,
      };
      expect((await foreign.post(bare)).status).toBe(403);
    }
    await h.bot.settled();
    expect(await h.bot.store.listOpen()).toEqual([]);
    expect(
      h.connector.sentTo(personalChatOf(users.alex)).filter((s) => /no tenant/.test(s.activity.text ?? '')),
    ).toEqual([]);
    // Once per conversation, not once per activity: a flood is one record.
    expect((await audit()).slice(before)).toEqual([
      expect.objectContaining({
        type: 'refused',
        detail: expect.objectContaining({ code: 'AUTH.WRONG_TENANT', action: 'activity' }),
      }),
    ]);
  });

  it('the same person in the right tenant is served', async () => {
    const home = new TeamsClient(h.bot.url, h.connector.url, TENANT);
    await home.say(users.alex, 'request sandbox for 1h because home tenant');
    await waitFor(async () => (await h.bot.store.listOpen()).length === 1, 'request stored');
    expect(await h.bot.store.getServiceUrl(TENANT)).toBe(h.connector.url);
  });
});
