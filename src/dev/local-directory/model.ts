import { randomUUID } from 'node:crypto';
import {
  GraphFailure,
  alreadyMember,
  badRequest,
  insufficientPrivileges,
  mailboxNotEnabled,
  notFound,
  notMember,
} from './graph-error';

/** Graph's `dateTimeTimeZone`: a wall-clock time ("2026-03-14T07:00:00.0000000") and its zone ("UTC"). */
export interface LocalDateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}

/** A mailbox's automatic replies (out of office), as Graph's `automaticRepliesSetting`. */
export interface LocalAutomaticReplies {
  status: 'disabled' | 'alwaysEnabled' | 'scheduled';
  externalAudience?: 'none' | 'contactsOnly' | 'all';
  scheduledStartDateTime?: LocalDateTimeTimeZone;
  scheduledEndDateTime?: LocalDateTimeTimeZone;
  internalReplyMessage?: string;
  externalReplyMessage?: string;
}

export interface LocalUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  /** false: no Exchange Online mailbox (mailboxSettings answer 404 MailboxNotEnabledForRESTAPI). Absent: one. */
  mailbox?: boolean;
  /** The mailbox's automatic replies; absent: off (`disabled`). */
  automaticReplies?: LocalAutomaticReplies;
  /** Set by `POST /users/{id}/revokeSignInSessions` (ISO time), as Graph's user property of that name. */
  signInSessionsValidFromDateTime?: string;
}

const REPLIES_STATUS: Record<string, LocalAutomaticReplies['status']> = {
  disabled: 'disabled',
  alwaysenabled: 'alwaysEnabled',
  scheduled: 'scheduled',
};
const AUDIENCE: Record<string, NonNullable<LocalAutomaticReplies['externalAudience']>> = {
  none: 'none',
  contactsonly: 'contactsOnly',
  all: 'all',
};
const WALL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?$/;

function dateTimeTimeZone(value: unknown, name: string): LocalDateTimeTimeZone {
  const v = (value ?? {}) as Record<string, unknown>;
  if (
    typeof v.dateTime !== 'string' ||
    !WALL_TIME.test(v.dateTime) ||
    typeof v.timeZone !== 'string' ||
    !v.timeZone
  )
    throw new GraphFailure(
      400,
      'ErrorInvalidRequest',
      `${name} must be a dateTimeTimeZone: { "dateTime": "2026-03-14T07:00:00", "timeZone": "UTC" }.`,
    );
  return { dateTime: v.dateTime, timeZone: v.timeZone };
}

/**
 * An `automaticRepliesSetting` as Graph takes it in `PATCH /users/{id}/mailboxSettings` (and
 * a seed's `automaticReplies`): enum values in any case, kept in Graph's spelling; `scheduled`
 * needs a start before its end. `current` is what the fields left out keep.
 */
export function readAutomaticReplies(value: unknown, current?: LocalAutomaticReplies): LocalAutomaticReplies {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('automaticRepliesSetting must be an object.');
  const v = value as Record<string, unknown>;
  const known = [
    'status',
    'externalAudience',
    'scheduledStartDateTime',
    'scheduledEndDateTime',
    'internalReplyMessage',
    'externalReplyMessage',
  ];
  const unknown = Object.keys(v).find((k) => !known.includes(k) && !k.startsWith('@odata.'));
  if (unknown)
    throw badRequest(
      `The property '${unknown}' does not exist on type 'microsoft.graph.automaticRepliesSetting'.`,
    );
  const next: LocalAutomaticReplies = { ...(current ?? { status: 'disabled' }) };
  if (v.status !== undefined) {
    const status = typeof v.status === 'string' ? REPLIES_STATUS[v.status.toLowerCase()] : undefined;
    if (!status)
      throw badRequest(
        `Requested value '${String(v.status)}' was not found (disabled, alwaysEnabled, scheduled).`,
      );
    next.status = status;
  }
  if (v.externalAudience !== undefined) {
    const audience =
      typeof v.externalAudience === 'string' ? AUDIENCE[v.externalAudience.toLowerCase()] : undefined;
    if (!audience)
      throw badRequest(
        `Requested value '${String(v.externalAudience)}' was not found (none, contactsOnly, all).`,
      );
    next.externalAudience = audience;
  }
  if (v.scheduledStartDateTime !== undefined)
    next.scheduledStartDateTime = dateTimeTimeZone(v.scheduledStartDateTime, 'scheduledStartDateTime');
  if (v.scheduledEndDateTime !== undefined)
    next.scheduledEndDateTime = dateTimeTimeZone(v.scheduledEndDateTime, 'scheduledEndDateTime');
  for (const key of ['internalReplyMessage', 'externalReplyMessage'] as const) {
    if (v[key] === undefined) continue;
    if (typeof v[key] !== 'string') throw badRequest(`${key} must be a string.`);
    next[key] = v[key];
  }
  if (next.status === 'scheduled') {
    const { scheduledStartDateTime: start, scheduledEndDateTime: end } = next;
    if (!start || !end)
      throw new GraphFailure(
        400,
        'ErrorInvalidRequest',
        'Scheduled automatic replies need scheduledStartDateTime and scheduledEndDateTime.',
      );
    // NB: compared as written; the local directory keeps both in one zone in practice.
    if (start.timeZone === end.timeZone && start.dateTime >= end.dateTime)
      throw new GraphFailure(400, 'ErrorInvalidRequest', 'The scheduled end must be after its start.');
  }
  return next;
}

/** A workload's service principal (a pipeline's app registration in the tenant). */
export interface LocalServicePrincipal {
  /** The object id (`oid` of its tokens). */
  id: string;
  /** The application (client) id (`azp`/`appid` of its tokens). */
  appId: string;
  displayName: string;
}

export interface LocalGroup {
  id: string;
  displayName: string;
  /** Direct members: user, service principal or group ids (nesting). */
  members: string[];
  /** Membership rule-based: Graph refuses to change its members. */
  dynamic?: boolean;
  /** Role-assignable: Graph also asks for RoleManagement.ReadWrite.Directory. */
  isAssignableToRole?: boolean;
}

/** An active PIM for Groups member assignment; the server ends it itself at `endDateTime`. */
export interface PimAssignment {
  id: string;
  groupId: string;
  principalId: string;
  accessId: 'member' | 'owner';
  startDateTime: string;
  endDateTime: string;
  justification?: string;
}

export interface DirectoryState {
  users: LocalUser[];
  groups: LocalGroup[];
  /** Absent from state files written before machine requesters: none. */
  servicePrincipals: LocalServicePrincipal[];
  pimAssignments: PimAssignment[];
}

export type DirectoryObject =
  | ({ kind: 'user' } & LocalUser)
  | ({ kind: 'group' } & LocalGroup)
  | ({ kind: 'servicePrincipal' } & LocalServicePrincipal);

/** What `/{kind}s/{id}/checkMemberGroups` accepts: its own kind, or any object for /directoryObjects. */
export type ObjectKind = DirectoryObject['kind'] | 'directoryObject';

/**
 * The in-memory directory: Graph's semantics and error texts for users, groups, membership and
 * PIM assignments. Every change calls `onChange` (persistence, PIM timers).
 */
export class DirectoryModel {
  private state: DirectoryState;

  constructor(
    initial: DirectoryState,
    private readonly onChange: () => void = () => undefined,
  ) {
    this.state = structuredClone({ ...initial, servicePrincipals: initial.servicePrincipals ?? [] });
  }

  snapshot(): DirectoryState {
    return structuredClone(this.state);
  }

  replace(next: DirectoryState): void {
    this.state = structuredClone({ ...next, servicePrincipals: next.servicePrincipals ?? [] });
    this.onChange();
  }

  users(): LocalUser[] {
    return this.state.users;
  }

  groups(): LocalGroup[] {
    return this.state.groups;
  }

  pimAssignments(): PimAssignment[] {
    return this.state.pimAssignments;
  }

  servicePrincipals(): LocalServicePrincipal[] {
    return this.state.servicePrincipals;
  }

  /** By object id or (case-insensitively) by user principal name, as Graph's /users/{id|upn}. */
  findUser(idOrUpn: string): LocalUser | undefined {
    const lower = idOrUpn.toLowerCase();
    return this.state.users.find(
      (u) => u.id.toLowerCase() === lower || u.userPrincipalName.toLowerCase() === lower,
    );
  }

  findGroup(id: string): LocalGroup | undefined {
    const lower = id.toLowerCase();
    return this.state.groups.find((g) => g.id.toLowerCase() === lower);
  }

  /** By object id (`by` 'id') or application id ('appId'), as Graph's /servicePrincipals/{id} and (appId='…'). */
  findServicePrincipal(id: string, by: 'id' | 'appId' = 'id'): LocalServicePrincipal | undefined {
    const lower = id.toLowerCase();
    return this.state.servicePrincipals.find(
      (sp) => (by === 'id' ? sp.id : sp.appId).toLowerCase() === lower,
    );
  }

  findObject(id: string): DirectoryObject | undefined {
    const user = this.state.users.find((u) => u.id.toLowerCase() === id.toLowerCase());
    if (user) return { kind: 'user', ...user };
    const sp = this.findServicePrincipal(id);
    if (sp) return { kind: 'servicePrincipal', ...sp };
    const group = this.findGroup(id);
    return group ? { kind: 'group', ...group } : undefined;
  }

  /** An object of `kind` (any kind for 'directoryObject'), as the route of that kind finds it; else 404. */
  requireObject(id: string, kind: ObjectKind): DirectoryObject {
    const object = this.findObject(id);
    if (!object || (kind !== 'directoryObject' && object.kind !== kind)) throw notFound(id);
    return object;
  }

  requireServicePrincipal(id: string, by: 'id' | 'appId' = 'id'): LocalServicePrincipal {
    const sp = this.findServicePrincipal(id, by);
    if (!sp) throw notFound(id);
    return sp;
  }

  requireUser(idOrUpn: string): LocalUser {
    const user = this.findUser(idOrUpn);
    if (!user) throw notFound(idOrUpn);
    return user;
  }

  requireGroup(id: string): LocalGroup {
    const group = this.findGroup(id);
    if (!group) throw notFound(id);
    return group;
  }

  addMember(groupId: string, memberId: string): void {
    const group = this.requireGroup(groupId);
    const member = this.findObject(memberId);
    if (!member) throw notFound(memberId);
    // Graph answers a change to a rule-based group with the generic privileges error.
    if (group.dynamic) throw insufficientPrivileges();
    if (member.id === group.id) throw badRequest('A group cannot be a member of itself.');
    if (group.members.includes(member.id)) throw alreadyMember();
    group.members.push(member.id);
    this.onChange();
  }

  /** `POST /users/{id}/revokeSignInSessions`: the user's sessions are valid from `now` on (returned, ISO). */
  revokeSignInSessions(idOrUpn: string, now: Date): string {
    const user = this.requireUser(idOrUpn);
    user.signInSessionsValidFromDateTime = now.toISOString();
    this.onChange();
    return user.signInSessionsValidFromDateTime;
  }

  /** The user's automatic replies (off when never set); a user without a mailbox answers as Graph does. */
  automaticReplies(idOrUpn: string): LocalAutomaticReplies {
    const user = this.requireUser(idOrUpn);
    if (user.mailbox === false) throw mailboxNotEnabled();
    return structuredClone(user.automaticReplies ?? { status: 'disabled' });
  }

  /** `PATCH /users/{id}/mailboxSettings` with an `automaticRepliesSetting`: the setting as it is now. */
  updateAutomaticReplies(idOrUpn: string, value: unknown): LocalAutomaticReplies {
    const user = this.requireUser(idOrUpn);
    if (user.mailbox === false) throw mailboxNotEnabled();
    user.automaticReplies = readAutomaticReplies(value, user.automaticReplies);
    this.onChange();
    return structuredClone(user.automaticReplies);
  }

  removeMember(groupId: string, memberId: string): void {
    const group = this.requireGroup(groupId);
    if (group.dynamic) throw insufficientPrivileges();
    const index = group.members.findIndex((m) => m.toLowerCase() === memberId.toLowerCase());
    if (index < 0) throw notMember();
    group.members.splice(index, 1);
    this.onChange();
  }

  /** The groups (ids) that have `objectId` as a member, directly or through nested groups. */
  transitiveMemberOf(objectId: string): Set<string> {
    const found = new Set<string>();
    const queue = [objectId];
    while (queue.length > 0) {
      const current = queue.shift() as string;
      for (const group of this.state.groups) {
        if (!found.has(group.id) && group.members.includes(current)) {
          found.add(group.id);
          queue.push(group.id);
        }
      }
    }
    return found;
  }

  /** `POST /{users|servicePrincipals|groups|directoryObjects}/{id}/checkMemberGroups`; users by UPN too. */
  checkMemberGroups(objectId: string, groupIds: string[], kind: ObjectKind = 'user'): string[] {
    const object =
      kind === 'user' ? { id: this.requireUser(objectId).id } : this.requireObject(objectId, kind);
    if (groupIds.length > 20) {
      throw badRequest('The number of group ids exceeds the maximum of 20 allowed in checkMemberGroups.');
    }
    const memberOf = this.transitiveMemberOf(object.id);
    return groupIds.filter((id) => memberOf.has(id));
  }

  activeAssignment(groupId: string, principalId: string): PimAssignment | undefined {
    return this.state.pimAssignments.find((a) => a.groupId === groupId && a.principalId === principalId);
  }

  /** adminAssign: an active member assignment from `start` to `end`; the member is added at once. */
  pimAssign(
    groupId: string,
    principalId: string,
    start: Date,
    end: Date,
    justification?: string,
  ): PimAssignment {
    const group = this.requireGroup(groupId);
    if (this.findServicePrincipal(principalId)) {
      // NB: PIM for Groups is documented for users (and groups) only; Timebox never sends one.
      throw badRequest(
        `The local directory assigns PIM for Groups membership to users only; ${principalId} is a service principal.`,
      );
    }
    const user = this.requireUser(principalId);
    if (group.dynamic) {
      throw new GraphFailure(
        400,
        'InvalidGroupType',
        'Dynamic membership groups cannot be managed by Privileged Identity Management.',
      );
    }
    if (this.activeAssignment(group.id, user.id) || group.members.includes(user.id)) {
      throw new GraphFailure(400, 'RoleAssignmentExists', 'The Role assignment already exists.');
    }
    const assignment: PimAssignment = {
      id: randomUUID(),
      groupId: group.id,
      principalId: user.id,
      accessId: 'member',
      startDateTime: start.toISOString(),
      endDateTime: end.toISOString(),
      justification,
    };
    this.state.pimAssignments.push(assignment);
    group.members.push(user.id);
    this.onChange();
    return assignment;
  }

  pimExtend(groupId: string, principalId: string, end: Date): PimAssignment {
    const assignment = this.requireAssignment(groupId, principalId);
    assignment.endDateTime = end.toISOString();
    this.onChange();
    return assignment;
  }

  pimRemove(groupId: string, principalId: string): PimAssignment {
    const assignment = this.requireAssignment(groupId, principalId);
    this.endAssignment(assignment.id);
    return assignment;
  }

  /** Ends an assignment and removes the membership it gave (what Entra does at the end of a schedule). */
  endAssignment(assignmentId: string): void {
    const index = this.state.pimAssignments.findIndex((a) => a.id === assignmentId);
    if (index < 0) return;
    const [assignment] = this.state.pimAssignments.splice(index, 1);
    const group = this.findGroup(assignment.groupId);
    if (group) group.members = group.members.filter((m) => m !== assignment.principalId);
    this.onChange();
  }

  private requireAssignment(groupId: string, principalId: string): PimAssignment {
    const group = this.requireGroup(groupId);
    const user = this.requireUser(principalId);
    const assignment = this.activeAssignment(group.id, user.id);
    if (!assignment)
      throw new GraphFailure(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
    return assignment;
  }
}
