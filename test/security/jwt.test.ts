/**
 * Production mode (MicrosoftAppId set): every activity goes through botbuilder's own JWT
 * validation (ConfigurationBotFrameworkAuthentication → JwtTokenExtractor) against OpenID
 * metadata and a JWKS served on loopback with a key generated here (test/helpers/jwt-channel.ts).
 * Nothing is mocked between the HTTP request and botbuilder's verdict.
 */
import { createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import type { Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import type { TeamsClient } from '../helpers/teams-client';
import { TENANT, users } from '../helpers/teams-client';
import { JwtChannel, channelClaims, newSigningKey, signJwt } from '../helpers/jwt-channel';
import {
  APP_ID,
  APP_PASSWORD,
  expectNothingStored,
  snapshot,
  startProduction,
  type Snapshot,
} from '../helpers/jwt-production';
import { pickBotEnv } from '../../src/adapters/teams/bot-authentication';

describe('production mode: /api/messages accepts only activities signed for the bot', () => {
  let h: Harness;
  let channel: JwtChannel;
  let teams: TeamsClient;
  let consoleError: jest.SpyInstance;

  beforeAll(async () => {
    // CloudAdapter console.errors every refused token; keep the output readable.
    consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    ({ h, channel, teams } = await startProduction());
  });
  afterAll(async () => {
    await h.close();
    await channel.stop();
    consoleError.mockRestore();
  });
  let before: Snapshot;
  beforeEach(async () => {
    before = await snapshot(h);
  });

  const activity = () => teams.message(users.alex, 'request sandbox for 1h because forged');
  const serviceUrl = () => h.connector.url;
  const otherKey = newSigningKey('channel-key-1');

  const forgeries: Array<[string, () => string | undefined]> = [
    ['no Authorization header', () => undefined],
    [
      'a bad signature (another key, same kid)',
      () =>
        signJwt(channelClaims({ appId: APP_ID, serviceUrl: serviceUrl() }), {
          ...otherKey,
          kid: channel.key.kid,
        }),
    ],
    [
      'a wrong audience (another bot)',
      () =>
        channel.token({
          appId: APP_ID,
          serviceUrl: serviceUrl(),
          audience: '99999999-9999-4999-8999-999999999999',
        }),
    ],
    [
      'an expired token (beyond the 5-minute skew)',
      () => channel.token({ appId: APP_ID, serviceUrl: serviceUrl(), expiresIn: -600, notBeforeIn: -4000 }),
    ],
    [
      'a token not valid yet (beyond the skew)',
      () => channel.token({ appId: APP_ID, serviceUrl: serviceUrl(), notBeforeIn: 900 }),
    ],
    [
      'a wrong issuer',
      () => channel.token({ appId: APP_ID, serviceUrl: serviceUrl(), issuer: 'https://evil.example' }),
    ],
    [
      'a serviceurl claim for another connector',
      () => channel.token({ appId: APP_ID, serviceUrl: 'https://evil.example/teams/' }),
    ],
    [
      'no serviceurl claim',
      () =>
        signJwt(
          { ...channelClaims({ appId: APP_ID, serviceUrl: serviceUrl() }), serviceurl: undefined },
          channel.key,
        ),
    ],
    [
      'an unknown key id',
      () =>
        signJwt(channelClaims({ appId: APP_ID, serviceUrl: serviceUrl() }), channel.key, {
          kid: 'no-such-key',
        }),
    ],
    [
      'a key endorsed only for another channel',
      () => channel.token({ appId: APP_ID, serviceUrl: serviceUrl() }, channel.webchatKey),
    ],
    [
      'alg "none"',
      () => signJwt(channelClaims({ appId: APP_ID, serviceUrl: serviceUrl() }), channel.key, { alg: 'none' }),
    ],
    [
      'HS256 keyed with the public key (algorithm confusion)',
      () =>
        signJwt(channelClaims({ appId: APP_ID, serviceUrl: serviceUrl() }), channel.key, {
          alg: 'HS256',
          hmacSecret: channel.key.publicKey.export({ format: 'pem', type: 'spki' }),
        }),
    ],
    [
      'an emulator-issuer token signed with the channel key',
      () =>
        channel.token({
          appId: APP_ID,
          serviceUrl: serviceUrl(),
          issuer: 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/',
          extra: { appid: APP_ID, ver: '1.0' },
        }),
    ],
    [
      'a skill token (bot-to-bot) for our app id',
      () =>
        signJwt(
          {
            ...channelClaims({
              appId: APP_ID,
              serviceUrl: serviceUrl(),
              issuer: 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/',
            }),
            appid: '12121212-1212-4121-8121-121212121212',
            ver: '1.0',
          },
          channel.emulatorKey,
        ),
    ],
    [
      'a token naming another tenant (tid)',
      () =>
        channel.token({
          appId: APP_ID,
          serviceUrl: serviceUrl(),
          extra: { tid: '0ther000-0000-4000-8000-000000000000' },
        }),
    ],
    [
      'a payload that is JSON but not an object',
      () =>
        `${channel.token({ appId: APP_ID, serviceUrl: serviceUrl() }).split('.')[0]}.${Buffer.from('null').toString('base64url')}.x`,
    ],
    ['garbage', () => 'not.a.jwt'],
    ['a truncated token', () => channel.token({ appId: APP_ID, serviceUrl: serviceUrl() }).slice(0, -20)],
  ];

  it.each(forgeries)('refuses %s with 401 and stores nothing', async (_name, token) => {
    const res = await teams.post(activity(), { token: token() ?? '' });
    // post() signs by default; an empty token means "send none" for the first case.
    expect(res.status).toBe(401);
    await h.bot.settled();
    await expectNothingStored(h, before);
  });

  it('refuses a Basic scheme and a token sent without "Bearer"', async () => {
    const good = channel.token({ appId: APP_ID, serviceUrl: serviceUrl() });
    for (const header of [
      `Basic ${Buffer.from(`${APP_ID}:${APP_PASSWORD}`).toString('base64')}`,
      good,
      `bearer ${good}`,
      `Bearer  ${good}`,
    ]) {
      const res = await fetch(`${h.bot.url}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: header },
        body: JSON.stringify(activity()),
      });
      expect(res.status).toBe(401);
    }
    await expectNothingStored(h, before);
  });

  it('refuses a signed card action as well (forged approve): 401, nothing changes', async () => {
    const click = {
      ...teams.message(users.megan, ''),
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: {
        action: { type: 'Action.Execute', verb: 'approve', data: { requestId: 'R-AAAAAA' } },
        trigger: 'manual',
      },
    };
    const forged = signJwt(channelClaims({ appId: APP_ID, serviceUrl: serviceUrl() }), {
      ...otherKey,
      kid: channel.key.kid,
    });
    expect((await teams.post(click, { token: forged })).status).toBe(401);
    expect((await teams.post(click, { token: '' })).status).toBe(401);
    await expectNothingStored(h, before);
  });

  it('never answers a 5xx to whatever is in the Authorization header (fast-check)', async () => {
    const good = channel.token({ appId: APP_ID, serviceUrl: serviceUrl() });
    const [head, body] = good.split('.');
    const header = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
      fc
        .tuple(
          fc.base64String({ maxLength: 200 }),
          fc.base64String({ maxLength: 400 }),
          fc.base64String({ maxLength: 100 }),
        )
        .map(([a, b, c]) => `Bearer ${a}.${b}.${c}`),
      fc.base64String({ maxLength: 300 }).map((sig) => `Bearer ${head}.${body}.${sig.replace(/=+$/, '')}`),
      fc
        .jsonValue()
        .map((payload) => `Bearer ${head}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.x`),
    );
    await fc.assert(
      fc.asyncProperty(header, async (value) => {
        const safe = value.replace(/[^\t\x20-\x7e]/g, '');
        const res = await fetch(`${h.bot.url}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: safe },
          body: JSON.stringify(activity()),
        });
        expect(res.status).toBe(401);
      }),
      { numRuns: 150 },
    );
    await expectNothingStored(h, before);
  });

  it("anonymous tokens with ever new tenant ids do not grow botbuilder's process-wide issuer list", async () => {
    const { ToBotFromBotOrEmulatorTokenValidationParameters: params } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('botframework-connector/lib/auth/tokenValidationParameters') as {
        ToBotFromBotOrEmulatorTokenValidationParameters: { issuer: string[] };
      };
    const issuersBefore = params.issuer.length;
    for (let i = 0; i < 25; i++) {
      const tid = `${String(i).padStart(8, '0')}-dead-4000-8000-000000000000`;
      const token = signJwt(
        {
          ...channelClaims({
            appId: APP_ID,
            serviceUrl: serviceUrl(),
            issuer: 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/',
          }),
          tid,
          appid: APP_ID,
          ver: '1.0',
        },
        channel.emulatorKey,
      );
      expect((await teams.post(activity(), { token })).status).toBe(401);
    }
    expect(params.issuer.length).toBe(issuersBefore);
    await expectNothingStored(h, before);
  });

  it("accepts a good token: the activity is handled, and outbound calls carry the bot's own token", async () => {
    const res = await teams.say(users.alex, 'request sandbox for 1h because signed and sound');
    expect(res.status).toBe(200);
    const [request] = await waitFor(async () => {
      const open = await h.bot.store.listOpen();
      return open.length ? open : undefined;
    }, 'request stored');
    expect(request).toMatchObject({
      status: 'pending',
      requester: { id: users.alex.aadObjectId },
      tenantId: TENANT,
    });
    await waitFor(() => h.connector.created.length > 0, 'approval card posted');
    // The bot fetched a token for the Bot Connector from the configured login URL, with its own
    // credentials, and every call to the connector carried it.
    expect(channel.issued.length).toBeGreaterThan(0);
    for (const issued of channel.issued)
      expect(issued).toMatchObject({ clientId: APP_ID, scope: 'https://api.botframework.com/.default' });
    expect(h.connector.authorizations.length).toBeGreaterThan(0);
    const tokens = channel.issued.map((i) => `Bearer ${i.token}`);
    for (const auth of h.connector.authorizations) expect(tokens).toContain(auth);
    // The OpenID metadata and the keys came from the configured (loopback) endpoints.
    expect(channel.fetches).toEqual(
      expect.arrayContaining(['/v1/.well-known/openidconfiguration', '/v1/.well-known/keys']),
    );
  });

  it('accepts a good token on a card action, and a replay of the same signed click changes nothing', async () => {
    await waitFor(async () => (await h.bot.store.listOpen()).find((r) => r.approvalCard), 'card stored');
    const [request] = await h.bot.store.listOpen();
    const click = {
      ...teams.message(users.megan, ''),
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: {
        action: { type: 'Action.Execute', verb: 'approve', data: { requestId: request!.id } },
        trigger: 'manual',
      },
    };
    const token = channel.token({ appId: APP_ID, serviceUrl: serviceUrl() });
    // sandbox's approver is alex (self-approval allowed there); megan is not one: a signed click
    // is authenticated, not authorized.
    const first = await teams.post(click, { token });
    expect(first.status).toBe(200);
    expect(JSON.stringify(await first.json())).toMatch(/only approvers/i);
    const approve = {
      ...click,
      from: { id: users.alex.id, name: users.alex.name, aadObjectId: users.alex.aadObjectId },
    };
    expect((await teams.post(approve, { token })).status).toBe(200);
    await h.bot.settled();
    const after = await h.bot.store.get(request!.id);
    expect(after?.status).not.toBe('pending');
    const replay = await teams.post(approve, { token });
    expect(replay.status).toBe(200);
    expect(JSON.stringify(await replay.json())).toMatch(/already/i);
    await h.bot.settled();
    const again = await h.bot.store.get(request!.id);
    expect(again?.votes).toHaveLength(1);
  });
});

describe('production mode: endpoint configuration', () => {
  it('BotOpenIdMetadata alone keeps the public cloud for every other endpoint (botbuilder would otherwise refuse everything)', async () => {
    const env = pickBotEnv({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: APP_PASSWORD,
      BotOpenIdMetadata: 'https://example.test/metadata',
    });
    expect(env).toMatchObject({
      ToBotFromChannelOpenIdMetadataUrl: 'https://example.test/metadata',
      ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
      ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
      ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    });
    expect(pickBotEnv({ MicrosoftAppId: APP_ID, MicrosoftAppPassword: '' })).toEqual({
      MicrosoftAppId: APP_ID,
    });
  });

  it('works end to end with only BotOpenIdMetadata pointed at the loopback keys', async () => {
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const channel = await new JwtChannel().start();
    const env = channel.botEnv();
    const { h, teams } = await startProduction(
      {
        ToBotFromChannelOpenIdMetadataUrl: '',
        BotOpenIdMetadata: env.ToBotFromChannelOpenIdMetadataUrl!,
        ToBotFromChannelTokenIssuer: '',
        OAuthUrl: '',
        CallerId: '',
        ToBotFromEmulatorOpenIdMetadataUrl: '',
        ToChannelFromBotOAuthScope: '',
      },
      channel,
    );
    try {
      const invoke = {
        ...teams.message(users.alex, ''),
        type: 'invoke',
        name: 'adaptiveCard/action',
        value: { action: { type: 'Action.Execute', verb: 'openRequestForm', data: {} }, trigger: 'manual' },
      };
      expect((await teams.post(invoke)).status).toBe(200);
      expect((await teams.post(invoke, { token: '' })).status).toBe(401);
    } finally {
      await h.close();
      await channel.stop();
      consoleError.mockRestore();
    }
  });

  it('a token signed with an HMAC of the app password is refused too', async () => {
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const { h, channel, teams } = await startProduction();
    try {
      const start = await snapshot(h);
      const token = signJwt(channelClaims({ appId: APP_ID, serviceUrl: h.connector.url }), channel.key, {
        alg: 'HS256',
        hmacSecret: createSecretKey(Buffer.from(APP_PASSWORD)).export(),
      });
      expect((await teams.post(teams.message(users.alex, 'help'), { token })).status).toBe(401);
      await expectNothingStored(h, start);
    } finally {
      await h.close();
      await channel.stop();
      consoleError.mockRestore();
    }
  });
});
