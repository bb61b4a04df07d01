import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { GROUPS, startHarness, type Harness } from '../helpers/harness';
import { personalChatOf, users } from '../helpers/teams-client';

/** `request … at <time> …` in chat: decided now, scheduled, withdrawn before its start. */
describe('a scheduled request asked in chat', () => {
  let h: Harness;
  beforeEach(async () => (h = await startHarness()));
  afterEach(() => h.close());

  it('is approved ahead, shows its start, adds nothing yet, and can be cancelled until then', async () => {
    const start = new Date(Date.now() + 30 * 60_000);
    start.setUTCSeconds(0, 0);
    const at = start.toISOString().slice(0, 16) + 'Z';
    const request = await h.ask(users.megan, `request db-read at ${at} for 1h because patch night`);
    expect(request).toMatchObject({ status: 'pending', startsAt: start.getTime() });
    const posted = cardText(firstCard(h.connector.created.at(-1)!.params.activity));
    expect(posted).toContain('Starts at');

    await h.clickOnCard(users.adele, 'approve', request);
    const scheduled = await waitFor(async () => {
      const r = await h.bot.store.get(request.id);
      return r?.status === 'scheduled' ? r : undefined;
    }, 'scheduled');
    expect(scheduled.grantedAt).toBeUndefined();
    expect(h.directory.members(GROUPS.dbRead)).not.toContain(users.megan.aadObjectId);

    await h.teams.say(users.megan, `cancel ${request.id}`);
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'cancelled', 'cancelled');
    expect(h.directory.members(GROUPS.dbRead)).not.toContain(users.megan.aadObjectId);
  });

  it('the request form takes a start; a bad one brings the form back with what to fix', async () => {
    const start = new Date(Date.now() + 45 * 60_000);
    start.setUTCSeconds(0, 0);
    const at = `${start.toISOString().slice(0, 16)}Z`;
    const click = (value: string) =>
      h.teams.click(
        users.megan,
        'submitRequest',
        { group: 'db-read', duration: '1h', justification: 'patch night', start: value },
        { conversationId: personalChatOf(users.megan), personal: true },
      );
    const bad = await click('someday');
    expect(cardText(bad.body.value)).toMatch(/not a start time I read/);
    expect(cardText(bad.body.value)).toContain('someday');
    const good = await click(at);
    expect(good.status).toBe(200);
    const [request] = await h.bot.store.listOpen({ requesterId: users.megan.aadObjectId });
    expect(request).toMatchObject({ status: 'pending', startsAt: start.getTime() });
  });

  it('a start that is not a time is refused with the forms it takes', async () => {
    await h.teams.say(users.megan, 'request db-read at 25:00 for 1h because x');
    await waitFor(
      () => h.connector.sent.some((s) => /not a start time I read/.test(JSON.stringify(s.activity))),
      'the refusal',
    );
  });
});
