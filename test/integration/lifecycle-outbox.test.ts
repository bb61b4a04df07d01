import { GraphDirectory } from '../../src/adapters/graph/graph-directory';
import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { personalChatOf, users } from '../helpers/teams-client';

const ADD_ROUTE = 'POST /groups/*/members/$ref';

/**
 * The outbox against the local directory's fault injection. Graph's own retries are turned
 * down to one attempt, so what is tested is the worker's: its retries, backoff and failures.
 */
describe('the outbox over real HTTP', () => {
  let h: Harness;
  const oneAttempt = () => ({
    directory: new GraphDirectory({ baseUrl: h.directory.url, retry: { maxAttempts: 1 } }),
  });

  beforeEach(async () => {
    h = await startHarness();
    await h.restart(oneAttempt());
  });
  afterEach(async () => {
    await h.close();
  });

  async function approve(text = 'request db-read for 1h because checking the orders table') {
    await h.teams.say(users.alex, text);
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
    return { id: request!.id, post };
  }

  const addCalls = () =>
    h.directory.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/members/$ref'));

  it('a 403 from Graph fails the request and says so in the channel and to the requester, never as granted', async () => {
    h.directory.faults.forbidden(ADD_ROUTE);
    const { id, post } = await approve();
    const failed = await waitFor(async () => {
      const r = await h.bot.store.get(id);
      return r?.status === 'failed' ? r : undefined;
    }, 'request failed');
    expect(failed.failure?.code).toBe('DIRECTORY.PERMISSION_MISSING');
    expect(failed.grantedAt).toBeUndefined();
    expect(h.directory.members(GROUPS.dbRead)).not.toContain(users.alex.aadObjectId);
    const thread = await waitFor(
      () =>
        h.connector
          .sentTo(post.id)
          .find((s) => /could not be granted/i.test(cardText(firstCard(s.activity)))),
      'failure in the thread',
    );
    expect(cardText(firstCard(thread.activity))).toMatch(/What to do/);
    await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .some((s) => /could not be granted/i.test(cardText(firstCard(s.activity)))),
      'requester told',
    );
    await waitFor(
      () => /fail/i.test(cardText(firstCard(h.connector.lastUpdateOf(post.activityId)?.activity))),
      'card shows the failure',
    );
    await h.bot.settled();
    const everything = JSON.stringify(
      [...h.connector.sent, ...h.connector.updates].map((s) => cardText(firstCard(s.activity))),
    );
    expect(everything).not.toMatch(/Access granted/);
  });

  it('retries 503s with backoff, then grants; exactly one membership', async () => {
    h.directory.faults.unavailable(ADD_ROUTE, 3);
    const { id } = await approve();
    await waitFor(async () => (await h.bot.store.get(id))?.status === 'active', 'grant active');
    const calls = addCalls();
    expect(calls.map((c) => c.status)).toEqual([503, 503, 503, 204]);
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!); // backoff grows (50 ms base in the harness)
    expect(h.directory.members(GROUPS.dbRead).filter((m) => m === users.alex.aadObjectId)).toHaveLength(1);
  });

  it('after a restart finishes an add that could not be done before it', async () => {
    const down = h.directory.faults.add({ route: ADD_ROUTE, status: 503 });
    const { id } = await approve();
    await waitFor(() => addCalls().length >= 2, 'two failed attempts');
    await h.bot.stop();
    expect((await h.bot.store.get(id))?.status).toBe('approved');
    h.directory.faults.remove(down);
    await h.restart(oneAttempt());
    await waitFor(async () => (await h.bot.store.get(id))?.status === 'active', 'grant active after restart');
    expect(h.directory.members(GROUPS.dbRead)).toContain(users.alex.aadObjectId);
    await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .some((s) => /Access granted/i.test(cardText(firstCard(s.activity)))),
      'requester told',
    );
  });
});
