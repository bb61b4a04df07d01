import { DomainError, ErrorCodes } from './errors';
import {
  BUILT_IN,
  escalationOf,
  findGroupAlias,
  type ApprovalRules,
  type GroupRules,
  type Policy,
} from './policy';
import type { ClientPolicy } from './policy-workflows';

/** How long an approved action may be carried out when `approvalValidFor` is not set. */
export const DEFAULT_APPROVAL_VALID_FOR_MS = 15 * 60_000;

/** The rules of one action gate once `defaults` are merged. */
export interface ActionRules extends ApprovalRules {
  approvalValidForMs: number;
  autoApprove?: { requesterInGroups: string[]; maxPerDay?: number };
}

export function actionRulesFor(policy: Policy, alias: string): ActionRules {
  // NB: own keys only, as for groups.
  const action = Object.hasOwn(policy.actions, alias) ? policy.actions[alias] : undefined;
  if (!action) throw new DomainError(ErrorCodes.GROUP_UNKNOWN, `There is no action "${alias}".`);
  const d = policy.defaults;
  return {
    alias,
    displayName: action.displayName,
    approverChannel: action.approverChannel,
    approvers: action.approvers,
    eligible: action.eligible,
    approvalValidForMs: action.approvalValidFor ?? DEFAULT_APPROVAL_VALID_FOR_MS,
    pendingTimeoutMs: action.pendingTimeout ?? d.pendingTimeout ?? BUILT_IN.pendingTimeout,
    remindAfterMs: action.remindAfter ?? d.remindAfter ?? BUILT_IN.remindAfter,
    approvals: action.approvals ?? d.approvals ?? BUILT_IN.approvals,
    requireJustification:
      action.requireJustification ?? d.requireJustification ?? BUILT_IN.requireJustification,
    allowSelfApproval: action.allowSelfApproval ?? d.allowSelfApproval ?? BUILT_IN.allowSelfApproval,
    allowDelegation: action.allowDelegation ?? d.allowDelegation ?? BUILT_IN.allowDelegation,
    requireTicket: action.requireTicket ?? d.requireTicket ?? BUILT_IN.requireTicket,
    ticketPattern: action.ticketPattern ?? d.ticketPattern,
    ticketExample: action.ticketExample ?? d.ticketExample,
    maxScheduleAheadMs: action.maxScheduleAhead ?? d.maxScheduleAhead ?? BUILT_IN.maxScheduleAhead,
    escalation: escalationOf(action, d),
    autoApprove: action.autoApprove,
  };
}

/** What a request names: a group (membership) or an action (approval only). */
export function targetKind(policy: Policy, alias: string): 'group' | 'action' | undefined {
  if (Object.hasOwn(policy.groups, alias)) return 'group';
  if (Object.hasOwn(policy.actions, alias)) return 'action';
  return undefined;
}

/** The `clients:` entry of an authenticated application id (ids compared case-insensitively). */
export function clientByAppId(policy: Policy, appId: string): (ClientPolicy & { name: string }) | undefined {
  const wanted = appId.toLowerCase();
  const found = Object.entries(policy.clients).find(([, c]) => c.appId.toLowerCase() === wanted);
  return found && { ...found[1], name: found[0] };
}

/**
 * An action's rules in the shape of a group's, so that every rule a group and an action share
 * (approvers, N of M, channel, ticket, justification, auto-approve, timeouts) runs through one
 * path. What needs a membership is off: no group id, no extension, no expiry warning, no
 * break-glass. The duration asked is how long the approval stays valid, `approvalValidFor` at most.
 */
export function actionAsTargetRules(policy: Policy, alias: string): GroupRules {
  const action = actionRulesFor(policy, alias);
  const { approvalValidForMs, autoApprove, ...shared } = action;
  return {
    ...shared,
    targetKind: 'action',
    groupId: '',
    defaultDurationMs: approvalValidForMs,
    maxDurationMs: approvalValidForMs,
    expiryWarningMs: 0,
    extension: { requireApproval: true, maxTotalMs: approvalValidForMs },
    autoApprove: autoApprove && {
      requesterInGroups: autoApprove.requesterInGroups,
      maxPerDay: autoApprove.maxPerDay,
      maxDurationMs: approvalValidForMs,
    },
    enforce: 'report',
    revokeSessionsOnEnd: false,
  };
}

/** Finds a group or an action by alias or display name, case-insensitively (one namespace). */
export function findTargetAlias(policy: Policy, text: string): string | undefined {
  const wanted = text.trim().toLowerCase();
  const group = findGroupAlias(policy, wanted);
  if (group) return group;
  if (Object.hasOwn(policy.actions, wanted)) return wanted;
  return Object.entries(policy.actions).find(([, a]) => a.displayName.toLowerCase() === wanted)?.[0];
}
