import { findGroupAlias, rulesFor, validatePolicy } from '../../../src/domain/policy';
import { DomainError } from '../../../src/domain/errors';
import { testPolicy } from '../../helpers/harness';

describe('policy', () => {
  it('accepts the documented shape and merges defaults into groups', () => {
    const policy = validatePolicy(testPolicy());
    const dbRead = rulesFor(policy, 'db-read');
    expect(dbRead).toMatchObject({
      maxDurationMs: 4 * 3_600_000,
      approvals: 1,
      requireJustification: true,
      expiryWarningMs: 60_000,
    });
    const admin = rulesFor(policy, 'prod-admin');
    expect(admin).toMatchObject({
      approvals: 2,
      requireTicket: true,
      breakGlass: { maxDurationMs: 1_800_000 },
      autoApprove: { maxDurationMs: 1_800_000 },
    });
  });

  it('names the file, the key path and what is wrong', () => {
    const bad = testPolicy();
    (bad.groups['db-read'] as Record<string, unknown>).maxDuration = '4 hours';
    (bad.groups['sandbox'] as Record<string, unknown>).colour = 'red';
    try {
      validatePolicy(bad, 'timebox.policy.yaml');
      throw new Error('expected a policy error');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      const message = (error as Error).message;
      expect(message).toContain('timebox.policy.yaml is invalid');
      expect(message).toMatch(/groups\.db-read\.maxDuration: "4 hours" is not a duration/);
      expect(message).toMatch(/groups\.sandbox: Unrecognized key.*colour/);
    }
  });

  it('checks references between keys once the shape is right', () => {
    const bad = testPolicy();
    (bad.groups['db-read'] as Record<string, unknown>).approverChannel = 'nowhere';
    expect(() => validatePolicy(bad)).toThrow(
      /groups\.db-read\.approverChannel: "nowhere" is not one of approverChannels \(ops\)/,
    );
  });

  it('refuses a bad ticket pattern and a group with no approvers', () => {
    const bad = testPolicy();
    (bad.groups['prod-admin'] as Record<string, unknown>).ticketPattern = '([';
    (bad.groups['sandbox'] as Record<string, unknown>).approvers = {};
    expect(() => validatePolicy(bad)).toThrow(
      /prod-admin\.ticketPattern: not a valid regular expression[\s\S]*sandbox\.approvers: name at least one/,
    );
  });

  it('finds groups by alias or display name, in any case', () => {
    const policy = validatePolicy(testPolicy());
    expect(findGroupAlias(policy, 'DB-READ')).toBe('db-read');
    expect(findGroupAlias(policy, 'production db (read)')).toBe('db-read');
    expect(findGroupAlias(policy, 'db_read')).toBeUndefined();
  });
});
