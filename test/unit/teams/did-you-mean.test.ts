import { validatePolicy } from '../../../src/domain/policy';
import { distance, suggestGroup } from '../../../src/adapters/teams/did-you-mean';
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
