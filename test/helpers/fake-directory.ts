import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DomainError, ErrorCodes } from '../../src/domain/errors';
import type {
  AddOutcome,
  AutomaticReplies,
  Directory,
  DirectoryServicePrincipal,
  DirectoryUser,
  TimeBoundAssignment,
} from '../../src/ports/directory';

export type DirectoryOp = keyof Directory;

export interface DirectoryCall {
  op: DirectoryOp;
  groupId?: string;
  userId?: string;
  /** When it was made, by `FakeDirectory.now` (a test's clock). */
  at?: number;
}

export interface FakeDirectorySeed {
  users: DirectoryUser[];
  /** `members` may hold group ids: nested groups, for transitive membership. */
  groups: { id: string; displayName: string; members: string[] }[];
  /** Workloads' service principals (machine requesters); their ids may be group members like users'. */
  servicePrincipals?: DirectoryServicePrincipal[];
}

/** Ids of the demo directory (examples/demo.directory.json) and the on-call group the tests add. */
export const DIR = {
  users: {
    alex: 'a1000000-0000-4000-8000-000000000001',
    megan: 'a1000000-0000-4000-8000-000000000002',
    adele: 'a1000000-0000-4000-8000-000000000003',
    isaiah: 'a1000000-0000-4000-8000-000000000004',
    patti: 'a1000000-0000-4000-8000-000000000005',
    lynne: 'a1000000-0000-4000-8000-000000000006',
  },
  groups: {
    sandbox: 'b2000000-0000-4000-8000-000000000001',
    dbRead: 'b2000000-0000-4000-8000-000000000002',
    prodAdmin: 'b2000000-0000-4000-8000-000000000003',
    billing: 'b2000000-0000-4000-8000-000000000004',
    sre: 'b2000000-0000-4000-8000-000000000011',
    oncall: 'b2000000-0000-4000-8000-000000000012',
    /** Holds the SRE group: its members are approvers of a group naming it, transitively. */
    leads: 'b2000000-0000-4000-8000-000000000013',
  },
  /** The demo tenant's workloads (src/dev/local-issuer/dev-identity.ts): object id and application id. */
  servicePrincipals: {
    pipeline: { id: 'c2000000-0000-4000-8000-000000000001', appId: 'c1000000-0000-4000-8000-000000000001' },
    stranger: { id: 'c2000000-0000-4000-8000-000000000002', appId: 'c1000000-0000-4000-8000-000000000002' },
  },
} as const;

/** The demo directory plus a billing group, an on-call group (Isaiah) and a group nesting SRE. */
export function demoSeed(): FakeDirectorySeed {
  const seed = JSON.parse(
    readFileSync(path.join(__dirname, '../../examples/demo.directory.json'), 'utf8'),
  ) as FakeDirectorySeed;
  seed.groups.push({ id: DIR.groups.billing, displayName: 'Billing', members: [] });
  seed.groups.push({ id: DIR.groups.oncall, displayName: 'On-call', members: [DIR.users.isaiah] });
  seed.groups.push({ id: DIR.groups.leads, displayName: 'Leads', members: [DIR.groups.sre] });
  return seed;
}

export const forbidden = () =>
  new DomainError(
    ErrorCodes.DIRECTORY_PERMISSION,
    'Insufficient privileges to complete the operation. Grant GroupMember.ReadWrite.All to Timebox.',
  );
export const unavailable = () =>
  new DomainError(
    ErrorCodes.DIRECTORY_UNAVAILABLE,
    'Microsoft Graph is unavailable (HTTP 503); the change will be retried.',
  );
export const throttled = () =>
  new DomainError(
    ErrorCodes.DIRECTORY_THROTTLED,
    'Microsoft Graph is throttling Timebox; the change will be retried later.',
  );

interface Fault {
  op: DirectoryOp;
  error?: () => Error;
  /** Never answer: the process "crashes" during the call; `before`/`after` the change happens. */
  hang?: 'before' | 'after';
  times: number;
  hit: () => void;
}

/**
 * The Directory port in memory: users, groups (nested), direct and transitive membership,
 * every call recorded, and faults on any operation — errors, or a call that never returns
 * (to stop a process between two steps).
 */
export class FakeDirectory implements Directory {
  readonly calls: DirectoryCall[] = [];
  private readonly users = new Map<string, DirectoryUser>();
  private readonly servicePrincipals = new Map<string, DirectoryServicePrincipal>();
  private readonly groups = new Map<string, { displayName: string; members: Set<string> }>();
  private faults: Fault[] = [];
  /** Automatic replies per user (lower-case id); absent: `in` (a mailbox with them off). */
  private readonly replies = new Map<string, AutomaticReplies>();
  /** Each revokeSignInSessions that went through: whose, and when (by `now`). */
  readonly revokedSessions: { userId: string; at?: number }[] = [];
  /** Called before every add or removal changes anything (property tests check invariants here). */
  onWrite?: (op: 'addMember' | 'removeMember', groupId: string, userId: string) => void | Promise<void>;
  /** Stamps each call (set it to a fake clock's `now`). */
  now?: () => number;

  constructor(seed: FakeDirectorySeed = demoSeed()) {
    for (const u of seed.users) this.users.set(u.id.toLowerCase(), { ...u });
    for (const sp of seed.servicePrincipals ?? []) this.servicePrincipals.set(sp.id.toLowerCase(), { ...sp });
    for (const g of seed.groups)
      this.groups.set(g.id.toLowerCase(), {
        displayName: g.displayName,
        members: new Set(g.members.map((m) => m.toLowerCase())),
      });
  }

  /** Direct member ids of a group. */
  members(groupId: string): string[] {
    return [...this.group(groupId).members];
  }

  /** Changes made by someone else (an admin in the Entra portal). */
  addExternally(groupId: string, userId: string): void {
    this.group(groupId).members.add(userId.toLowerCase());
  }

  removeExternally(groupId: string, userId: string): void {
    this.group(groupId).members.delete(userId.toLowerCase());
  }

  /** The next `times` calls of `op` throw `error()`. */
  failNext(op: DirectoryOp, error: () => Error, times = 1): void {
    this.faults.push({ op, error, times, hit: () => undefined });
  }

  /** Every call of `op` throws `error()` until the returned function is called. */
  failAlways(op: DirectoryOp, error: () => Error): () => void {
    const fault: Fault = { op, error, times: Number.POSITIVE_INFINITY, hit: () => undefined };
    this.faults.push(fault);
    return () => {
      this.faults = this.faults.filter((f) => f !== fault);
    };
  }

  /** The next call of `op` never returns; the promise resolves when it has been hit. */
  hangNext(op: DirectoryOp, when: 'before' | 'after'): Promise<void> {
    return new Promise((resolve) => this.faults.push({ op, hang: when, times: 1, hit: resolve }));
  }

  /** What `automaticReplies` answers for the user from now on (`in` when never set). */
  setAutomaticReplies(userId: string, replies: AutomaticReplies): void {
    this.replies.set(userId.toLowerCase(), replies);
  }

  clearFaults(): void {
    this.faults = [];
  }

  count(op: DirectoryOp): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  async findUser(idOrUpn: string): Promise<DirectoryUser | undefined> {
    await this.enter({ op: 'findUser' });
    const key = idOrUpn.toLowerCase();
    const user =
      this.users.get(key) ?? [...this.users.values()].find((u) => u.userPrincipalName.toLowerCase() === key);
    return user && { ...user };
  }

  async findServicePrincipal(
    id: string,
    by: 'id' | 'appId' = 'id',
  ): Promise<DirectoryServicePrincipal | undefined> {
    await this.enter({ op: 'findServicePrincipal' });
    const key = id.toLowerCase();
    const sp =
      by === 'id'
        ? this.servicePrincipals.get(key)
        : [...this.servicePrincipals.values()].find((s) => s.appId.toLowerCase() === key);
    return sp && { ...sp };
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    await this.enter({ op: 'isMember', groupId, userId });
    return this.group(groupId).members.has(userId.toLowerCase());
  }

  async memberGroups(userId: string, groupIds: string[]): Promise<string[]> {
    await this.enter({ op: 'memberGroups', userId });
    return groupIds.filter(
      (g) =>
        this.groups.has(g.toLowerCase()) &&
        this.transitivelyIn(g.toLowerCase(), userId.toLowerCase(), new Set()),
    );
  }

  async addMember(groupId: string, userId: string): Promise<AddOutcome> {
    let outcome: AddOutcome = 'added';
    await this.write('addMember', groupId, userId, () => {
      const members = this.group(groupId).members;
      if (members.has(userId.toLowerCase())) outcome = 'already-member';
      members.add(userId.toLowerCase());
    });
    return outcome;
  }

  async removeMember(groupId: string, userId: string): Promise<void> {
    await this.write('removeMember', groupId, userId, () =>
      this.group(groupId).members.delete(userId.toLowerCase()),
    );
  }

  async listMembers(groupId: string): Promise<string[]> {
    await this.enter({ op: 'listMembers', groupId });
    return this.members(groupId);
  }

  async assignTimeBound(a: TimeBoundAssignment): Promise<void> {
    refuseServicePrincipal(a);
    await this.write(
      'addMember',
      a.groupId,
      a.userId,
      () => this.group(a.groupId).members.add(a.userId.toLowerCase()),
      'assignTimeBound',
    );
  }

  async extendTimeBound(a: TimeBoundAssignment): Promise<void> {
    refuseServicePrincipal(a);
    await this.enter({ op: 'extendTimeBound', groupId: a.groupId, userId: a.userId });
  }

  async removeTimeBound(groupId: string, userId: string): Promise<void> {
    await this.write(
      'removeMember',
      groupId,
      userId,
      () => this.group(groupId).members.delete(userId.toLowerCase()),
      'removeTimeBound',
    );
  }

  async revokeSignInSessions(userId: string): Promise<void> {
    const fault = await this.enter({ op: 'revokeSignInSessions', userId }, true);
    if (fault?.hang === 'before') return (fault.hit(), never());
    if (!this.users.has(userId.toLowerCase()))
      throw new DomainError(
        ErrorCodes.DIRECTORY_USER_NOT_FOUND,
        `No user ${userId} in the fake directory (sessions are a user's).`,
      );
    this.revokedSessions.push({ userId, ...(this.now ? { at: this.now() } : {}) });
    if (fault?.hang === 'after') return (fault.hit(), never());
  }

  /** As GraphDirectory: never throws; a fault (an error) reads as `unknown`, a hang never answers. */
  async automaticReplies(userId: string): Promise<AutomaticReplies> {
    try {
      await this.enter({ op: 'automaticReplies', userId });
    } catch {
      return 'unknown';
    }
    if (!this.users.has(userId.toLowerCase())) return 'unknown';
    return this.replies.get(userId.toLowerCase()) ?? 'in';
  }

  private async write(
    kind: 'addMember' | 'removeMember',
    groupId: string,
    userId: string,
    change: () => void,
    op: DirectoryOp = kind,
  ): Promise<void> {
    const fault = await this.enter({ op, groupId, userId }, true);
    if (fault?.hang === 'before') return (fault.hit(), never());
    await this.onWrite?.(kind, groupId, userId);
    change();
    if (fault?.hang === 'after') return (fault.hit(), never());
  }

  /** Records the call and applies a fault: throws, or hands a hang back to the write. */
  private async enter(call: DirectoryCall, isWrite = false): Promise<Fault | undefined> {
    this.calls.push({ ...call, ...(this.now ? { at: this.now() } : {}) });
    await Promise.resolve(); // answers come later than the call, as over HTTP
    const fault = this.faults.find((f) => f.op === call.op);
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.faults = this.faults.filter((f) => f !== fault);
    if (fault.error) {
      fault.hit();
      throw fault.error();
    }
    if (isWrite) return fault; // the write hangs before or after its change
    fault.hit();
    return never();
  }

  private group(groupId: string) {
    const group = this.groups.get(groupId.toLowerCase());
    if (!group)
      throw new DomainError(
        ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
        `No group ${groupId} in the fake directory.`,
      );
    return group;
  }

  private transitivelyIn(groupId: string, userId: string, seen: Set<string>): boolean {
    if (seen.has(groupId)) return false;
    seen.add(groupId);
    const group = this.groups.get(groupId);
    if (!group) return false;
    if (group.members.has(userId)) return true;
    return [...group.members].some((m) => this.groups.has(m) && this.transitivelyIn(m, userId, seen));
  }
}

/** As GraphDirectory: PIM for Groups takes no service principal (nothing is recorded or changed). */
function refuseServicePrincipal(a: TimeBoundAssignment): void {
  if (a.principalKind === 'service_principal')
    throw new DomainError(
      ErrorCodes.DIRECTORY_INVALID,
      `PIM mode cannot give group ${a.groupId} to service principal ${a.userId} (fake directory).`,
    );
}

function never(): Promise<never> {
  return new Promise<never>(() => undefined);
}
