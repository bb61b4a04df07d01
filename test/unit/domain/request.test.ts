import * as lifecycle from '../../../src/domain/request';
import { aPerson, aRequest } from '../../helpers/domain-builders';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const megan = aPerson('megan');
const adele = aPerson('adele');

describe('request lifecycle', () => {
  it('needs N approvals; shows progress below the threshold', () => {
    const request = aRequest({ approvalsRequired: 2 });
    const first = lifecycle.castVote(request, megan, 'approve', T0);
    expect(first.request.status).toBe('pending');
    expect(first.events[0]).toMatchObject({ type: 'voted', detail: { approvals: 1, required: 2 } });
    const second = lifecycle.castVote(first.request, adele, 'approve', T0 + 1);
    expect(second.request.status).toBe('approved');
    expect(second.request.resolution?.by?.id).toBe(adele.id);
  });

  it('counts one vote per person', () => {
    const voted = lifecycle.castVote(aRequest({ approvalsRequired: 2 }), megan, 'approve', T0).request;
    expect(() => lifecycle.castVote(voted, megan, 'approve', T0)).toThrow(
      expect.objectContaining({ code: 'AUTH.ALREADY_VOTED' }),
    );
  });

  it('resolves on any single deny, with its reason', () => {
    const voted = lifecycle.castVote(aRequest({ approvalsRequired: 2 }), megan, 'approve', T0).request;
    const denied = lifecycle.castVote(voted, adele, 'deny', T0, 'no ticket');
    expect(denied.request).toMatchObject({ status: 'denied', resolution: { reason: 'no ticket' } });
  });

  it('refuses to decide twice: ALREADY_RESOLVED', () => {
    const approved = lifecycle.castVote(aRequest(), megan, 'approve', T0).request;
    expect(() => lifecycle.castVote(approved, adele, 'deny', T0)).toThrow(
      expect.objectContaining({ code: 'REQUEST.ALREADY_RESOLVED' }),
    );
    expect(() => lifecycle.cancel(approved, approved.requester, T0)).toThrow(
      expect.objectContaining({ code: 'REQUEST.ALREADY_RESOLVED' }),
    );
  });

  it('counts expiresAt from the moment the membership was added, not from the approval', () => {
    const approved = lifecycle.castVote(aRequest({ durationMs: 3_600_000 }), megan, 'approve', T0).request;
    const granted = lifecycle.markGranted(approved, T0 + 30_000, false).request;
    expect(granted).toMatchObject({
      status: 'active',
      grantedAt: T0 + 30_000,
      expiresAt: T0 + 30_000 + 3_600_000,
    });
  });

  it('extends an active grant and moves its end; resets the expiry warning', () => {
    const active = {
      ...lifecycle.markGranted(lifecycle.castVote(aRequest(), megan, 'approve', T0).request, T0, false)
        .request,
      warnedAt: T0 + 10,
    };
    const extended = lifecycle.extend(active, active.requester, 1_800_000, T0 + 20).request;
    expect(extended.expiresAt).toBe(active.expiresAt! + 1_800_000);
    expect(extended.warnedAt).toBeUndefined();
    expect(lifecycle.totalLengthWith(extended, 0)).toBe(active.durationMs + 1_800_000);
  });

  it.each(['expire', 'release', 'revoke'] as const)('%s ends an active grant and nothing follows', (how) => {
    const active = lifecycle.markGranted(
      lifecycle.castVote(aRequest(), megan, 'approve', T0).request,
      T0,
      false,
    ).request;
    const ended =
      how === 'expire'
        ? lifecycle.expire(active, T0 + 1)
        : how === 'release'
          ? lifecycle.release(active, active.requester, T0 + 1)
          : lifecycle.revoke(active, megan, T0 + 1, 'done');
    expect(lifecycle.isClosed(ended.request.status)).toBe(true);
    expect(() => lifecycle.expire(ended.request, T0 + 2)).toThrow(
      expect.objectContaining({ code: 'REQUEST.ALREADY_RESOLVED' }),
    );
  });

  it('moves pending to timed_out, and approved to failed with the reason', () => {
    expect(lifecycle.timeOut(aRequest(), T0).request.status).toBe('timed_out');
    const approved = lifecycle.castVote(aRequest(), megan, 'approve', T0).request;
    const failed = lifecycle.markFailed(approved, T0, {
      code: 'DIRECTORY.PERMISSION_MISSING',
      message: 'needs GroupMember.ReadWrite.All',
    });
    expect(failed.request).toMatchObject({
      status: 'failed',
      failure: { code: 'DIRECTORY.PERMISSION_MISSING' },
    });
  });
});

describe('request rules the service relies on', () => {
  const approvedTwice = () =>
    lifecycle.castVote(
      lifecycle.castVote(aRequest({ approvalsRequired: 2 }), megan, 'approve', T0).request,
      adele,
      'approve',
      T0,
    ).request;
  const isaiah = aPerson('isaiah');

  it('a deny needs a reason (REASON.REQUIRED), and the vote is not recorded without one', () => {
    expect(() => lifecycle.castVote(aRequest(), megan, 'deny', T0)).toThrow(
      expect.objectContaining({ code: 'REASON.REQUIRED' }),
    );
    expect(() => lifecycle.castVote(aRequest(), megan, 'deny', T0, '  ')).toThrow(
      expect.objectContaining({ code: 'REASON.REQUIRED' }),
    );
  });

  it('a revoke needs a reason; revoking or releasing what was never granted says what to do instead', () => {
    const granted = lifecycle.markGranted(approvedTwice(), T0, false).request;
    expect(() => lifecycle.revoke(granted, megan, T0)).toThrow(
      expect.objectContaining({ code: 'REASON.REQUIRED' }),
    );
    expect(() => lifecycle.revoke(aRequest(), megan, T0, 'x')).toThrow(
      expect.objectContaining({
        code: 'REQUEST.ILLEGAL_TRANSITION',
        message: expect.stringMatching(/deny it instead/),
      }),
    );
    expect(() => lifecycle.release(aRequest(), aPerson('alex'), T0)).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/cancel it instead/) }),
    );
  });

  it('release and revoke are possible while the membership is still being added (approved)', () => {
    expect(lifecycle.release(approvedTwice(), aPerson('alex'), T0).request).toMatchObject({
      status: 'released',
    });
    const revoked = lifecycle.revoke(approvedTwice(), megan, T0, 'wrong group').request;
    expect(revoked).toMatchObject({ status: 'revoked', resolution: { reason: 'wrong group' } });
    expect(revoked.expiresAt).toBeUndefined();
  });

  it('extension votes follow the request rules: N approvals, one per person, a deny with a reason drops it', () => {
    const grant = lifecycle.markGranted(approvedTwice(), T0, false).request;
    const asked = lifecycle.requestExtension(grant, grant.requester, 1_800_000, T0 + 1).request;
    expect(() => lifecycle.requestExtension(asked, grant.requester, 60_000, T0 + 2)).toThrow(
      expect.objectContaining({ code: 'REQUEST.DUPLICATE' }),
    );
    const one = lifecycle.voteOnExtension(asked, megan, 'approve', T0 + 3);
    expect(one.request.expiresAt).toBe(grant.expiresAt);
    expect(one.events[0]).toMatchObject({
      type: 'voted',
      detail: { extension: true, approvals: 1, required: 2 },
    });
    expect(() => lifecycle.voteOnExtension(one.request, megan, 'approve', T0 + 4)).toThrow(
      expect.objectContaining({ code: 'AUTH.ALREADY_VOTED' }),
    );
    const two = lifecycle.voteOnExtension(one.request, isaiah, 'approve', T0 + 5);
    expect(two.request).toMatchObject({
      expiresAt: grant.expiresAt! + 1_800_000,
      pendingExtension: undefined,
    });
    expect(two.request.extensions[0]!.approvedBy!.map((p) => p.id)).toEqual([megan.id, isaiah.id]);
    expect(two.events[0]).toMatchObject({ type: 'extended', actor: { id: isaiah.id } });

    expect(() => lifecycle.voteOnExtension(asked, megan, 'deny', T0 + 3)).toThrow(
      expect.objectContaining({ code: 'REASON.REQUIRED' }),
    );
    const denied = lifecycle.voteOnExtension(asked, megan, 'deny', T0 + 3, 'enough');
    expect(denied.request.pendingExtension).toBeUndefined();
    expect(denied.events[0]).toMatchObject({ type: 'extension_denied', reason: 'enough' });
  });

  it('an ending drops a pending extension', () => {
    const grant = lifecycle.markGranted(approvedTwice(), T0, false).request;
    const asked = lifecycle.requestExtension(grant, grant.requester, 60_000, T0).request;
    expect(lifecycle.expire(asked, T0 + 1).request.pendingExtension).toBeUndefined();
    expect(lifecycle.release(asked, asked.requester, T0 + 1).request.pendingExtension).toBeUndefined();
  });

  it('tells which requests may hold a membership: an add decided on and not yet taken back', () => {
    const approved = approvedTwice();
    expect(lifecycle.mayHoldMembership(approved)).toBe(false); // not looked at yet: nothing added
    expect(lifecycle.mayHoldMembership({ ...approved, standingMember: false })).toBe(true);
    expect(lifecycle.mayHoldMembership({ ...approved, standingMember: true })).toBe(false);
    expect(lifecycle.mayHoldMembership({ ...approved, standingMember: false, membershipRemovedAt: T0 })).toBe(
      false,
    );
    const refused = lifecycle.markFailed(
      { ...approved, standingMember: false },
      T0,
      { code: 'DIRECTORY.PERMISSION_MISSING', message: 'no' },
      true,
    ).request;
    expect(lifecycle.mayHoldMembership(refused)).toBe(false);
    const unsure = lifecycle.markFailed({ ...approved, standingMember: false }, T0, {
      code: 'DIRECTORY.UNAVAILABLE',
      message: 'down',
    }).request;
    expect(lifecycle.mayHoldMembership(unsure)).toBe(true);
  });

  it('compares object ids without regard to case', () => {
    expect(
      lifecycle.sameId('A1000000-0000-4000-8000-00000000000A', 'a1000000-0000-4000-8000-00000000000a'),
    ).toBe(true);
    const voted = lifecycle.castVote(aRequest({ approvalsRequired: 2 }), megan, 'approve', T0).request;
    expect(() => lifecycle.castVote(voted, { ...megan, id: megan.id.toUpperCase() }, 'approve', T0)).toThrow(
      expect.objectContaining({ code: 'AUTH.ALREADY_VOTED' }),
    );
  });
});

describe('action gates in the lifecycle', () => {
  const action = () =>
    aRequest({
      targetKind: 'action',
      group: { alias: 'deploy-prod', id: '', displayName: 'Deploy to production' },
      durationMs: 15 * 60_000,
    });

  it('an approval (by votes or by rule) is the grant: valid from the decision for durationMs', () => {
    const voted = lifecycle.castVote(action(), megan, 'approve', T0).request;
    expect(voted).toMatchObject({ status: 'approved', grantedAt: T0, expiresAt: T0 + 15 * 60_000 });
    const auto = lifecycle.approveByRule(action(), 'auto_approved', T0, 'rule').request;
    expect(auto).toMatchObject({ status: 'approved', grantedAt: T0, expiresAt: T0 + 15 * 60_000 });
  });

  it('an approved action expires; an approved group (membership still being added) cannot', () => {
    const approved = lifecycle.castVote(action(), megan, 'approve', T0).request;
    expect(lifecycle.expire(approved, T0 + 15 * 60_000).request).toMatchObject({
      status: 'expired',
      resolution: { reason: 'The approval is no longer valid.' },
    });
    const group = lifecycle.castVote(aRequest(), megan, 'approve', T0).request;
    expect(group.expiresAt).toBeUndefined();
    expect(() => lifecycle.expire(group, T0 + 1)).toThrow(/cannot expire yet/);
  });

  it('a chat request stores no workflow fields; an API request records its client and context', () => {
    const chat = lifecycle.createRequest(
      { ...aRequest(), client: undefined, context: undefined, targetKind: undefined },
      T0,
    );
    expect(Object.keys(chat.request)).not.toEqual(expect.arrayContaining(['client']));
    expect('targetKind' in chat.request).toBe(false);
    const api = lifecycle.createRequest(
      {
        ...action(),
        client: { appId: 'app', name: 'github-deploy' },
        context: { repository: 'contoso/shop' },
      },
      T0,
    );
    expect(api.events[0]!.detail).toMatchObject({ target: 'action', client: 'github-deploy', appId: 'app' });
  });
});
