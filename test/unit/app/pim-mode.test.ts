import { DIR } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, startRig, type Rig } from './rig';

describe('PIM mode: time-bound assignments instead of plain membership', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig({ mode: 'pim' })));
  afterEach(() => rig.close());

  it('assigns for the grant’s length, moves the end on an extension, and ends the assignment at expiry', async () => {
    const request = await rig.grantTo(people.alex, 'sandbox', people.alex);
    expect(rig.directory.count('assignTimeBound')).toBe(1);
    expect(rig.directory.count('addMember')).toBe(0);
    expect(rig.directory.members(DIR.groups.sandbox)).toContain(people.alex.id);

    await rig.service.extend({ requestId: request.id, actor: people.alex, addedMs: 30 * MINUTE });
    await rig.settle();
    expect(rig.directory.count('extendTimeBound')).toBe(1);

    await rig.advance(HOUR + 30 * MINUTE);
    expect((await rig.get(request.id)).status).toBe('expired');
    expect(rig.directory.count('removeTimeBound')).toBe(1);
    expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.alex.id);
  });
});
