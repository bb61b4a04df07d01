import {
  activeFor,
  delegate,
  delegatorsOf,
  givenBy,
  isActive,
  MAX_DELEGATION_MS,
  MIN_DELEGATION_MS,
  receivedBy,
  undelegate,
  type Delegation,
} from '../../../src/domain/delegation';
import { ErrorCodes } from '../../../src/domain/errors';
import type { Person } from '../../../src/domain/request';

const NOW = Date.UTC(2026, 10, 20, 12, 0);
const HOUR = 3_600_000;
const person = (key: string): Person => ({ id: `ID-${key}`, name: key, upn: `${key}@contoso.com` });
const [alex, megan, adele, isaiah] = ['alex', 'megan', 'adele', 'isaiah'].map(person) as [
  Person,
  Person,
  Person,
  Person,
];

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('delegation rules', () => {
  it('delegates until a time: active from now until then, not after', () => {
    const list = delegate([], alex, megan, NOW + 8 * HOUR, NOW, 'D-1');
    expect(list).toEqual([
      { id: 'D-1', from: alex, to: megan, since: NOW, until: NOW + 8 * HOUR, createdAt: NOW },
    ]);
    expect(activeFor(list, NOW)).toHaveLength(1);
    expect(activeFor(list, NOW + 8 * HOUR - 1)).toHaveLength(1);
    expect(activeFor(list, NOW + 8 * HOUR)).toHaveLength(0);
    expect(isActive(list[0]!, NOW - 1)).toBe(false);
  });

  it('never to oneself (ids compared case-insensitively)', () => {
    const error = refusal(() => delegate([], alex, { ...alex, id: alex.id.toLowerCase() }, NOW + HOUR, NOW));
    expect(error.code).toBe(ErrorCodes.COMMAND_INVALID);
    expect(error.message).toMatch(/cannot delegate to yourself/);
  });

  it('lasts at least a minute and at most 30 days', () => {
    expect(refusal(() => delegate([], alex, megan, NOW + MIN_DELEGATION_MS - 1, NOW)).message).toMatch(
      /at least a minute/,
    );
    expect(refusal(() => delegate([], alex, megan, NOW - HOUR, NOW)).message).toMatch(/at least a minute/);
    expect(refusal(() => delegate([], alex, megan, Number.NaN, NOW)).message).toMatch(/at least a minute/);
    expect(delegate([], alex, megan, NOW + MIN_DELEGATION_MS, NOW)).toHaveLength(1);
    expect(delegate([], alex, megan, NOW + MAX_DELEGATION_MS, NOW)).toHaveLength(1);
    expect(MAX_DELEGATION_MS).toBe(30 * 24 * HOUR);
    expect(refusal(() => delegate([], alex, megan, NOW + MAX_DELEGATION_MS + 1, NOW)).message).toMatch(
      /at most 30 days/,
    );
  });

  it('one level: a delegate cannot re-delegate', () => {
    const list = delegate([], alex, megan, NOW + HOUR, NOW);
    const error = refusal(() => delegate(list, megan, adele, NOW + HOUR, NOW));
    expect(error.code).toBe(ErrorCodes.COMMAND_INVALID);
    expect(error.message).toMatch(/You stand in for alex now, and a delegate cannot hand approvals on/);
    // Once the delegation to them has ended, they may.
    expect(delegate(list, megan, adele, NOW + 3 * HOUR, NOW + 2 * HOUR)).toHaveLength(1);
  });

  it('one level: nobody can be made the delegate of someone who has handed their own approvals away', () => {
    const list = delegate([], megan, adele, NOW + HOUR, NOW);
    const error = refusal(() => delegate(list, alex, megan, NOW + HOUR, NOW));
    expect(error.message).toMatch(/megan has handed their own approvals to adele/);
    // No cycle either: adele cannot hand hers back to megan.
    expect(refusal(() => delegate(list, adele, megan, NOW + HOUR, NOW)).message).toMatch(
      /stand in for megan/,
    );
  });

  it('a delegate may stand in for several approvers at once (still one level)', () => {
    let list = delegate([], alex, megan, NOW + HOUR, NOW, 'D-1');
    list = delegate(list, adele, megan, NOW + 2 * HOUR, NOW, 'D-2');
    expect(delegatorsOf(list, megan.id, NOW)).toEqual([alex, adele]);
    expect(delegatorsOf(list, megan.id.toLowerCase(), NOW + HOUR)).toEqual([adele]);
    expect(receivedBy(list, megan.id, NOW).map((d) => d.id)).toEqual(['D-1', 'D-2']);
  });

  it('one active delegation per approver: a new one replaces the old', () => {
    let list = delegate([], alex, megan, NOW + HOUR, NOW, 'D-1');
    list = delegate(list, alex, isaiah, NOW + 2 * HOUR, NOW + 10, 'D-2');
    expect(list.map((d) => d.id)).toEqual(['D-2']);
    expect(givenBy(list, alex.id, NOW + 10)?.to).toEqual(isaiah);
    expect(delegatorsOf(list, megan.id, NOW + 10)).toEqual([]);
  });

  it('drops expired delegations from every list it returns', () => {
    const old: Delegation = {
      id: 'D-0',
      from: isaiah,
      to: adele,
      since: NOW - 2 * HOUR,
      until: NOW,
      createdAt: NOW - 2 * HOUR,
    };
    expect(delegate([old], alex, megan, NOW + HOUR, NOW).map((d) => d.from)).toEqual([alex]);
    expect(undelegate([old], alex, NOW)).toEqual([]);
  });

  it("undelegate ends one's own delegation now and leaves the others", () => {
    let list = delegate([], alex, megan, NOW + HOUR, NOW, 'D-1');
    list = delegate(list, adele, isaiah, NOW + HOUR, NOW, 'D-2');
    const after = undelegate(list, { ...alex, id: alex.id.toLowerCase() }, NOW + 5);
    expect(after.map((d) => d.id)).toEqual(['D-2']);
    expect(givenBy(after, alex.id, NOW + 5)).toBeUndefined();
    expect(undelegate(after, alex, NOW + 5)).toEqual(after);
  });

  it('leaves the list it was given unchanged', () => {
    const list = Object.freeze(delegate([], alex, megan, NOW + HOUR, NOW)) as Delegation[];
    delegate(list, alex, adele, NOW + HOUR, NOW);
    undelegate(list, alex, NOW);
    expect(list).toHaveLength(1);
    expect(list[0]!.to).toEqual(megan);
  });
});
