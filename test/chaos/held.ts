import { LowdbStore } from '../../src/adapters/store/lowdb-store';
import type { LocalDirectoryCall } from '../../src/dev/local-directory/server';
import { rulesFor, validatePolicy } from '../../src/domain/policy';
import type { AccessRequest, Person } from '../../src/domain/request';
import { dueAtOf } from '../../src/domain/timing';
import type { AuditRecord } from '../../src/ports/store';
import { GROUP_IDS, HELD, TENANT, type Fixture } from './fixture';

/** The grants `--open N` holds open for the whole run, as seeded. */
export interface HeldGrants {
  /** Request id → the grant as committed (version 1). */
  grants: Map<string, AccessRequest>;
  /** How long seeding took (through the Store port), ms. */
  seedMs: number;
  /** The earliest end of any of them (hours after the run). */
  firstEnd: number;
}

/** What became of the held grants by the end of the run. */
export interface HeldReport {
  grants: number;
  /** Still `active` in the store, with the end they were seeded with. */
  active: number;
  /** Their holders still members of the held group in the directory. */
  members: number;
  /** Membership removals of the held group the directory was asked for (any answer). */
  removalsTried: number;
  problems: string[];
}

/** A grant's length: hours past any run (FULL.maxRunMs is 15 min), within the group's maxDuration (24 h). */
const HELD_FOR_MS = 12 * 3_600_000;
/** How long before the run they were granted. */
const GRANTED_AGO_MS = 10 * 60_000;

/**
 * Seeds one active grant per `fixture.held` person in the `held` group, through the Store port
 * (a fresh LowdbStore on the bot's data directory, before its first start), shaped as the bot
 * leaves a granted request (bench/lib.ts `activeGrant`): approved by an approver, membership
 * added by us (`standingMember: false`), ending hours after the run, warning not sent yet and
 * due then (`dueAtOf` with the group's rules). Each commit carries its `granted` audit event.
 */
export async function seedHeld(dataDir: string, fixture: Fixture, now = Date.now()): Promise<HeldGrants> {
  const started = Date.now();
  const rules = rulesFor(validatePolicy(fixture.policy, 'chaos policy'), HELD.alias);
  const approver = person(fixture.approvers[0]!);
  const grants = new Map<string, AccessRequest>();
  const store = new LowdbStore(dataDir);
  await store.open();
  try {
    const made = fixture.held.map((u, i) => {
      const grantedAt = now - GRANTED_AGO_MS + i; // one ms apart: a distinct, stable order
      const expiresAt = grantedAt + HELD_FOR_MS;
      const request: AccessRequest = {
        // NB: never an id the bot makes (src/domain/ids.ts: no "0" or "1" in its alphabet).
        id: `R-H${String(i + 1).padStart(5, '0')}`,
        version: 0,
        tenantId: TENANT,
        requester: person(u),
        group: { alias: HELD.alias, id: GROUP_IDS.held, displayName: HELD.displayName },
        approverChannel: 'ops',
        durationMs: expiresAt - grantedAt,
        justification: 'Data migration running all day: held open for the whole chaos run.',
        kind: 'standard',
        status: 'active',
        createdAt: grantedAt - 120_000,
        updatedAt: grantedAt,
        approvalsRequired: 1,
        votes: [{ by: approver, decision: 'approve', at: grantedAt - 1_000 }],
        resolution: { by: approver, at: grantedAt - 1_000 },
        standingMember: false,
        addStartedAt: grantedAt - 300,
        grantedAt,
        expiresAt,
        extensions: [],
      };
      return request;
    });
    // Concurrent commits are written in group-commit batches (one fsync per batch, not per grant).
    for (let i = 0; i < made.length; i += 250) {
      const stored = await Promise.all(
        made.slice(i, i + 250).map((request) =>
          store.commit({
            request,
            expectedVersion: null,
            events: [
              {
                type: 'granted',
                requestId: request.id,
                at: request.grantedAt!,
                detail: {
                  expiresAt: new Date(request.expiresAt!).toISOString(),
                  standingMember: false,
                },
              },
            ],
            dueAt: dueAtOf(request, rules),
          }),
        ),
      );
      for (const r of stored) grants.set(r.id, r);
    }
  } finally {
    await store.close();
  }
  const firstEnd = Math.min(...[...grants.values()].map((r) => r.expiresAt!));
  return { grants, seedMs: Date.now() - started, firstEnd };
}

/**
 * The held grants at the end: each still active with its seeded end, its holder still a member,
 * nothing of it left in the outbox, no removal of the group tried, nothing audited about it
 * beyond its `granted`, and the reconciler never took its holder for standing or for drift.
 */
export function checkHeld(input: {
  held: HeldGrants;
  requests: Map<string, AccessRequest>;
  effects: Array<{ kind: string; requestId: string }>;
  /** The held group's members in the directory now. */
  members: string[];
  audit: AuditRecord[];
  calls: LocalDirectoryCall[];
}): HeldReport {
  const { held } = input;
  const problems: string[] = [];
  const members = new Set(input.members.map((m) => m.toLowerCase()));
  const holders = new Set([...held.grants.values()].map((r) => r.requester.id.toLowerCase()));
  let active = 0;
  let stillMembers = 0;
  for (const [id, seeded] of held.grants) {
    const now = input.requests.get(id);
    if (!now) problems.push(`${id}: gone from the store`);
    else if (now.status !== 'active')
      problems.push(`${id}: ${now.status} (seeded active, ending hours later)`);
    else if (now.expiresAt !== seeded.expiresAt || now.grantedAt !== seeded.grantedAt)
      problems.push(
        `${id}: active but its time changed (${new Date(seeded.grantedAt!).toISOString()}–${new Date(seeded.expiresAt!).toISOString()} → ${new Date(now.grantedAt ?? 0).toISOString()}–${new Date(now.expiresAt ?? 0).toISOString()})`,
      );
    else if (now.membershipRemovedAt !== undefined) problems.push(`${id}: active but marked removed`);
    else active++;
    if (members.has(seeded.requester.id.toLowerCase())) stillMembers++;
    else problems.push(`${id}: ${seeded.requester.id} is no longer a member of ${HELD.alias}`);
  }
  for (const m of members)
    if (!holders.has(m)) problems.push(`${HELD.alias}/${m}: a member no held grant explains`);
  for (const e of input.effects)
    if (held.grants.has(e.requestId)) problems.push(`${e.requestId}: ${e.kind} left in the outbox`);
  const path = `/groups/${GROUP_IDS.held}/members/`;
  const removals = input.calls.filter((c) => c.method === 'DELETE' && c.path.toLowerCase().startsWith(path));
  for (const c of removals.slice(0, 20))
    problems.push(`removal tried in ${HELD.alias}: DELETE ${c.path} answered ${c.status}`);
  for (const r of input.audit) {
    if (r.requestId && held.grants.has(r.requestId) && r.type !== 'granted')
      problems.push(`${r.requestId}: audited ${r.type}${r.reason ? ` (${r.reason})` : ''}`);
    const group = String(r.detail?.group ?? '');
    if (group !== HELD.alias) continue;
    if (r.type === 'drift_detected' || r.type === 'drift_removed')
      problems.push(`${HELD.alias}: ${r.type} for ${String(r.detail?.userId)}`);
    if (r.type === 'baseline_recorded') {
      const standing = (r.detail?.members as string[] | undefined) ?? [];
      const taken = standing.filter((m) => holders.has(m.toLowerCase()));
      if (taken.length)
        problems.push(
          `${HELD.alias}: the baseline took ${taken.length} holder(s) of a held grant for standing members (${taken.slice(0, 3).join(', ')}…)`,
        );
    }
  }
  if (!input.audit.some((r) => r.type === 'baseline_recorded' && r.detail?.group === HELD.alias))
    problems.push(`${HELD.alias}: the reconciler never recorded its baseline (the group was never checked)`);
  return {
    grants: held.grants.size,
    active,
    members: stillMembers,
    removalsTried: removals.length,
    problems,
  };
}

const person = (u: { aadObjectId: string; name: string; upn: string }): Person => ({
  id: u.aadObjectId,
  name: u.name,
  upn: u.upn,
});
