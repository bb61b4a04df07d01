import { startHarness, GROUPS, CHANNEL, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { users, personalChatOf } from '../helpers/teams-client';

describe('request in chat → approval card in channel → approve → member added → expiry → removed', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const approvalPost = (group: string) =>
    waitFor(
      () =>
        h.connector.created.find((c) =>
          cardText(c.params.activity?.attachments?.[0]?.content).includes(group),
        ),
      `approval card for ${group}`,
    );

  it('walks the whole path and tells everyone', async () => {
    await h.teams.say(users.alex, 'request sandbox for 2s because trying it');
    const post = await approvalPost('Sandbox');
    expect(post.params.channelData?.channel?.id).toBe(CHANNEL.channelId);
    const [request] = await h.bot.store.listOpen();
    expect(request).toMatchObject({
      status: 'pending',
      group: { alias: 'sandbox' },
      justification: 'trying it',
      durationMs: 2000,
    });
    expect(request!.requester).toMatchObject({ id: users.alex.aadObjectId, upn: 'alex@example.com' });
    // The receipt reaches the requester's personal chat.
    await waitFor(
      () => h.connector.sentTo(personalChatOf(users.alex)).find((s) => firstCard(s.activity)),
      'receipt card',
    );

    const click = await h.teams.click(
      users.alex,
      'approve',
      { requestId: request!.id },
      { conversationId: post.id, replyToId: post.activityId },
    );
    expect(click.status).toBe(200);
    expect(click.body.type).toBe('application/vnd.microsoft.card.adaptive');

    await waitFor(
      () => h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership added',
    );
    const active = await waitFor(async () => {
      const r = await h.bot.store.get(request!.id);
      return r?.status === 'active' ? r : undefined;
    }, 'grant active');
    expect(active.expiresAt! - active.grantedAt!).toBe(2000);

    await waitFor(
      () => !h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId),
      'membership removed',
      6000,
    );
    const expired = await waitFor(async () => {
      const r = await h.bot.store.get(request!.id);
      return r?.status === 'expired' && r.membershipRemovedAt ? r : undefined;
    }, 'request expired');
    // Removed within a second of the end (the contract allows five).
    expect(expired.membershipRemovedAt! - expired.expiresAt!).toBeLessThan(1000);
    const removal = h.directory.calls.find((c) => c.method === 'DELETE');
    expect(removal?.path).toBe(`/groups/${GROUPS.sandbox}/members/${users.alex.aadObjectId}/$ref`);

    await waitFor(
      () => cardText(firstCard(h.connector.lastUpdateOf(post.activityId)?.activity)).match(/expired/i),
      'card shows expired',
    );
    await waitFor(
      () => h.connector.sentTo(post.id).some((s) => /expired|removed/i.test(JSON.stringify(s.activity))),
      'thread reply about the expiry',
    );
    await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .some((s) => /expired|ended|removed/i.test(JSON.stringify(s.activity))),
      'requester told',
    );

    const audit: string[] = [];
    for await (const record of h.bot.store.readAudit()) audit.push(record.type);
    expect(audit).toEqual(
      expect.arrayContaining(['submitted', 'approved', 'granted', 'expired', 'member_removed']),
    );
  });

  it('deny: the requester is told with the reason, nobody is added', async () => {
    await h.teams.say(users.alex, 'request db-read for 1h because checking the orders table');
    const post = await approvalPost('Production DB');
    const [request] = await h.bot.store.listOpen();
    const click = await h.teams.click(
      users.megan,
      'deny',
      { requestId: request!.id, reason: 'use the replica' },
      { conversationId: post.id, replyToId: post.activityId },
    );
    expect(cardText(click.body.value)).toMatch(/denied/i);
    const stored = await h.bot.store.get(request!.id);
    expect(stored).toMatchObject({
      status: 'denied',
      resolution: { by: { id: users.megan.aadObjectId }, reason: 'use the replica' },
    });
    await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .some((s) => JSON.stringify(s.activity).includes('use the replica')),
      'requester told the reason',
    );
    expect(h.directory.members(GROUPS.dbRead)).toEqual([]);
    expect(h.directory.calls.filter((c) => c.method === 'POST' && c.path.endsWith('$ref'))).toEqual([]);
  });

  it('refuses self-approval and non-approvers, changes nothing, answers with the current card', async () => {
    await h.teams.say(users.megan, 'request prod-admin for 1h because INC-42 rotate keys');
    const post = await approvalPost('Production admin');
    await waitFor(
      async () => (await h.bot.store.listOpen()).find((r) => r.approvalCard && r.receiptCard),
      'card locations stored',
    );
    await h.bot.settled();
    const [request] = await h.bot.store.listOpen();
    expect(request!.ticket).toBe('INC-42');
    const self = await h.teams.click(
      users.megan,
      'approve',
      { requestId: request!.id },
      { conversationId: post.id, replyToId: post.activityId },
    );
    expect(self.status).toBe(200);
    expect(cardText(self.body.value)).toMatch(/cannot approve your own/i);
    const stranger = await h.teams.click(
      users.lynne,
      'approve',
      { requestId: request!.id },
      { conversationId: post.id, replyToId: post.activityId },
    );
    expect(cardText(stranger.body.value)).toMatch(/only approvers/i);
    const stored = await h.bot.store.get(request!.id);
    expect(stored).toMatchObject({ status: 'pending', votes: [], version: request!.version });
    expect(h.directory.members(GROUPS.prodAdmin)).not.toContain(users.megan.aadObjectId);
    const audit: string[] = [];
    for await (const record of h.bot.store.readAudit()) audit.push(record.type);
    expect(audit.filter((t) => t === 'refused')).toHaveLength(2);
  });

  it.each([
    ['request nonsense for 1h because x', /no group "nonsense"/i],
    ['request sandbox for 5 parsecs because x', /"5" is not a duration/i],
    ['request db-read for 9h because x', /longer than db-read allows \(4h\)/i],
    ['request db-read for 1h', /needs a reason/i],
    ['fly me to the moon', /don't know "fly"/i],
  ])('answers "%s" with a clear reply and changes nothing', async (text, expected) => {
    await h.teams.say(users.alex, text);
    const reply = await waitFor(
      () => h.connector.sentTo(personalChatOf(users.alex)).find((s) => s.activity.text),
      'a reply',
    );
    expect(reply.activity.text).toMatch(expected);
    expect(reply.activity.text).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
    expect(await h.bot.store.listOpen()).toEqual([]);
    expect(h.connector.created).toEqual([]);
  });
});
