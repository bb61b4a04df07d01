import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { startHarness, testPolicy, type Harness } from '../helpers/harness';
import { personalChatOf, users } from '../helpers/teams-client';

/** An action gate asked in Teams chat: the same card and buttons as a group, and no membership. */
describe('an action gate asked in chat', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({
      policy: testPolicy({
        actions: {
          'deploy-prod': {
            displayName: 'Deploy to production',
            approverChannel: 'ops',
            approvers: { users: ['meganb@example.com'] },
            approvalValidFor: '3s',
          },
        },
      }),
    });
  });
  afterEach(() => h.close());

  it('release deploy-prod in chat ends an approval early', async () => {
    const request = await h.ask(users.alex, 'request deploy-prod because hotfix');
    await h.clickOnCard(users.megan, 'approve', request);
    await h.teams.say(users.alex, 'release deploy-prod');
    await waitFor(async () => (await h.bot.store.get(request.id))?.status === 'released', 'released');
  });

  it('request deploy-prod because … → approval card → Approve → approved, then no longer valid', async () => {
    const request = await h.ask(users.alex, 'request deploy-prod because release 4.2');
    expect(request).toMatchObject({ targetKind: 'action', group: { alias: 'deploy-prod', id: '' } });
    const posted = cardText(firstCard(h.connector.created.at(-1)!.params.activity));
    expect(posted).toMatch(/APPROVAL REQUEST · deploy-prod/);
    expect(posted).toMatch(/Valid for/);
    expect(posted).not.toMatch(/access|membership/i);

    const click = await h.clickOnCard(users.megan, 'approve', request);
    expect(click.status).toBe(200);
    const approved = await h.bot.store.get(request.id);
    expect(approved).toMatchObject({ status: 'approved' });
    expect(approved!.expiresAt! - approved!.grantedAt!).toBe(3000);
    await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .some((s) => /approval to deploy to production/.test(JSON.stringify(s.activity))),
      'the requester is told it was approved',
    );
    await waitFor(
      async () => (await h.bot.store.get(request.id))?.status === 'expired',
      'the approval runs out',
      8000,
    );
    await waitFor(
      () =>
        /approval no longer valid/i.test(
          cardText(firstCard(h.connector.lastUpdateOf(request.approvalCard!.activityId)?.activity)),
        ),
      'the card says the approval is no longer valid',
    );
    // Nothing was ever written to the directory.
    expect(
      h.directory.calls.filter((c) => c.method !== 'GET' && !c.path.includes('checkMemberGroups')),
    ).toEqual([]);
  });
});
