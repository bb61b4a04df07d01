import { DomainError } from '../../../src/domain/errors';
import { newRequestId, normalizeId, REQUEST_ID_ALPHABET } from '../../../src/domain/ids';
import { rulesFor, validatePolicy } from '../../../src/domain/policy';
import {
  breakGlassIsAllowed,
  checkSubmit,
  durationIsPositive,
  durationWithinMax,
  justificationGiven,
  justificationShortEnough,
  MAX_JUSTIFICATION,
  SUBMIT_CHECKS,
  submitAsk,
  ticketGiven,
  ticketMatchesPattern,
  type SubmitAsk,
} from '../../../src/domain/submit-rules';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const channel = { teamId: '19:team@thread.tacv2', channelId: '19:ops@thread.tacv2' };
const policy = validatePolicy({
  approverChannels: { ops: channel },
  defaults: { defaultDuration: '1h', maxDuration: '8h' },
  groups: {
    'db-read': {
      groupId: '00000000-0000-4000-8000-000000000001',
      displayName: 'DB read',
      approverChannel: 'ops',
      approvers: { users: ['a@example.com'] },
      maxDuration: '4h',
    },
    billing: {
      groupId: '00000000-0000-4000-8000-000000000002',
      displayName: 'Billing',
      approverChannel: 'ops',
      approvers: { users: ['a@example.com'] },
      requireJustification: false,
    },
    'prod-admin': {
      groupId: '00000000-0000-4000-8000-000000000003',
      displayName: 'Prod admin',
      approverChannel: 'ops',
      approvers: { users: ['a@example.com'] },
      requireTicket: true,
      ticketPattern: '^INC-[0-9]+$',
      breakGlass: { maxDuration: '30m' },
    },
  },
});
const dbRead = rulesFor(policy, 'db-read');
const billing = rulesFor(policy, 'billing');
const prodAdmin = rulesFor(policy, 'prod-admin');

const ask = (fields: Partial<SubmitAsk> = {}): SubmitAsk => ({
  durationMs: HOUR,
  breakGlass: false,
  justification: 'on call',
  ...fields,
});

/** The refusal `run` throws (its code and message), or undefined when it passes. */
function refusalOf(run: () => unknown): { code: string; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { code: error.code, message: error.message };
  }
}

describe('submit rules (domain/submit-rules.ts): one check per rule, each refusal saying what to do', () => {
  it('a duration must be longer than zero (and a number)', () => {
    expect(refusalOf(() => durationIsPositive(dbRead, ask({ durationMs: 0 })))).toEqual({
      code: 'DURATION.INVALID',
      message: 'A duration must be longer than zero. Ask for something like 30m or 1h.',
    });
    expect(refusalOf(() => durationIsPositive(dbRead, ask({ durationMs: Number.NaN }))))?.toMatchObject({
      code: 'DURATION.INVALID',
    });
    expect(refusalOf(() => durationIsPositive(dbRead, ask({ durationMs: 1 })))).toBeUndefined();
  });

  it('break-glass only where the group allows it', () => {
    expect(refusalOf(() => breakGlassIsAllowed(dbRead, ask({ breakGlass: true })))).toEqual({
      code: 'BREAK_GLASS.NOT_ALLOWED',
      message: 'Break-glass is not allowed for db-read; file a normal request instead.',
    });
    expect(refusalOf(() => breakGlassIsAllowed(prodAdmin, ask({ breakGlass: true })))).toBeUndefined();
    expect(refusalOf(() => breakGlassIsAllowed(dbRead, ask()))).toBeUndefined();
  });

  it('at most the group’s maximum, or its break-glass cap', () => {
    expect(refusalOf(() => durationWithinMax(dbRead, ask({ durationMs: 5 * HOUR })))).toEqual({
      code: 'DURATION.TOO_LONG',
      message: '5h is longer than db-read allows (4h). Ask for 4h or less.',
    });
    expect(refusalOf(() => durationWithinMax(dbRead, ask({ durationMs: 4 * HOUR })))).toBeUndefined();
    expect(
      refusalOf(() => durationWithinMax(prodAdmin, ask({ durationMs: HOUR, breakGlass: true }))),
    ).toEqual({
      code: 'DURATION.TOO_LONG',
      message: '1h is longer than prod-admin allows (30m for break-glass). Ask for 30m or less.',
    });
    expect(
      refusalOf(() => durationWithinMax(prodAdmin, ask({ durationMs: 30 * MINUTE, breakGlass: true }))),
    ).toBeUndefined();
  });

  it('a justification where the group requires one; one that only looks filled in is missing', () => {
    const required = {
      code: 'JUSTIFICATION.REQUIRED',
      message: 'db-read needs a reason. Add one: request db-read for 2h because <why you need it>.',
    };
    expect(
      refusalOf(() => justificationGiven(dbRead, ask({ durationMs: 2 * HOUR, justification: '' }))),
    ).toEqual(required);
    expect(
      refusalOf(() =>
        justificationGiven(dbRead, ask({ durationMs: 2 * HOUR, justification: '\u200B\u3164 …' })),
      ),
    ).toEqual(required);
    expect(refusalOf(() => justificationGiven(billing, ask({ justification: '' })))).toBeUndefined();
  });

  it(`a justification of at most ${MAX_JUSTIFICATION} characters, whatever the group`, () => {
    expect(
      refusalOf(() =>
        justificationShortEnough(billing, ask({ justification: 'x'.repeat(MAX_JUSTIFICATION + 1) })),
      ),
    ).toEqual({
      code: 'JUSTIFICATION.TOO_LONG',
      message: `The reason is ${MAX_JUSTIFICATION + 1} characters long; keep it under ${MAX_JUSTIFICATION}.`,
    });
    expect(
      refusalOf(() =>
        justificationShortEnough(billing, ask({ justification: 'x'.repeat(MAX_JUSTIFICATION) })),
      ),
    ).toBeUndefined();
  });

  it('a ticket where the group requires one, matching its pattern (the typed ticket clipped in the message)', () => {
    expect(refusalOf(() => ticketGiven(prodAdmin, ask()))).toEqual({
      code: 'TICKET.REQUIRED',
      message: 'prod-admin needs a ticket, like INC-12345: add "ticket INC-12345".',
    });
    expect(refusalOf(() => ticketGiven(dbRead, ask()))).toBeUndefined();
    expect(
      refusalOf(() => ticketMatchesPattern(prodAdmin, ask({ ticket: `CHG-${'9'.repeat(60)}` }))),
    ).toEqual({
      code: 'TICKET.INVALID',
      message: `"CHG-${'9'.repeat(35)}…" is not a valid ticket for prod-admin: use one like INC-12345.`,
    });
    expect(refusalOf(() => ticketMatchesPattern(prodAdmin, ask({ ticket: 'INC-42' })))).toBeUndefined();
    // A ticket on a group without a pattern is kept as typed.
    expect(refusalOf(() => ticketMatchesPattern(dbRead, ask({ ticket: 'anything' })))).toBeUndefined();
  });

  it("ticket refusals show the policy's ticketExample, or a plain sentence, never the regex", () => {
    const named = { ...prodAdmin, ticketExample: 'INC-4711' };
    expect(refusalOf(() => ticketGiven(named, ask()))?.message).toBe(
      'prod-admin needs a ticket, like INC-4711: add "ticket INC-4711".',
    );
    expect(refusalOf(() => ticketMatchesPattern(named, ask({ ticket: 'CHG-1' })))?.message).toBe(
      '"CHG-1" is not a valid ticket for prod-admin: use one like INC-4711.',
    );
    // A pattern no example can safely be derived from: no regex in the answer.
    const opaque = { ...prodAdmin, ticketPattern: '^(?!TEST)[A-Z]{2,5}-\\d+$' };
    const required = refusalOf(() => ticketGiven(opaque, ask()))?.message;
    expect(required).toBe(
      'prod-admin needs a ticket in the form its policy sets: add "ticket <your ticket id>" (an admin can tell you the form).',
    );
    const invalid = refusalOf(() => ticketMatchesPattern(opaque, ask({ ticket: 'TEST-1' })))?.message;
    expect(invalid).toBe(
      '"TEST-1" is not a valid ticket for prod-admin: it is not in the form its policy sets (an admin can tell you the form).',
    );
    for (const text of [required, invalid]) expect(text).not.toContain('(?!');
    // No pattern at all: any ticket will do.
    expect(refusalOf(() => ticketGiven({ ...prodAdmin, ticketPattern: undefined }, ask()))?.message).toBe(
      'prod-admin needs a ticket: add "ticket INC-123".',
    );
  });

  it('submitAsk fills in the default duration, trims the text, and treats a blank ticket as none', () => {
    expect(submitAsk(dbRead, { justification: '  why  ', ticket: '   ' })).toEqual({
      durationMs: HOUR,
      breakGlass: false,
      justification: 'why',
    });
    expect(submitAsk(prodAdmin, { durationMs: MINUTE, breakGlass: true, ticket: ' INC-1 ' })).toEqual({
      durationMs: MINUTE,
      breakGlass: true,
      justification: '',
      ticket: 'INC-1',
    });
  });

  it('checkSubmit runs every check in order and returns the ask it judged: the first failing rule is the one a person hears about', () => {
    expect(SUBMIT_CHECKS).toHaveLength(7);
    expect(
      checkSubmit(prodAdmin, { durationMs: 10 * MINUTE, justification: ' db down ', ticket: 'INC-7' }),
    ).toEqual({ durationMs: 10 * MINUTE, breakGlass: false, justification: 'db down', ticket: 'INC-7' });
    // Too long, no reason and no ticket: the duration is named first.
    expect(refusalOf(() => checkSubmit(prodAdmin, { durationMs: 9 * HOUR })))?.toMatchObject({
      code: 'DURATION.TOO_LONG',
    });
    // Break-glass where none is allowed comes before its (zero) cap.
    expect(
      refusalOf(() => checkSubmit(dbRead, { durationMs: HOUR, breakGlass: true, justification: 'x' })),
    )?.toMatchObject({ code: 'BREAK_GLASS.NOT_ALLOWED' });
    // The reason before the ticket.
    expect(refusalOf(() => checkSubmit(prodAdmin, { durationMs: HOUR })))?.toMatchObject({
      code: 'JUSTIFICATION.REQUIRED',
    });
    expect(refusalOf(() => checkSubmit(prodAdmin, { durationMs: HOUR, justification: 'x' })))?.toMatchObject({
      code: 'TICKET.REQUIRED',
    });
  });
});

describe('request ids (domain/ids.ts)', () => {
  it('a new id is "R-" and six characters of the alphabet, drawn with the given source', () => {
    let n = 0;
    expect(newRequestId(() => n++)).toBe('R-ABCDEF');
    expect(newRequestId(() => REQUEST_ID_ALPHABET.length - 1)).toBe('R-999999');
    expect(REQUEST_ID_ALPHABET).not.toMatch(/[01IO]/);
  });

  it('ids as people type them: any case, with or without the "R-", blanks around', () => {
    expect(normalizeId(' r-abc123 ')).toBe('R-ABC123');
    expect(normalizeId('abc123')).toBe('R-ABC123');
    expect(normalizeId('R-ABC123')).toBe('R-ABC123');
  });
});
