/** A person in the directory (Entra ID user). */
export interface DirectoryUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
}

/**
 * A workload's service principal in the directory (Entra ID servicePrincipal): what a client's
 * own requests are filed as, and what is added to a group it asks for.
 */
export interface DirectoryServicePrincipal {
  /** The object id: the `oid` of the workload's access tokens. */
  id: string;
  /** The application (client) id: `azp`/`appid` of its tokens, `clients.<name>.appId` in the policy. */
  appId: string;
  displayName: string;
}

/** Input of the PIM-mode calls: an assignment that Entra itself ends after `durationMs`. */
export interface TimeBoundAssignment {
  groupId: string;
  /** The principal's object id (a user's; see `principalKind`). */
  userId: string;
  /**
   * 'service_principal' when `userId` is one (absent: a user). PIM for Groups is documented for
   * users (and groups) only, so the directory refuses a service principal (DIRECTORY_INVALID)
   * rather than send it.
   */
  principalKind?: 'service_principal';
  /** When the assignment starts (epoch ms). */
  start: number;
  durationMs: number;
  justification: string;
}

/**
 * Whether a person's automatic replies (out of office) are on now: `away` when they are always
 * on or scheduled around now, `in` when they are off or scheduled for another time, `unknown`
 * when the directory cannot say (no permission to read them, no mailbox, a failure).
 */
export type AutomaticReplies = 'away' | 'in' | 'unknown';

/** What an add did: put the member in now, or found them there already. */
export type AddOutcome = 'added' | 'already-member';

/** One membership change of a batch (`changeMembers`). */
export interface MemberChange {
  op: 'add' | 'remove';
  groupId: string;
  /** A user's or a service principal's object id. */
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
 *
 * A member (`userId` below) is any principal's object id: a user's, or a client's service
 * principal's (a machine requester): membership calls, checks and listings treat both alike,
 * and nothing filters members to users. DIRECTORY_USER_NOT_FOUND is "no such principal".
 */
export interface Directory {
  /** Finds a user by object id or user principal name; undefined when there is none. */
  findUser(idOrUpn: string): Promise<DirectoryUser | undefined>;
  /**
   * Finds a service principal by object id (`by` 'id', the default) or by application id
   * ('appId'); undefined when there is none (a user's id finds none).
   */
  findServicePrincipal(id: string, by?: 'id' | 'appId'): Promise<DirectoryServicePrincipal | undefined>;
  /** Whether the principal (user or service principal) is a direct member of the group. */
  isMember(groupId: string, userId: string): Promise<boolean>;
  /** Which of `groupIds` the principal (user or service principal) belongs to, transitively (any number of ids). */
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
  /** The ids of the group's direct members, of every kind (users, service principals, nested groups). */
  listMembers(groupId: string): Promise<string[]>;
  /** PIM mode: creates an active member assignment that Entra removes at its end. */
  assignTimeBound(assignment: TimeBoundAssignment): Promise<void>;
  /** PIM mode: moves the end of an existing assignment (start + durationMs is the new end). */
  extendTimeBound(assignment: TimeBoundAssignment): Promise<void>;
  /** PIM mode: ends an assignment now; none left is success. */
  removeTimeBound(groupId: string, userId: string, justification: string): Promise<void>;
  /**
   * Ends the user's sign-in sessions (their refresh tokens and browser sessions), so that a
   * membership just removed does not live on in tokens issued before (policy
   * `revokeSessionsOnEnd`). Idempotent; a missing permission is DIRECTORY_PERMISSION.
   */
  revokeSignInSessions(userId: string): Promise<void>;
  /**
   * The user's automatic replies (out of office) now, cached a few minutes. Never throws: a
   * missing permission, a user without a mailbox or a directory failure is `unknown`.
   */
  automaticReplies(userId: string): Promise<AutomaticReplies>;
}
