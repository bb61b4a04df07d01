import { DomainError, ErrorCodes } from './errors';
import { sameId, type Person } from './request';

/**
 * Delegation (PRODUCT.md §12): an approver (`from`) hands their approvals to someone else (`to`)
 * for a while — `delegate to <person> until <time>`, `delegate off`. The rules:
 * - time-bound: it ends at `until`, at least MIN_DELEGATION_MS and at most MAX_DELEGATION_MS
 *   (30 days: a longer absence is handed over again, so a forgotten delegation cannot live on);
 * - one level: a delegate cannot pass on what they stand in for, and someone who has handed
 *   their approvals away cannot be made a delegate (no chains, no cycles);
 * - one active delegation per approver: a new one replaces the old (the confirmation says so);
 * - never to oneself. Where it applies (a group's `allowDelegation`, never the requester's own
 *   request) is app/authorization.ts `standsInFor`.
 * Pure: every function takes `now`, and returns the new list with expired delegations pruned.
 */
export interface Delegation {
  id: string;
  /** The approver whose approvals are handed over. */
  from: Person;
  /** Who decides for them meanwhile. */
  to: Person;
  /** From when it holds (epoch ms). */
  since: number;
  /** Until when (epoch ms, exclusive). */
  until: number;
  createdAt: number;
}

/** The shortest a delegation may be. */
export const MIN_DELEGATION_MS = 60_000;
/** The longest a delegation may be. */
export const MAX_DELEGATION_DAYS = 30;
export const MAX_DELEGATION_MS = MAX_DELEGATION_DAYS * 24 * 3_600_000;

/** Whether a delegation holds at `now`. */
export const isActive = (d: Delegation, now: number): boolean => d.since <= now && now < d.until;

/** The delegations that hold at `now`. */
export function activeFor(list: readonly Delegation[], now: number): Delegation[] {
  return list.filter((d) => isActive(d, now));
}

/** The delegation `personId` has given and that holds now (at most one). */
export function givenBy(list: readonly Delegation[], personId: string, now: number): Delegation | undefined {
  return list.find((d) => isActive(d, now) && sameId(d.from.id, personId));
}

/** The delegations `personId` holds now (they stand in for each `from`). */
export function receivedBy(list: readonly Delegation[], personId: string, now: number): Delegation[] {
  return list.filter((d) => isActive(d, now) && sameId(d.to.id, personId));
}

/** The people `personId` stands in for now. */
export function delegatorsOf(list: readonly Delegation[], personId: string, now: number): Person[] {
  return receivedBy(list, personId, now).map((d) => d.from);
}

/**
 * `from` hands their approvals to `to` until `until`: the new list (the old delegation of
 * `from`, if any, replaced; expired ones dropped), or a COMMAND_INVALID DomainError saying
 * which rule it breaks. `id`: the new delegation's (the app passes a random one).
 */
export function delegate(
  list: readonly Delegation[],
  from: Person,
  to: Person,
  until: number,
  now: number,
  id = `D-${now.toString(36)}-${from.id.slice(0, 8)}`,
): Delegation[] {
  if (sameId(from.id, to.id)) throw refuse('You cannot delegate to yourself; name someone else.');
  if (!Number.isFinite(until) || until < now + MIN_DELEGATION_MS)
    throw refuse('A delegation has to last at least a minute; pick a later end.');
  if (until > now + MAX_DELEGATION_MS)
    throw refuse(
      `A delegation lasts at most ${MAX_DELEGATION_DAYS} days; pick an earlier end (and delegate again later if need be).`,
    );
  const standingIn = receivedBy(list, from.id, now)[0];
  if (standingIn)
    throw refuse(
      `You stand in for ${standingIn.from.name} now, and a delegate cannot hand approvals on; ask ${standingIn.from.name} to delegate directly instead.`,
    );
  const away = givenBy(list, to.id, now);
  if (away)
    throw refuse(
      `${to.name} has handed their own approvals to ${away.to.name}, so they cannot stand in for you (one level only); pick someone else.`,
    );
  const kept = list.filter((d) => now < d.until && !sameId(d.from.id, from.id));
  return [...kept, { id, from, to, since: now, until, createdAt: now }];
}

/** `from` takes their approvals back: the list without their delegation (expired ones dropped). */
export function undelegate(list: readonly Delegation[], from: Person, now: number): Delegation[] {
  return list.filter((d) => now < d.until && !sameId(d.from.id, from.id));
}

function refuse(message: string): DomainError {
  return new DomainError(ErrorCodes.COMMAND_INVALID, message);
}
