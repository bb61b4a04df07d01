import { startHarness, type Harness } from '../helpers/harness';
import { cardText, waitFor } from '../helpers/fake-connector';
import { users } from '../helpers/teams-client';

type Card = {
  refresh?: { action: { verb: string; data: Record<string, unknown> }; userIds: string[] };
  actions?: unknown[];
};

/** Every Action.Execute verb on a card, nested ShowCards included. */
function verbs(card: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n.type === 'Action.Execute' && typeof n.verb === 'string') out.push(n.verb);
    for (const [key, value] of Object.entries(n)) if (key !== 'refresh') walk(value);
  };
  walk(card);
  return out;
}

describe('approval card: one card for everyone, user-specific views through refresh', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('posts the status view with refresh.userIds = approvers in the team + the requester; refresh gives each their buttons and changes nothing', async () => {
    await h.teams.say(users.alex, 'request db-read for 1h because orders table');
    const post = await waitFor(() => h.connector.created[0], 'approval card');
    const card = post.params.activity!.attachments![0]!.content as Card;
    expect(verbs(card)).toEqual([]); // bystanders see the status only
    expect(card.refresh?.action).toMatchObject({ verb: 'refresh', data: { requestId: expect.any(String) } });
    expect(Object.keys(card.refresh!.action.data)).toEqual(['requestId']);
    expect(card.refresh!.userIds.sort()).toEqual([users.adele.id, users.alex.id, users.megan.id].sort()); // SRE approvers + requester

    await h.bot.settled();
    const [request] = await h.bot.store.listOpen();
    const where = { conversationId: post.id, replyToId: post.activityId };
    const approverView = await h.teams.click(
      users.megan,
      'refresh',
      { requestId: request!.id },
      where,
      'automatic',
    );
    expect(verbs(approverView.body.value)).toEqual(expect.arrayContaining(['approve', 'deny', 'claim']));
    const requesterView = await h.teams.click(
      users.alex,
      'refresh',
      { requestId: request!.id },
      where,
      'automatic',
    );
    expect(verbs(requesterView.body.value)).toEqual(['cancel']);
    const bystanderView = await h.teams.click(
      users.lynne,
      'refresh',
      { requestId: request!.id },
      where,
      'automatic',
    );
    expect(verbs(bystanderView.body.value)).toEqual([]);
    // An automatic refresh with an approve verb still only renders.
    const sneaky = await h.teams.click(
      users.megan,
      'approve',
      { requestId: request!.id },
      where,
      'automatic',
    );
    expect(cardText(sneaky.body.value)).toMatch(/waiting/i);
    await h.bot.settled();
    expect(await h.bot.store.get(request!.id)).toMatchObject({
      status: 'pending',
      version: request!.version,
    });
    expect(h.connector.updates).toEqual([]); // never edits the message while answering a refresh
  });
});

describe('approval card buttons on the shared card', () => {
  it.each([
    [
      'local mode (the Agents Playground cannot fetch user-specific views)',
      { TIMEBOX_SHARED_CARD_BUTTONS: '1' },
      true,
    ],
    ['a roster that cannot name the approvers', {}, false],
  ])("carries the approvers' buttons for %s", async (_why, env, withRoster) => {
    const h = await startHarness({ env });
    try {
      if (!withRoster) h.connector.members = [];
      await h.teams.say(users.alex, 'request db-read for 1h because orders table');
      const post = await waitFor(() => h.connector.created[0], 'approval card');
      expect(verbs(post.params.activity!.attachments![0]!.content)).toEqual(
        expect.arrayContaining(['approve', 'deny']),
      );
    } finally {
      await h.close();
    }
  });
});
