import { startHarness, testPolicy, type Harness } from '../helpers/harness';
import { waitFor } from '../helpers/fake-connector';
import { personalChatOf, users } from '../helpers/teams-client';

describe('a denied extension', () => {
  let h: Harness;
  beforeAll(async () => {
    const policy = testPolicy();
    (policy.groups['db-read'] as Record<string, unknown>).extension = {
      requireApproval: true,
      maxTotal: '4h',
    };
    h = await startHarness({ policy });
  });
  afterAll(async () => {
    await h.close();
  });

  it('tells the requester who denied it and why, and leaves the grant as it was', async () => {
    await h.teams.say(users.alex, 'request db-read for 1h because orders');
    const post = await waitFor(() => h.connector.created[0], 'approval card');
    await h.bot.settled();
    const [request] = await h.bot.store.listOpen();
    const where = { conversationId: post.id, replyToId: post.activityId };
    await h.teams.click(users.megan, 'approve', { requestId: request!.id, subject: 'request' }, where);
    const active = await waitFor(
      async () =>
        (await h.bot.store.get(request!.id))?.status === 'active' ? h.bot.store.get(request!.id) : undefined,
      'active',
    );

    await h.teams.say(users.alex, 'extend db-read by 1h because still digging');
    await waitFor(async () => (await h.bot.store.get(request!.id))?.pendingExtension, 'extension offer');
    await h.teams.click(
      users.adele,
      'deny',
      { requestId: request!.id, subject: 'extension:1', reason: 'finish in the window' },
      where,
    );

    const notice = await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .find((s) => JSON.stringify(s.activity).includes('Extension denied')),
      'extension denied notice',
    );
    const text = JSON.stringify(notice.activity);
    expect(text).toContain('Adele Vance');
    expect(text).toContain('finish in the window');
    expect(text).toContain('by 1h');
    const after = await h.bot.store.get(request!.id);
    expect(after).toMatchObject({
      status: 'active',
      expiresAt: active!.expiresAt,
      pendingExtension: undefined,
    });
  });
});
