import { DelegationService } from '../../../src/app/delegations';
import { renderApprovalCard } from '../../../src/cards';
import { HOUR, people, refusal, rigPolicy, startRig, type Rig } from './rig';

/**
 * prod-admin needs 2 approvals from Megan, Adele and Isaiah. Megan hands her approvals to
 * Patti (not an approver) until tomorrow.
 */
/** Megan hands her approvals to Patti until tomorrow 09:00. */
async function meganDelegatesToPatti(rig: Rig): Promise<DelegationService> {
  const delegations = new DelegationService({
    store: rig.store,
    directory: rig.directory,
    authorizer: rig.service.authorizer,
    clock: rig.clock,
  });
  await delegations.delegate(people.megan, 'patti@example.com', 'tomorrow 09:00');
  return delegations;
}

describe('decisions by a delegate: "by B for A", one vote for both, never on their own request', () => {
  let rig: Rig;
  let delegations: DelegationService;
  beforeEach(async () => {
    rig = await startRig();
    delegations = await meganDelegatesToPatti(rig);
  });
  afterEach(() => rig.close());

  const ask = async (who = people.alex) =>
    (
      await rig.service.submit({
        requester: who,
        group: 'prod-admin',
        durationMs: HOUR,
        justification: 'x',
        ticket: 'INC-1',
      })
    ).request;

  it('the delegate decides for the approver; the vote says so and the card shows "Patti for Megan"', async () => {
    const request = await ask();
    const voted = await rig.service.decide(request.id, people.patti, 'approve');
    expect(voted.votes).toEqual([
      expect.objectContaining({ by: people.patti, for: expect.objectContaining({ id: people.megan.id }) }),
    ]);
    const card = JSON.stringify(
      renderApprovalCard({ request: voted, viewer: 'other', now: rig.clock.now() }),
    );
    expect(card).toContain('Approved by Patti Fernandez for Megan Bowen');
    const audit = (await rig.audit()).filter((a) => a.requestId === request.id && a.type === 'voted');
    expect(audit[0]).toMatchObject({ actor: { id: people.patti.id }, detail: { for: 'Megan Bowen' } });
    expect(await rig.service.canDecide(voted, people.patti)).toBe(true);
  });

  it('a delegate and the approver they stand in for count as one vote', async () => {
    const request = await ask();
    await rig.service.decide(request.id, people.megan, 'approve');
    const again = await refusal(rig.service.decide(request.id, people.patti, 'approve'));
    expect(again).toMatchObject({
      code: 'AUTH.ALREADY_VOTED',
      message: expect.stringMatching(/Megan Bowen's vote/),
    });
    await rig.service.decide(request.id, people.adele, 'approve');
    expect((await rig.get(request.id)).status).not.toBe('pending');
  });

  it('never on the delegate’s own request, and not once the delegation ended', async () => {
    const own = await ask(people.patti);
    expect((await refusal(rig.service.decide(own.id, people.patti, 'approve'))).code).toBe(
      'AUTH.NOT_APPROVER',
    );
    await delegations.off(people.megan);
    const later = await ask(people.lynne);
    expect((await refusal(rig.service.decide(later.id, people.patti, 'approve'))).code).toBe(
      'AUTH.NOT_APPROVER',
    );
  });

  it('allowDelegation: false on the group keeps delegates out', async () => {
    const p = rigPolicy();
    p.groups['prod-admin']!.allowDelegation = false;
    await rig.close();
    rig = await startRig({ policy: p });
    delegations = await meganDelegatesToPatti(rig);
    const request = await ask();
    expect((await refusal(rig.service.decide(request.id, people.patti, 'approve'))).code).toBe(
      'AUTH.NOT_APPROVER',
    );
  });
});
