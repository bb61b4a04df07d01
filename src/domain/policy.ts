import { z } from 'zod';
import { formatDuration } from './duration';
import { DomainError, ErrorCodes } from './errors';
import {
  approvalKeys,
  asRecord,
  checkApprovalTarget,
  checkEscalation,
  durationText,
  GUID,
  principals,
  type AddProblem,
} from './policy-primitives';
import { actionSchema, clientSchema, crossCheckWorkflows, webhookSchema } from './policy-workflows';
import { validTimeZone } from './time-zone';

/** A Teams conversation (thread) id: team and channel ids are both of this shape. */
const THREAD_ID = /^19:[^\s/?#]+@thread\.[a-z0-9]+$/;

const extension = z
  .object({
    requireApproval: z.boolean().optional(),
    maxTotal: durationText.optional(),
  })
  .strict();

/** Keys a group may set for itself, overriding `defaults` (the approval keys an action shares, and more). */
const overridable = {
  defaultDuration: durationText.optional(),
  maxDuration: durationText.optional(),
  expiryWarning: durationText.optional(),
  ...approvalKeys,
  extension: extension.optional(),
};

const groupSchema = z
  .object({
    groupId: z.string().regex(GUID, {
      message:
        "must be the Entra group's object id, a GUID like 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b (Entra admin center → Groups → the group → Object ID)",
    }),
    displayName: z.string().min(1).max(120),
    approverChannel: z.string().min(1),
    approvers: principals,
    eligible: principals.optional(),
    autoApprove: z
      .object({
        requesterInGroups: z.array(z.string().min(1)).min(1),
        maxDuration: durationText.optional(),
        /** At most this many auto-approved requests per person in any 24 hours; past it, a human decides. */
        maxPerDay: z.number().int().min(1).max(1000).optional(),
      })
      .strict()
      .optional(),
    breakGlass: z.object({ maxDuration: durationText }).strict().optional(),
    enforce: z.enum(['report', 'remove']).optional(),
    /** After the membership is removed, end the person's sign-in sessions (tokens outlive a removal). */
    revokeSessionsOnEnd: z.boolean().optional(),
    ...overridable,
  })
  .strict();

/**
 * A Teams thread id (19:…@thread.tacv2). People paste the channel's link ("Get link to
 * channel") instead: say which part of it is the id.
 */
const threadId = (what: string) =>
  z.string().superRefine((text, ctx) => {
    if (THREAD_ID.test(text)) return;
    const fromLink = /\/l\/channel\/([^/?#]+)/.exec(text);
    let id: string | undefined;
    try {
      id = fromLink ? decodeURIComponent(fromLink[1]!) : undefined;
    } catch {
      id = undefined;
    }
    ctx.addIssue({
      code: 'custom',
      message: /^https?:\/\//i.test(text)
        ? `is a link, not a ${what} id${id && THREAD_ID.test(id) ? `: the id in it is "${id}"` : ''} (a thread id looks like 19:…@thread.tacv2)`
        : `"${text}" is not a ${what} id (a thread id looks like 19:…@thread.tacv2; a channel link holds it, URL-encoded)`,
    });
  });

/** An IANA time zone for the times on a channel's cards. */
const timeZoneName = z.string().transform((text, ctx) => {
  const zone = validTimeZone(text);
  if (zone) return zone;
  ctx.addIssue({
    code: 'custom',
    message: `"${text.slice(0, 64)}" is not a time zone (use an IANA name such as Europe/Berlin, America/New_York or UTC)`,
  });
  return z.NEVER;
});

/** A channel's daily digest (§13): posted at `at` (HH:MM) in `timeZone` (default: the channel's, else UTC). */
const digestSchema = z
  .object({
    at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'is a time of day as HH:MM (e.g. 09:00)'),
    timeZone: timeZoneName.optional(),
  })
  .strict();

const channelSchema = z
  .object({
    teamId: threadId('team'),
    channelId: threadId('channel'),
    timeZone: timeZoneName.optional(),
    digest: digestSchema.optional(),
  })
  .strict();

const policySchema = z
  .object({
    approverChannels: z.record(z.string(), channelSchema),
    admins: principals.default({ users: [], groups: [] }),
    defaults: z.object(overridable).strict().default({}),
    groups: z.record(z.string(), groupSchema),
    actions: z.record(z.string(), actionSchema).default({}),
    clients: z.record(z.string(), clientSchema).default({}),
    webhooks: z.array(webhookSchema).default([]),
  })
  .strict()
  .superRefine((policy, ctx) =>
    crossCheck(policy, (path, message) => ctx.addIssue({ code: 'custom', path, message })),
  );

/**
 * The checks across keys (aliases, approverChannel names, approvers). NB: written for raw
 * input as well: when a key fails its own schema, zod skips the refinement above, and
 * validatePolicy runs this on the raw input so that one pass reports every problem.
 */
function crossCheck(policy: unknown, add: AddProblem): void {
  const root = asRecord(policy);
  const groups = asRecord(root.groups);
  const channels = asRecord(root.approverChannels);
  if (root.groups !== undefined && Object.keys(groups).length === 0)
    add(['groups'], 'at least one group is needed');
  for (const [alias, value] of Object.entries(groups)) {
    const group = asRecord(value);
    checkApprovalTarget('groups', alias, group, channels, add);
    checkTicketExample(asRecord(root.defaults), group, ['groups', alias], add);
  }
  for (const [alias, value] of Object.entries(asRecord(root.actions)))
    checkTicketExample(asRecord(root.defaults), asRecord(value), ['actions', alias], add);
  checkEscalation(['defaults'], asRecord(root.defaults), channels, add);
  crossCheckWorkflows(root, add);
}

/** A ticket example people are shown must be one the group's pattern accepts, or it misleads them. */
function checkTicketExample(
  defaults: Record<string, unknown>,
  group: Record<string, unknown>,
  at: string[],
  add: (path: string[], message: string) => void,
): void {
  const pattern = group.ticketPattern ?? defaults.ticketPattern;
  const example = group.ticketExample ?? defaults.ticketExample;
  if (typeof pattern !== 'string' || typeof example !== 'string') return;
  let accepts: boolean;
  try {
    accepts = new RegExp(pattern).test(example);
  } catch {
    return; // the pattern's own error is reported on it
  }
  if (accepts) return;
  const from = group.ticketExample === undefined ? ' (from defaults)' : '';
  add([...at, 'ticketExample'], `"${example}"${from} does not match the ticketPattern ${pattern}`);
}

export type PolicyInput = z.input<typeof policySchema>;
export type Policy = z.output<typeof policySchema>;
export interface Principals {
  users: string[];
  groups: string[];
}

/** The rules a group and an action share once `defaults` and their own keys are merged. */
export interface ApprovalRules {
  alias: string;
  displayName: string;
  approverChannel: string;
  approvers: Principals;
  eligible?: Principals;
  pendingTimeoutMs: number;
  remindAfterMs: number;
  approvals: number;
  requireJustification: boolean;
  allowSelfApproval: boolean;
  /** Whether a delegate may decide for an approver (domain/delegation.ts); policy `allowDelegation`, default true. */
  allowDelegation: boolean;
  requireTicket: boolean;
  ticketPattern?: string;
  /** What people are shown as a valid ticket instead of the pattern (see ticket-example.ts). */
  ticketExample?: string;
  maxScheduleAheadMs: number;
  /**
   * Who else is asked when nobody decides (`escalateTo`), and after how long (`escalateAfter`;
   * absent = only when every approver is away). Absent = no escalation.
   */
  escalation?: Escalation;
}

export interface Escalation {
  afterMs?: number;
  /** The approver channel the card is posted in as well. */
  channel?: string;
  /** The people who may decide once it escalated (besides the approvers). */
  approvers: Principals;
}

/** A target's escalation from its own keys, else from `defaults`. */
export function escalationOf(
  own: { escalateAfter?: number; escalateTo?: { channel?: string; users: string[]; groups: string[] } },
  defaults: { escalateAfter?: number; escalateTo?: { channel?: string; users: string[]; groups: string[] } },
): Escalation | undefined {
  const to = own.escalateTo ?? defaults.escalateTo;
  if (!to) return undefined;
  const afterMs = own.escalateAfter ?? defaults.escalateAfter;
  return {
    ...(afterMs !== undefined ? { afterMs } : {}),
    ...(to.channel ? { channel: to.channel } : {}),
    approvers: { users: to.users, groups: to.groups },
  };
}

/** The rules that apply to one group. */
export interface GroupRules extends ApprovalRules {
  /** `action`: an action gate's rules in a group's shape (action-rules.ts); absent = a group. */
  targetKind?: 'action';
  groupId: string;
  defaultDurationMs: number;
  maxDurationMs: number;
  expiryWarningMs: number;
  extension: { requireApproval: boolean; maxTotalMs: number };
  autoApprove?: { requesterInGroups: string[]; maxDurationMs: number; maxPerDay?: number };
  breakGlass?: { maxDurationMs: number };
  enforce: 'report' | 'remove';
  /** Revoke the person's sign-in sessions after their membership is removed (groups only; default false). */
  revokeSessionsOnEnd: boolean;
}

export const BUILT_IN = {
  defaultDuration: 3_600_000,
  maxDuration: 8 * 3_600_000,
  pendingTimeout: 3_600_000,
  remindAfter: 15 * 60_000,
  expiryWarning: 10 * 60_000,
  approvals: 1,
  requireJustification: true,
  allowSelfApproval: false,
  allowDelegation: true,
  requireTicket: false,
  extensionRequireApproval: true,
  extensionMaxTotal: 12 * 3_600_000,
  maxScheduleAhead: 7 * 24 * 3_600_000,
};

/** A policy issue as people read it: `groups.db-read.maxDuration: "4x" is not a duration`. */
export interface PolicyProblem {
  path: string;
  message: string;
}

/** Validates parsed YAML/JSON; throws a POLICY_INVALID DomainError listing every problem. */
export function validatePolicy(raw: unknown, source = 'policy'): Policy {
  const result = policySchema.safeParse(raw);
  if (result.success) return result.data;
  const problems: PolicyProblem[] = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(top level)',
    message: issue.message,
  }));
  // Every problem in one pass: the cross-key checks too, which zod skipped (see crossCheck).
  crossCheck(raw, (path, message) => {
    const problem = { path: path.join('.'), message };
    if (!problems.some((p) => p.path === problem.path && p.message === problem.message))
      problems.push(problem);
  });
  throw new DomainError(
    ErrorCodes.POLICY_INVALID,
    `${source} is invalid:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
    { problems },
  );
}

/** Merges `defaults` into one group's keys. */
export function rulesFor(policy: Policy, alias: string): GroupRules {
  // NB: own keys only: "__proto__" or "constructor" typed by a person is not a group.
  const group = Object.hasOwn(policy.groups, alias) ? policy.groups[alias] : undefined;
  if (!group) throw new DomainError(ErrorCodes.GROUP_UNKNOWN, `There is no group "${alias}".`);
  const d = policy.defaults;
  const pick = <K extends keyof typeof overridable>(key: K) => group[key] ?? d[key];
  const maxDurationMs = pick('maxDuration') ?? BUILT_IN.maxDuration;
  return {
    alias,
    groupId: group.groupId,
    displayName: group.displayName,
    approverChannel: group.approverChannel,
    approvers: group.approvers,
    eligible: group.eligible,
    defaultDurationMs: Math.min(pick('defaultDuration') ?? BUILT_IN.defaultDuration, maxDurationMs),
    maxDurationMs,
    pendingTimeoutMs: pick('pendingTimeout') ?? BUILT_IN.pendingTimeout,
    remindAfterMs: pick('remindAfter') ?? BUILT_IN.remindAfter,
    expiryWarningMs: pick('expiryWarning') ?? BUILT_IN.expiryWarning,
    approvals: pick('approvals') ?? BUILT_IN.approvals,
    requireJustification: pick('requireJustification') ?? BUILT_IN.requireJustification,
    allowSelfApproval: pick('allowSelfApproval') ?? BUILT_IN.allowSelfApproval,
    allowDelegation: pick('allowDelegation') ?? BUILT_IN.allowDelegation,
    requireTicket: pick('requireTicket') ?? BUILT_IN.requireTicket,
    ticketPattern: pick('ticketPattern'),
    ticketExample: pick('ticketExample'),
    maxScheduleAheadMs: pick('maxScheduleAhead') ?? BUILT_IN.maxScheduleAhead,
    escalation: escalationOf(group, d),
    extension: {
      requireApproval:
        group.extension?.requireApproval ?? d.extension?.requireApproval ?? BUILT_IN.extensionRequireApproval,
      maxTotalMs: group.extension?.maxTotal ?? d.extension?.maxTotal ?? BUILT_IN.extensionMaxTotal,
    },
    autoApprove: group.autoApprove && {
      requesterInGroups: group.autoApprove.requesterInGroups,
      maxDurationMs: group.autoApprove.maxDuration ?? maxDurationMs,
      maxPerDay: group.autoApprove.maxPerDay,
    },
    breakGlass: group.breakGlass && { maxDurationMs: group.breakGlass.maxDuration },
    enforce: group.enforce ?? 'report',
    revokeSessionsOnEnd: group.revokeSessionsOnEnd ?? false,
  };
}

/** Finds a group by alias or display name, case-insensitively. */
export function findGroupAlias(policy: Policy, text: string): string | undefined {
  const wanted = text.trim().toLowerCase();
  if (Object.hasOwn(policy.groups, wanted)) return wanted;
  return Object.entries(policy.groups).find(([, g]) => g.displayName.toLowerCase() === wanted)?.[0];
}

/** Whether a person, known by object id and UPN, is named directly in a principals list. */
export function namesUser(principals: Principals | undefined, person: { id: string; upn?: string }): boolean {
  if (!principals) return false;
  const id = person.id.toLowerCase();
  const upn = person.upn?.toLowerCase();
  return principals.users.some((u) => u.toLowerCase() === id || (!!upn && u.toLowerCase() === upn));
}

/**
 * What `timebox policy check` (and the start-up log) warns about: valid keys that do not do
 * what they seem to. A group with `breakGlass` or `autoApprove` whose extensions need no
 * approval (on the group or from `defaults`): its break-glass and auto-approved grants are
 * still extended only with an approver's approval (domain/extension-rules.ts), so say so.
 */
export function policyWarnings(policy: Policy): PolicyProblem[] {
  const warnings: PolicyProblem[] = [];
  for (const [alias, group] of Object.entries(policy.groups)) {
    const rules = rulesFor(policy, alias);
    if (rules.extension.requireApproval) continue;
    const byRule = [
      group.breakGlass ? 'breakGlass' : undefined,
      group.autoApprove ? 'autoApprove' : undefined,
    ].filter((k): k is string => !!k);
    if (byRule.length === 0) continue;
    const where = group.extension?.requireApproval === false ? 'on the group' : 'from defaults';
    const grants = [
      group.breakGlass ? 'break-glass' : undefined,
      group.autoApprove ? 'auto-approved' : undefined,
    ]
      .filter(Boolean)
      .join(' and ');
    warnings.push({
      path: `groups.${alias}`,
      message: `${byRule.join(' and ')} with extension.requireApproval: false (${where}): extensions of ${grants} grants will still need an approver's approval; only grants people approved are extended at once.`,
    });
  }
  return warnings;
}

export { formatDuration };
