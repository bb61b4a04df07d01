import { DIR } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, refusal, startRig, type Rig } from './rig';

const sandboxMembers = (rig: Rig) => rig.directory.members(DIR.groups.sandbox);

describe('scheduled starts: decided now, granted at the start, not before', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  async function scheduled(startIn = 2 * HOUR, group = 'db-read', who = people.alex) {
    const { request } = await rig.service.submit({
      requester: who,
      group,
      durationMs: HOUR,
      justification: 'maintenance window',
      startsAt: rig.clock.now() + startIn,
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    return request;
  }

  it('approved ahead → scheduled; at the start the membership is added and counted from the add', async () => {
    const request = await scheduled();
    const stored = await rig.get(request.id);
    expect(stored).toMatchObject({ status: 'scheduled', startsAt: request.startsAt });
    expect(stored.grantedAt).toBeUndefined();
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    expect(await rig.repliesFor(request.id)).toEqual(['scheduled']);
    await rig.advance(2 * HOUR - 1000);
    expect((await rig.get(request.id)).status).toBe('scheduled');
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    await rig.advance(1000);
    const active = await rig.get(request.id);
    expect(active).toMatchObject({
      status: 'active',
      grantedAt: request.startsAt,
      expiresAt: request.startsAt! + HOUR,
    });
    expect(rig.directory.members(DIR.groups.dbRead)).toContain(people.alex.id);
    expect(await rig.auditOf(request.id)).toEqual(['submitted', 'approved', 'started', 'granted']);
  });

  it('a crash across the start: granted right after start-up', async () => {
    const request = await scheduled(10 * MINUTE);
    await rig.crash(30 * MINUTE);
    await rig.settle();
    const active = await rig.get(request.id);
    expect(active.status).toBe('active');
    expect(active.grantedAt).toBe(rig.clock.now());
  });

  it('cancel works until the start; approvers can revoke it', async () => {
    const first = await scheduled();
    expect(await rig.service.cancel(first.id, people.alex)).toMatchObject({ status: 'cancelled' });
    const second = await scheduled();
    expect(await rig.service.revoke(second.id, people.adele, 'window moved')).toMatchObject({
      status: 'revoked',
    });
    await rig.advance(3 * HOUR);
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
  });

  it('eligibility is checked again at the start: no longer eligible → failed, nothing added', async () => {
    // billing: Lynne by name, or SRE members (Adele); Adele leaves SRE before her start.
    const request = await scheduled(HOUR, 'billing', people.adele);
    expect((await rig.get(request.id)).status).toBe('scheduled');
    await rig.directory.removeMember(DIR.groups.sre, people.adele.id);
    await rig.advance(HOUR);
    const failed = await rig.get(request.id);
    expect(failed).toMatchObject({
      status: 'failed',
      failure: {
        code: 'AUTH.NOT_ELIGIBLE',
        message: expect.stringMatching(/no longer eligible for billing/),
      },
    });
    expect(rig.directory.members(DIR.groups.billing)).not.toContain(people.adele.id);
    expect(await rig.repliesFor(request.id)).toEqual(['scheduled', 'failed']);
  });

  it('a start less than a minute ahead, or beyond maxScheduleAhead, is refused; break-glass is never scheduled', async () => {
    const ask = (startIn: number, breakGlass = false) =>
      refusal(
        rig.service.submit({
          requester: people.alex,
          group: 'sandbox',
          durationMs: HOUR,
          justification: 'x',
          startsAt: rig.clock.now() + startIn,
          breakGlass,
        }),
      );
    expect((await ask(30_000)).code).toBe('START.TOO_SOON');
    expect((await ask(8 * 24 * HOUR)).code).toBe('START.TOO_FAR');
    expect((await ask(HOUR, true)).code).toBe('BREAK_GLASS.NOT_ALLOWED');
    expect(sandboxMembers(rig)).toEqual([]);
  });

  it('approved after its start has passed: granted at once', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
      startsAt: rig.clock.now() + 5 * MINUTE,
    });
    await rig.advance(10 * MINUTE);
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    expect((await rig.get(request.id)).status).toBe('active');
  });
});
