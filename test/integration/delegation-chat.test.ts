import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { CHANNEL, startHarness, type Harness } from '../helpers/harness';
import {
  activityEnvelope,
  BOT,
  personalChatOf,
  TENANT,
  users,
  type TeamsUser,
} from '../helpers/teams-client';

/** `delegate to … until …`, `status` and `delegate off` in chat, over HTTP (PRODUCT.md §3, §12). */
describe('delegation asked in chat', () => {
  let h: Harness;
  beforeEach(async () => (h = await startHarness()));
  afterEach(() => h.close());

  /** The last text reply in `who`'s personal chat after `after` replies. */
  const replyTo = (who: TeamsUser, after: number) =>
    waitFor(
      () =>
        h.connector.sent
          .slice(after)
          .find((s) => s.conversationId === personalChatOf(who) && typeof s.activity.text === 'string')
          ?.activity.text,
      'a reply',
    );
  const statusOf = async (who: TeamsUser): Promise<string> => {
    const before = h.connector.sent.length;
    await h.teams.say(who, 'status');
    const sent = await waitFor(
      () =>
        h.connector.sent
          .slice(before)
          .find((s) => s.conversationId === personalChatOf(who) && firstCard(s.activity)),
      'the status card',
    );
    return cardText(firstCard(sent.activity));
  };

  it('delegates to a UPN until tomorrow 09:00; status shows it both ways; delegate off ends it', async () => {
    // Alex approves the sandbox: he hands his approvals to Megan.
    let before = h.connector.sent.length;
    await h.teams.say(users.alex, 'delegate to meganb@example.com until tomorrow 09:00');
    const tomorrow = new Date(Date.now() + 24 * 3_600_000).toISOString().slice(0, 10);
    expect(await replyTo(users.alex, before)).toMatch(
      new RegExp(`^Your approvals go to Megan Bowen \\(meganb@example\\.com\\) until ${tomorrow} 09:00 UTC`),
    );
    const stored = (await h.bot.store.getDelegations())!;
    expect(stored.delegations).toEqual([
      expect.objectContaining({
        from: expect.objectContaining({ id: users.alex.aadObjectId }),
        to: expect.objectContaining({ id: users.megan.aadObjectId, upn: 'meganb@example.com' }),
        until: Date.parse(`${tomorrow}T09:00:00Z`),
      }),
    ]);

    expect(await statusOf(users.alex)).toContain(
      `Your approvals go to Megan Bowen until ${tomorrow} 09:00 UTC`,
    );
    expect(await statusOf(users.megan)).toContain(`You stand in for Alex Wilber until ${tomorrow} 09:00 UTC`);

    before = h.connector.sent.length;
    await h.teams.say(users.alex, 'delegate off');
    expect(await replyTo(users.alex, before)).toBe(
      'Your approvals are yours again: the delegation to Megan Bowen has ended.',
    );
    expect(await statusOf(users.megan)).not.toContain('stand in for');
    before = h.connector.sent.length;
    await h.teams.say(users.alex, 'delegate off');
    expect(await replyTo(users.alex, before)).toMatch(/^You have no delegation to end/);

    const audit = await h.audit();
    const delegated = audit.find((r) => r.type === 'delegated')!;
    expect(delegated).toMatchObject({
      actor: { id: users.alex.aadObjectId },
      detail: { to: { id: users.megan.aadObjectId }, until: `${tomorrow}T09:00:00.000Z` },
    });
    expect(delegated.requestId).toBeUndefined();
    expect(audit.filter((r) => r.type === 'delegation_ended')).toHaveLength(1);
  });

  it('someone who approves nothing is refused, audited; a bad time is answered with the forms', async () => {
    let before = h.connector.sent.length;
    await h.teams.say(users.lynne, 'delegate to meganb@example.com until 18:00');
    expect(await replyTo(users.lynne, before)).toMatch(/^Only approvers can delegate/);
    expect(await h.bot.store.getDelegations()).toBeUndefined();
    expect((await h.audit()).find((r) => r.type === 'refused')).toMatchObject({
      actor: { id: users.lynne.aadObjectId },
      detail: { action: 'delegate', code: 'AUTH.NOT_APPROVER' },
    });

    before = h.connector.sent.length;
    await h.teams.say(users.alex, 'delegate to meganb@example.com until someday');
    expect(await replyTo(users.alex, before)).toMatch(/Until when\? "someday" is not a time I read/);
  });

  it('takes the delegate from an @mention in a channel', async () => {
    await h.teams.post({
      ...activityEnvelope(users.alex, BOT, {
        serviceUrl: h.connector.url,
        tenantId: TENANT,
        conversation: { id: CHANNEL.channelId, conversationType: 'channel', isGroup: true },
      }),
      type: 'message',
      text: '<at>Timebox</at> delegate to <at>Megan Bowen</at> until 23:59',
      entities: [
        { type: 'mention', text: '<at>Timebox</at>', mentioned: BOT },
        {
          type: 'mention',
          text: '<at>Megan Bowen</at>',
          mentioned: { id: users.megan.id, name: 'Megan Bowen' },
        },
      ],
    });
    const reply = await waitFor(
      () => h.connector.sent.find((s) => s.conversationId === CHANNEL.channelId)?.activity.text,
      'the reply in the channel',
    );
    expect(reply).toMatch(/^Your approvals go to Megan Bowen \(meganb@example\.com\) until /);
  });
});
