import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { DIR, forbidden, throttled, unavailable } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, startRig, type Rig } from './rig';

const connectorDown = () => new DomainError(ErrorCodes.CONNECTOR_FAILED, 'Bot Connector answered 502');

describe('the outbox: durable side effects, bounded retries, failures shown as failures', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  async function approved(group = 'db-read') {
    const request = await rig.askFor(people.alex, group);
    await rig.service.decide(request.id, people.megan, 'approve');
    return request.id;
  }

  it('a permanent Graph refusal (403) fails the request, says so in the channel and to the requester, never as granted', async () => {
    rig.directory.failAlways('addMember', forbidden);
    const id = await approved();
    await rig.advance(10 * MINUTE);
    const failed = await rig.get(id);
    expect(failed).toMatchObject({
      status: 'failed',
      failure: {
        code: 'DIRECTORY.PERMISSION_MISSING',
        message: expect.stringMatching(/GroupMember\.ReadWrite\.All/),
      },
    });
    expect(failed.grantedAt).toBeUndefined();
    expect(rig.directory.count('addMember')).toBe(1); // a refusal is not retried
    expect(rig.directory.count('removeMember')).toBe(0); // and nothing was added to take back
    expect(await rig.repliesFor(id)).toEqual(['failed']);
    expect(rig.toldTo('alex')).toEqual(['failed']);
    const audit = await rig.auditOf(id);
    expect(audit).toContain('failed');
    expect(audit).not.toContain('granted');
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
  });

  it('retries transient failures (503, 429) with growing backoff, then grants', async () => {
    rig.directory.failNext('addMember', unavailable, 2);
    rig.directory.failNext('addMember', throttled, 1);
    const id = await approved();
    await rig.advance(MINUTE);
    expect((await rig.get(id)).status).toBe('active');
    const adds = rig.directory.calls.filter((c) => c.op === 'addMember').map((c) => c.at!);
    expect(adds).toHaveLength(4);
    const gaps = adds.slice(1).map((at, i) => at - adds[i]!);
    // base 500 ms, doubling, with jitter in the upper half of each step
    expect(gaps[0]).toBeGreaterThanOrEqual(250);
    expect(gaps[0]).toBeLessThanOrEqual(500);
    expect(gaps[1]).toBeGreaterThanOrEqual(500);
    expect(gaps[1]).toBeLessThanOrEqual(1000);
    expect(gaps[2]).toBeGreaterThanOrEqual(1000);
    expect(gaps[2]).toBeLessThanOrEqual(2000);
    const granted = await rig.get(id);
    expect(granted.expiresAt).toBe(granted.grantedAt! + HOUR);
  });

  it('gives up an add after a bounded number of attempts: failed, told, and any landed add taken back', async () => {
    rig.directory.failAlways('addMember', unavailable);
    const id = await approved();
    await rig.advance(HOUR);
    expect(rig.directory.count('addMember')).toBe(8);
    expect(await rig.get(id)).toMatchObject({ status: 'failed', failure: { code: 'DIRECTORY.UNAVAILABLE' } });
    // A timed-out add may have landed at Graph: the removal runs to be sure.
    expect(rig.directory.count('removeMember')).toBe(1);
    expect(await rig.repliesFor(id)).toEqual(['failed']);
    expect(rig.toldTo('alex')).toEqual(['failed']);
  });

  it('never gives up a removal: keeps trying, alerts the channel, and removes once Graph is back', async () => {
    const id = await approved();
    await rig.settle();
    const heal = rig.directory.failAlways('removeMember', unavailable);
    await rig.advance(HOUR); // expiry
    await rig.advance(3 * HOUR);
    expect(rig.directory.count('removeMember')).toBeGreaterThan(8);
    expect(
      rig.notifier.sent.some((s) => s.op === 'replyInThread' && /keeps failing/.test(s.message?.text ?? '')),
    ).toBe(true);
    expect(rig.directory.members(DIR.groups.dbRead)).toContain(people.alex.id);
    heal();
    await rig.advance(2 * MINUTE);
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    expect((await rig.get(id)).membershipRemovedAt).toBeDefined();
  });

  it('a Teams outage never holds up the grant; a notice given up is audited', async () => {
    rig.notifier.failNext('replyInThread', connectorDown, 100);
    const id = await approved();
    await rig.advance(HOUR / 2);
    expect((await rig.get(id)).status).toBe('active');
    expect(rig.directory.members(DIR.groups.dbRead)).toContain(people.alex.id);
    expect((await rig.audit()).find((r) => r.requestId === id && r.type === 'notify_failed')).toMatchObject({
      detail: { effect: 'thread.reply', template: 'granted' },
    });
  });
});

describe('after a restart the outbox finishes what was left', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  it('killed while checking the membership (before anything was recorded): the grant completes after start', async () => {
    const request = await rig.askFor(people.alex, 'db-read');
    const hit = rig.directory.hangNext('isMember', 'before');
    await rig.service.decide(request.id, people.megan, 'approve');
    await hit;
    expect((await rig.get(request.id)).standingMember).toBeUndefined();
    await rig.crash(MINUTE);
    await rig.settle();
    expect(await rig.get(request.id)).toMatchObject({
      status: 'active',
      standingMember: false,
      grantedAt: rig.clock.now(),
    });
    expect(rig.directory.members(DIR.groups.dbRead)).toContain(people.alex.id);
    expect(await rig.repliesFor(request.id)).toEqual(['granted']);
  });

  it("two runs of one add at once (a lease run out under a live replica): the other run's add is not taken for a standing membership", async () => {
    const request = await rig.askFor(people.alex, 'db-read');
    const isMember = rig.directory.isMember.bind(rig.directory);
    let raced = false;
    rig.directory.isMember = async (groupId, userId) => {
      if (!raced) {
        raced = true;
        // The other run, between our read of the request and our look at the membership:
        // it records "not a member" and adds.
        const current = (await rig.store.get(request.id))!;
        await rig.store.commit({
          request: { ...current, standingMember: false, addStartedAt: rig.clock.now() },
          expectedVersion: current.version,
          events: [],
        });
        await rig.directory.addMember(groupId, userId);
      }
      return isMember(groupId, userId);
    };
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    expect(await rig.get(request.id)).toMatchObject({ status: 'active', standingMember: false });
    await rig.clock.advanceTo((await rig.get(request.id)).expiresAt!);
    await rig.settle();
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
  });

  it('killed in the middle of a removal: the removal completes after start', async () => {
    const request = await rig.grantTo(people.alex, 'db-read', people.megan);
    const hit = rig.directory.hangNext('removeMember', 'before');
    await rig.clock.advanceTo((await rig.get(request.id)).expiresAt! - 1);
    const expiry = rig.clock.advance(1);
    await hit;
    void expiry; // never settles: its process is about to die
    expect((await rig.get(request.id)).status).toBe('expired');
    expect(rig.directory.members(DIR.groups.dbRead)).toContain(people.alex.id);
    await rig.crash(5 * MINUTE);
    await rig.settle();
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    expect((await rig.get(request.id)).membershipRemovedAt).toBe(rig.clock.now());
  });

  it('stopped cleanly while an add waits for its retry: done after start, exactly one membership', async () => {
    rig.directory.failNext('addMember', unavailable, 1);
    const request = await rig.grantTo(people.alex, 'db-read', people.megan);
    expect((await rig.get(request.id)).status).toBe('approved');
    await rig.restart(10 * MINUTE);
    expect(await rig.get(request.id)).toMatchObject({ status: 'active' });
    expect(rig.directory.count('addMember')).toBe(2);
  });

  it('killed before the approval card was posted: posted after start, then every update follows', async () => {
    rig.notifier.failNext('postToChannel', connectorDown, 1);
    const request = await rig.askFor(people.alex, 'db-read');
    expect((await rig.get(request.id)).approvalCard).toBeUndefined();
    await rig.crash(MINUTE);
    await rig.settle();
    const posted = await rig.get(request.id);
    expect(posted.approvalCard).toBeDefined();
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    expect(await rig.repliesFor(request.id)).toEqual(['granted']);
    expect(rig.notifier.count('postToChannel')).toBe(1);
  });
});
