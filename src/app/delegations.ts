import { randomUUID } from 'node:crypto';
import {
  activeFor,
  delegate,
  givenBy,
  receivedBy,
  undelegate,
  MAX_DELEGATION_DAYS,
  type Delegation,
} from '../domain/delegation';
import { DomainError, ErrorCodes } from '../domain/errors';
import type { Person, RequestEvent } from '../domain/request';
import { parseStartTime } from '../domain/start-time';
import type { Clock } from '../ports/clock';
import type { Directory, DirectoryUser } from '../ports/directory';
import type { Store } from '../ports/store';
import type { Authorizer } from './authorization';

/** How many times a save that lost a race (STORE_CONFLICT) is redone on a fresh read. */
const RETRIES = 5;

export interface DelegationDeps {
  store: Pick<Store, 'getDelegations' | 'saveDelegations' | 'appendAudit'>;
  /**
   * Finds the delegate: by object id or UPN (`findUser`), and by display name when the
   * directory can search names (`findUsersByName`, optional: without it a display name that is
   * not also a UPN is answered with "give their UPN or @mention them").
   */
  directory: Pick<Directory, 'findUser'> & { findUsersByName?(name: string): Promise<DirectoryUser[]> };
  authorizer: Pick<Authorizer, 'approvedTargets'>;
  clock: Clock;
  /** Ids of new delegations (tests pass a sequence). */
  newId?: () => string;
}

export interface DelegateOutcome {
  delegation: Delegation;
  /** The delegation of the same approver it replaced (one at a time). */
  replaced?: Delegation;
  /** Groups and actions the person approves whose policy forbids delegation (`allowDelegation: false`): not handed over. */
  notDelegable: string[];
}

export interface PersonDelegations {
  /** The delegation this person gave, holding now. */
  given?: Delegation;
  /** The delegations this person holds now (they stand in for each `from`). */
  received: Delegation[];
}

/**
 * `delegate to <person> until <time>` / `delegate off` (PRODUCT.md §3, §12) over the store's
 * one versioned list of delegations (read, change by the domain rules, conditional save; a lost
 * race is redone). Every change is audited (`delegated`, `delegation_ended`, requestId ''),
 * after it is saved: a failed audit append fails the command, and saying it again redoes both.
 */
export class DelegationService {
  private readonly newId: () => string;

  constructor(private readonly deps: DelegationDeps) {
    this.newId = deps.newId ?? (() => `D-${randomUUID()}`);
  }

  /**
   * `from` hands their approvals to the person `toText` names (object id, UPN, display name;
   * a leading "@" is ignored) until `untilText` (the forms of a scheduled start: `18:00`,
   * `tomorrow 09:00`, `Fri 18:00`, ISO 8601), read in `timeZone` (the person's; UTC when unknown).
   * Only an approver of a group or action that allows delegation may. A delegation `from`
   * already had is replaced (`replaced`).
   */
  async delegate(
    from: Person,
    toText: string,
    untilText: string,
    timeZone?: string,
  ): Promise<DelegateOutcome> {
    const targets = await this.deps.authorizer.approvedTargets(from);
    if (targets.length === 0)
      throw new DomainError(
        ErrorCodes.NOT_APPROVER,
        'Only approvers can delegate, and you approve no group or action in Timebox, so there is nothing to hand over.',
      );
    const notDelegable = targets.filter((t) => !t.allowDelegation).map((t) => t.alias);
    if (notDelegable.length === targets.length)
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        `The policy of what you approve (${notDelegable.join(', ')}) does not allow delegation (allowDelegation: false), so there is nothing to hand over.`,
      );
    const until = readUntil(untilText, this.deps.clock.now(), timeZone);
    const to = await this.findPerson(toText);
    return this.change(async (list, now) => {
      const replaced = givenBy(list, from.id, now);
      const next = delegate(list, from, to, until, now, this.newId());
      const delegation = next[next.length - 1]!;
      const events: RequestEvent[] = [];
      if (replaced) events.push(endedEvent(replaced, now, 'replaced'));
      events.push({
        type: 'delegated',
        requestId: '',
        at: now,
        actor: from,
        detail: {
          delegationId: delegation.id,
          to: personDetail(to),
          until: new Date(until).toISOString(),
          ...(replaced ? { replaces: replaced.id } : {}),
        },
      });
      return { next, events, result: { delegation, ...(replaced ? { replaced } : {}), notDelegable } };
    });
  }

  /** `delegate off`: `from` takes their approvals back now; the delegation ended, undefined when there was none. */
  async off(from: Person): Promise<Delegation | undefined> {
    return this.change(async (list, now) => {
      const current = givenBy(list, from.id, now);
      if (!current) return { result: undefined };
      return {
        next: undelegate(list, from, now),
        events: [endedEvent(current, now, 'off')],
        result: current,
      };
    });
  }

  /** What `status` shows: the delegation `person` gave and the ones they hold, now. */
  async list(person: Person): Promise<PersonDelegations> {
    const now = this.deps.clock.now();
    return delegationsOf(await currentDelegations(this.deps.store, now), person, now);
  }

  /** Every delegation holding now (for deciding: app/authorization.ts `standsInFor`). */
  active(): Promise<Delegation[]> {
    return currentDelegations(this.deps.store, this.deps.clock.now());
  }

  /**
   * Read, change, save at the version read; a save that lost a race is redone on a fresh read.
   * The audit events are appended once the save is done. No `next`: nothing to save.
   */
  private async change<T>(
    build: (
      list: Delegation[],
      now: number,
    ) => Promise<{ next?: Delegation[]; events?: RequestEvent[]; result: T }>,
  ): Promise<T> {
    for (let tried = 0; ; tried++) {
      const stored = await this.deps.store.getDelegations();
      const now = this.deps.clock.now();
      const { next, events, result } = await build(stored?.delegations ?? [], now);
      if (!next) return result;
      try {
        await this.deps.store.saveDelegations(next, stored?.version ?? null);
      } catch (error) {
        if (error instanceof DomainError && error.code === ErrorCodes.STORE_CONFLICT && tried < RETRIES)
          continue;
        throw error;
      }
      if (events?.length) await this.deps.store.appendAudit(events);
      return result;
    }
  }

  /** The delegate, from what the person typed: object id or UPN, else a display name the directory can search. */
  private async findPerson(text: string): Promise<Person> {
    const typed = text.trim().replace(/^@/, '').trim();
    if (!typed)
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        'To whom? Say "delegate to <their UPN, name or @mention> until <time>".',
      );
    const clipped = typed.length > 80 ? `${typed.slice(0, 79)}…` : typed;
    const byId = await this.deps.directory.findUser(typed);
    if (byId) return personOf(byId);
    const search = this.deps.directory.findUsersByName;
    const named = !typed.includes('@') && search ? await search.call(this.deps.directory, typed) : [];
    const exact = named.filter((u) => u.displayName.toLowerCase() === typed.toLowerCase());
    const found = exact.length > 0 ? exact : named;
    if (found.length === 1) return personOf(found[0]!);
    if (found.length > 1)
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        `Several people are called "${clipped}"; give the UPN of the one you mean (e.g. name@contoso.com).`,
      );
    throw new DomainError(
      ErrorCodes.DIRECTORY_USER_NOT_FOUND,
      `I could not find "${clipped}" in the directory; give their UPN (e.g. name@contoso.com) or @mention them.`,
    );
  }
}

/** Every delegation holding now, as the store has them. */
export async function currentDelegations(
  store: Pick<Store, 'getDelegations'>,
  now: number,
): Promise<Delegation[]> {
  return activeFor((await store.getDelegations())?.delegations ?? [], now);
}

/** Of the delegations, the one `person` gave and the ones they hold, holding at `now`. */
export function delegationsOf(list: readonly Delegation[], person: Person, now: number): PersonDelegations {
  const given = givenBy(list, person.id, now);
  return { ...(given ? { given } : {}), received: receivedBy(list, person.id, now) };
}

/**
 * The end as typed, read as a scheduled start is, to the minute; its own words when it is not a
 * time. NB: the minute, because parseStartTime keeps the seconds of `now` in a time of day
 * ("09:00" read at 12:00:07 is 09:00:07).
 */
function readUntil(text: string, now: number, timeZone?: string): number {
  try {
    return Math.floor(parseStartTime(text, now, timeZone) / 60_000) * 60_000;
  } catch (error) {
    if (error instanceof DomainError && error.code === ErrorCodes.START_INVALID)
      throw new DomainError(
        ErrorCodes.COMMAND_INVALID,
        `Until when? "${text.length > 40 ? `${text.slice(0, 39)}…` : text}" is not a time I read. Say 18:00, tomorrow 09:00, Fri 18:00 or 2026-12-04T09:00 (at most ${MAX_DELEGATION_DAYS} days ahead).`,
      );
    throw error;
  }
}

function endedEvent(d: Delegation, now: number, why: 'off' | 'replaced'): RequestEvent {
  return {
    type: 'delegation_ended',
    requestId: '',
    at: now,
    actor: d.from,
    reason: why === 'off' ? 'delegate off' : 'replaced by a new delegation',
    detail: { delegationId: d.id, to: personDetail(d.to), until: new Date(d.until).toISOString() },
  };
}

function personDetail(p: Person): Record<string, string> {
  return { id: p.id, name: p.name, ...(p.upn ? { upn: p.upn } : {}) };
}

function personOf(user: DirectoryUser): Person {
  return { id: user.id, name: user.displayName, upn: user.userPrincipalName };
}
