import { HOUR, MINUTE, people, refusal, startRig, type Rig } from './rig';

describe('a pending request: cancel, reminder, pendingTimeout', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  const file = async () =>
    (
      await rig.service.submit({
        requester: people.alex,
        group: 'db-read',
        durationMs: HOUR,
        justification: 'orders',
      })
    ).request;

  it('is cancelled by its requester; the card and thread say so; nothing is granted', async () => {
    const request = await rig.askFor(people.alex, 'db-read', HOUR, 'orders');
    const cancelled = await rig.service.cancel(request.id, people.alex);
    expect(cancelled).toMatchObject({ status: 'cancelled', resolution: { by: { id: people.alex.id } } });
    await rig.settle();
    expect(await rig.repliesFor(request.id)).toEqual(['cancelled']);
    expect(await rig.auditOf(request.id)).toEqual(['submitted', 'cancelled']);
    expect(await refusal(rig.service.decide(request.id, people.megan, 'approve'))).toMatchObject({
      code: 'REQUEST.ALREADY_RESOLVED',
    });
    expect(rig.directory.count('addMember')).toBe(0);
  });

  it('cannot be cancelled by anyone else, nor once approved (release it instead)', async () => {
    const request = await file();
    const other = await refusal(rig.service.cancel(request.id, people.megan));
    expect(other).toMatchObject({
      code: 'AUTH.NOT_REQUESTER',
      message: expect.stringMatching(
        /is not yours: only the person who asked for it can cancel it.*approvers can deny it/i,
      ),
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    const late = await refusal(rig.service.cancel(request.id, people.alex));
    expect(late).toMatchObject({
      code: 'REQUEST.ALREADY_RESOLVED',
      message: expect.stringMatching(/release it instead/),
    });
  });

  it('reminds the approvers once, in the thread, when it has waited remindAfter (15m)', async () => {
    const request = await rig.askFor(people.alex, 'db-read', HOUR, 'orders');
    await rig.advance(15 * MINUTE - 1000);
    expect(await rig.repliesFor(request.id)).toEqual([]);
    await rig.advance(1000);
    expect(await rig.repliesFor(request.id)).toEqual(['reminder']);
    expect((await rig.get(request.id)).remindedAt).toBe(request.createdAt + 15 * MINUTE);
    await rig.advance(30 * MINUTE);
    await rig.restart(); // the once holds across a restart: it is in the store
    await rig.advance(10 * MINUTE);
    expect((await rig.repliesFor(request.id)).filter((r) => r === 'reminder')).toHaveLength(1);
    expect((await rig.auditOf(request.id)).filter((t) => t === 'reminded')).toHaveLength(1);
  });

  it('times out after pendingTimeout (1h), even with some approvals, and tells the channel and the requester', async () => {
    const request = await rig.askFor(people.alex, 'prod-admin', HOUR, 'x', { ticket: 'INC-1' });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.advance(HOUR - 1);
    expect((await rig.get(request.id)).status).toBe('pending');
    await rig.advance(1);
    const timedOut = await rig.get(request.id);
    expect(timedOut).toMatchObject({ status: 'timed_out', resolution: { at: request.createdAt + HOUR } });
    expect(await rig.repliesFor(request.id)).toEqual(['reminder', 'timed_out']);
    expect(rig.toldTo('alex')).toContain('timed_out');
    expect(await refusal(rig.service.decide(request.id, people.adele, 'approve'))).toMatchObject({
      code: 'REQUEST.ALREADY_RESOLVED',
    });
    expect(rig.directory.count('addMember')).toBe(0);
  });

  it('times out right after start when the timeout passed while the bot was down', async () => {
    const request = await rig.askFor(people.alex, 'db-read', HOUR, 'orders');
    await rig.crash(2 * HOUR);
    await rig.settle();
    expect((await rig.get(request.id)).status).toBe('timed_out');
  });
});
