import type { GroupRules } from './policy';
import type { AccessRequest } from './request';

/**
 * Whether a grant was given by a rule (break-glass, auto-approve) rather than by people who
 * approved it beforehand. Anything that is not a plain approved request counts as one, so a
 * kind added later is held to the stricter rules below until someone decides otherwise.
 */
function grantedByRule(request: Pick<AccessRequest, 'kind'>): boolean {
  return request.kind !== 'standard';
}

/**
 * Whether more time on this grant goes to the approvers (a pending extension) instead of
 * moving its end at once. Break-glass and auto-approved grants always need a human approval
 * (PRODUCT.md §8, guarantee 7): their rule capped access that nobody approved beforehand, and
 * `extension.requireApproval: false` must not turn that cap into a starting point. An
 * extension is never itself auto-approved or break-glass: this is the only way to more time.
 */
export function extensionNeedsApproval(
  request: Pick<AccessRequest, 'kind'>,
  rules: Pick<GroupRules, 'extension'>,
): boolean {
  return grantedByRule(request) || rules.extension.requireApproval;
}

/**
 * Whether the requester may approve their own pending extension. Where policy allows
 * self-approval, that still holds for extensions of grants people approved; an extension of a
 * break-glass or auto-approved grant is the first human look at that access, and, like the
 * break-glass acknowledgement, it cannot come from the person who holds it.
 */
export function mayApproveOwnExtension(
  request: Pick<AccessRequest, 'kind'>,
  rules: Pick<GroupRules, 'allowSelfApproval'>,
): boolean {
  return rules.allowSelfApproval && !grantedByRule(request);
}
