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
    expect(() => lifecycle.castVote(voted, megan, 'approve', T0)).toThrow(expect.objectContaining({ code: 'AUTH.ALREADY_VOTED' }));
  });

  it('resolves on any single deny, with its reason', () => {
    const voted = lifecycle.castVote(aRequest({ approvalsRequired: 2 }), megan, 'approve', T0).request;
    const denied = lifecycle.castVote(voted, adele, 'deny', T0, 'no ticket');
    expect(denied.request).toMatchObject({ status: 'denied', resolution: { reason: 'no ticket' } });
  });

  it('refuses to decide twice: ALREADY_RESOLVED', () => {
    const approved = lifecycle.castVote(aRequest(), megan, 'approve', T0).request;
    expect(() => lifecycle.castVote(approved, adele, 'deny', T0)).toThrow(expect.objectContaining({ code: 'REQUEST.ALREADY_RESOLVED' }));
    expect(() => lifecycle.cancel(approved, approved.requester, T0)).toThrow(expect.objectContaining({ code: 'REQUEST.ALREADY_RESOLVED' }));
  });

  it('counts expiresAt from the moment the membership was added, not from the approval', () => {
    const approved = lifecycle.castVote(aRequest({ durationMs: 3_600_000 }), megan, 'approve', T0).request;
    const granted = lifecycle.markGranted(approved, T0 + 30_000, false).request;
    expect(granted).toMatchObject({ status: 'active', grantedAt: T0 + 30_000, expiresAt: T0 + 30_000 + 3_600_000 });
  });

  it('extends an active grant and moves its end; resets the expiry warning', () => {
    const active = { ...lifecycle.markGranted(lifecycle.castVote(aRequest(), megan, 'approve', T0).request, T0, false).request, warnedAt: T0 + 10 };
    const extended = lifecycle.extend(active, active.requester, 1_800_000, T0 + 20).request;
    expect(extended.expiresAt).toBe(active.expiresAt! + 1_800_000);
    expect(extended.warnedAt).toBeUndefined();
    expect(lifecycle.totalLengthWith(extended, 0)).toBe(active.durationMs + 1_800_000);
  });

  it.each(['expire', 'release', 'revoke'] as const)('%s ends an active grant and nothing follows', (how) => {
    const active = lifecycle.markGranted(lifecycle.castVote(aRequest(), megan, 'approve', T0).request, T0, false).request;
    const ended = how === 'expire' ? lifecycle.expire(active, T0 + 1) : how === 'release' ? lifecycle.release(active, active.requester, T0 + 1) : lifecycle.revoke(active, megan, T0 + 1, 'done');
    expect(lifecycle.isClosed(ended.request.status)).toBe(true);
    expect(() => lifecycle.expire(ended.request, T0 + 2)).toThrow(expect.objectContaining({ code: 'REQUEST.ALREADY_RESOLVED' }));
  });

  it('moves pending to timed_out, and approved to failed with the reason', () => {
    expect(lifecycle.timeOut(aRequest(), T0).request.status).toBe('timed_out');
    const approved = lifecycle.castVote(aRequest(), megan, 'approve', T0).request;
    const failed = lifecycle.markFailed(approved, T0, { code: 'DIRECTORY.PERMISSION_MISSING', message: 'needs GroupMember.ReadWrite.All' });
    expect(failed.request).toMatchObject({ status: 'failed', failure: { code: 'DIRECTORY.PERMISSION_MISSING' } });
  });
});
