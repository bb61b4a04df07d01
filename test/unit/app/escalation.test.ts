import { validatePolicy } from '../../../src/domain/policy';
import { DIR } from '../../helpers/fake-directory';
import { CHANNEL, HOUR, MINUTE, people, refusal, rigPolicy, startRig, type Rig } from './rig';

const SECURITY = { teamId: '19:team@thread.tacv2', channelId: '19:security@thread.tacv2' };

/** db-read escalates after 30m to Patti (admin) in the security channel; times out after 1h. */
function policy() {
  const p = rigPolicy({ approverChannels: { ops: CHANNEL, security: SECURITY } });
  p.groups['db-read']!.escalateAfter = '30m';
  p.groups['db-read']!.escalateTo = { channel: 'security', users: ['patti@example.com'] };
  return p;
}

describe('escalation: nobody decides → the escalation approvers are asked too', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig({ policy: policy() })));
  afterEach(() => rig.close());

  const ask = async () =>
    (
      await rig.service.submit({
        requester: people.alex,
        group: 'db-read',
        durationMs: HOUR,
        justification: 'x',
      })
    ).request;

  it('after escalateAfter: once, audited, the card posted in the escalation channel; they may decide', async () => {
    const request = await ask();
    await rig.settle();
    expect((await refusal(rig.service.decide(request.id, people.patti, 'approve'))).code).toBe(
      'AUTH.NOT_APPROVER',
    );
    await rig.advance(30 * MINUTE);
    const escalated = await rig.get(request.id);
    expect(escalated).toMatchObject({
      status: 'pending',
      escalatedAt: rig.clock.now(),
      escalation: { reason: 'timeout', channel: 'security' },
      escalationCard: { conversationId: expect.stringContaining('security') },
    });
    expect(await rig.auditOf(request.id)).toEqual(['submitted', 'reminded', 'escalated']);
    expect(await rig.repliesFor(request.id)).toEqual(['reminder', 'escalated']);
    // The escalation approver decides; both cards show it.
    await rig.service.decide(request.id, people.patti, 'approve');
    await rig.settle();
    const updates = rig.notifier.sent.filter(
      (u) => u.op === 'updateCard' && u.to === escalated.escalationCard!.activityId,
    );
    expect(updates.length).toBeGreaterThan(0);
    expect((await rig.get(request.id)).status).toBe('active');
    await rig.advance(2 * HOUR);
    expect((await rig.auditOf(request.id)).filter((t) => t === 'escalated')).toHaveLength(1);
  });

  it('the pending timeout still ends an escalated request', async () => {
    const request = await ask();
    await rig.advance(HOUR);
    expect((await rig.get(request.id)).status).toBe('timed_out');
    expect(await rig.auditOf(request.id)).toEqual(['submitted', 'reminded', 'escalated', 'timed_out']);
  });

  it('a request decided before escalateAfter never escalates', async () => {
    const request = await ask();
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.advance(HOUR);
    expect(await rig.auditOf(request.id)).not.toContain('escalated');
  });

  it('escalateTo must name a known channel and someone who may decide', () => {
    const bad = rigPolicy();
    bad.groups['db-read']!.escalateTo = { channel: 'nowhere', users: [] };
    expect(() => validatePolicy(bad)).toThrow(/escalateTo.channel: "nowhere" is not one of approverChannels/);
    expect(() => validatePolicy(bad)).toThrow(/escalateTo: name at least one user or group/);
  });

  it('without escalateTo nothing escalates; an action gate escalates too', async () => {
    const p = policy();
    p.actions = {
      'deploy-prod': {
        displayName: 'Deploy to production',
        approverChannel: 'ops',
        approvers: { groups: [DIR.groups.sre] },
        escalateAfter: '10m',
        escalateTo: { users: ['patti@example.com'] },
      },
    };
    await rig.close();
    rig = await startRig({ policy: p });
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'deploy-prod',
      justification: 'x',
    });
    const sandbox = await rig.service.submit({
      requester: people.alex,
      group: 'sandbox',
      justification: 'x',
    });
    await rig.advance(10 * MINUTE);
    expect((await rig.get(request.id)).escalatedAt).toBe(rig.clock.now());
    expect((await rig.get(request.id)).escalationCard).toBeUndefined();
    await rig.service.decide(request.id, people.patti, 'approve');
    expect((await rig.get(request.id)).status).toBe('approved');
    await rig.advance(30 * MINUTE);
    expect((await rig.get(sandbox.request.id)).escalatedAt).toBeUndefined();
  });
});
