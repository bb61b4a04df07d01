import { auditIfRefused, isAuditedRefusal } from '../../../src/app/refusals';
import { DomainError, ErrorCodes, type ErrorCode } from '../../../src/domain/errors';
import { CardVerb } from '../../../src/cards/verbs';

const refusal = (code: ErrorCode) => new DomainError(code, 'no');
/** Chat commands (adapters/teams/command-parser.ts) and what a message that is no command is audited as. */
const CHAT = ['request', 'extend', 'release', 'cancel', 'status', 'pending', 'help', 'message'];
const CARD = Object.values(CardVerb);
const CHANGING = ['approve', 'deny', 'cancel', 'extend', 'release', 'revoke', 'acknowledge', 'claim'];

describe('isAuditedRefusal: one rule for chat and cards', () => {
  it.each([
    ErrorCodes.NOT_APPROVER,
    ErrorCodes.NOT_REQUESTER,
    ErrorCodes.NOT_ADMIN,
    ErrorCodes.SELF_APPROVAL,
    ErrorCodes.ALREADY_VOTED,
    ErrorCodes.NOT_ELIGIBLE,
    ErrorCodes.WRONG_TENANT,
    ErrorCodes.UNAUTHENTICATED,
    ErrorCodes.REQUEST_RATE_LIMITED,
  ])('%s is audited from every card verb and every chat command', (code) => {
    for (const action of [...CARD, ...CHAT])
      expect([action, isAuditedRefusal(action, refusal(code))]).toEqual([action, true]);
  });

  it('ALREADY_VOTED from chat is audited as it is from a card (the lists used to differ)', () => {
    expect(isAuditedRefusal('message', refusal(ErrorCodes.ALREADY_VOTED))).toBe(true);
    expect(isAuditedRefusal(CardVerb.APPROVE, refusal(ErrorCodes.ALREADY_VOTED))).toBe(true);
  });

  it('any refusal of an action that changes a request is audited; one of a read or a form is not', () => {
    const stale = refusal(ErrorCodes.DECISION_STALE);
    for (const action of CHANGING) expect([action, isAuditedRefusal(action, stale)]).toEqual([action, true]);
    for (const action of [...CARD, ...CHAT].filter((a) => !CHANGING.includes(a))) {
      expect([action, isAuditedRefusal(action, refusal(ErrorCodes.DURATION_TOO_LONG))]).toEqual([
        action,
        false,
      ]);
    }
    // Every card verb that changes a request is in the rule under the name chat gives it too.
    expect(CARD.filter((v) => CHANGING.includes(v)).sort()).toEqual([...CHANGING].sort());
  });

  it('a dependency failing under a change, and anything that is not a DomainError, is not a refusal', () => {
    for (const code of [
      ErrorCodes.DIRECTORY_UNAVAILABLE,
      ErrorCodes.STORE_WRITE_FAILED,
      ErrorCodes.CONNECTOR_FAILED,
    ]) {
      expect(isAuditedRefusal(CardVerb.APPROVE, refusal(code))).toBe(false);
      expect(isAuditedRefusal('cancel', refusal(code))).toBe(false);
    }
    expect(isAuditedRefusal(CardVerb.APPROVE, new Error('boom'))).toBe(false);
  });
});

describe('auditIfRefused', () => {
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn(), debug: jest.fn() };
  beforeEach(() => jest.clearAllMocks());

  it('writes a refusal with who and what, and nothing for a failure that is not one', async () => {
    const auditRefusal = jest.fn().mockResolvedValue(undefined);
    const actor = { id: 'u1', name: 'Alex' };
    const error = refusal(ErrorCodes.NOT_APPROVER);
    await auditIfRefused({ auditRefusal }, logger, {
      action: 'approve',
      error,
      requestId: 'R-ABCDEF',
      actor,
    });
    expect(auditRefusal).toHaveBeenCalledWith('R-ABCDEF', actor, 'approve', error, undefined);
    await auditIfRefused({ auditRefusal }, logger, {
      action: 'status',
      error: refusal(ErrorCodes.STORE_WRITE_FAILED),
    });
    expect(auditRefusal).toHaveBeenCalledTimes(1);
  });

  it('a store that cannot take the record is logged, not thrown: the person still gets an answer', async () => {
    const auditRefusal = jest.fn().mockRejectedValue(new Error('disk full'));
    await expect(
      auditIfRefused({ auditRefusal }, logger, {
        action: 'message',
        error: refusal(ErrorCodes.WRONG_TENANT),
      }),
    ).resolves.toBeUndefined();
    expect(logger.error).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      'could not audit a refusal',
    );
  });
});
