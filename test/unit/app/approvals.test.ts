import { cardText } from '../../helpers/fake-connector';
import { DIR } from '../../helpers/fake-directory';
import { HOUR, people, refusal, rigPolicy, startRig, type Rig } from './rig';

const ticketed = { durationMs: HOUR, justification: 'rotate keys', ticket: 'INC-7' };

describe('approvals: N of M, one vote per person, any deny resolves', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('stays pending below the threshold and shows "1 of 2" on the card; the second approval grants', async () => {
    const request = await rig.askFor(people.alex, 'prod-admin', HOUR, 'rotate keys', { ticket: 'INC-7' });
    const first = await rig.service.decide(request.id, people.megan, 'approve');
    expect(first).toMatchObject({
      status: 'pending',
      votes: [{ by: { id: people.megan.id }, decision: 'approve' }],
    });
    await rig.settle();
    const card = rig.notifier.lastCardOf((await rig.get(request.id)).approvalCard!.activityId);
    expect(cardText(card)).toContain('1 of 2');
    expect(rig.directory.count('addMember')).toBe(0);

    const second = await rig.service.decide(request.id, people.adele, 'approve');
    expect(second.status).toBe('approved');
    await rig.settle();
    expect((await rig.get(request.id)).status).toBe('active');
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.alex.id);
    expect(await rig.auditOf(request.id)).toEqual(
      expect.arrayContaining(['submitted', 'voted', 'approved', 'granted']),
    );
  });

  it('counts one vote per person: a second approval by the same approver is refused (AUTH.ALREADY_VOTED)', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      ...ticketed,
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    const again = await refusal(rig.service.decide(request.id, people.megan, 'approve'));
    expect(again.code).toBe('AUTH.ALREADY_VOTED');
    expect(again.message).toMatch(/already voted.*another approver/i);
    // The same person by another spelling of the id is still the same person.
    const shouting = await refusal(
      rig.service.decide(request.id, { ...people.megan, id: people.megan.id.toUpperCase() }, 'approve'),
    );
    expect(shouting.code).toBe('AUTH.ALREADY_VOTED');
    const stored = await rig.get(request.id);
    expect(stored).toMatchObject({ status: 'pending', votes: [{ by: { id: people.megan.id } }] });
  });

  it('resolves on any single deny, after an approval, with its reason shown to the requester', async () => {
    const request = await rig.askFor(people.alex, 'prod-admin', HOUR, 'rotate keys', { ticket: 'INC-7' });
    await rig.service.decide(request.id, people.megan, 'approve');
    const denied = await rig.service.decide(
      request.id,
      people.adele,
      'deny',
      '  use the break-glass runbook  ',
    );
    expect(denied).toMatchObject({
      status: 'denied',
      resolution: { by: { id: people.adele.id }, reason: 'use the break-glass runbook' },
    });
    await rig.settle();
    expect(rig.toldTo('alex')).toContain('denied');
    expect(
      cardText(
        rig.notifier.lastCardOf(
          denied.approvalCard?.activityId ?? (await rig.get(request.id)).approvalCard!.activityId,
        ),
      ),
    ).toMatch(/use the break-glass runbook/);
    const late = await refusal(rig.service.decide(request.id, people.isaiah, 'approve'));
    expect(late.code).toBe('REQUEST.ALREADY_RESOLVED');
    expect(late.message).toMatch(/already denied; nothing was changed/);
    expect(rig.directory.count('addMember')).toBe(0);
  });

  it('needs a reason to deny (REASON.REQUIRED) and changes nothing without one', async () => {
    const filed = await rig.askFor(people.alex, 'db-read', HOUR, 'orders');
    const request = await rig.get(filed.id);
    for (const reason of [undefined, '', '   ']) {
      const error = await refusal(rig.service.decide(request.id, people.megan, 'deny', reason));
      expect(error.code).toBe('REASON.REQUIRED');
      expect(error.message).toMatch(/say why/i);
    }
    expect(await rig.get(request.id)).toMatchObject({
      status: 'pending',
      votes: [],
      version: request.version,
    });
  });

  it('refuses self-approval unless policy allows it, and people who are not approvers', async () => {
    const { request } = await rig.service.submit({
      requester: people.megan,
      group: 'prod-admin',
      ...ticketed,
    });
    const self = await refusal(rig.service.decide(request.id, people.megan, 'approve'));
    expect(self).toMatchObject({
      code: 'AUTH.SELF_APPROVAL',
      message: expect.stringMatching(/another approver has to/),
    });
    const stranger = await refusal(rig.service.decide(request.id, people.lynne, 'approve'));
    expect(stranger).toMatchObject({
      code: 'AUTH.NOT_APPROVER',
      message: expect.stringMatching(/only approvers of prod-admin/i),
    });
    expect(await rig.get(request.id)).toMatchObject({ status: 'pending', votes: [] });

    // sandbox allows self-approval (allowSelfApproval: true).
    const own = await rig.service.submit({
      requester: people.alex,
      group: 'sandbox',
      durationMs: HOUR,
      justification: 'try it',
    });
    expect((await rig.service.decide(own.request.id, people.alex, 'approve')).status).toBe('approved');
  });

  it('two approvals racing in one process give one decision and one Graph add', async () => {
    const request = await rig.askFor(people.alex, 'db-read', HOUR, 'orders');
    const outcomes = await Promise.allSettled([
      rig.service.decide(request.id, people.megan, 'approve'),
      rig.service.decide(request.id, people.adele, 'approve'),
      rig.service.decide(request.id, people.megan, 'approve'),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((o) => o.reason.code).sort()).toEqual(
      expect.arrayContaining(['REQUEST.ALREADY_RESOLVED']),
    );
    await rig.settle();
    const stored = await rig.get(request.id);
    expect(stored.status).toBe('active');
    expect(stored.votes).toHaveLength(1);
    expect(rig.directory.count('addMember')).toBe(1);
    const decisions = (await rig.auditOf(request.id)).filter((t) => t === 'approved' || t === 'denied');
    expect(decisions).toEqual(['approved']);
  });

  it('an approve and a deny racing give exactly one of them', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'orders',
    });
    await Promise.allSettled([
      rig.service.decide(request.id, people.megan, 'approve'),
      rig.service.decide(request.id, people.adele, 'deny', 'no'),
    ]);
    await rig.settle();
    const stored = await rig.get(request.id);
    const decisions = (await rig.auditOf(request.id)).filter((t) => t === 'approved' || t === 'denied');
    expect(decisions).toHaveLength(1);
    expect(rig.directory.count('addMember')).toBe(decisions[0] === 'approved' ? 1 : 0);
    expect(['active', 'denied']).toContain(stored.status);
  });
});

describe('who is an approver or an admin: users by object id or UPN, groups transitively', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('names users by UPN (any case) and by object id', async () => {
    rig = await startRig();
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'prod-admin',
      ...ticketed,
    });
    await rig.service.decide(request.id, people.isaiah, 'approve'); // listed as "ISAIAH@example.com"
    expect((await rig.service.decide(request.id, people.adele, 'approve')).status).toBe('approved'); // listed by object id
  });

  it('takes approvers from a group, and from a group inside that group', async () => {
    rig = await startRig();
    // db-read: approvers = SRE (Megan, Adele) directly.
    const direct = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'orders',
    });
    expect((await rig.service.decide(direct.request.id, people.adele, 'approve')).status).toBe('approved');
    // billing: approvers = Leads, which holds SRE: Megan approves through two levels.
    const nested = await rig.service.submit({ requester: people.lynne, group: 'billing', durationMs: HOUR });
    expect(await refusal(rig.service.decide(nested.request.id, people.isaiah, 'approve'))).toMatchObject({
      code: 'AUTH.NOT_APPROVER',
    });
    expect((await rig.service.decide(nested.request.id, people.megan, 'approve')).status).toBe('approved');
  });

  it('takes admins from users and from groups (transitively)', async () => {
    rig = await startRig({ policy: rigPolicy({ admins: { users: [], groups: [DIR.groups.leads] } }) });
    const request = await rig.grantTo(people.alex, 'sandbox', people.alex);
    // Megan is no approver of sandbox, but an admin through Leads → SRE.
    expect(await rig.service.authorizer.isAdmin(people.megan)).toBe(true);
    expect(await rig.service.authorizer.isAdmin(people.patti)).toBe(false);
    const revoked = await rig.service.revoke(request.id, people.megan, 'leaving');
    expect(revoked.status).toBe('revoked');
  });
});
