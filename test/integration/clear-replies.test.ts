import { startHarness, GROUPS, testPolicy, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { users, personalChatOf, type TeamsUser } from '../helpers/teams-client';

// The replies of issue 15 ("replies that never puzzle"), over HTTP: one answer per command, a
// release confirmed once the membership is gone, the overlap explained, did-you-mean for commands.
describe('clear replies', () => {
  let h: Harness;
  beforeEach(async () => {
    const policy = testPolicy();
    (policy.groups['sandbox'] as Record<string, unknown>).extension = { requireApproval: false };
    h = await startHarness({ policy });
  });
  afterEach(async () => {
    await h.close();
  });

  const toAlex = () => h.connector.sentTo(personalChatOf(users.alex));
  const textsTo = (user: TeamsUser) =>
    h.connector
      .sentTo(personalChatOf(user))
      .map((s) => s.activity.text)
      .filter((t): t is string => typeof t === 'string');
  const cardsTo = () => toAlex().map((s) => cardText(firstCard(s.activity)));
  const isMember = () => h.directory.members(GROUPS.sandbox).includes(users.alex.aadObjectId);

  async function activeSandbox() {
    const pending = await h.ask(users.alex, 'request sandbox for 1h because trying it');
    await h.clickOnCard(users.alex, 'approve', pending);
    await waitFor(
      async () => ((await h.bot.store.get(pending.id))?.status === 'active' ? true : undefined),
      'active',
    );
    await h.bot.settled();
    return pending;
  }

  it('release: says the removal is under way, and confirms only once the membership is gone', async () => {
    const grant = await activeSandbox();
    // Graph fails the removal for a while: the confirmation must wait for it.
    const down = h.directory.faults.add({ route: 'DELETE /groups/*/members/*/$ref', status: 503 });
    const before = toAlex().length;
    await h.teams.say(users.alex, 'release sandbox');
    const reply = await waitFor(
      () => textsTo(users.alex).find((t) => t.startsWith(`Released ${grant.id}`)),
      'reply',
    );
    expect(reply).toBe(
      `Released ${grant.id}: removing you from sandbox now. I'll confirm here once the membership is gone.`,
    );
    await waitFor(
      () => (h.directory.faults.list().find((f) => f.id === down)!.hits >= 2 ? true : undefined),
      'removal tried',
    );
    expect(isMember()).toBe(true);
    expect(
      cardsTo()
        .slice(before)
        .some((t) => t.includes('Access released')),
    ).toBe(false);

    h.directory.faults.remove(down);
    const confirmed = await waitFor(
      () => cardsTo().find((t) => t.includes('Your membership was removed at')),
      'the removal confirmed',
      10_000,
    );
    expect(isMember()).toBe(false);
    expect(confirmed).toMatch(
      /You released Sandbox\. Your membership was removed at \d{4}-\d\d-\d\d \d\d:\d\d UTC\./,
    );
    expect((await h.bot.store.get(grant.id))?.membershipRemovedAt).toBeDefined();
  });

  it('extend answers once: the "Access extended" card when done at once', async () => {
    const grant = await activeSandbox();
    const before = toAlex().length;
    await h.teams.say(users.alex, 'extend sandbox by 15m');
    await waitFor(() => cardsTo().find((t) => t.includes('Access extended')), 'the extended card');
    await h.bot.settled();
    const after = toAlex().slice(before);
    // One new message, plus the receipt updated in place (an update, not a message).
    expect(after).toHaveLength(1);
    expect(cardText(firstCard(after[0]!.activity))).toContain('Extended by 15m.');
    expect(cardText(firstCard(after[0]!.activity))).not.toMatch(/\)\s*\(/);
    expect((await h.bot.store.get(grant.id))?.extensions).toHaveLength(1);
  });

  it('a request for a group held by break-glass, with an extension waiting, says why nothing was filed', async () => {
    await h.teams.say(users.alex, 'break-glass prod-admin 15m because site down ticket INC-7');
    const glass = await waitFor(
      async () =>
        (await h.bot.store.listOpen({ requesterId: users.alex.aadObjectId })).find(
          (r) => r.status === 'active',
        ),
      'break-glass active',
    );
    await h.teams.say(users.alex, 'extend prod-admin by 10m because still down');
    await waitFor(
      () => textsTo(users.alex).find((t) => t.startsWith('Asked the approvers')),
      'extension asked',
    );
    await h.teams.say(users.alex, 'request prod-admin for 1h because still down INC-7');
    const answer = await waitFor(
      () => textsTo(users.alex).find((t) => t.startsWith('You already hold')),
      'answer',
    );
    expect(answer).toContain(`You already hold prod-admin by break-glass (request ${glass.id}, until `);
    expect(answer).toContain('one (10m more) is already waiting for the approvers. Nothing new was filed');
  });

  it('a mistyped command gets a did-you-mean and the full list of commands', async () => {
    await h.teams.say(users.alex, 'requets sandbox 1h because x');
    const answer = await waitFor(
      () => textsTo(users.alex).find((t) => t.startsWith("I don't know")),
      'answer',
    );
    expect(answer).toBe(
      `I don't know "requets". Did you mean request? Try: request, break-glass, extend, release, cancel, status, my access, pending, delegate, report or help.`,
    );
  });
});
