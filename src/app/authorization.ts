import { namesUser, type GroupRules, type Policy, type Principals } from '../domain/policy';
import type { Person } from '../domain/request';
import type { Directory } from '../ports/directory';

/**
 * Decides who someone is for a group, from policy and the directory — never from anything a
 * card or a message claims.
 */
export class Authorizer {
  constructor(
    private readonly policy: Policy,
    private readonly directory: Directory,
  ) {}

  /** Named directly (object id or UPN) or a transitive member of one of the listed groups. */
  async matches(principals: Principals | undefined, person: Person): Promise<boolean> {
    if (!principals) return false;
    if (namesUser(principals, person)) return true;
    if (principals.groups.length === 0) return false;
    const found = await this.directory.memberGroups(person.id, principals.groups);
    return found.length > 0;
  }

  isApprover(rules: GroupRules, person: Person): Promise<boolean> {
    return this.matches(rules.approvers, person);
  }

  isAdmin(person: Person): Promise<boolean> {
    return this.matches(this.policy.admins, person);
  }

  /** Absent `eligible` means anyone in the tenant may ask. */
  async isEligible(rules: GroupRules, person: Person): Promise<boolean> {
    if (!rules.eligible) return true;
    return this.matches(rules.eligible, person);
  }

  async qualifiesForAutoApprove(rules: GroupRules, person: Person, durationMs: number): Promise<boolean> {
    if (!rules.autoApprove || durationMs > rules.autoApprove.maxDurationMs) return false;
    return this.matches({ users: [], groups: rules.autoApprove.requesterInGroups }, person);
  }
}
