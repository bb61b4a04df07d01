import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from 'botbuilder';
import { TeamsNotifier, parseRetryAfter } from '../../src/adapters/teams/teams-notifier';
import { DomainError, ErrorCodes } from '../../src/domain/errors';
import { FakeConnector, waitFor } from '../helpers/fake-connector';
import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { personalChatOf, users } from '../helpers/teams-client';

/**
 * Bot Connector failures (PLATFORM.md): 429/412/502/504 are retried with backoff and honour
 * Retry-After; 403 BotNotInConversationRoster and kin are recorded and not retried; and a
 * Teams outage never holds up a grant or a removal.
 */
describe('TeamsNotifier against a failing Bot Connector', () => {
  let connector: FakeConnector;
  let waits: number[];
  let notifier: TeamsNotifier;
  const chat = () => ({
    serviceUrl: connector.url,
    conversationId: 'a:personal-alex',
    userId: '29:alex',
    botId: '28:bot',
  });

  beforeAll(async () => {
    connector = await new FakeConnector().start();
  });
  afterAll(async () => {
    await connector.stop();
  });
  beforeEach(() => {
    waits = [];
    connector.failNext.send = [];
    connector.failNext.update = [];
    connector.stats.calls = 0;
    const adapter = new CloudAdapter(
      new ConfigurationBotFrameworkAuthentication({} as ConfigurationBotFrameworkAuthenticationOptions),
    );
    notifier = new TeamsNotifier(adapter, '', () => '28:bot', {
      sleep: async (ms) => void waits.push(ms),
      random: () => 0.5,
    });
  });

  it.each([429, 412, 502, 504])('retries %i with backoff and jitter, and delivers once', async (status) => {
    connector.failNext.send = [status, status];
    const before = connector.sentTo('a:personal-alex').length;
    await notifier.sendToPerson(chat(), { text: `after ${status}` });
    expect(connector.stats.calls).toBe(3); // one call per attempt: botbuilder's own retries are off
    expect(connector.sentTo('a:personal-alex').length - before).toBe(1);
    expect(waits).toEqual([188, 375]); // 250 ms doubling, "equal jitter" at random 0.5
  });

  it('waits as long as Retry-After says', async () => {
    connector.failNext.send = [{ status: 429, retryAfter: 2 }];
    await notifier.sendToPerson(chat(), { text: 'throttled once' });
    expect(waits).toEqual([2000]);
  });

  it('hands a long Retry-After back to the outbox instead of sleeping through it', async () => {
    connector.failNext.send = [{ status: 429, retryAfter: 30 }];
    const error = await notifier.sendToPerson(chat(), { text: 'throttled long' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({
      code: ErrorCodes.CONNECTOR_FAILED,
      details: { status: 429, retryAfterMs: 30_000 },
    });
    expect(connector.stats.calls).toBe(1);
    expect(waits).toEqual([]);
  });

  it('gives up after its attempts with CONNECTOR_FAILED (the outbox tries again later)', async () => {
    connector.failNext.update = [502, 502, 502, 502, 502];
    const error = await notifier
      .updateCard({ serviceUrl: connector.url, conversationId: 'a:1', activityId: '5' }, {})
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.CONNECTOR_FAILED, details: { status: 502 } });
    expect(connector.stats.calls).toBe(4);
  });

  it('does not retry 403 BotNotInConversationRoster', async () => {
    connector.failNext.send = [403, 403];
    const error = await notifier.sendToPerson(chat(), { text: 'removed app' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: ErrorCodes.CONNECTOR_PERMANENT,
      details: { status: 403, code: 'BotNotInConversationRoster' },
    });
    expect(connector.stats.calls).toBe(1);
    expect(waits).toEqual([]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(
      parseRetryAfter(new Date(Date.UTC(2026, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2026, 0, 1)),
    ).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('the bot with Teams failing', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const audit = () => h.audit();

  it('records a 403 roster error in the audit log and does not retry it', async () => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    await h.teams.say(users.alex, 'help'); // the personal chat is known from here on
    await waitFor(() => h.connector.sentTo(personalChatOf(users.alex)).length > 0, 'help answered');
    h.connector.chaos = { probability: 1, status: 403, routes: ['send'] }; // the app was removed from the chat
    const [request] = await Promise.all([
      waitFor(async () => (await h.bot.store.listOpen())[0], 'request filed'),
      h.teams.say(users.alex, 'request db-read for 1h because roster test'),
    ]);
    const failed = await waitFor(
      async () => (await audit()).find((r) => r.type === 'notify_failed' && r.requestId === request.id),
      'notify_failed in the audit',
    );
    expect(failed.reason).toMatch(/403 BotNotInConversationRoster/);
    expect(failed.detail).toMatchObject({ effect: 'person.notify', template: 'receipt' });
    await h.bot.settled();
    const receiptCalls = h.connector.stats.calls;
    await new Promise((r) => setTimeout(r, 500));
    expect(h.connector.stats.calls).toBe(receiptCalls); // nothing keeps retrying it
    expect((await h.bot.store.listEffects(request.id)).filter((e) => e.kind === 'person.notify')).toEqual([]);
  });

  it.each([
    [
      '502 on every card update and reply',
      { probability: 1, status: 502, routes: ['update', 'send'] },
      'retried',
    ],
    [
      '403 on every card update and reply',
      { probability: 1, status: 403, routes: ['update', 'send'] },
      'given up',
    ],
  ] as const)('a grant and its removal happen on time with %s', async (_what, chaos, teamsEffects) => {
    h = await startHarness({ env: { TIMEBOX_RECONCILE_INTERVAL: 'off' } });
    const request = await h.ask(users.alex, 'request sandbox for 3s because teams is down');
    await h.bot.settled();
    h.connector.chaos = { ...chaos, routes: [...chaos.routes] };
    const post = request.approvalCard!;
    const clickedAt = Date.now();
    const click = await h.teams.click(
      users.alex,
      'approve',
      { requestId: request.id },
      { conversationId: post.conversationId, replyToId: post.activityId },
    );
    expect(click.status).toBe(200);
    await waitFor(
      () => h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership added',
      3000,
    );
    expect(Date.now() - clickedAt).toBeLessThan(1500);
    const active = await waitFor(
      async () =>
        (await h.bot.store.get(request.id))?.status === 'active' ? h.bot.store.get(request.id) : undefined,
      'grant active',
    );
    if (teamsEffects === 'retried') {
      // A 502 is transient: the Teams effects are failing and waiting for their retries meanwhile.
      expect((await h.bot.store.listEffects(request.id)).some((e) => e.lane === 'teams')).toBe(true);
    } else {
      // A 403 is permanent: the Teams effect is given up at once (it may be done already), and recorded.
      await waitFor(
        async () => (await audit()).some((r) => r.type === 'notify_failed' && r.requestId === request.id),
        'notify_failed in the audit',
      );
    }
    await waitFor(
      () => !h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership removed',
      8000,
    );
    const removal = h.directory.calls.find(
      (c) => c.method === 'DELETE' && c.path.includes(GROUPS.sandbox) && c.status === 204,
    )!;
    expect(removal.at - active!.expiresAt!).toBeLessThan(1000);
    expect(h.connector.stats.failed).toBeGreaterThan(0);
  });
});
