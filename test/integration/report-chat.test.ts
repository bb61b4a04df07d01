import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { startHarness, type Harness } from '../helpers/harness';
import { reportPolicy, writeReportHistory } from '../helpers/report-history';
import { personalChatOf, users, type TeamsUser } from '../helpers/teams-client';

/** `report [group] [since 30d]` in chat, over HTTP (PRODUCT.md §13; issue 18): admins get the card, others an audited refusal. */
describe('report asked in chat', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ policy: reportPolicy() });
    await writeReportHistory(h.bot.store);
  });
  afterEach(() => h.close());

  const answer = (who: TeamsUser, after: number) =>
    waitFor(
      () => h.connector.sent.slice(after).find((s) => s.conversationId === personalChatOf(who))?.activity,
      'an answer',
    );

  it('Patti (admin): the report card, figures and suggestions, no links; a group alone on request', async () => {
    let before = h.connector.sent.length;
    // The generated history is of November 2026: "since 2026-10-01" holds all of it, whatever today is.
    await h.teams.say(users.patti, 'report since 2026-10-01');
    const card = firstCard(await answer(users.patti, before));
    expect(card).toBeDefined();
    const text = cardText(card);
    expect(text).toContain('Approvals, since 2026-10-01');
    for (const alias of ['db-read', 'prod-admin', 'sandbox', 'All groups']) expect(text).toContain(alias);
    expect(text).toContain('groups.db-read.maxDuration: 1h');
    expect(text).toContain('3 of 11 requests timed out (27 %) after pendingTimeout 1h');
    const json = JSON.stringify(card);
    expect(json).not.toContain('Action.OpenUrl');
    expect(json).not.toMatch(/\]\(/);

    before = h.connector.sent.length;
    await h.teams.say(users.patti, 'report sandbox since 2026-10-01');
    const one = cardText(firstCard(await answer(users.patti, before)));
    expect(one).toContain('Approvals, sandbox, since 2026-10-01');
    expect(one).not.toContain('db-read');
    expect(one).toContain('Requests time out');
  });

  it('Alex (not an admin): refused, and the refusal audited', async () => {
    const before = h.connector.sent.length;
    await h.teams.say(users.alex, 'report');
    const reply = await answer(users.alex, before);
    expect(reply.text).toMatch(/^Only Timebox admins can see the report/);
    expect(firstCard(reply)).toBeUndefined();
    expect((await h.audit()).find((r) => r.type === 'refused')).toMatchObject({
      actor: { id: users.alex.aadObjectId },
      detail: { action: 'report', code: 'AUTH.NOT_ADMIN' },
    });
  });

  it('a period it cannot read: the forms, not a card', async () => {
    const before = h.connector.sent.length;
    await h.teams.say(users.patti, 'report since someday');
    expect((await answer(users.patti, before)).text).toMatch(/"someday" is not a period/);
  });
});
