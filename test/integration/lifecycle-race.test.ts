import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';

describe('approvals racing over HTTP', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('two approvers clicking at once (and one clicking twice) give one decision and one Graph add', async () => {
    await h.teams.say(users.alex, 'request db-read for 1h because checking the orders table');
    const post = await waitFor(
      () => h.connector.created.find((c) => /Production DB/.test(cardText(firstCard(c.params.activity)))),
      'approval card',
    );
    const [request] = await h.bot.store.listOpen();
    const where = { conversationId: post.id, replyToId: post.activityId };
    const clicks = await Promise.all([
      h.teams.click(users.megan, 'approve', { requestId: request!.id }, where),
      h.teams.click(users.adele, 'approve', { requestId: request!.id }, where),
      h.teams.click(users.megan, 'approve', { requestId: request!.id }, where),
    ]);
    // Every click is answered with a card: the winner's new state, or the current state.
    expect(clicks.map((c) => c.status)).toEqual([200, 200, 200]);
    await waitFor(async () => (await h.bot.store.get(request!.id))?.status === 'active', 'grant active');
    await h.bot.settled();
    const stored = await h.bot.store.get(request!.id);
    expect(stored!.votes).toHaveLength(1);
    const adds = h.directory.calls.filter(
      (c) => c.method === 'POST' && c.path === `/groups/${GROUPS.dbRead}/members/$ref`,
    );
    expect(adds).toHaveLength(1);
    const audit: string[] = [];
    for await (const record of h.bot.store.readAudit())
      if (record.requestId === request!.id) audit.push(record.type);
    expect(audit.filter((t) => t === 'approved')).toHaveLength(1);
    expect(audit.filter((t) => t === 'granted')).toHaveLength(1);
  });
});
