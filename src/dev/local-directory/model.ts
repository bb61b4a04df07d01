import { randomUUID } from 'node:crypto';
import {
  GraphFailure,
  alreadyMember,
  badRequest,
  insufficientPrivileges,
  notFound,
  notMember,
} from './graph-error';

export interface LocalUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
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
