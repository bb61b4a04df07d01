import { normalizeText, parseCommand, splitTicket } from '../../../src/adapters/teams/command-parser';

describe('command parser', () => {
  it.each([
    [
      'request db-read for 2h because INC-1 disk',
      {
        name: 'request',
        group: 'db-read',
        durationMs: 7_200_000,
        rest: ['INC-1', 'disk'],
        breakGlass: false,
      },
    ],
    [
      'REQUEST db-read 30m checking',
      { name: 'request', group: 'db-read', durationMs: 1_800_000, rest: ['checking'] },
    ],
    [
      'request Production DB (read) for 1h30m because x',
      { name: 'request', group: 'Production DB (read)', durationMs: 5_400_000, rest: ['x'] },
    ],
    ['request', { name: 'request', rest: [] }],
    ['request db-read', { name: 'request', group: 'db-read', rest: [] }],
    [
      'break-glass prod-admin 30m because site down',
      { name: 'request', group: 'prod-admin', breakGlass: true, durationMs: 1_800_000 },
    ],
    [
      'extend db-read by 1h because still digging',
      { name: 'extend', group: 'db-read', durationMs: 3_600_000, reason: 'still digging' },
    ],
    ['extend db-read 15m', { name: 'extend', group: 'db-read', durationMs: 900_000 }],
    ['release db-read', { name: 'release', group: 'db-read' }],
    ['cancel r-abc123', { name: 'cancel', requestId: 'r-abc123' }],
    ['status', { name: 'status' }],
    ['My Access', { name: 'status' }],
    ['pending', { name: 'pending' }],
    ['help', { name: 'help' }],
    ['', { name: 'help' }],
  ])('parses %j', (text, expected) => {
    expect(parseCommand(text)).toMatchObject(expected);
  });

  it.each([
    ['delete everything', /don't know "delete"/],
    ['cancel', /Which request\? Use: cancel <request id>/],
    ['extend db-read', /How long\? Use: extend/],
    ['release', /Which group\? Use: release/],
    ['request db-read for ever because x', /"ever" is not a duration/],
    ['request for 2h because x', /Which group\?/],
  ])('explains what is wrong with %j and shows the right form', (text, message) => {
    expect(() => parseCommand(text)).toThrow(message);
  });

  it.each([
    ['request db-read at 02:00 for 1h because patch night', 'db-read', '02:00', 3_600_000],
    ['request db-read at tomorrow 02:00 for 1h because x', 'db-read', 'tomorrow 02:00', 3_600_000],
    [
      'request Production DB (read) at Fri 18:00 2h because x',
      'Production DB (read)',
      'Fri 18:00',
      7_200_000,
    ],
    ['request db-read at 2026-12-04T02:00Z because x', 'db-read', '2026-12-04T02:00Z', undefined],
    ['request db-read at 2026-12-04 02:00 for 30m because x', 'db-read', '2026-12-04 02:00', 1_800_000],
  ])('reads a scheduled start: %s', (text, group, startText, durationMs) => {
    const command = parseCommand(text);
    expect(command).toMatchObject({ name: 'request', group, startText });
    expect(command.name === 'request' && command.durationMs).toBe(durationMs ?? undefined);
  });

  it('an "at" that is not followed by a time stays part of the group name', () => {
    const command = parseCommand('request Access at night for 1h because x');
    expect(command).toMatchObject({ group: 'Access at night' });
    expect(command.name === 'request' && command.startText).toBeUndefined();
  });

  it('refuses overlong commands', () => {
    expect(() => parseCommand(`request db-read 1h ${'x'.repeat(3000)}`)).toThrow(/commands stay under 2000/);
  });

  it('strips mentions, tags, entities, control and bidi characters', () => {
    expect(normalizeText('<at>Timebox</at>&nbsp;request\u202e db-read <b>1h</b>\u0007 x')).toBe(
      'request db-read 1h x',
    );
  });

  it('takes the ticket from a matching word or from "ticket X"', () => {
    expect(splitTicket(['INC-42', 'rotate', 'keys'], '^INC-[0-9]+$')).toEqual({
      justification: 'INC-42 rotate keys',
      ticket: 'INC-42',
    });
    expect(splitTicket(['rotate', 'keys', 'ticket', 'CHG-9'])).toEqual({
      justification: 'rotate keys',
      ticket: 'CHG-9',
    });
    expect(splitTicket(['rotate', 'keys'], '^INC-[0-9]+$')).toEqual({
      justification: 'rotate keys',
      ticket: undefined,
    });
  });
});

describe('command parser: delegate', () => {
  it.each([
    [
      'delegate to meganb@example.com until tomorrow 09:00',
      { name: 'delegate', to: 'meganb@example.com', untilText: 'tomorrow 09:00' },
    ],
    [
      'Delegate TO Megan Bowen UNTIL Fri 18:00',
      { name: 'delegate', to: 'Megan Bowen', untilText: 'Fri 18:00' },
    ],
    [
      'delegate meganb@example.com until 18:00',
      { name: 'delegate', to: 'meganb@example.com', untilText: '18:00' },
    ],
    [
      'delegate to Anna Until-Later until 2026-12-04T09:00Z',
      { name: 'delegate', to: 'Anna Until-Later', untilText: '2026-12-04T09:00Z' },
    ],
    ['delegate off', { name: 'undelegate' }],
    ['DELEGATE OFF', { name: 'undelegate' }],
  ])('parses %j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it('a person given only as an @mention is left to the mention (no "to" in the command)', () => {
    expect(parseCommand('delegate to <at>Megan Bowen</at> until tomorrow 09:00')).toEqual({
      name: 'delegate',
      untilText: 'tomorrow 09:00',
    });
  });

  it.each([
    ['delegate', /To whom, and until when\? Use: delegate to <UPN, name or @mention> until <time>/],
    ['delegate to meganb@example.com', /Until when\? Use: delegate to/],
    ['delegate to meganb@example.com until', /Until when\?/],
    ['delegate to until 18:00', /To whom\? Use: delegate/],
    ['delegate until 18:00', /To whom\?/],
  ])('explains what is wrong with %j and shows the right form', (text, message) => {
    expect(() => parseCommand(text)).toThrow(message);
  });
});

describe('command parser: report', () => {
  it.each([
    ['report', { name: 'report' }],
    ['Report db-read', { name: 'report', group: 'db-read' }],
    ['report since 7d', { name: 'report', since: '7d' }],
    ['report db-read since 2026-11-01', { name: 'report', group: 'db-read', since: '2026-11-01' }],
    [
      'report Production DB (read) since 12h',
      { name: 'report', group: 'Production DB (read)', since: '12h' },
    ],
    ['report db-read 7d', { name: 'report', group: 'db-read', since: '7d' }],
  ])('parses %j', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it.each(['report since', 'report since 7d db-read'])('%j: says the form', (text) => {
    expect(() => parseCommand(text)).toThrow(
      /Since when\? Use: report \[group\] \[since <duration or date>\]/,
    );
  });
});
