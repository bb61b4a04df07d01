import { actionRulesFor } from '../domain/action-rules';
import { delegatorsOf, type Delegation } from '../domain/delegation';
import {
  namesUser,
  rulesFor,
  type ApprovalRules,
  type GroupRules,
  type Policy,
  type Principals,
} from '../domain/policy';
import { sameId, type AccessRequest, type Person } from '../domain/request';
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

  /**
   * The groups and actions `person` approves (named, or in an approver group), each with whether
   * its policy lets a delegate decide for them (`allowDelegation`): who may `delegate`, and what.
   * One directory call for all approver groups.
   */
  async approvedTargets(person: Person): Promise<Array<{ alias: string; allowDelegation: boolean }>> {
    const targets: ApprovalRules[] = [
      ...Object.keys(this.policy.groups).map((alias) => rulesFor(this.policy, alias)),
      ...Object.keys(this.policy.actions).map((alias) => actionRulesFor(this.policy, alias)),
    ];
    const groupIds = [...new Set(targets.flatMap((r) => r.approvers.groups.map((g) => g.toLowerCase())))];
    const mine = new Set(
      groupIds.length === 0
        ? []
        : (await this.directory.memberGroups(person.id, groupIds)).map((g) => g.toLowerCase()),
    );
    return targets
      .filter(
        (r) => namesUser(r.approvers, person) || r.approvers.groups.some((g) => mine.has(g.toLowerCase())),
      )
      .map((r) => ({ alias: r.alias, allowDelegation: r.allowDelegation }));
  }

  /**
   * The approver `actor` may decide for on `request` as their delegate (PRODUCT.md §12): one of
   * the people who delegated to `actor` now and who is an approver of `rules`; undefined when
   * there is none, when the rules forbid it (`allowDelegation: false`), when `actor` is the
   * requester (a delegate never decides their own request), and never for the requester
   * themselves (that would be the requester deciding through someone else). Of several, one who
   * has not voted on the decision pending yet comes first (the two count as one vote).
   */
  async standsInFor(
    actor: Person,
    rules: Pick<ApprovalRules, 'approvers' | 'allowDelegation'>,
    request: AccessRequest,
    delegations: readonly Delegation[],
    now: number,
  ): Promise<Person | undefined> {
    if (!rules.allowDelegation || sameId(actor.id, request.requester.id)) return undefined;
    const votes = request.pendingExtension?.votes ?? request.votes;
    const voted = (p: Person) => votes.some((v) => sameId(v.by.id, p.id));
    const candidates = delegatorsOf(delegations, actor.id, now)
      .filter((from) => !sameId(from.id, request.requester.id))
      .sort((a, b) => Number(voted(a)) - Number(voted(b)));
    for (const from of candidates) if (await this.matches(rules.approvers, from)) return from;
    return undefined;
  }

  async qualifiesForAutoApprove(rules: GroupRules, person: Person, durationMs: number): Promise<boolean> {
    if (!rules.autoApprove || durationMs > rules.autoApprove.maxDurationMs) return false;
    return this.matches({ users: [], groups: rules.autoApprove.requesterInGroups }, person);
  }
}
