import type { GroupRules } from './policy';
import { isAction, Status, type AccessRequest } from './request';

/** What the scheduler does to a request when its time comes (an AccessService method). */
export type TimedAction = 'expire' | 'start' | 'timeOut' | 'escalate' | 'remind' | 'warn';

export interface TimedItem {
  at: number;
  action: TimedAction;
}

/** The timing rules a request's timed actions depend on (from its group's rules). */
export type TimingRules = Pick<GroupRules, 'pendingTimeoutMs' | 'remindAfterMs' | 'expiryWarningMs'> &
  Partial<Pick<GroupRules, 'escalation'>>;

/**
 * The timed actions still ahead of a request, earliest first: a pending request times out
 * (and is reminded about once, before that); an active grant expires (and its holder is warned
 * once, before that). Other statuses have none.
 */
export function timedActions(request: AccessRequest, rules: TimingRules): TimedItem[] {
  const out: TimedItem[] = [];
  if (request.status === Status.PENDING) {
    out.push({ at: request.createdAt + rules.pendingTimeoutMs, action: 'timeOut' });
    if (request.remindedAt === undefined && rules.remindAfterMs < rules.pendingTimeoutMs) {
      out.push({ at: request.createdAt + rules.remindAfterMs, action: 'remind' });
    }
    const escalateAfter = rules.escalation?.afterMs;
    if (
      request.escalatedAt === undefined &&
      escalateAfter !== undefined &&
      escalateAfter < rules.pendingTimeoutMs
    )
      out.push({ at: request.createdAt + escalateAfter, action: 'escalate' });
  } else if (request.status === Status.SCHEDULED && request.startsAt !== undefined) {
    out.push({ at: request.startsAt, action: 'start' });
  } else if (request.status === Status.APPROVED && isAction(request) && request.expiresAt !== undefined) {
    // An approved action's approval runs out; its holder is a pipeline mid-step: no warning.
    out.push({ at: request.expiresAt, action: 'expire' });
  } else if (request.status === Status.ACTIVE && request.expiresAt !== undefined) {
    out.push({ at: request.expiresAt, action: 'expire' });
    const warnAt = request.expiresAt - rules.expiryWarningMs;
    if (request.warnedAt === undefined && warnAt > (request.grantedAt ?? 0))
      out.push({ at: warnAt, action: 'warn' });
  }
  return out.sort((a, b) => a.at - b.at || rank(a.action) - rank(b.action));
}

/** When the scheduler must next look at the request: its earliest timed action; null = never. */
export function dueAtOf(request: AccessRequest, rules: TimingRules): number | null {
  const items = timedActions(request, rules);
  return items.length > 0 ? items[0].at : null;
}

/** The actions of a request due at `now`, most important first: expiries, then timeouts, then notices. */
export function dueActions(request: AccessRequest, rules: TimingRules, now: number): TimedAction[] {
  return timedActions(request, rules)
    .filter((item) => item.at <= now)
    .sort((a, b) => rank(a.action) - rank(b.action) || a.at - b.at)
    .map((item) => item.action);
}

/** Ending access on time matters more than anything; starting it on time next; notices last. */
export function rank(action: TimedAction): number {
  return ({ expire: 0, start: 1, timeOut: 2, escalate: 3, remind: 3, warn: 3 } as const)[action];
}
