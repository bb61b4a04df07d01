import { DIR } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, startRig, type Rig } from './rig';

describe('the scheduler: timed transitions from the store, on the Clock port', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  async function grants(durations: number[]) {
    const ids: string[] = [];
    for (const [i, durationMs] of durations.entries()) {
      const who = (['alex', 'isaiah', 'lynne'] as const)[i]!;
      const { request } = await rig.service.submit({
        requester: people[who],
        group: 'db-read',
        durationMs,
        justification: 'x',
      });
      await rig.service.decide(request.id, people.megan, 'approve');
      ids.push(request.id);
    }
    await rig.settle();
    return Promise.all(ids.map((id) => rig.get(id)));
  }

  it('acts on each expiry at its time (well within 1 s), earliest first', async () => {
    const active = await grants([2 * HOUR, 30 * MINUTE, HOUR]);
    await rig.advance(3 * HOUR);
    for (const grant of active) {
      const expired = await rig.get(grant.id);
      expect(expired.status).toBe('expired');
      expect(expired.resolution!.at - grant.expiresAt!).toBeLessThan(1000);
      expect(expired.membershipRemovedAt! - grant.expiresAt!).toBeLessThan(1000);
    }
    const order = (await rig.audit()).filter((r) => r.type === 'expired').map((r) => r.requestId);
    expect(order).toEqual([active[1]!.id, active[2]!.id, active[0]!.id]);
    expect(rig.directory.members(DIR.groups.dbRead)).toEqual([]);
  });

  it('arms one timer, for the earliest thing due, and none when nothing is', async () => {
    const [grant] = await grants([HOUR]);
    expect(rig.clock.pending()).toEqual([grant!.expiresAt! - 10 * MINUTE]); // the expiry warning comes first
    await rig.advance(HOUR);
    expect(rig.clock.pending()).toEqual([]);
  });

  it('is rebuilt at start: grants that ended while the bot was down are removed right after start', async () => {
    const active = await grants([30 * MINUTE, HOUR, 4 * HOUR]);
    await rig.crash(2 * HOUR); // down from before the first end until after the second
    const startedAt = rig.clock.now();
    await rig.settle();
    const [first, second, third] = await Promise.all(active.map((g) => rig.get(g.id)));
    expect(first).toMatchObject({ status: 'expired', membershipRemovedAt: startedAt });
    expect(second).toMatchObject({ status: 'expired', membershipRemovedAt: startedAt });
    expect(third).toMatchObject({ status: 'active' });
    expect(rig.directory.members(DIR.groups.dbRead)).toEqual([people.lynne.id]);
    await rig.clock.advanceTo(third!.expiresAt!);
    await rig.settle();
    expect((await rig.get(third!.id)).membershipRemovedAt).toBe(third!.expiresAt);
  });
});
