import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { startHarness, testPolicy, testSeed, type Harness } from '../helpers/harness';
import { users } from '../helpers/teams-client';

/** db-read's approvers are SRE (Megan, Adele); it escalates to Patti after 30m, or at once when both are away. */
function policy() {
  const p = testPolicy();
  p.groups['db-read']!.escalateAfter = '30m';
  p.groups['db-read']!.escalateTo = { users: ['patti@example.com'] };
  return p;
}

function seedWithAway(...ids: string[]) {
  const seed = testSeed();
  for (const user of seed.users)
    if (ids.includes(user.id)) user.automaticReplies = { status: 'alwaysEnabled' };
  return seed;
}

describe('out of office: approvers with automatic replies on', () => {
  let h: Harness | undefined;
  afterEach(() => h?.close());

  it('every approver away → escalated at once; the card says who is away', async () => {
    h = await startHarness({
      policy: policy(),
      seed: seedWithAway(users.megan.aadObjectId, users.adele.aadObjectId),
    });
    const request = await h.ask(users.alex, 'request db-read for 1h because orders table');
    const escalated = await waitFor(
      async () => {
        const r = await h!.bot.store.get(request.id);
        return r?.escalatedAt !== undefined ? r : undefined;
      },
      'escalated',
      5000,
    );
    expect(escalated.escalatedAt! - escalated.createdAt).toBeLessThan(5000);
    expect(escalated.escalation).toMatchObject({ reason: 'all_away' });
    await waitFor(() => {
      const text = cardText(firstCard(h!.connector.lastUpdateOf(request.approvalCard!.activityId)?.activity));
      return (
        /Escalated: Every approver is away/.test(text) &&
        /Away \(automatic replies on\): .*Megan Bowen/.test(text)
      );
    }, 'the card says it escalated and who is away');
    // The escalation approvers are @mentioned in the thread (Patti is in the approvers' team).
    await waitFor(
      () =>
        h!.connector
          .sentTo(request.approvalCard!.conversationId)
          .some(
            (s) =>
              /Escalated/.test(JSON.stringify(s.activity)) &&
              JSON.stringify(s.activity).includes(users.patti.id) &&
              /Escalation approvers: <at>/.test(JSON.stringify(s.activity)),
          ),
      'the escalation approvers are mentioned',
    );
    // Patti, the escalation approver, may decide now.
    const click = await h.clickOnCard(users.patti, 'approve', request);
    expect(click.status).toBe(200);
    await waitFor(async () => (await h!.bot.store.get(request.id))?.status === 'active', 'granted');
  });

  it('one approver away: the card names them, nothing escalates yet', async () => {
    h = await startHarness({ policy: policy(), seed: seedWithAway(users.megan.aadObjectId) });
    const request = await h.ask(users.alex, 'request db-read for 1h because orders table');
    const card = cardText(firstCard(h.connector.created.at(-1)!.params.activity));
    expect(card).toMatch(/Away \(automatic replies on\): Megan Bowen\./);
    expect(card).not.toMatch(/Adele Vance\./);
    expect((await h.bot.store.get(request.id))?.escalatedAt).toBeUndefined();
  });
});
