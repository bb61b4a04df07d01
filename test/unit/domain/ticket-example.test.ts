import { deriveTicketExample, ticketExampleFor } from '../../../src/domain/ticket-example';
import { rulesFor, validatePolicy } from '../../../src/domain/policy';
import { DomainError } from '../../../src/domain/errors';
import { testPolicy } from '../../helpers/harness';

describe('ticket examples (shown instead of a regex)', () => {
  it.each([
    ['^INC-[0-9]+$', 'INC-12345'],
    ['^INC-\\d+$', 'INC-12345'],
    ['^CHG[0-9]{7}$', 'CHG1234567'],
    ['^[A-Z]{2,4}-[0-9]{1,6}$', 'ABC-12345'],
    ['^(INC|CHG)-\\d{4}$', 'INC-1234'],
    ['^(?:SR|INC)#[0-9]+$', 'SR#12345'],
    ['INC-[0-9]+', 'INC-12345'],
    ['^ops/[a-z]+-\\d+$', 'ops/abc-12345'],
  ])('derives %s → %s', (pattern, example) => {
    expect(deriveTicketExample(pattern)).toBe(example);
    expect(new RegExp(pattern).test(example)).toBe(true);
  });

  it.each([
    '^(?!TEST)[A-Z]+-\\d+$', // a look-ahead: no simple example is sure to match
    '^INC-[0-9]+|^CHG-[0-9]+$', // top-level alternation
    '^[^x]+$', // a negated class
    '^.+$', // any character
    '^INC-\\w+$',
    '^<script>[0-9]+$', // markup is never part of an example
    '^A{50}$', // too long to be a ticket id
    `^${'A'.repeat(250)}$`,
  ])('derives nothing from %s', (pattern) => {
    expect(deriveTicketExample(pattern)).toBeUndefined();
  });

  it("prefers the policy's ticketExample, per group over defaults", () => {
    const input = testPolicy();
    input.defaults = { ...input.defaults, ticketPattern: '^INC-[0-9]+$', ticketExample: 'INC-4711' };
    (input.groups['db-read'] as Record<string, unknown>).ticketExample = 'INC-1';
    const policy = validatePolicy(input);
    expect(rulesFor(policy, 'db-read').ticketExample).toBe('INC-1');
    expect(rulesFor(policy, 'sandbox').ticketExample).toBe('INC-4711');
    expect(ticketExampleFor(rulesFor(policy, 'sandbox'))).toBe('INC-4711');
    expect(ticketExampleFor({ ticketPattern: '^INC-[0-9]+$' })).toBe('INC-12345');
    expect(ticketExampleFor({})).toBeUndefined();
  });

  const problemsOf = (change: (groups: Record<string, Record<string, unknown>>) => void): string => {
    const input = testPolicy();
    change(input.groups as Record<string, Record<string, unknown>>);
    try {
      validatePolicy(input, 'p.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      return (error as Error).message;
    }
    return '';
  };

  it('refuses an example its pattern does not accept, and one that is not a plain ticket id', () => {
    expect(problemsOf((g) => (g['prod-admin']!.ticketExample = 'CHG-1'))).toContain(
      'groups.prod-admin.ticketExample: "CHG-1" does not match the ticketPattern ^INC-[0-9]+$',
    );
    expect(problemsOf((g) => (g['prod-admin']!.ticketExample = 'INC-1 <at>x</at>'))).toMatch(
      /groups\.prod-admin\.ticketExample: a ticket id like INC-12345/,
    );
    expect(problemsOf((g) => (g['prod-admin']!.ticketExample = `INC-${'1'.repeat(60)}`))).toMatch(
      /groups\.prod-admin\.ticketExample: at most 40 characters/,
    );
    expect(problemsOf((g) => (g['prod-admin']!.ticketExample = 'INC-4711'))).toBe('');
  });
});
