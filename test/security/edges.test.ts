/**
 * Issue 19, findings 1 and 6: only Teams is believed, and botbuilder's authentication noise stays
 * out of the logs. The real bot in production mode, botbuilder's own JWT validation against
 * loopback OpenID metadata whose JWKS holds a Teams-endorsed key and a Web-Chat-only key.
 */
import { startHarness, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { TENANT, personalChatOf, users, type TeamsClient, type TeamsUser } from '../helpers/teams-client';
import { signJwt, type JwtChannel } from '../helpers/jwt-channel';
import { APP_ID, startProduction } from '../helpers/jwt-production';
import { RecordingLogger } from './recording-logger';
import type { AccessRequest } from '../../src/domain/request';

const BOTFRAMEWORK_TENANT_ISSUER = `https://sts.windows.net/${TENANT}/`;

describe('only Microsoft Teams activities of the configured tenant are acted on', () => {
  let h: Harness;
  let channel: JwtChannel;
  let teams: TeamsClient;
  let logger: RecordingLogger;
  let stderr: jest.SpyInstance[];
  let request: AccessRequest;

  beforeAll(async () => {
    stderr = (['error', 'warn', 'log'] as const).map((level) => jest.spyOn(console, level));
    logger = new RecordingLogger();
    ({ h, channel, teams } = await startProduction({}, undefined, { logger }));
    await teams.say(users.alex, 'request prod-admin for 1h ticket INC-42 because the webchat test');
    request = await waitFor(
      async () => (await h.bot.store.listOpen()).find((r) => r.approvalCard),
      'approval card posted',
    );
  });
  afterAll(async () => {
    await h.close();
    await channel.stop();
    for (const spy of stderr) spy.mockRestore();
  });

  /** Megan (an approver of prod-admin) clicks Approve, from wherever `change` says. */
  function approveFrom(
    change: (activity: Record<string, unknown>) => Record<string, unknown>,
  ): Record<string, unknown> {
    const click = {
      ...teams.message(users.megan, ''),
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: {
        action: {
          type: 'Action.Execute',
          verb: 'approve',
          data: { requestId: request.id, subject: 'request' },
        },
        trigger: 'manual',
      },
    };
    return change(click);
  }

  async function refusals(code: string) {
    return (await h.audit()).filter(
      (r) => r.type === 'refused' && (r.detail as { code?: string } | undefined)?.code === code,
    );
  }

  it('a Web Chat approve, signed with a key endorsed for webchat, tenant only in channelData: 403, nothing changes, audited once per conversation', async () => {
    const webchat = approveFrom((a) => ({
      ...a,
      channelId: 'webchat',
      conversation: { id: 'webchat-conversation-1' },
      channelData: { tenant: { id: TENANT } },
    }));
    const token = channel.token({ appId: APP_ID, serviceUrl: h.connector.url }, channel.webchatKey);
    const directoryCalls = h.directory.calls.length;
    for (let i = 0; i < 3; i++) {
      const res = await teams.post(webchat, { token });
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/only on Microsoft Teams activities/);
    }
    await h.bot.settled();
    const after = await h.bot.store.get(request.id);
    expect(after?.status).toBe('pending');
    expect(after?.votes).toEqual([]);
    expect(h.directory.calls.slice(directoryCalls).filter((c) => c.method !== 'GET')).toEqual([]);
    const audited = await refusals('AUTH.NOT_TEAMS');
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({
      detail: { action: 'activity', channelId: 'webchat', conversationId: 'webchat-conversation-1' },
    });
    expect(audited.some((r) => r.actor)).toBe(false); // nobody is named as the actor of a refused channel
  });

  it('a Direct Line activity is refused the same way', async () => {
    const directline = approveFrom((a) => ({
      ...a,
      channelId: 'directline',
      conversation: { id: 'dl-1', tenantId: TENANT },
    }));
    const res = await teams.post(directline, {
      token: channel.token({ appId: APP_ID, serviceUrl: h.connector.url }, channel.webchatKey),
    });
    expect(res.status).toBe(403);
    expect((await h.bot.store.get(request.id))?.votes).toEqual([]);
  });

  it('a Teams activity that names the tenant only in channelData (no conversation.tenantId): 403, nothing changes', async () => {
    const noTenant = approveFrom((a) => ({
      ...a,
      conversation: { id: 'a:personal-megan', conversationType: 'personal' },
      channelData: { tenant: { id: TENANT } },
    }));
    const res = await teams.post(noTenant);
    expect(res.status).toBe(403);
    await h.bot.settled();
    expect((await h.bot.store.get(request.id))?.votes).toEqual([]);
    expect(await refusals('AUTH.WRONG_TENANT')).toHaveLength(1);
  });

  it('a Teams activity whose two tenant fields disagree: refused by the bot, nothing changes, audited', async () => {
    const before = (await refusals('AUTH.WRONG_TENANT')).length;
    const split = approveFrom((a) => ({
      ...a,
      conversation: { id: 'a:personal-megan-2', conversationType: 'personal', tenantId: TENANT },
      channelData: { tenant: { id: '0ther000-0000-4000-8000-000000000000' } },
    }));
    const res = await teams.post(split);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/another tenant/);
    await h.bot.settled();
    expect((await h.bot.store.get(request.id))?.votes).toEqual([]);
    expect(await refusals('AUTH.WRONG_TENANT')).toHaveLength(before + 1);
  });

  it('the same approve from Teams is acted on', async () => {
    const res = await teams.post(approveFrom((a) => a));
    expect(res.status).toBe(200);
    await h.bot.settled();
    expect((await h.bot.store.get(request.id))?.votes).toEqual([
      expect.objectContaining({ by: expect.objectContaining({ id: users.megan.aadObjectId }) }),
    ]);
  });

  it("the bot's own Entra token for the Bot Connector, replayed to it: 401, not a 500", async () => {
    // What Entra issues the bot for its outbound calls: its tenant's issuer, the connector's audience, its own appid.
    const outbound = signJwt(
      {
        iss: BOTFRAMEWORK_TENANT_ISSUER,
        aud: 'https://api.botframework.com',
        appid: APP_ID,
        ver: '1.0',
        tid: TENANT,
        nbf: Math.floor(Date.now() / 1000) - 60,
        exp: Math.floor(Date.now() / 1000) + 3600,
      },
      channel.emulatorKey,
    );
    const res = await teams.post(teams.message(users.alex, 'help'), { token: outbound });
    expect(res.status).toBe(401);
  });

  it("every refused token: 401 with Timebox's own short text, one JSON log line without keys or stacks, nothing on stderr", async () => {
    for (const spy of stderr) spy.mockClear();
    logger.entries.length = 0;
    const wrongKey = channel.token({ appId: APP_ID, serviceUrl: h.connector.url }, channel.emulatorKey); // unknown kid for the channel's JWKS
    const badSignature = `${channel.token({ appId: APP_ID, serviceUrl: h.connector.url }).slice(0, -8)}AAAAAAAA`;
    const expired = channel.token({
      appId: APP_ID,
      serviceUrl: h.connector.url,
      expiresIn: -600,
      notBeforeIn: -4000,
    });
    for (const token of [wrongKey, badSignature, expired, 'not.a.jwt']) {
      const res = await teams.post(teams.message(users.alex, 'help'), { token });
      expect(res.status).toBe(401);
      const body = await res.text();
      expect(JSON.parse(body)).toEqual({
        error: 'Unauthorized: Timebox accepts only activities the Bot Framework signed for this bot.',
      });
    }
    for (const spy of stderr) expect(spy).not.toHaveBeenCalled();
    const lines = logger.entries.filter((e) => e.msg === 'activity refused: not authenticated');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      const text = JSON.stringify(line.obj);
      expect(text).not.toMatch(/BEGIN|-----|\bat \w+ \(|Available keys|\n/);
      expect(text.length).toBeLessThan(400);
    }
  });
});

describe('local mode: a non-Teams activity is refused too', () => {
  it('webchat → 403; msteams → 200', async () => {
    const h = await startHarness();
    try {
      const message = h.teams.message(users.alex, 'help');
      expect((await h.teams.post({ ...message, channelId: 'webchat' })).status).toBe(403);
      expect((await h.teams.post(message)).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe("a request's details go only to its requester, its approvers and admins (finding 5)", () => {
  let h: Harness;
  let request: AccessRequest;
  const SECRET = 'rotate-the-payroll-db-credentials-7731';

  beforeAll(async () => {
    h = await startHarness();
    await h.teams.say(users.alex, `request prod-admin for 1h ticket INC-77 because ${SECRET}`);
    request = await waitFor(
      async () => (await h.bot.store.listOpen()).find((r) => r.approvalCard && r.receiptCard),
      'approval card and receipt posted',
    );
  });
  afterAll(async () => {
    await h.close();
  });

  const personal = (who: TeamsUser) => ({ conversationId: personalChatOf(who), personal: true });
  const leaks = (body: unknown) => {
    const text = JSON.stringify(body);
    return [SECRET, 'Alex Wilber', 'alex@example.com', 'INC-77'].filter((s) => text.includes(s));
  };

  it('a refresh from someone else, naming the id: only the status', async () => {
    const res = await h.teams.click(
      users.lynne,
      'refresh',
      { requestId: request.id },
      personal(users.lynne),
      'automatic',
    );
    expect(res.status).toBe(200);
    expect(leaks(res.body)).toEqual([]);
    expect(JSON.stringify(res.body)).toContain(`Request ${request.id} is pending.`);
  });

  it("a click that names someone's receipt as its replyToId: only the status", async () => {
    const res = await h.teams.click(
      users.lynne,
      'refresh',
      { requestId: request.id },
      { ...personal(users.lynne), replyToId: request.receiptCard!.activityId },
    );
    expect(leaks(res.body)).toEqual([]);
  });

  it("a card click on someone else's request (cancel) from elsewhere: refused, only the status", async () => {
    const res = await h.teams.click(users.lynne, 'cancel', { requestId: request.id }, personal(users.lynne));
    expect(leaks(res.body)).toEqual([]);
    expect((await h.bot.store.get(request.id))?.status).toBe('pending');
  });

  it("`cancel <id>` of someone else's request: refused without naming them", async () => {
    h.connector.sent.length = 0;
    await h.teams.say(users.lynne, `cancel ${request.id}`);
    const reply = await waitFor(() => h.connector.sentTo(personalChatOf(users.lynne)).at(-1), 'a reply');
    expect(reply.activity.text).toMatch(/not yours/);
    expect(leaks(reply.activity)).toEqual([]);
    expect((await h.bot.store.get(request.id))?.status).toBe('pending');
  });

  it('the requester, an approver and an admin still see the details', async () => {
    for (const who of [users.megan, users.patti]) {
      const res = await h.teams.click(who, 'refresh', { requestId: request.id }, personal(who), 'automatic');
      expect(JSON.stringify(res.body)).toContain(SECRET);
    }
    // The requester's own chat answers with their status card, which shows the ticket.
    const own = await h.teams.click(
      users.alex,
      'refresh',
      { requestId: request.id },
      personal(users.alex),
      'automatic',
    );
    expect(JSON.stringify(own.body)).toContain('INC-77');
    const receipt = await h.teams.click(
      users.alex,
      'refresh',
      { requestId: request.id },
      { ...personal(users.alex), replyToId: request.receiptCard!.activityId },
      'automatic',
    );
    expect(JSON.stringify(receipt.body)).toContain(SECRET);
  });

  it("anyone on the approval card itself, in the approvers' channel, sees what the channel already shows", async () => {
    const res = await h.clickOnCard(users.lynne, 'refresh', request);
    expect(JSON.stringify(res.body)).toContain(SECRET);
  });
});
