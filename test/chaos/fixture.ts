import type { PolicyInput } from '../../src/domain/policy';
import type { LocalDirectorySeed } from '../../src/dev/local-directory/server';

/** A seeded PRNG (mulberry32): the same --seed gives the same workload and kill times. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TENANT = 'c0000000-0000-4000-8000-00000000c4a0';
export const CHANNEL = { teamId: '19:chaos-team@thread.tacv2', channelId: '19:chaos-ops@thread.tacv2' };

export interface ChaosUser {
  key: string;
  /** Teams id (29:...). */
  teamsId: string;
  aadObjectId: string;
  name: string;
  upn: string;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const KINDS = {
  r: { key: 'req', digits: 2, prefix: 'c1', name: 'Requester' },
  a: { key: 'appr', digits: 2, prefix: 'c2', name: 'Approver' },
  h: { key: 'held', digits: 5, prefix: 'c4', name: 'Holder' },
} as const;
const user = (kind: keyof typeof KINDS, n: number): ChaosUser => {
  const k = KINDS[kind];
  const key = `${k.key}${String(n).padStart(k.digits, '0')}`;
  return {
    key,
    teamsId: `29:${key}`,
    aadObjectId: `${k.prefix}000000-0000-4000-8000-${hex(n, 12)}`,
    name: `${k.name} ${n}`,
    upn: `${key}@chaos.example`,
  };
};

export const GROUP_IDS = {
  std: 'c3000000-0000-4000-8000-000000000001',
  two: 'c3000000-0000-4000-8000-000000000002',
  auto: 'c3000000-0000-4000-8000-000000000003',
  glass: 'c3000000-0000-4000-8000-000000000004',
  enforce: 'c3000000-0000-4000-8000-000000000005',
  /** `--open N`: the group of the N grants held open for the whole run (not in the workload). */
  held: 'c3000000-0000-4000-8000-000000000006',
  approvers: 'c3000000-0000-4000-8000-0000000000a1',
  oncall: 'c3000000-0000-4000-8000-0000000000a2',
} as const;
/** The groups the workload asks for (`held` is managed too, but only its seeded grants are in it). */
export type ManagedGroup = 'std' | 'two' | 'auto' | 'glass' | 'enforce';
export const MANAGED: ManagedGroup[] = ['std', 'two', 'auto', 'glass', 'enforce'];
/**
 * The groups whose policy ends the person's sign-in sessions after a removal
 * (`revokeSessionsOnEnd`): `std` has standing members (never revoked for them), `glass` none.
 */
export const REVOKE_SESSIONS: ManagedGroup[] = ['std', 'glass'];
/** The policy alias of the `--open N` group, and how long it lets a grant last. */
export const HELD = { alias: 'held', displayName: 'Chaos held', maxDuration: '24h' } as const;

export interface Fixture {
  requesters: ChaosUser[];
  approvers: ChaosUser[];
  /** Requesters in the on-call group (auto-approve in `auto`). */
  oncall: Set<string>;
  seed: LocalDirectorySeed;
  policy: PolicyInput;
  /** Members each managed group has from the start (standing: never to be removed). */
  standing: Record<ManagedGroup, string[]>;
  /**
   * `--open N`: N more people, each a member of the `held` group from the start, explained by a
   * grant the harness seeds in the store before the bot first starts (held.ts); none of them
   * files anything. Empty (and no `held` group) when N is 0.
   */
  held: ChaosUser[];
}

/**
 * The chaos tenant: `requesters` people asking, four approvers, and five managed groups that
 * exercise every path — one approval (std), two approvals and approved extensions (two),
 * auto-approve for on-call (auto), break-glass (glass), and `enforce: remove` (enforce).
 * Some requesters are standing members of the group they ask for: their grants must never
 * remove them. With `open` > 0, a sixth managed group (`held`) and `open` people in it (see
 * Fixture.held); with 0, the tenant is exactly the five groups.
 */
export function chaosFixture(requesterCount: number, grantMaxS: number, open = 0): Fixture {
  const requesters = Array.from({ length: requesterCount }, (_, i) => user('r', i + 1));
  const approvers = Array.from({ length: 4 }, (_, i) => user('a', i + 1));
  const held = Array.from({ length: open }, (_, i) => user('h', i + 1));
  const oncall = new Set(
    requesters.slice(0, Math.max(1, Math.floor(requesterCount / 3))).map((u) => u.aadObjectId),
  );
  const standing: Record<ManagedGroup, string[]> = {
    std: requesters.slice(0, 2).map((u) => u.aadObjectId),
    two: requesters.slice(2, 3).map((u) => u.aadObjectId),
    auto: [],
    glass: [],
    enforce: requesters.slice(3, 4).map((u) => u.aadObjectId),
  };
  const seed: LocalDirectorySeed = {
    users: [...requesters, ...approvers, ...held].map((u) => ({
      id: u.aadObjectId,
      displayName: u.name,
      userPrincipalName: u.upn,
    })),
    groups: [
      { id: GROUP_IDS.std, displayName: 'Chaos standard', members: standing.std },
      { id: GROUP_IDS.two, displayName: 'Chaos two approvals', members: standing.two },
      { id: GROUP_IDS.auto, displayName: 'Chaos auto-approve', members: standing.auto },
      { id: GROUP_IDS.glass, displayName: 'Chaos break-glass', members: standing.glass },
      { id: GROUP_IDS.enforce, displayName: 'Chaos enforced', members: standing.enforce },
      {
        id: GROUP_IDS.approvers,
        displayName: 'Chaos approvers',
        members: approvers.slice(0, 2).map((u) => u.aadObjectId),
      },
      { id: GROUP_IDS.oncall, displayName: 'Chaos on-call', members: [...oncall] },
      ...(held.length
        ? [{ id: GROUP_IDS.held, displayName: HELD.displayName, members: held.map((u) => u.aadObjectId) }]
        : []),
    ],
  };
  const max = `${Math.max(grantMaxS * 2, 120)}s`;
  const policy: PolicyInput = {
    approverChannels: { ops: CHANNEL },
    admins: { users: [approvers[3]!.upn], groups: [] },
    defaults: {
      defaultDuration: '30s',
      maxDuration: max,
      pendingTimeout: '20s',
      remindAfter: '12s',
      expiryWarning: '5s',
      approvals: 1,
      requireJustification: true,
      allowSelfApproval: false,
      extension: { requireApproval: false, maxTotal: `${Math.max(grantMaxS * 3, 180)}s` },
    },
    groups: {
      std: {
        groupId: GROUP_IDS.std,
        displayName: 'Chaos standard',
        approverChannel: 'ops',
        approvers: { groups: [GROUP_IDS.approvers] },
        revokeSessionsOnEnd: REVOKE_SESSIONS.includes('std'),
      },
      two: {
        groupId: GROUP_IDS.two,
        displayName: 'Chaos two approvals',
        approverChannel: 'ops',
        approvers: { users: approvers.map((a) => a.upn) },
        approvals: 2,
        extension: { requireApproval: true, maxTotal: `${Math.max(grantMaxS * 3, 180)}s` },
      },
      auto: {
        groupId: GROUP_IDS.auto,
        displayName: 'Chaos auto-approve',
        approverChannel: 'ops',
        approvers: { users: [approvers[0]!.upn, approvers[1]!.upn] },
        autoApprove: { requesterInGroups: [GROUP_IDS.oncall], maxDuration: max },
      },
      glass: {
        groupId: GROUP_IDS.glass,
        displayName: 'Chaos break-glass',
        approverChannel: 'ops',
        approvers: { users: [approvers[2]!.upn, approvers[3]!.upn] },
        breakGlass: { maxDuration: max },
        revokeSessionsOnEnd: REVOKE_SESSIONS.includes('glass'),
      },
      enforce: {
        groupId: GROUP_IDS.enforce,
        displayName: 'Chaos enforced',
        approverChannel: 'ops',
        approvers: { groups: [GROUP_IDS.approvers] },
        enforce: 'remove',
      },
      ...(held.length
        ? {
            [HELD.alias]: {
              groupId: GROUP_IDS.held,
              displayName: HELD.displayName,
              approverChannel: 'ops',
              approvers: { groups: [GROUP_IDS.approvers] },
              maxDuration: HELD.maxDuration,
            },
          }
        : {}),
    },
  };
  return { requesters, approvers, oncall, seed, policy, standing, held };
}

/** Which approvers may decide a group (what an approver in the channel would see). */
export function approversOf(fixture: Fixture, group: ManagedGroup): ChaosUser[] {
  const [a1, a2, a3, a4] = fixture.approvers as [ChaosUser, ChaosUser, ChaosUser, ChaosUser];
  switch (group) {
    case 'std':
    case 'enforce':
      return [a1, a2];
    case 'two':
      return [a1, a2, a3, a4];
    case 'auto':
      return [a1, a2];
    case 'glass':
      return [a3, a4];
  }
}
