import { startHarness, CHANNEL, testPolicy, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { personalChatOf, users, type TeamsUser } from '../helpers/teams-client';
import { formatIn } from '../../src/cards/time';

/**
 * Issue 15, "times in the reader's time zone", through the real bot over HTTP: the receipt in
 * the zone the person's Teams client sent (`localTimezone`), the approval card in the approver
 * channel's policy `timeZone`, and UTC for a zone that is not one.
 */
describe('times in the reader’s time zone', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      policy: testPolicy({ approverChannels: { ops: { ...CHANNEL, timeZone: 'Asia/Kolkata' } } }),
    });
  });
  afterAll(async () => {
    await h.close();
  });

  async function requestSandbox(who: TeamsUser, localTimezone?: unknown) {
    const message = h.teams.message(who, 'request sandbox for 30m because checking the time zones');
    const res = await h.teams.post(localTimezone === undefined ? message : { ...message, localTimezone });
    expect(res.status).toBeLessThan(300);
    const receipt = await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(who))
          .map((s) => cardText(firstCard(s.activity)))
          .find((text) => text.includes('YOUR ACCESS REQUEST')),
      `receipt for ${who.name}`,
    );
    const request = (await h.bot.store.listOpen()).find((r) => r.requester.id === who.aadObjectId)!;
    return { receipt, request };
  }

  const approvalCardOf = (requestId: string) =>
    waitFor(() => {
      const post = h.connector.created.find((c) =>
        cardText(c.params.activity?.attachments?.[0]?.content).includes(requestId),
      );
      return (
        post &&
        cardText(firstCard(h.connector.lastUpdateOf(post.activityId)?.activity ?? post.params.activity))
      );
    }, `approval card of ${requestId}`);

  it('sends the receipt in New York time to a person whose Teams is in New York', async () => {
    const { receipt, request } = await requestSandbox(users.megan, 'America/New_York');
    expect(receipt).toContain(`Requested`);
    expect(receipt).toContain(formatIn(request.createdAt, 'America/New_York'));
    expect(receipt).toMatch(/\d\d:\d\d E[SD]T/);
    expect(receipt).not.toContain('UTC');
    expect((await h.bot.store.getPersonalChat(users.megan.aadObjectId))?.timeZone).toBe('America/New_York');
  });

  it('posts the approval card in the approver channel’s zone, whoever asked', async () => {
    const request = (await h.bot.store.listOpen()).find((r) => r.requester.id === users.megan.aadObjectId)!;
    const card = await approvalCardOf(request.id);
    expect(card).toContain(formatIn(request.createdAt, 'Asia/Kolkata'));
    expect(card).toContain('GMT+5:30');
    expect(card).not.toMatch(/ (UTC|EST|EDT)\b/);
  });

  it.each([
    ['Mars/Olympus', users.adele],
    ['../../etc', users.lynne],
    [{ zone: 'Europe/Berlin' }, users.isaiah],
  ])('falls back to UTC for the bogus zone %p', async (zone, who) => {
    const { receipt, request } = await requestSandbox(who, zone);
    expect(receipt).toContain(formatIn(request.createdAt, 'UTC'));
    expect(receipt).toMatch(/\d\d:\d\d UTC/);
    expect((await h.bot.store.getPersonalChat(who.aadObjectId))?.timeZone).toBeUndefined();
  });

  it('keeps a person’s zone when a later activity does not tell one', async () => {
    await h.teams.post(h.teams.message(users.megan, 'help'));
    await waitFor(() => h.connector.sentTo(personalChatOf(users.megan)).length >= 2, 'the answer to help');
    expect((await h.bot.store.getPersonalChat(users.megan.aadObjectId))?.timeZone).toBe('America/New_York');
  });
});

describe('notices in the reader’s time zone', () => {
  let h: Harness;
  beforeAll(async () => {
    // The warning comes 6 s before the end: an 8 s grant is warned 2 s in.
    const policy = testPolicy({ approverChannels: { ops: { ...CHANNEL, timeZone: 'Asia/Kolkata' } } });
    h = await startHarness({ policy: { ...policy, defaults: { ...policy.defaults, expiryWarning: '6s' } } });
  });
  afterAll(async () => {
    await h.close();
  });

  const times = (text: string): string[] => text.match(/\d\d:\d\d [A-Z][A-Za-z0-9+:-]*/g) ?? [];

  it('warns Alex of his grant’s end in Berlin time and tells the channel’s thread in Kolkata time', async () => {
    const ask = h.teams.message(users.alex, 'request db-read for 8s because checking the orders table');
    expect((await h.teams.post({ ...ask, localTimezone: 'Europe/Berlin' })).status).toBeLessThan(300);
    const pending = await waitFor(
      async () =>
        (await h.bot.store.listOpen()).find(
          (r) => r.approvalCard && r.requester.id === users.alex.aadObjectId,
        ),
      'approval card posted',
    );
    await h.clickOnCard(users.megan, 'approve', pending, { subject: 'request' });
    const warning = await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .map((s) => cardText(firstCard(s.activity)))
          .find((text) => text.includes('Access ends soon')),
      'the expiry warning',
    );
    const granted = (await h.bot.store.get(pending.id))!;
    expect(warning).toContain(`ends at ${formatIn(granted.expiresAt!, 'Europe/Berlin')} (in `);
    expect(times(warning).every((t) => t.endsWith(' CET'))).toBe(true);
    expect(warning).not.toContain('UTC');

    const card = pending.approvalCard!;
    const thread = await waitFor(() => {
      const replies = h.connector.sent
        .filter((s) => s.conversationId.endsWith(`messageid=${card.activityId}`))
        .map((s) => cardText(s.activity.attachments?.[0]?.content));
      return replies.some((text) => text.includes(formatIn(granted.expiresAt!, 'Asia/Kolkata'))) && replies;
    }, 'a thread reply naming the end in Kolkata time');
    for (const reply of thread) {
      expect(times(reply).every((t) => t.endsWith(' GMT+5:30'))).toBe(true);
      expect(reply).not.toMatch(/ (UTC|CET)\b/);
    }
  });
});
