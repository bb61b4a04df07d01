import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { startHarness, CHANNEL, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { TeamsClient, TENANT, users } from '../helpers/teams-client';
import { JwtChannel, channelClaims, newSigningKey, signJwt } from '../helpers/jwt-channel';
import { APP_ID, APP_PASSWORD, startProduction } from '../helpers/jwt-production';
import { credentialFromEnv } from '../../src/adapters/graph/credentials';

/**
 * The configured secrets — MicrosoftAppPassword, AZURE_CLIENT_SECRET, a certificate's private
 * key — and the bearer tokens that pass through the bot never reach the logs (the real pino
 * logger, captured), the console (botbuilder writes there), the audit log or the store's files,
 * whatever happens: normal work, forged tokens, connector and Graph failures, a token endpoint
 * that refuses, and botbuilder's and @azure/identity's own credential code failing offline.
 */

const AZURE_SECRET = 'azure-client-secret-Q8~zz.77.Xyzzy';
const AZURE_ENV = {
  AZURE_TENANT_ID: TENANT,
  AZURE_CLIENT_ID: 'c1c1c1c1-2222-4333-8444-555555555555',
  AZURE_CLIENT_SECRET: AZURE_SECRET,
};
const ROOT = path.join(__dirname, '../..');

class Capture {
  logs = '';
  console = '';
  readonly destination = { write: (chunk: string) => void (this.logs += chunk) };
  private spies: jest.SpyInstance[] = [];
  start() {
    for (const method of ['error', 'warn', 'log', 'info', 'debug'] as const) {
      this.spies.push(
        jest
          .spyOn(console, method)
          .mockImplementation((...args: unknown[]) => void (this.console += `${format(...args)}\n`)),
      );
    }
  }
  stop() {
    for (const spy of this.spies) spy.mockRestore();
    this.spies = [];
  }
}

/** Every file the store wrote (hot state, history, audit). */
function dataAtRest(h: Harness): string {
  const dir = path.join(h.dataDir, 'data');
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

function expectNoSecret(where: string, text: string, secrets: string[]): void {
  for (const secret of secrets) {
    const found = text.includes(secret);
    if (found)
      throw new Error(
        `a secret (${secret.slice(0, 6)}…) reached ${where}:\n${text.slice(Math.max(0, text.indexOf(secret) - 300), text.indexOf(secret) + 100)}`,
      );
  }
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'src/cli.ts'), ...args],
      { env: { PATH: process.env.PATH ?? '', ...env } },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(
      () => (child.kill('SIGKILL'), reject(new Error(`timebox ${args.join(' ')} timed out:\n${out}`))),
      40_000,
    );
    child.on('exit', (code) => (clearTimeout(timer), resolve({ code, out })));
  });
}

describe('secrets never reach the logs or the audit', () => {
  const capture = new Capture();
  beforeEach(() => capture.start());
  afterEach(() => capture.stop());

  it('production mode: normal work, forged tokens, connector, Graph and token-endpoint failures', async () => {
    const channel = await new JwtChannel().start();
    // The bot keeps its Bot Connector clients, and their credentials keep a token until a
    // minute before it expires: tokens of a minute make every call ask the token endpoint, so
    // the secret rotated below is refused at the next call.
    channel.tokenLifetimeS = 60;
    const inbound: string[] = [];
    const { h } = await startProduction({ LOG_LEVEL: 'debug', ...AZURE_ENV }, channel, {
      logger: undefined,
      logDestination: capture.destination,
    });
    const teams = new TeamsClient(h.bot.url, h.connector.url, TENANT, (activity) => {
      const token = channel.token({ appId: APP_ID, serviceUrl: String(activity.serviceUrl) });
      inbound.push(token);
      return token;
    });
    try {
      // Normal work: a request, a self-approval (sandbox allows it), a grant, cards and replies.
      await teams.say(users.alex, 'request sandbox for 1h because secrets test');
      const request = await waitFor(async () => (await h.bot.store.listOpen())[0], 'request');
      await teams.click(
        users.alex,
        'approve',
        { requestId: request.id },
        { conversationId: CHANNEL.channelId },
      );
      await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'active', 'active');
      // Forged and expired tokens.
      const forged = signJwt(channelClaims({ appId: APP_ID, serviceUrl: h.connector.url }), {
        ...newSigningKey('x'),
        kid: channel.key.kid,
      });
      await teams.post(teams.message(users.alex, 'status'), { token: forged });
      await teams.post(teams.message(users.alex, 'status'), {
        token: channel.token({
          appId: APP_ID,
          serviceUrl: h.connector.url,
          expiresIn: -900,
          notBeforeIn: -4000,
        }),
      });
      // The Bot Connector failing, then Graph failing, while the worker retries.
      h.connector.failNext.send.push(500, 503, 403);
      h.connector.failNext.create.push(500);
      h.directory.faults.add({ route: 'POST /groups/*/members/$ref', status: 500, times: 2 });
      await teams.say(users.adele, 'request sandbox for 1h because failures');
      const second = await waitFor(
        async () => (await h.bot.store.listOpen()).find((r) => r.requester.id === users.adele.aadObjectId),
        'second request',
      );
      await teams.click(
        users.alex,
        'approve',
        { requestId: second.id },
        { conversationId: CHANNEL.channelId },
      );
      await waitFor(
        async () => (await h.bot.store.get(second.id))?.status === 'active',
        'second active',
        15_000,
      );
      // The token endpoint refusing the bot's credentials.
      channel.clients.set(APP_ID, 'rotated-elsewhere');
      await teams.say(users.megan, 'request sandbox for 1h because token endpoint says no');
      await waitFor(
        () => /token endpoint answered 401/.test(capture.logs),
        'the refused token logged',
        10_000,
      );
    } finally {
      await h.bot.stop().catch(() => undefined);
    }
    const secrets = [
      APP_PASSWORD,
      AZURE_SECRET,
      Buffer.from(`${APP_ID}:${APP_PASSWORD}`).toString('base64'),
      ...channel.issued.map((i) => i.token),
      ...inbound,
    ];
    expect(channel.issued.length).toBeGreaterThan(0);
    expect(capture.logs).toMatch(/timebox listening/);
    expect(capture.logs).toMatch(/"level":(40|50)/); // failures were logged: the scan is not of an empty log
    expectNoSecret('the logs', capture.logs, secrets);
    expectNoSecret('the console', capture.console, secrets);
    expectNoSecret('the store and the audit log', dataAtRest(h), secrets);
    await h.close();
    await channel.stop();
  });

  it("botbuilder's own credentials (MSAL) failing offline, and @azure/identity's for Graph", async () => {
    const channel = await new JwtChannel().start();
    const env = {
      LOG_LEVEL: 'debug',
      ...AZURE_ENV,
      // The real outbound path: MSAL against the public login host (unreachable here).
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    };
    const { h, teams } = await startProduction(env, channel, {
      logger: undefined,
      logDestination: capture.destination,
      botCredentials: undefined,
    });
    try {
      await teams.say(users.alex, 'request sandbox for 1h because msal offline');
      await waitFor(() => /error|fail/i.test(capture.logs + capture.console), 'a logged failure', 15_000);
      await h.bot.settled();
    } finally {
      await h.close();
      await channel.stop();
    }
    expectNoSecret('the logs', capture.logs, [APP_PASSWORD, AZURE_SECRET]);
    expectNoSecret('the console', capture.console, [APP_PASSWORD, AZURE_SECRET]);

    // Graph through ClientSecretCredential (login host unreachable): the bot logs the failures.
    const graph = await startHarness({
      env: { LOG_LEVEL: 'debug', GRAPH_BASE_URL: 'https://graph.microsoft.com/v1.0', ...AZURE_ENV },
      overrides: { logger: undefined, logDestination: capture.destination },
    });
    try {
      await graph.teams.say(users.alex, 'request sandbox for 1h because graph offline');
      await graph.bot.settled();
    } finally {
      await graph.close();
    }
    expect(capture.logs.length).toBeGreaterThan(0);
    expectNoSecret('the logs', capture.logs, [APP_PASSWORD, AZURE_SECRET]);
    expectNoSecret('the console', capture.console, [APP_PASSWORD, AZURE_SECRET]);
    expect(credentialFromEnv(AZURE_ENV, 'https://graph.microsoft.com/v1.0').description).not.toContain(
      AZURE_SECRET,
    );
  });

  it('the CLI never prints them: a refused start-up, and `timebox directory check` failing offline', async () => {
    const [startup, check] = await Promise.all([
      runCli(['serve'], {
        MicrosoftAppId: APP_ID,
        MicrosoftAppPassword: APP_PASSWORD,
        MicrosoftAppType: 'SingleTenant',
        CertificatePrivateKey: '-----BEGIN PRIVATE KEY-----secretkeymaterial',
        ...AZURE_ENV,
        PORT: '0',
      }),
      runCli(['directory', 'check'], {
        ...AZURE_ENV,
        MicrosoftAppPassword: APP_PASSWORD,
        GRAPH_BASE_URL: 'https://graph.microsoft.com/v1.0',
        TIMEBOX_POLICY: path.join(ROOT, 'examples', 'nonexistent.yaml'),
      }),
    ]);
    expect(startup.code).toBe(2);
    expect(check.code).not.toBe(0);
    expect(check.out.length).toBeGreaterThan(0);
    for (const run of [startup, check])
      expectNoSecret('the CLI output', run.out, [APP_PASSWORD, AZURE_SECRET, 'secretkeymaterial']);
  });
});
