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

/** One membership change of a batch (`changeMembers`). */
export interface MemberChange {
  op: 'add' | 'remove';
  groupId: string;
  userId: string;
}

/**
 * What one change of a batch did: exactly what `addMember` / `removeMember` would have
 * returned (`outcome`, for an add) or thrown (`error`, a DomainError with the same code).
 */
export type MemberChangeResult = { ok: true; outcome?: AddOutcome } | { ok: false; error: Error };

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
  /**
   * Optional: several adds and removals in as few round trips as the directory allows
   * (Graph JSON batching, 20 a call), one result per change in the same order. Each change is
   * judged as the single call would be (a removal of a non-member is success, an add of a
   * member is `already-member`); throttled items are retried on their own. Never throws for
   * one item's failure; the single-call methods stay the reference.
   */
  changeMembers?(changes: MemberChange[]): Promise<MemberChangeResult[]>;
  /** The ids of the group's direct members. */
  listMembers(groupId: string): Promise<string[]>;
  /** PIM mode: creates an active member assignment that Entra removes at its end. */
  assignTimeBound(assignment: TimeBoundAssignment): Promise<void>;
  /** PIM mode: moves the end of an existing assignment (start + durationMs is the new end). */
  extendTimeBound(assignment: TimeBoundAssignment): Promise<void>;
  /** PIM mode: ends an assignment now; none left is success. */
  removeTimeBound(groupId: string, userId: string, justification: string): Promise<void>;
}
