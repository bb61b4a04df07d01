/**
 * Suggestions drawn from the insights figures (PRODUCT.md §13): each names the evidence and the
 * policy change it implies. A suggestion is only made over enough data (the MIN_* constants):
 * a handful of requests proves nothing, and a wrong suggestion costs more trust than none.
 *
 * Only groups in the policy get suggestions (action gates and removed groups have figures but
 * no group rules to change).
 */
import { formatDuration } from './duration';
import type { Figures, InsightFigures } from './insights';
import { rulesFor, type GroupRules, type Policy } from './policy';

// Auto-approve candidate: people approve nearly everything, and at once.
/** Share of the requests people decided (or let time out) that they approved. */
export const AUTO_APPROVE_MIN_APPROVED_SHARE = 0.95;
/** Median time to the first decision must be below this. */
export const AUTO_APPROVE_MAX_MEDIAN_DECISION_S = 60;
/** Over at least this many requests decided by people or timed out. */
export const AUTO_APPROVE_MIN_REQUESTS = 20;

// maxDuration far above use.
/** The p90 of the time used must be below this share of `maxDuration`. */
export const MAX_DURATION_USED_SHARE = 0.5;
/** Over at least this many ended grants. */
export const MAX_DURATION_MIN_GRANTS = 20;

// A group nobody requested.
export const UNUSED_GROUP_DAYS = 90;

// One approver carrying most decisions.
/** The top approver's share of the votes must be above this. */
export const ONE_APPROVER_MIN_SHARE = 0.7;
/** Over at least this many votes. */
export const ONE_APPROVER_MIN_DECISIONS = 20;
/** Only when the policy names at least this many approvers (an approver group counts as this many). */
export const ONE_APPROVER_MIN_POSSIBLE = 2;

// Requests that time out often: approvers are unreachable, escalation would help.
export const TIMEOUT_MIN_SHARE = 0.2;
export const TIMEOUT_MIN_REQUESTS = 10;

// Frequent break-glass.
/** This many uses in the period are frequent whatever the number of requests. */
export const BREAK_GLASS_MIN_USES = 3;
/** Or this share of the requests … */
export const BREAK_GLASS_MIN_SHARE = 0.1;
/** … over at least this many requests (so that the share rule needs at least 2 uses). */
export const BREAK_GLASS_MIN_REQUESTS_FOR_SHARE = 20;

const DAY = 86_400_000;

export const SuggestionKind = {
  AUTO_APPROVE: 'auto-approve',
  MAX_DURATION: 'max-duration',
  UNUSED_GROUP: 'unused-group',
  ONE_APPROVER: 'one-approver',
  TIMEOUTS: 'timeouts',
  BREAK_GLASS: 'break-glass',
} as const;
export type SuggestionKind = (typeof SuggestionKind)[keyof typeof SuggestionKind];

export interface Suggestion {
  kind: SuggestionKind;
  group?: string;
  /** The figures that led to it, in words. */
  evidence: string;
  /** The policy change it implies, in the policy file's words. */
  change: string;
}

/** What suggestions need of one group's rules. */
export type GroupView = Pick<
  GroupRules,
  'maxDurationMs' | 'pendingTimeoutMs' | 'approvers' | 'autoApprove' | 'breakGlass' | 'escalation'
>;

export interface PolicyView {
  groups: Record<string, GroupView>;
}

/** The policy as suggestions read it: each group's merged rules. */
export function policyViewOf(policy: Policy): PolicyView {
  return {
    groups: Object.fromEntries(
      Object.keys(policy.groups).map((alias) => {
        const r = rulesFor(policy, alias);
        const view: GroupView = {
          maxDurationMs: r.maxDurationMs,
          pendingTimeoutMs: r.pendingTimeoutMs,
          approvers: r.approvers,
          autoApprove: r.autoApprove,
          breakGlass: r.breakGlass,
          escalation: r.escalation,
        };
        return [alias, view];
      }),
    ),
  };
}

export interface SuggestOptions {
  now: number;
  /**
   * The newest request per group over all history (not just the report's period);
   * undefined = never requested.
   */
  lastRequestedAt: Record<string, number | undefined>;
  /**
   * When the store's history begins (the oldest request's createdAt); undefined = no history.
   * A group "nobody requested in 90 days" needs 90 days of history to say so.
   */
  historySince?: number;
}

const percent = (share: number): string => `${Math.round(share * 100)} %`;
const seconds = (s: number): string => formatDuration(s * 1000);
const day = (at: number): string => new Date(at).toISOString().slice(0, 10);
const hasOwn = (record: object, key: string): boolean => Object.hasOwn(record, key);

/** The suggestions the figures support, by group alias, in a stable order. */
export function suggest(figures: InsightFigures, policy: PolicyView, opts: SuggestOptions): Suggestion[] {
  const out: Suggestion[] = [];
  for (const alias of Object.keys(policy.groups).sort()) {
    const rules = policy.groups[alias]!;
    const f = hasOwn(figures.groups, alias) ? figures.groups[alias] : undefined;
    if (f) {
      out.push(
        ...[
          autoApprove(alias, f, rules),
          maxDuration(alias, f, rules),
          oneApprover(alias, f, rules),
          timeouts(alias, f, rules),
          breakGlass(alias, f),
        ].filter((s): s is Suggestion => s !== undefined),
      );
    }
    const unused = unusedGroup(alias, rules, opts);
    if (unused) out.push(unused);
  }
  return out;
}

function autoApprove(alias: string, f: Figures, rules: GroupView): Suggestion | undefined {
  if (rules.autoApprove) return undefined;
  // People's decisions only: rule approvals would make any group look like a candidate.
  const byPeople = f.approved - f.autoApproved - f.breakGlass;
  const asked = byPeople + f.denied + f.timedOut;
  const median = f.decisionSeconds.median;
  if (asked < AUTO_APPROVE_MIN_REQUESTS || median === null) return undefined;
  const share = byPeople / asked;
  if (share < AUTO_APPROVE_MIN_APPROVED_SHARE || median >= AUTO_APPROVE_MAX_MEDIAN_DECISION_S)
    return undefined;
  const p90Requested = f.requestedVsUsed.requestedSeconds.p90;
  const cap = p90Requested === null ? '' : `, maxDuration: ${seconds(p90Requested)}`;
  return {
    kind: SuggestionKind.AUTO_APPROVE,
    group: alias,
    evidence: `${byPeople} of ${asked} requests approved (${percent(share)}), median decision ${seconds(median)}`,
    change: `groups.${alias}.autoApprove: { requesterInGroups: [<the group of people who ask>]${cap} }`,
  };
}

/** A smaller maxDuration that still covers the p90 of use: 15-minute steps below 2 h, hours above. */
function proposedMax(usedMs: number, currentMs: number): number {
  const step = usedMs < 2 * 3_600_000 ? 15 * 60_000 : 3_600_000;
  const rounded = Math.max(step, Math.ceil(usedMs / step) * step);
  return rounded < currentMs ? rounded : Math.max(1000, Math.ceil(usedMs / 1000) * 1000);
}

function maxDuration(alias: string, f: Figures, rules: GroupView): Suggestion | undefined {
  const { grants, usedSeconds } = f.requestedVsUsed;
  if (grants < MAX_DURATION_MIN_GRANTS || usedSeconds.p90 === null) return undefined;
  const usedMs = usedSeconds.p90 * 1000;
  if (usedMs >= rules.maxDurationMs * MAX_DURATION_USED_SHARE) return undefined;
  return {
    kind: SuggestionKind.MAX_DURATION,
    group: alias,
    evidence: `p90 of the time used is ${seconds(usedSeconds.p90)} over ${grants} ended grants, under half of maxDuration ${formatDuration(rules.maxDurationMs)}`,
    change: `groups.${alias}.maxDuration: ${formatDuration(proposedMax(usedMs, rules.maxDurationMs))}`,
  };
}

function possibleApprovers(rules: GroupView): number {
  // An approver group's members are not known here; a group is taken as several people.
  return rules.approvers.users.length + rules.approvers.groups.length * ONE_APPROVER_MIN_POSSIBLE;
}

function oneApprover(alias: string, f: Figures, rules: GroupView): Suggestion | undefined {
  const decisions = f.approvers.reduce((sum, a) => sum + a.decisions, 0);
  const top = f.approvers[0];
  if (!top || decisions < ONE_APPROVER_MIN_DECISIONS) return undefined;
  if (possibleApprovers(rules) < ONE_APPROVER_MIN_POSSIBLE || top.share <= ONE_APPROVER_MIN_SHARE)
    return undefined;
  return {
    kind: SuggestionKind.ONE_APPROVER,
    group: alias,
    evidence: `${top.name} made ${top.decisions} of ${decisions} decisions (${percent(top.share)})`,
    change: `groups.${alias}.approvers: make sure the other approvers decide too, or name ones who will`,
  };
}

function timeouts(alias: string, f: Figures, rules: GroupView): Suggestion | undefined {
  if (f.requests < TIMEOUT_MIN_REQUESTS) return undefined;
  const share = f.timedOut / f.requests;
  if (share < TIMEOUT_MIN_SHARE) return undefined;
  const after = Math.max(60_000, Math.round(rules.pendingTimeoutMs / 2 / 60_000) * 60_000);
  const evidence = `${f.timedOut} of ${f.requests} requests timed out (${percent(share)}) after pendingTimeout ${formatDuration(rules.pendingTimeoutMs)}`;
  // Escalating already, and still timing out: the escalation approvers do not answer either.
  if (rules.escalation)
    return {
      kind: SuggestionKind.TIMEOUTS,
      group: alias,
      evidence: `${evidence}, escalation included`,
      change: `groups.${alias}.escalateTo: name people who answer (or a channel that does)${rules.escalation.afterMs === undefined ? `, and escalateAfter: ${formatDuration(after)}` : ''}`,
    };
  return {
    kind: SuggestionKind.TIMEOUTS,
    group: alias,
    evidence,
    change: `groups.${alias}.escalateAfter: ${formatDuration(after)}, escalateTo: { channel: <a channel that answers> }`,
  };
}

function breakGlass(alias: string, f: Figures): Suggestion | undefined {
  const share = f.requests === 0 ? 0 : f.breakGlass / f.requests;
  const frequent =
    f.breakGlass >= BREAK_GLASS_MIN_USES ||
    (f.requests >= BREAK_GLASS_MIN_REQUESTS_FOR_SHARE && share >= BREAK_GLASS_MIN_SHARE);
  if (f.breakGlass === 0 || !frequent) return undefined;
  return {
    kind: SuggestionKind.BREAK_GLASS,
    group: alias,
    evidence: `${f.breakGlass} break-glass uses of ${f.requests} requests (${percent(share)}), ${f.breakGlassAcknowledged} acknowledged`,
    change: `groups.${alias}.autoApprove: { requesterInGroups: [<on-call>] } for the usual case, keeping breakGlass for emergencies`,
  };
}

function unusedGroup(alias: string, rules: GroupView, opts: SuggestOptions): Suggestion | undefined {
  // Emergency groups are meant to lie idle.
  if (rules.breakGlass) return undefined;
  const cutoff = opts.now - UNUSED_GROUP_DAYS * DAY;
  if (opts.historySince === undefined || opts.historySince > cutoff) return undefined;
  const last = hasOwn(opts.lastRequestedAt, alias) ? opts.lastRequestedAt[alias] : undefined;
  if (last !== undefined && last >= cutoff) return undefined;
  const days = Math.floor((opts.now - (last ?? opts.historySince)) / DAY);
  return {
    kind: SuggestionKind.UNUSED_GROUP,
    group: alias,
    evidence:
      last === undefined
        ? `never requested in ${days} days of history (since ${day(opts.historySince)})`
        : `last requested ${day(last)}, ${days} days ago`,
    change: `groups.${alias}: remove it, or tell the people who need it that it exists`,
  };
}
