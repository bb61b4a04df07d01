import { validatePolicy } from '../../../src/domain/policy';
import { distance, suggestGroup, suggestWord } from '../../../src/adapters/teams/did-you-mean';
import { COMMAND_NAMES, commandList, parseCommand } from '../../../src/adapters/teams/command-parser';
import { testPolicy } from '../../helpers/harness';

const policy = validatePolicy(testPolicy());

describe('did you mean', () => {
  it.each([
    ['db-raed', 'db-read'],
    ['dbread', 'db-read'],
    ['db read', 'db-read'],
    ['prod admin', 'prod-admin'],
    ['prod-admn', 'prod-admin'],
    ['Production DB', 'db-read'],
    ['sandbx', 'sandbox'],
  ])('suggests %s → %s', (typed, alias) => {
    expect(suggestGroup(policy, typed)).toBe(alias);
  });

  it.each(['payroll', 'x', '', 'a'.repeat(200), 'db-write-all-the-things'])(
    'suggests nothing for %s',
    (typed) => {
      expect(suggestGroup(policy, typed)).toBeUndefined();
    },
  );

  it('counts a swap of neighbours as one edit', () => {
    expect(distance('raed', 'read')).toBe(1);
    expect(distance('kitten', 'sitting')).toBe(3);
  });
});

describe('did you mean, for commands', () => {
  it.each([
    ['requets', 'request'],
    ['reqest', 'request'],
    ['relase', 'release'],
    ['stauts', 'status'],
    ['hlep', 'help'],
    ['pendng', 'pending'],
    ['extned', 'extend'],
    ['breakglas', 'break-glass'],
    ['cancle', 'cancel'],
  ])('%s → did you mean %s, with every command listed', (typed, word) => {
    expect(suggestWord(typed, COMMAND_NAMES)).toBe(word);
    expect(() => parseCommand(`${typed} db-read 1h because x`)).toThrow(
      `I don't know "${typed}". Did you mean ${word}? Try: request, break-glass, extend, release, cancel, status, my access, pending, delegate, report or help.`,
    );
  });

  // NB: "delete" is two edits from "delegate", so it is suggested now.
  it.each(['remove', 'fly', 'grant', 'xx', 'revokeall'])('suggests nothing for %s', (typed) => {
    expect(suggestWord(typed, COMMAND_NAMES)).toBeUndefined();
    expect(() => parseCommand(typed)).toThrow(/^I don't know "[^"]+"\. Try: request, break-glass,/);
  });

  it('the list of commands is the parser table: every listed command parses', () => {
    const listed = commandList().replace(' or ', ', ').split(', ');
    expect(listed).toEqual([...COMMAND_NAMES.slice(0, 6), 'my access', ...COMMAND_NAMES.slice(6)]);
    for (const name of listed) {
      const sample =
        {
          release: 'release x',
          cancel: 'cancel R-1',
          extend: 'extend x 1h',
          delegate: 'delegate off',
        }[name] ?? name;
      expect(() => parseCommand(sample)).not.toThrow();
    }
  });

  it('the suggestion is carried in the error details; the echoed word is clipped', () => {
    try {
      parseCommand(`requets${'x'.repeat(50)}`);
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as Error).message).toMatch(/^I don't know "requetsx+…"\. Try:/);
    }
    try {
      parseCommand('requets');
    } catch (error) {
      expect((error as { details: unknown }).details).toMatchObject({
        text: 'requets',
        suggestion: 'request',
      });
    }
  });
});
