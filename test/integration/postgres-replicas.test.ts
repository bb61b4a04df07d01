import type { RunningTimebox } from '../../src/main';
import { replyInChat } from '../helpers/chat-replies';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { useEmbeddedPostgres } from '../helpers/embedded-postgres';
import { startHarness, GROUPS, type Harness } from '../helpers/harness';
import { TeamsClient, TENANT, users } from '../helpers/teams-client';

/**
 * Issue 13: two bot processes (two startTimebox, two PostgresStores) on one database, one
 * Bot Connector and one directory — two replicas behind a load balancer.
 */
const pg = useEmbeddedPostgres();

describe('two replicas on one database', () => {
  let h: Harness;
  let b: RunningTimebox;
  let teamsOnB: TeamsClient;
  beforeEach(async () => {
    const db = pg.freshDatabase();
    await db.ready;
    // Two requests per person per 10 minutes, counted across both replicas.
    h = await startHarness({ env: { DATABASE_URL: db.url, TIMEBOX_REQUEST_RATE_LIMIT: '2/10m' } });
    b = await h.replica();
    teamsOnB = new TeamsClient(b.url, h.connector.url, TENANT);
  });
  afterEach(async () => {
    await h.close();
  });

  const addCalls = () =>
    h.directory.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/members/$ref'));

  it('the same approval clicked on both at the same instant: one decision, one Graph add, and the other click answered sensibly', async () => {
    const request = await h.ask(users.alex, 'request db-read for 1h because checking the orders table');
    const card = request.approvalCard!;
    const where = { conversationId: card.conversationId, replyToId: card.activityId };
    const [onA, onB] = await Promise.all([
      h.teams.click(users.megan, 'approve', { requestId: request.id }, where),
      teamsOnB.click(users.adele, 'approve', { requestId: request.id }, where),
    ]);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    await waitFor(
      () => h.directory.members(GROUPS.dbRead).includes(users.alex.aadObjectId),
      'membership added',
    );
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'active', 'grant active');
    await Promise.all([h.bot.settled(), b.settled()]);
    const audit = await h.audit();
    const approvals = audit.filter((r) => r.requestId === request.id && r.type === 'approved');
    expect(approvals).toHaveLength(1);
    expect(audit.filter((r) => r.type === 'granted')).toHaveLength(1);
    expect(addCalls()).toHaveLength(1);
    // Both approvers see a card, not an error: the winner's decision, or that it was decided already.
    const texts = [onA, onB].map((r) => cardText(r.body.value));
    for (const text of texts) {
      expect(text).not.toMatch(/went wrong|error/i);
      expect(text).toContain(`Approved by ${approvals[0]!.actor!.name}`);
    }
    expect(texts.filter((t) => /is already approved; nothing was changed/.test(t))).toHaveLength(1);
  }, 30_000);

  it("a commit on replica A wakes replica B's worker: an effect filed on A runs promptly though A's worker is stopped", async () => {
    await h.bot.worker.stop();
    const posted = h.connector.created.length;
    const started = Date.now();
    await h.teams.say(users.alex, 'request db-read for 1h because checking the orders table');
    const post = await waitFor(
      () =>
        h.connector.created
          .slice(posted)
          .find((c) => /Production DB/.test(cardText(firstCard(c.params.activity)))),
      'approval card posted by B',
      5_000,
    );
    expect(post).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2_000);
    // B ran it: A's worker claims nothing (stopped), and the effect is gone from the outbox.
    await waitFor(async () => (await b.store.listEffects()).length === 0 || undefined, 'outbox drained');
  }, 30_000);

  it('the request rate limit is one for both replicas: a third request within the window is refused, whichever replica takes it', async () => {
    await h.ask(users.alex, 'request sandbox for 1h because first one');
    await teamsOnB.say(users.alex, 'request db-read for 1h because second one');
    await waitFor(
      async () => (await h.bot.store.listOpen()).length === 2 || undefined,
      'second request filed',
    );
    const reply = await replyInChat(
      h,
      users.alex,
      'request prod-admin for 30m because third one, ticket INC-123',
      (s) => /filed 2 requests in the last 10m/.test(String(s.activity.text)),
      'the refusal',
    );
    expect(String(reply.activity.text)).toMatch(/Try again in \d+m/);
    expect((await h.bot.store.listOpen()).map((r) => r.group.alias).sort()).toEqual(['db-read', 'sandbox']);
  }, 30_000);
});
