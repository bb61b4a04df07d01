import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { DIR } from '../../helpers/fake-directory';
import { flushAsync } from '../../helpers/fake-clock';
import { MINUTE, people, startRig, type Rig } from './rig';

const SECOND = 1000;
/** Graph's throttling past the adapter's own retries, with the wait it asked for. */
const throttledFor = (ms: number) => () =>
  new DomainError(ErrorCodes.DIRECTORY_THROTTLED, 'Microsoft Graph is throttling Timebox', {
    retryAfterMs: ms,
  });
const connectorDown = () => new DomainError(ErrorCodes.CONNECTOR_FAILED, 'Bot Connector answered 502');

describe('the worker under Graph throttling: removals before adds, neither waits on Teams work', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('a removal that falls due while adds are throttled and queued runs first; the adds wait out the Retry-After', async () => {
    rig = await startRig({ worker: { directorySlots: 1 } });
    const held = await rig.grantTo(people.alex, 'db-read', people.megan);
    expect(held.status).toBe('active');
    const startedAt = rig.clock.now();
    rig.directory.failNext('addMember', throttledFor(10 * SECOND));
    // Teams is down the whole time: its work piles up behind retries.
    rig.notifier.failNext('replyInThread', connectorDown, 1000);
    rig.notifier.failNext('updateCard', connectorDown, 1000);
    const megan = await rig.askFor(people.megan, 'sandbox');
    const adele = await rig.askFor(people.adele, 'sandbox');
    await rig.service.decide(megan.id, people.alex, 'approve');
    await rig.service.decide(adele.id, people.alex, 'approve');
    await rig.settle();
    // Megan's add was throttled; Adele's waits for the Retry-After. Now Alex's grant is revoked.
    await rig.service.revoke(held.id, people.patti, 'done');
    await rig.settle();
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    expect((await rig.get(held.id)).membershipRemovedAt).toBe(startedAt);
    const writes = rig.directory.calls
      .filter((c) => c.op === 'addMember' || c.op === 'removeMember')
      .map((c) => `${c.op} ${c.userId}`);
    expect(writes).toEqual([
      `addMember ${people.alex.id}`,
      `addMember ${people.megan.id}`,
      `removeMember ${people.alex.id}`,
    ]);
    await rig.advance(MINUTE);
    const adds = rig.directory.calls.filter((c) => c.op === 'addMember' && c.userId !== people.alex.id);
    expect(adds.map((c) => c.userId)).toEqual(expect.arrayContaining([people.megan.id, people.adele.id]));
    expect(
      adds.filter((c) => c.userId === people.adele.id).every((c) => c.at! >= startedAt + 10 * SECOND),
    ).toBe(true);
    expect((await rig.get(megan.id)).status).toBe('active');
    expect((await rig.get(adele.id)).status).toBe('active');
  });

  it('without throttling an add is not held back by a removal', async () => {
    rig = await startRig({ worker: { directorySlots: 4 } });
    const held = await rig.grantTo(people.alex, 'db-read', people.megan);
    const megan = await rig.askFor(people.megan, 'sandbox');
    await rig.service.revoke(held.id, people.patti, 'done');
    await rig.service.decide(megan.id, people.alex, 'approve');
    await rig.settle();
    expect((await rig.get(megan.id)).status).toBe('active');
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
  });

  it('while a removal is under way, Teams work runs on few slots (its card rendering must not take the CPU removals need)', async () => {
    rig = await startRig({ worker: { teamsSlots: 16, teamsSlotsWhileRemoving: 2 } });
    const grants = [
      await rig.grantTo(people.alex, 'db-read', people.megan),
      await rig.grantTo(people.megan, 'sandbox', people.alex),
      await rig.grantTo(people.adele, 'sandbox', people.alex),
    ];
    // Every Teams call takes a few turns of the event loop; the removals wait at a gate.
    let teamsNow = 0;
    let teamsMost = 0;
    for (const op of ['postToChannel', 'updateCard', 'replyInThread', 'sendToPerson'] as const) {
      const real = rig.notifier[op].bind(rig.notifier) as (...args: unknown[]) => Promise<unknown>;
      (rig.notifier as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
        teamsMost = Math.max(teamsMost, ++teamsNow);
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        teamsNow--;
        return real(...args);
      };
    }
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const remove = rig.directory.removeMember.bind(rig.directory);
    rig.directory.removeMember = async (groupId, userId) => {
      await gate;
      return remove(groupId, userId);
    };
    const before = rig.notifier.sent.length;
    for (const grant of grants) await rig.service.revoke(grant.id, people.patti, 'done');
    await flushAsync(200);
    const sentWhileRemoving = rig.notifier.sent.length - before;
    expect(teamsMost).toBeLessThanOrEqual(2);
    // Teams work still moves meanwhile (fewer slots, not none).
    expect(sentWhileRemoving).toBeGreaterThan(0);
    open();
    await rig.settle();
    for (const grant of grants) expect((await rig.get(grant.id)).membershipRemovedAt).toBeDefined();
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
  });

  it.each([ErrorCodes.STORE_UNAVAILABLE, ErrorCodes.STORE_WRITE_FAILED])(
    'a store outage (%s) during an add never fails the grant: the add runs again once the store is back',
    async (code) => {
      rig = await startRig();
      const request = await rig.askFor(people.megan, 'sandbox');
      const commit = rig.store.commit.bind(rig.store);
      let failing = 3;
      (rig.store as { commit: typeof commit }).commit = async (change) => {
        if (change.completedEffects?.length && failing-- > 0)
          throw new DomainError(code, 'the store cannot be reached');
        return commit(change);
      };
      await rig.service.decide(request.id, people.alex, 'approve');
      await rig.advance(MINUTE);
      const stored = await rig.get(request.id);
      expect(stored.status).toBe('active');
      expect(failing).toBeLessThan(0);
      expect(rig.directory.members(DIR.groups.sandbox)).toContain(people.megan.id);
    },
  );
});
