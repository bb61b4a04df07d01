import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The real bot on the real clock: the scheduler's promises hold in wall-clock time. */
describe('expiry on the real clock', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function activeGrant(seconds: number) {
    await h.teams.say(users.alex, `request db-read for ${seconds}s because checking the orders table`);
    const post = await waitFor(
      () => h.connector.created.find((c) => /Production DB/.test(cardText(firstCard(c.params.activity)))),
      'approval card',
    );
    const [request] = await h.bot.store.listOpen();
    await h.teams.click(
      users.megan,
      'approve',
      { requestId: request!.id },
      { conversationId: post.id, replyToId: post.activityId },
    );
    return waitFor(async () => {
      const r = await h.bot.store.get(request!.id);
      return r?.status === 'active' ? r : undefined;
    }, 'grant active');
  }

  const removalCall = () =>
    h.directory.calls.find(
      (c) =>
        c.method === 'DELETE' && c.path === `/groups/${GROUPS.dbRead}/members/${users.alex.aadObjectId}/$ref`,
    );

  it('removes the membership within 1 s of expiresAt while the bot runs', async () => {
    const grant = await activeGrant(2);
    expect(h.directory.members(GROUPS.dbRead)).toContain(users.alex.aadObjectId);
    const call = await waitFor(removalCall, 'the removal call', 5000);
    expect(call.at - grant.expiresAt!).toBeGreaterThanOrEqual(0);
    expect(call.at - grant.expiresAt!).toBeLessThan(1000);
    expect(h.directory.members(GROUPS.dbRead)).not.toContain(users.alex.aadObjectId);
    const expired = await waitFor(async () => {
      const r = await h.bot.store.get(grant.id);
      return r?.membershipRemovedAt ? r : undefined;
    }, 'removal recorded');
    expect(expired.status).toBe('expired');
  });

  it('removes, right after start, a grant that ended while the bot was down', async () => {
    const grant = await activeGrant(1);
    await h.bot.stop();
    await sleep(Math.max(0, grant.expiresAt! - Date.now()) + 1000);
    expect(h.directory.members(GROUPS.dbRead)).toContain(users.alex.aadObjectId); // nobody ran while down
    const startedAt = Date.now();
    await h.restart();
    const call = await waitFor(removalCall, 'the removal after start', 5000);
    expect(call.at - startedAt).toBeLessThan(1000);
    const expired = await h.bot.store.get(grant.id);
    expect(expired).toMatchObject({ status: 'expired' });
    expect(h.directory.members(GROUPS.dbRead)).not.toContain(users.alex.aadObjectId);
  });
});
