/** A person in the directory (Entra ID user). */
export interface DirectoryUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

/** Input of the PIM-mode calls: an assignment that Entra itself ends after `durationMs`. */
export interface TimeBoundAssignment {
  groupId: string;
  userId: string;
  /** When the assignment starts (epoch ms). */
  start: number;
  durationMs: number;
  justification: string;
}

/** What an add did: put the member in now, or found them there already. */
export type AddOutcome = 'added' | 'already-member';

/**
 * The directory Timebox grants access in (Microsoft Graph in production, the local directory
 * server in dev and tests). Implementations translate API errors into DomainErrors with the
 * DIRECTORY_* codes, and retry throttling and transient failures themselves.
 */
export interface Directory {
  /** Finds a user by object id or user principal name; undefined when there is none. */
  findUser(idOrUpn: string): Promise<DirectoryUser | undefined>;
  /** Whether the user is a direct member of the group. */
  isMember(groupId: string, userId: string): Promise<boolean>;
  /** Which of `groupIds` the user belongs to, transitively (any number of ids). */
  memberGroups(userId: string, groupIds: string[]): Promise<string[]>;
  /**
   * Adds the user to the group; "already a member" is success, told apart from an add that
   * happened now (the grant's clock depends on which).
   */
  addMember(groupId: string, userId: string): Promise<AddOutcome>;
  /** Removes the user from the group (always through `/$ref`); "not a member" is success. */
  removeMember(groupId: string, userId: string): Promise<void>;
  /** The ids of the group's direct members. */
  listMembers(groupId: string): Promise<string[]>;
  /** PIM mode: creates an active member assignment that Entra removes at its end. */
  assignTimeBound(assignment: TimeBoundAssignment): Promise<void>;
  /** PIM mode: moves the end of an existing assignment (start + durationMs is the new end). */
  extendTimeBound(assignment: TimeBoundAssignment): Promise<void>;
  /** PIM mode: ends an assignment now; none left is success. */
  removeTimeBound(groupId: string, userId: string, justification: string): Promise<void>;
}
