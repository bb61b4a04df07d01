import { renderApprovalCard } from '../../../src/cards';
import { DIR } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, rigPolicy, startRig, type Rig } from './rig';

/** prod-admin auto-approves on-call (Isaiah) up to 30m, at most twice in any 24 hours. */
function policy() {
  const p = rigPolicy();
  p.groups['prod-admin']!.autoApprove = {
    requesterInGroups: [DIR.groups.oncall],
    maxDuration: '30m',
    maxPerDay: 2,
  };
  return p;
}

describe('autoApprove.maxPerDay: a budget per person, past it a human decides', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig({ policy: policy() })));
  afterEach(() => rig.close());

  const ask = () =>
    rig.service.submit({
      requester: people.isaiah,
      group: 'prod-admin',
      durationMs: 10 * MINUTE,
      justification: 'on call',
      ticket: 'INC-1',
    });

  it('the third within 24 hours waits for approvers, and its card says why; a day later the rule approves again', async () => {
    for (let i = 0; i < 2; i++) {
      const { request } = await ask();
      expect(request.kind).toBe('auto');
      await rig.settle();
      await rig.service.release(request.id, people.isaiah);
      await rig.advance(HOUR);
    }
    const third = (await ask()).request;
    expect(third).toMatchObject({ kind: 'standard', status: 'pending' });
    expect(third.autoApproveSkipped).toMatch(
      /already had 2 auto-approved requests for prod-admin in the last 24 hours/,
    );
    const card = JSON.stringify(
      renderApprovalCard({ request: third, viewer: 'approver', now: rig.clock.now() }),
    );
    expect(card).toContain('autoApprove.maxPerDay: 2');
    await rig.service.cancel(third.id, people.isaiah);
    // 24 hours after the first, it has left the window: the rule approves again.
    await rig.advance(22 * HOUR + MINUTE);
    expect((await ask()).request.kind).toBe('auto');
  });

  it('without maxPerDay, auto-approval has no daily limit', async () => {
    const p = rigPolicy();
    await rig.close();
    rig = await startRig({ policy: p });
    for (let i = 0; i < 4; i++) {
      const { request } = await ask();
      expect(request.kind).toBe('auto');
      await rig.settle();
      await rig.service.release(request.id, people.isaiah);
    }
  });
});
