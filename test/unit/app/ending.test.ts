import { DIR, throttled, unavailable } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, refusal, rigPolicy, startRig, type PersonKey, type Rig } from './rig';

const dbReadMembers = (rig: Rig) => rig.directory.members(DIR.groups.dbRead);

describe('ending a grant: release, revoke, expiry', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  async function grant(who: PersonKey = 'alex', group = 'db-read') {
    return rig.grantTo(people[who], group, people[who === 'megan' ? 'adele' : 'megan'], 2 * HOUR, 'work');
  }

  it('release: the requester ends it now; the membership goes; the thread says so', async () => {
    const active = await grant();
    await rig.advance(10 * MINUTE);
    const other = await refusal(rig.service.release(active.id, people.megan));
    expect(other).toMatchObject({
      code: 'AUTH.NOT_REQUESTER',
      message: expect.stringMatching(/approvers and admins can revoke it/),
    });
    const released = await rig.service.release(active.id, people.alex);
    expect(released).toMatchObject({
      status: 'released',
      expiresAt: rig.clock.now(),
      resolution: { by: { id: people.alex.id } },
    });
    await rig.settle();
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    expect(await rig.repliesFor(active.id)).toEqual(['granted', 'released']);
    expect(await rig.auditOf(active.id)).toEqual(expect.arrayContaining(['released', 'member_removed']));
  });

  it('release: the requester is told the membership is gone only once the removal is done', async () => {
    const active = await grant();
    const toldBefore = rig.toldTo('alex').length;
    const restore = rig.directory.failAlways('removeMember', unavailable);
    await rig.service.release(active.id, people.alex);
    // The removal keeps failing: no confirmation yet (the thread says it was released).
    await rig.settle();
    expect(dbReadMembers(rig)).toContain(people.alex.id);
    expect(await rig.repliesFor(active.id)).toContain('released');
    expect(rig.toldTo('alex').slice(toldBefore)).not.toContain('released');
    restore();
    await rig.advance(MINUTE);
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    expect(rig.toldTo('alex').slice(toldBefore)).toEqual(['released']);
    const audit = await rig.auditOf(active.id);
    expect(audit.indexOf('member_removed')).toBeGreaterThan(audit.indexOf('released'));
  });

  it('release of a request not granted yet says to cancel it instead', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
    });
    const early = await refusal(rig.service.release(request.id, people.alex));
    expect(early).toMatchObject({
      code: 'REQUEST.ILLEGAL_TRANSITION',
      message: expect.stringMatching(/cancel it instead/),
    });
  });

  it('revoke: by an approver of the group, with a reason the requester sees', async () => {
    const active = await grant();
    expect(await refusal(rig.service.revoke(active.id, people.adele))).toMatchObject({
      code: 'REASON.REQUIRED',
      message: expect.stringMatching(/say why you revoke/i),
    });
    const revoked = await rig.service.revoke(active.id, people.adele, 'incident closed');
    expect(revoked).toMatchObject({
      status: 'revoked',
      resolution: { by: { id: people.adele.id }, reason: 'incident closed' },
    });
    await rig.settle();
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    expect(await rig.repliesFor(active.id)).toEqual(['granted', 'revoked']);
    expect(rig.toldTo('alex')).toContain('revoked');
    expect((await rig.audit()).find((r) => r.type === 'revoked')).toMatchObject({
      reason: 'incident closed',
      actor: { id: people.adele.id },
    });
  });

  it('revoke: by an admin who is no approver of the group; refused for anyone else', async () => {
    const active = await grant();
    const stranger = await refusal(rig.service.revoke(active.id, people.lynne, 'because'));
    expect(stranger).toMatchObject({
      code: 'AUTH.NOT_APPROVER',
      message: expect.stringMatching(/only approvers of db-read and admins can revoke/i),
    });
    const self = await refusal(rig.service.revoke(active.id, people.alex, 'because'));
    expect(self.code).toBe('AUTH.NOT_APPROVER');
    expect((await rig.get(active.id)).status).toBe('active');
    const revoked = await rig.service.revoke(active.id, people.patti, 'offboarding'); // admin by UPN
    expect(revoked.status).toBe('revoked');
    await rig.settle();
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
  });

  it('revoke of a pending request says to deny it instead', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
    });
    expect(await refusal(rig.service.revoke(request.id, people.megan, 'no'))).toMatchObject({
      code: 'REQUEST.ILLEGAL_TRANSITION',
      message: expect.stringMatching(/deny it instead/),
    });
  });

  it('revoke while the membership is being added: the add finishes, then the removal undoes it; never shown as granted', async () => {
    const request = await rig.askFor(people.alex, 'db-read');
    rig.directory.onWrite = async (op) => {
      rig.directory.onWrite = undefined;
      if (op === 'addMember') await rig.service.revoke(request.id, people.adele, 'wrong person');
    };
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    const stored = await rig.get(request.id);
    expect(stored.status).toBe('revoked');
    expect(stored.grantedAt).toBeUndefined();
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    expect(await rig.auditOf(request.id)).not.toContain('granted');
    expect(await rig.repliesFor(request.id)).not.toContain('granted');
  });

  it('expiry: removed at expiresAt, counted from the add, not from the approval', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: HOUR,
      justification: 'x',
    });
    rig.directory.failNext('addMember', unavailable);
    await rig.service.decide(request.id, people.megan, 'approve');
    const approvedAt = rig.clock.now();
    await rig.advance(5 * MINUTE); // the first add failed; the retry lands within the backoff
    const active = await rig.get(request.id);
    expect(active.status).toBe('active');
    expect(active.grantedAt).toBeGreaterThan(approvedAt);
    expect(active.expiresAt).toBe(active.grantedAt! + HOUR);
    await rig.clock.advanceTo(active.expiresAt! - 1);
    expect(dbReadMembers(rig)).toContain(people.alex.id);
    await rig.advance(1);
    const expired = await rig.get(request.id);
    expect(expired).toMatchObject({ status: 'expired', membershipRemovedAt: active.expiresAt });
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    expect(await rig.repliesFor(request.id)).toEqual(['granted', 'expired']);
    expect(rig.toldTo('alex')).toEqual(expect.arrayContaining(['granted', 'expiry_warning', 'expired']));
  });

  it('a pending extension dies with the grant', async () => {
    const active = await grant();
    await rig.service.extend({ requestId: active.id, actor: people.alex, addedMs: HOUR });
    await rig.clock.advanceTo(active.expiresAt!);
    await rig.settle();
    const expired = await rig.get(active.id);
    expect(expired.status).toBe('expired');
    expect(expired.pendingExtension).toBeUndefined();
  });
});

describe('standing members are never touched', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  async function lynneGrant() {
    // Lynne already is a member of Production admin (added by someone else).
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.lynne.id);
    const { request } = await rig.service.submit({
      requester: people.lynne,
      group: 'prod-admin',
      durationMs: HOUR,
      justification: 'x',
      ticket: 'INC-3',
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.service.decide(request.id, people.adele, 'approve');
    await rig.settle();
    return rig.get(request.id);
  }

  it('records the standing membership, adds nothing, and keeps it at expiry', async () => {
    const active = await lynneGrant();
    expect(active).toMatchObject({ status: 'active', standingMember: true });
    expect(rig.directory.count('addMember')).toBe(0);
    await rig.advance(HOUR);
    const expired = await rig.get(active.id);
    expect(expired.status).toBe('expired');
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.lynne.id);
    expect(rig.directory.count('removeMember')).toBe(0);
    expect(
      (await rig.audit()).find((r) => r.requestId === active.id && r.type === 'member_kept'),
    ).toMatchObject({ reason: 'standing member' });
  });

  it('release of a standing member: the confirmation says the membership stays', async () => {
    const first = await lynneGrant();
    await rig.service.release(first.id, people.lynne);
    await rig.settle();
    expect(rig.toldTo('lynne')).toContain('released');
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.lynne.id);
  });

  it('keeps it on release and on revoke too', async () => {
    const first = await lynneGrant();
    await rig.service.release(first.id, people.lynne);
    await rig.settle();
    const second = await lynneGrant();
    await rig.service.revoke(second.id, people.isaiah, 'done');
    await rig.settle();
    expect(rig.directory.members(DIR.groups.prodAdmin)).toContain(people.lynne.id);
    expect(rig.directory.count('removeMember')).toBe(0);
  });

  it('never mistakes our own earlier add for a standing membership: crash between the add and its commit', async () => {
    const request = await rig.askFor(people.alex, 'db-read');
    const added = rig.directory.hangNext('addMember', 'after');
    await rig.service.decide(request.id, people.megan, 'approve');
    await added; // Alex is in the group; the process dies before it writes "granted"
    const addedAt = rig.clock.now();
    expect(dbReadMembers(rig)).toContain(people.alex.id);
    expect(await rig.get(request.id)).toMatchObject({
      status: 'approved',
      standingMember: false,
      addStartedAt: addedAt,
    });
    await rig.crash(10 * MINUTE);
    await rig.settle();
    const active = await rig.get(request.id);
    // The hour counts from the add before the crash, not from the restart: no downtime bonus.
    expect(active).toMatchObject({
      status: 'active',
      standingMember: false,
      grantedAt: addedAt,
      expiresAt: addedAt + HOUR,
    });
    expect((await rig.audit()).find((r) => r.requestId === request.id && r.type === 'granted')).toMatchObject(
      {
        at: new Date(addedAt + 10 * MINUTE).toISOString(),
        detail: { since: new Date(addedAt).toISOString(), expiresAt: new Date(addedAt + HOUR).toISOString() },
      },
    );
    await rig.advance(50 * MINUTE);
    expect((await rig.get(request.id)).status).toBe('expired');
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
  });

  it('a crash between the add and its commit that outlasts the grant: expired and removed right after start', async () => {
    const request = await rig.askFor(people.alex, 'db-read', 10 * MINUTE);
    const added = rig.directory.hangNext('addMember', 'after');
    await rig.service.decide(request.id, people.megan, 'approve');
    await added;
    await rig.crash(HOUR);
    await rig.settle();
    expect(await rig.get(request.id)).toMatchObject({ status: 'expired' });
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
  });

  it('an add that lands after throttled attempts counts from when it landed', async () => {
    const request = await rig.askFor(people.alex, 'db-read');
    rig.directory.failNext('addMember', throttled, 2);
    const approvedAt = rig.clock.now();
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    expect((await rig.get(request.id)).status).toBe('approved');
    await rig.advance(MINUTE);
    const active = await rig.get(request.id);
    expect(active.status).toBe('active');
    expect(active.addStartedAt).toBe(approvedAt);
    expect(active.grantedAt).toBeGreaterThan(approvedAt);
    expect(active.expiresAt).toBe(active.grantedAt! + HOUR);
  });

  it('after a crash before the add, checks again and adds', async () => {
    const request = await rig.askFor(people.alex, 'db-read');
    const stopped = rig.directory.hangNext('addMember', 'before');
    await rig.service.decide(request.id, people.megan, 'approve');
    await stopped;
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    await rig.crash();
    await rig.settle();
    expect(await rig.get(request.id)).toMatchObject({ status: 'active', standingMember: false });
    expect(dbReadMembers(rig)).toContain(people.alex.id);
  });

  it('someone added by an admin after our grant ended is standing for the next grant', async () => {
    await rig.grantTo(people.alex, 'db-read', people.megan);
    await rig.advance(HOUR);
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
    rig.directory.addExternally(DIR.groups.dbRead, people.alex.id);
    const next = await rig.grantTo(people.alex, 'db-read', people.megan, HOUR, 'y');
    expect((await rig.get(next.id)).standingMember).toBe(true);
    await rig.advance(HOUR);
    expect(dbReadMembers(rig)).toContain(people.alex.id);
  });
});

describe('a membership is removed only when no active grant for that person and group remains', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  it('keeps it while another grant (another alias of the same Entra group) is active, removes it after the last', async () => {
    const policy = rigPolicy();
    policy.groups['db-read-oncall'] = {
      groupId: DIR.groups.dbRead,
      displayName: 'Production DB (read, on-call)',
      approverChannel: 'ops',
      approvers: { users: ['meganb@example.com'] },
    };
    rig = await startRig({ policy });
    const first = await rig.grantTo(people.alex, 'db-read', people.megan);
    await rig.advance(30 * MINUTE);
    const second = await rig.grantTo(people.alex, 'db-read-oncall', people.megan, HOUR, 'y');
    expect(await rig.get(second.id)).toMatchObject({ status: 'active', standingMember: false }); // ours, not standing

    await rig.advance(30 * MINUTE); // the first ends
    expect((await rig.get(first.id)).status).toBe('expired');
    expect(dbReadMembers(rig)).toContain(people.alex.id);
    expect(
      (await rig.audit()).find((r) => r.requestId === first.id && r.type === 'member_kept'),
    ).toMatchObject({ reason: `still granted by ${second.id}` });

    await rig.advance(30 * MINUTE); // the second ends
    expect((await rig.get(second.id)).status).toBe('expired');
    expect(dbReadMembers(rig)).not.toContain(people.alex.id);
  });
});
