import { dueActions, dueAtOf, timedActions } from '../../../src/domain/timing';
import { Status } from '../../../src/domain/request';
import { aRequest } from '../../helpers/domain-builders';

const MINUTE = 60_000;
const rules = { pendingTimeoutMs: 60 * MINUTE, remindAfterMs: 15 * MINUTE, expiryWarningMs: 10 * MINUTE };
const T = Date.UTC(2026, 10, 21, 11, 0, 0);

describe("timed actions of a request (the scheduler's due times)", () => {
  it('a pending request is reminded at remindAfter and times out at pendingTimeout', () => {
    const request = aRequest({ createdAt: T });
    expect(timedActions(request, rules)).toEqual([
      { at: T + 15 * MINUTE, action: 'remind' },
      { at: T + 60 * MINUTE, action: 'timeOut' },
    ]);
    expect(dueAtOf(request, rules)).toBe(T + 15 * MINUTE);
  });

  it('once reminded, only the timeout is ahead; a reminder not before the timeout is never planned', () => {
    expect(dueAtOf(aRequest({ createdAt: T, remindedAt: T + 15 * MINUTE }), rules)).toBe(T + 60 * MINUTE);
    expect(timedActions(aRequest({ createdAt: T }), { ...rules, remindAfterMs: 60 * MINUTE })).toEqual([
      { at: T + 60 * MINUTE, action: 'timeOut' },
    ]);
  });

  it('an active grant is warned expiryWarning before its end, then expires', () => {
    const active = aRequest({ status: Status.ACTIVE, grantedAt: T, expiresAt: T + 60 * MINUTE });
    expect(timedActions(active, rules)).toEqual([
      { at: T + 50 * MINUTE, action: 'warn' },
      { at: T + 60 * MINUTE, action: 'expire' },
    ]);
    expect(dueAtOf({ ...active, warnedAt: T + 50 * MINUTE }, rules)).toBe(T + 60 * MINUTE);
    // A grant shorter than the warning is not warned (the warning would come before it started).
    expect(dueAtOf(aRequest({ status: Status.ACTIVE, grantedAt: T, expiresAt: T + 5 * MINUTE }), rules)).toBe(
      T + 5 * MINUTE,
    );
  });

  it('approved (the add under way) and closed requests have nothing timed', () => {
    for (const status of [Status.APPROVED, Status.EXPIRED, Status.DENIED, Status.REVOKED]) {
      expect(
        dueAtOf(aRequest({ status, createdAt: T, grantedAt: T, expiresAt: T + MINUTE }), rules),
      ).toBeNull();
    }
  });

  it('what is due at a moment, most important first: an expiry before a warning that fell due with it', () => {
    const active = aRequest({ status: Status.ACTIVE, grantedAt: T, expiresAt: T + 60 * MINUTE });
    expect(dueActions(active, rules, T + 49 * MINUTE)).toEqual([]);
    expect(dueActions(active, rules, T + 50 * MINUTE)).toEqual(['warn']);
    expect(dueActions(active, rules, T + 2 * 60 * MINUTE)).toEqual(['expire', 'warn']);
    expect(dueActions(aRequest({ createdAt: T }), rules, T + 2 * 60 * MINUTE)).toEqual(['timeOut', 'remind']);
  });
});

describe('timed actions of an action gate', () => {
  it('an approved action expires at the end of its validity, with no warning before', () => {
    const approved = aRequest({
      targetKind: 'action',
      status: Status.APPROVED,
      grantedAt: T,
      expiresAt: T + 15 * MINUTE,
    });
    expect(timedActions(approved, rules)).toEqual([{ at: T + 15 * MINUTE, action: 'expire' }]);
    // An approved group waits for its membership: nothing is timed until it is active.
    expect(timedActions({ ...approved, targetKind: undefined }, rules)).toEqual([]);
  });
});
