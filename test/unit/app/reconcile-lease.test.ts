import { RECONCILE_LEASE } from '../../../src/app/reconciler';
import { MINUTE, startRig, type Rig } from './rig';

describe('the reconcile lease (one pass at a time across replicas)', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('is renewed while a long pass runs, and given up when it ends', async () => {
    const hit = rig.directory.hangNext('listMembers', 'before');
    void rig.reconciler.runOnce(); // hangs in the directory: a pass far longer than the lease
    await hit;
    await rig.clock.advance(5 * MINUTE);
    expect(await rig.store.acquireLease(RECONCILE_LEASE, 'another replica', rig.clock.now(), 1000)).toBe(
      false,
    );
  });
});
