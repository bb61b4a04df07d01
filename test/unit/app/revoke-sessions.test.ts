import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { rulesFor, validatePolicy } from '../../../src/domain/policy';
import type { Person } from '../../../src/domain/request';
import { DIR, throttled, unavailable } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, rigPolicy, startRig, type Rig } from './rig';

/** The rig's groups with sandbox, billing and a second alias of sandbox's Entra group revoking sessions at the end. */
function policy() {
  const p = rigPolicy();
  p.groups.sandbox!.revokeSessionsOnEnd = true;
  p.groups.billing!.revokeSessionsOnEnd = true;
  p.groups['sandbox-oncall'] = {
    groupId: DIR.groups.sandbox,
    displayName: 'Sandbox (on-call)',
    approverChannel: 'ops',
    approvers: { users: ['alex@example.com'] },
    allowSelfApproval: true,
    revokeSessionsOnEnd: true,
  };
  return p;
}

const forbidden = () =>
  new DomainError(
    ErrorCodes.DIRECTORY_PERMISSION,
    'Timebox may not end the sign-in sessions of user x (policy revokeSessionsOnEnd): grant … User.RevokeSessions.All, with admin consent.',
    { permission: 'User.RevokeSessions.All' },
  );

/** The fake directory's calls of these operations for one user, in order. */
function callsOf(rig: Rig, who: Person): string[] {
  return rig.directory.calls
    .filter((c) => c.userId?.toLowerCase() === who.id.toLowerCase())
    .filter((c) =>
      ['addMember', 'removeMember', 'revokeSignInSessions', 'assignTimeBound', 'removeTimeBound'].includes(
        c.op,
      ),
    )
    .map((c) => c.op);
}

describe('sessions end with the access (revokeSessionsOnEnd)', () => {
  let rig: Rig;
  afterEach(() => rig.close());

  describe('membership mode', () => {
    beforeEach(async () => (rig = await startRig({ policy: policy() })));

    it('at expiry: revoked after the removal, never before, and audited', async () => {
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      expect(rig.directory.count('revokeSignInSessions')).toBe(0);
      await rig.advance(HOUR - 1);
      expect(rig.directory.count('revokeSignInSessions')).toBe(0); // not while the grant runs
      await rig.advance(1);
      expect((await rig.get(request.id)).status).toBe('expired');
      expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.megan.id);
      expect(callsOf(rig, people.megan)).toEqual(['addMember', 'removeMember', 'revokeSignInSessions']);
      expect(rig.directory.revokedSessions).toEqual([{ userId: people.megan.id, at: rig.clock.now() }]);
      const audit = await rig.auditOf(request.id);
      expect(audit.indexOf('sessions_revoked')).toBeGreaterThan(audit.indexOf('member_removed'));
      expect(audit.filter((t) => t === 'sessions_revoked')).toHaveLength(1);
      const removed = (await rig.audit()).find(
        (r) => r.requestId === request.id && r.type === 'member_removed',
      );
      expect(removed?.detail).toMatchObject({ revokeSessions: true });
      expect(await rig.store.listEffects(request.id)).toEqual([]);
    });

    it('on release and on revoke too', async () => {
      const released = await rig.grantTo(people.megan, 'sandbox', people.alex);
      await rig.service.release(released.id, people.megan);
      await rig.settle();
      expect((await rig.get(released.id)).status).toBe('released');
      expect(rig.toldTo('megan')).toContain('released');
      expect(await rig.auditOf(released.id)).toContain('sessions_revoked');

      const revoked = await rig.grantTo(people.adele, 'sandbox', people.alex);
      await rig.service.revoke(revoked.id, people.patti, 'done');
      await rig.settle();
      expect((await rig.get(revoked.id)).status).toBe('revoked');
      expect(callsOf(rig, people.adele)).toEqual(['addMember', 'removeMember', 'revokeSignInSessions']);
      expect(rig.directory.revokedSessions.map((r) => r.userId)).toEqual([people.megan.id, people.adele.id]);
    });

    it('not for a group without it', async () => {
      const request = await rig.grantTo(people.alex, 'db-read', people.megan);
      await rig.advance(HOUR);
      expect((await rig.get(request.id)).status).toBe('expired');
      expect(rig.directory.count('removeMember')).toBe(1);
      expect(rig.directory.count('revokeSignInSessions')).toBe(0);
      expect(await rig.auditOf(request.id)).not.toContain('sessions_revoked');
    });

    it('not for a standing member: nothing was removed', async () => {
      rig.directory.addExternally(DIR.groups.sandbox, people.megan.id);
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      expect((await rig.get(request.id)).standingMember).toBe(true);
      await rig.advance(HOUR);
      expect((await rig.get(request.id)).status).toBe('expired');
      expect(rig.directory.members(DIR.groups.sandbox)).toContain(people.megan.id);
      expect(rig.directory.count('revokeSignInSessions')).toBe(0);
      expect(await rig.auditOf(request.id)).toContain('member_kept');
    });

    it('not while another active grant of the same Entra group covers the person; after the last one', async () => {
      const first = await rig.grantTo(people.alex, 'sandbox', people.alex);
      await rig.advance(30 * MINUTE);
      const second = await rig.grantTo(people.alex, 'sandbox-oncall', people.alex, HOUR, 'y');
      await rig.advance(30 * MINUTE); // the first ends; the second still holds the membership
      expect((await rig.get(first.id)).status).toBe('expired');
      expect(await rig.auditOf(first.id)).toContain('member_kept');
      expect(rig.directory.count('revokeSignInSessions')).toBe(0);

      await rig.advance(30 * MINUTE); // the second ends: removed, then revoked
      expect((await rig.get(second.id)).status).toBe('expired');
      expect(callsOf(rig, people.alex)).toEqual([
        'addMember',
        'addMember',
        'removeMember',
        'revokeSignInSessions',
      ]);
      expect(await rig.auditOf(second.id)).toContain('sessions_revoked');
    });

    it('retried after 503 and 429, in the removal’s queue, until it goes through', async () => {
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      rig.directory.failNext('revokeSignInSessions', unavailable, 2);
      await rig.advance(HOUR);
      expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.megan.id);
      expect(rig.directory.revokedSessions).toEqual([]);
      rig.directory.failNext('revokeSignInSessions', throttled, 1);
      await rig.advance(30_000);
      expect(rig.directory.count('revokeSignInSessions')).toBe(4);
      expect(rig.directory.revokedSessions).toHaveLength(1);
      const audit = await rig.auditOf(request.id);
      expect(audit.filter((t) => t === 'sessions_revoked')).toHaveLength(1);
      expect(audit).not.toContain('sessions_revoke_failed');
      expect((await rig.get(request.id)).status).toBe('expired');
    });

    it('a 403 is reported once (audited, in the thread) and not retried; the grant stays ended', async () => {
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      const stop = rig.directory.failAlways('revokeSignInSessions', forbidden);
      await rig.advance(HOUR);
      await rig.advance(10 * MINUTE);
      stop();
      expect(rig.directory.count('revokeSignInSessions')).toBe(1);
      const ended = await rig.get(request.id);
      expect(ended.status).toBe('expired');
      expect(ended.membershipRemovedAt).toBeDefined();
      expect(rig.directory.members(DIR.groups.sandbox)).not.toContain(people.megan.id);
      const failure = (await rig.audit()).find(
        (r) => r.requestId === request.id && r.type === 'sessions_revoke_failed',
      );
      expect(failure?.reason).toContain('User.RevokeSessions.All');
      expect(failure?.detail).toMatchObject({
        code: ErrorCodes.DIRECTORY_PERMISSION,
        userId: people.megan.id,
      });
      expect(await rig.auditOf(request.id)).not.toContain('sessions_revoked');
      const alerts = rig.notifier.sent
        .filter((s) => s.op === 'replyInThread')
        .map((s) => s.message?.text ?? '')
        .filter((t) => t.includes('sign-in sessions'));
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toContain('Megan Bowen is removed from Sandbox');
      expect(alerts[0]).toContain('User.RevokeSessions.All');
      expect(await rig.store.listEffects(request.id)).toEqual([]);
    });

    it('a crash during the revocation: done after the restart (the removal is not repeated)', async () => {
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      const hung = rig.directory.hangNext('revokeSignInSessions', 'before');
      await rig.service.release(request.id, people.megan);
      await hung;
      await rig.crash();
      await rig.settle();
      expect(rig.directory.count('removeMember')).toBe(1);
      expect(rig.directory.revokedSessions.map((r) => r.userId)).toEqual([people.megan.id]);
      expect(await rig.auditOf(request.id)).toContain('sessions_revoked');
    });

    it('never for a service principal: it has no sign-in sessions', async () => {
      const pipeline: Person = {
        id: DIR.servicePrincipals.pipeline.id,
        name: 'GitHub deploy',
        kind: 'service_principal',
      };
      const { request } = await rig.service.submit({
        requester: pipeline,
        client: { appId: DIR.servicePrincipals.pipeline.appId, name: 'github-deploy' },
        group: 'billing',
        durationMs: 30 * MINUTE,
        justification: 'nightly export',
      });
      await rig.service.decide(request.id, people.megan, 'approve');
      await rig.settle();
      await rig.advance(30 * MINUTE);
      expect((await rig.get(request.id)).status).toBe('expired');
      expect(rig.directory.members(DIR.groups.billing)).not.toContain(pipeline.id.toLowerCase());
      expect(rig.directory.count('revokeSignInSessions')).toBe(0);
    });
  });

  describe('PIM mode', () => {
    beforeEach(async () => (rig = await startRig({ policy: policy(), mode: 'pim' })));

    it('revoked after the assignment ends at expiry', async () => {
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      expect(rig.directory.count('assignTimeBound')).toBe(1);
      await rig.advance(HOUR);
      expect((await rig.get(request.id)).status).toBe('expired');
      expect(callsOf(rig, people.megan)).toEqual([
        'assignTimeBound',
        'removeTimeBound',
        'revokeSignInSessions',
      ]);
      expect(await rig.auditOf(request.id)).toContain('sessions_revoked');
    });

    it('not for a standing member', async () => {
      rig.directory.addExternally(DIR.groups.sandbox, people.megan.id);
      const request = await rig.grantTo(people.megan, 'sandbox', people.alex);
      await rig.advance(HOUR);
      expect((await rig.get(request.id)).status).toBe('expired');
      expect(rig.directory.count('revokeSignInSessions')).toBe(0);
    });
  });
});

describe('policy: revokeSessionsOnEnd', () => {
  it('is a group key, false unless set', () => {
    const parsed = validatePolicy(policy());
    expect(rulesFor(parsed, 'sandbox').revokeSessionsOnEnd).toBe(true);
    expect(rulesFor(parsed, 'db-read').revokeSessionsOnEnd).toBe(false);
  });

  it('is refused on an action (it has no membership) and must be a boolean', () => {
    const onAction = rigPolicy({
      actions: {
        deploy: {
          displayName: 'Deploy',
          approverChannel: 'ops',
          approvers: { users: ['alex@example.com'] },
          revokeSessionsOnEnd: true,
        } as never,
      },
    });
    expect(() => validatePolicy(onAction)).toThrow(/actions\.deploy/);
    const notBoolean = rigPolicy();
    (notBoolean.groups.sandbox as Record<string, unknown>).revokeSessionsOnEnd = 'yes';
    expect(() => validatePolicy(notBoolean)).toThrow(/groups\.sandbox\.revokeSessionsOnEnd/);
  });
});
