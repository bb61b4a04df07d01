import { existsSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { verifyAuditFile } from '../../../src/adapters/store/audit-verify';
import { DomainError } from '../../../src/domain/errors';
import {
  isClosed,
  mayHoldMembership,
  sameId,
  totalLengthWith,
  type AccessRequest,
  type Person,
} from '../../../src/domain/request';
import { DelegationService } from '../../../src/app/delegations';
import { DIR, forbidden, unavailable } from '../../helpers/fake-directory';
import { HOUR, MINUTE, people, rigPolicy, startRig, type PersonKey, type Rig } from '../app/rig';

/**
 * Random sequences of what people and time do — submit, approve, deny, cancel, extend,
 * release, revoke, racing approvals, clock jumps, restarts, crashes mid-call, Graph hiccups —
 * from random actors, against the real service, worker, scheduler and store. After every
 * step, once things settle, none of the guarantees may be broken.
 */

const ACTORS: PersonKey[] = ['alex', 'megan', 'adele', 'isaiah', 'patti', 'lynne'];
// deploy-prod is an action gate: approval only, never a membership.
const GROUPS = ['sandbox', 'db-read', 'db-read-oncall', 'prod-admin', 'billing', 'deploy-prod'] as const;
const DURATIONS = [MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR];
const JUMPS = [1000, MINUTE, 10 * MINUTE, 20 * MINUTE, HOUR, 3 * HOUR];
const DECISIONS = new Set(['approved', 'auto_approved', 'break_glass', 'denied', 'cancelled', 'timed_out']);
const ENDINGS = new Set(['expired', 'released', 'revoked', 'failed']);

/**
 * Who acts: mostly someone the step makes sense for (the request's requester, one of its
 * approvers, an admin), sometimes anyone — so refusals are exercised as well as successes.
 */
type Who = { role: 'requester' | 'approver' | 'admin' | 'anyone'; pick: number };

type Step =
  | { kind: 'submit'; actor: number; group: number; duration: number; breakGlass: boolean; startIn?: number }
  | { kind: 'delegate'; actor: number; to: number }
  | { kind: 'approve' | 'cancel' | 'release'; who: Who; request: number }
  | { kind: 'deny' | 'revoke'; who: Who; request: number; withReason: boolean }
  | { kind: 'extend'; who: Who; request: number; duration: number }
  | { kind: 'race'; who: [Who, Who]; request: number }
  | { kind: 'advance'; jump: number }
  | { kind: 'restart' | 'crash'; downFor: number }
  | { kind: 'hiccup'; op: 'addMember' | 'removeMember' | 'isMember'; times: number }
  | { kind: 'graphRefuses' }
  | { kind: 'killDuring'; op: 'addMember' | 'removeMember'; when: 'before' | 'after' }
  | { kind: 'adminAdds'; actor: number; group: number };

/** Which request: mostly one of the latest few. */
const index = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 2 }) },
  { weight: 1, arbitrary: fc.nat({ max: 50 }) },
);
const whoFor = (role: Who['role']): fc.Arbitrary<Who> =>
  fc.record({
    role: fc.oneof(
      { weight: 5, arbitrary: fc.constant(role) },
      { weight: 1, arbitrary: fc.constant('anyone' as const) },
    ),
    pick: fc.nat({ max: 5 }),
  });
const rarely = fc.oneof(
  { weight: 5, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
const actor = fc.nat({ max: ACTORS.length - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      actor,
      group: fc.nat({ max: GROUPS.length - 1 }),
      duration: fc.nat({ max: DURATIONS.length - 1 }),
      breakGlass: rarely,
      // Sometimes a scheduled start (request … at): a jump of JUMPS ahead.
      startIn: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.nat({ max: JUMPS.length - 1 }) },
      ),
    }),
  },
  {
    weight: 1,
    // An approver (Alex approves sandbox; Megan, Adele and Isaiah prod-admin) hands over to anyone.
    arbitrary: fc.record({
      kind: fc.constant('delegate' as const),
      actor: fc.constantFrom(
        ...(['alex', 'megan', 'adele', 'isaiah'] as const).map((a) => ACTORS.indexOf(a)),
      ),
      to: actor,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({ kind: fc.constant('approve' as const), who: whoFor('approver'), request: index }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('cancel' as const, 'release' as const),
      who: whoFor('requester'),
      request: index,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deny' as const),
      who: whoFor('approver'),
      request: index,
      withReason: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('revoke' as const),
      who: fc.oneof(whoFor('approver'), whoFor('admin')),
      request: index,
      withReason: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('extend' as const),
      who: whoFor('requester'),
      request: index,
      duration: fc.nat({ max: DURATIONS.length - 1 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      who: fc.tuple(whoFor('approver'), whoFor('approver')),
      request: index,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), jump: fc.nat({ max: JUMPS.length - 1 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('restart' as const, 'crash' as const),
      downFor: fc.nat({ max: JUMPS.length - 1 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('hiccup' as const),
      op: fc.constantFrom('addMember' as const, 'removeMember' as const, 'isMember' as const),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('graphRefuses' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('killDuring' as const),
      op: fc.constantFrom('addMember' as const, 'removeMember' as const),
      when: fc.constantFrom('before' as const, 'after' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('adminAdds' as const),
      actor,
      group: fc.nat({ max: GROUPS.length - 1 }),
    }),
  },
);

/**
 * Steps aimed at guarantee 7: break-glass grants (sandbox, prod-admin) and auto-approved ones
 * (Isaiah, on call, for prod-admin), and every way to ask for more time on them — extend,
 * asking again, approvals from anyone including the holder — while time passes.
 */
const capStep: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      actor: fc.constantFrom(ACTORS.indexOf('alex'), ACTORS.indexOf('isaiah')),
      group: fc.constantFrom(GROUPS.indexOf('sandbox'), GROUPS.indexOf('prod-admin')),
      duration: fc.nat({ max: 2 }), // 1m, 10m, 30m: within the break-glass and auto-approve caps
      breakGlass: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('extend' as const),
      who: whoFor('requester'),
      request: index,
      duration: fc.nat({ max: DURATIONS.length - 1 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('approve' as const), who: whoFor('approver'), request: index }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('deny' as const),
      who: whoFor('approver'),
      request: index,
      withReason: fc.constant(true),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      who: fc.tuple(whoFor('approver'), whoFor('approver')),
      request: index,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), jump: fc.nat({ max: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('restart' as const, 'crash' as const),
      downFor: fc.nat({ max: 2 }),
    }),
  },
);

function policy() {
  const p = rigPolicy({
    defaults: {
      pendingTimeout: '1h',
      remindAfter: '15m',
      expiryWarning: '5m',
      approvals: 1,
      requireJustification: true,
      extension: { requireApproval: false, maxTotal: '3h' },
    },
  });
  // A second alias of db-read's Entra group: two grants can cover one membership.
  p.groups['db-read-oncall'] = {
    groupId: DIR.groups.dbRead,
    displayName: 'Production DB (on-call)',
    approverChannel: 'ops',
    approvers: { users: ['meganb@example.com', 'isaiah@example.com'] },
    approvals: 2,
    extension: { requireApproval: true, maxTotal: '4h' },
  };
  p.groups['sandbox']!.breakGlass = { maxDuration: '30m' };
  p.groups['db-read']!.revokeSessionsOnEnd = true;
  p.actions = {
    'deploy-prod': {
      displayName: 'Deploy to production',
      approverChannel: 'ops',
      approvers: { users: ['meganb@example.com', 'adelev@example.com'] },
      approvalValidFor: '30m',
    },
  };
  return p;
}

const key = (groupId: string, userId: string) => `${groupId.toLowerCase()}/${userId.toLowerCase()}`;

/** One run: a fresh bot, the steps in order, the guarantees checked after each. */
class Run {
  readonly violations: string[] = [];
  readonly ids: string[] = [];
  /** Memberships that someone other than Timebox made: the seed's, and the admin's. */
  readonly standing = new Set<string>();
  /** When the membership a request waited for was added, by request id. */
  private readonly landedAt = new Map<string, number>();
  private armed?: Promise<void>;

  constructor(readonly rig: Rig) {
    for (const g of Object.values(DIR.groups))
      for (const m of rig.directory.members(g)) this.standing.add(key(g, m));
    rig.directory.onWrite = (op, groupId, userId) =>
      op === 'addMember' ? this.checkAdd(groupId, userId) : this.checkRemove(groupId, userId);
  }

  async apply(s: Step): Promise<void> {
    const startedAt = this.rig.clock.now();
    const work = this.run(s).catch((error: unknown) => {
      // Refusals are the product working; anything else is a bug.
      if (!(error instanceof DomainError))
        this.violations.push(`step ${JSON.stringify(s)} threw ${(error as Error)?.stack ?? String(error)}`);
    });
    const killed = this.armed
      ? this.armed.then(() => 'killed' as const)
      : new Promise<never>(() => undefined);
    const outcome = await Promise.race([work.then(() => this.settled()), killed]);
    if (outcome === 'killed') {
      this.armed = undefined;
      stats.set('(killed mid-call)', (stats.get('(killed mid-call)') ?? 0) + 1);
      await this.rig.crash(MINUTE);
      await this.rig.settle();
    }
    // After a minute of running time (not of downtime), the retries of any hiccup have run.
    const ranAMinute = outcome !== 'killed' && s.kind === 'advance' && JUMPS[s.jump]! >= MINUTE;
    await this.check(s, ranAMinute ? startedAt : undefined);
  }

  private async settled(): Promise<'settled' | 'killed'> {
    const killed = this.armed
      ? this.armed.then(() => 'killed' as const)
      : new Promise<never>(() => undefined);
    return Promise.race([this.rig.settle().then(() => 'settled' as const), killed]);
  }

  /** The i-th latest request (wrapping round). */
  private request(i: number): string | undefined {
    return this.ids.length ? this.ids[this.ids.length - 1 - (i % this.ids.length)] : undefined;
  }

  private async actorFor(who: Who, id: string): Promise<Person> {
    const request = await this.rig.get(id);
    const everyone = ACTORS.map((a) => people[a]);
    switch (who.role) {
      case 'requester':
        return request.requester;
      case 'admin':
        return people.patti;
      case 'approver': {
        const approvers: Person[] = [];
        for (const p of everyone)
          if (await this.rig.service.authorizer.isApprover(this.rig.service.rulesOf(request), p))
            approvers.push(p);
        return approvers.length
          ? approvers[who.pick % approvers.length]!
          : everyone[who.pick % everyone.length]!;
      }
      case 'anyone':
        return everyone[who.pick % everyone.length]!;
    }
  }

  private async run(s: Step): Promise<void> {
    const { rig } = this;
    const who = (i: number) => people[ACTORS[i]!];
    switch (s.kind) {
      case 'submit': {
        const group = GROUPS[s.group]!;
        const result = await rig.service.submit({
          requester: who(s.actor),
          group,
          durationMs: DURATIONS[s.duration],
          justification: 'work',
          ticket: 'INC-1',
          breakGlass: s.breakGlass,
          ...(s.startIn !== undefined
            ? { startsAt: rig.clock.now() + Math.max(MINUTE, JUMPS[s.startIn]!) }
            : {}),
        });
        if (!this.ids.includes(result.request.id)) this.ids.push(result.request.id);
        return;
      }
      case 'delegate': {
        const delegations = new DelegationService({
          store: rig.store,
          directory: rig.directory,
          authorizer: rig.service.authorizer,
          clock: rig.clock,
        });
        await delegations.delegate(
          who(s.actor),
          who(s.to).upn!,
          new Date(rig.clock.now() + 2 * HOUR).toISOString(),
        );
        return;
      }
      case 'approve':
      case 'deny':
      case 'cancel':
      case 'release':
      case 'revoke':
      case 'extend': {
        const id = this.request(s.request);
        if (!id) return;
        const actor = await this.actorFor(s.who, id);
        if (s.kind === 'approve') await rig.service.decide(id, actor, 'approve');
        if (s.kind === 'deny') await rig.service.decide(id, actor, 'deny', s.withReason ? 'no' : undefined);
        if (s.kind === 'cancel') await rig.service.cancel(id, actor);
        if (s.kind === 'release') await rig.service.release(id, actor);
        if (s.kind === 'revoke') await rig.service.revoke(id, actor, s.withReason ? 'done' : undefined);
        if (s.kind === 'extend')
          await rig.service.extend({ requestId: id, actor, addedMs: DURATIONS[s.duration]! });
        return;
      }
      case 'race': {
        const id = this.request(s.request);
        if (!id) return;
        const actors = await Promise.all(s.who.map((w) => this.actorFor(w, id)));
        const outcomes = await Promise.allSettled(actors.map((a) => rig.service.decide(id, a, 'approve')));
        for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
        return;
      }
      case 'advance':
        return rig.clock.advance(JUMPS[s.jump]!);
      case 'restart':
        return rig.restart(JUMPS[s.downFor]!);
      case 'crash':
        await rig.crash(JUMPS[s.downFor]!);
        return;
      case 'hiccup':
        return rig.directory.failNext(s.op, unavailable, s.times);
      case 'graphRefuses':
        return rig.directory.failNext('addMember', forbidden, 1);
      case 'killDuring':
        if (!this.armed) this.armed = rig.directory.hangNext(s.op, s.when);
        return;
      case 'adminAdds': {
        const requester = who(s.actor);
        const group = this.rig.policy.groups[GROUPS[s.group]!];
        if (!group) return; // an action has no group to add anyone to
        const groupId = group.groupId;
        // Only a membership Timebox does not hold (an admin adding someone Timebox added is a no-op).
        if (rig.directory.members(groupId).includes(requester.id)) return;
        if ((await rig.store.listHolding(requester.id, groupId)).length > 0) return;
        rig.directory.addExternally(groupId, requester.id);
        this.standing.add(key(groupId, requester.id));
        return;
      }
    }
  }

  /** The guarantee "no membership without a recorded approval or rule", at the moment of the add. */
  private async checkAdd(groupId: string, userId: string): Promise<void> {
    const open = await this.rig.store.listOpen({ requesterId: userId, statuses: ['approved'] });
    const candidates = open.filter((r) => sameId(r.group.id, groupId));
    const audit = await this.rig.audit();
    const explained = candidates.some((r) => {
      const decided = audit.some(
        (a) =>
          a.requestId === r.id &&
          (a.type === 'approved' || a.type === 'auto_approved' || a.type === 'break_glass'),
      );
      const approvals = new Set(
        r.votes.filter((v) => v.decision === 'approve').map((v) => v.by.id.toLowerCase()),
      );
      const byPeople = r.kind !== 'standard' || approvals.size >= r.approvalsRequired;
      const selfOk =
        r.kind !== 'standard' ||
        !approvals.has(r.requester.id.toLowerCase()) ||
        this.rig.policy.groups[r.group.alias]?.allowSelfApproval === true;
      return decided && byPeople && selfOk;
    });
    if (!explained) this.violations.push(`added ${userId} to ${groupId} with no recorded approval or rule`);
    // When the membership lands, for the requests waiting on it: their grant may not count from later.
    if (!this.rig.directory.members(groupId).includes(userId.toLowerCase()))
      for (const r of candidates) if (!this.landedAt.has(r.id)) this.landedAt.set(r.id, this.rig.clock.now());
  }

  private checkRemove(groupId: string, userId: string): void {
    if (this.standing.has(key(groupId, userId)))
      this.violations.push(`removed standing member ${userId} from ${groupId}`);
  }

  /** `settledBefore`: requests closed by then must hold no membership any more. */
  private async check(s: Step, settledBefore?: number): Promise<void> {
    const { rig } = this;
    const now = rig.clock.now();
    const records = await rig.audit();
    const requests = (await Promise.all(this.ids.map((id) => rig.store.get(id)))).filter(
      (r): r is AccessRequest => !!r,
    );
    const where = `after ${JSON.stringify(s)}`;

    for (const r of requests) {
      const mine = records.filter((a) => a.requestId === r.id);
      // One decision per request, one grant, one ending.
      // NB: a scheduled request may be cancelled after its approval, until its start.
      const decisions = mine.filter(
        (a) => DECISIONS.has(a.type) && !(a.type === 'cancelled' && r.startsAt !== undefined),
      );
      if (decisions.length > 1)
        this.violations.push(`${where}: two decisions on ${r.id}: ${mine.map((a) => a.type)}`);
      if (mine.filter((a) => a.type === 'granted').length > 1)
        this.violations.push(`${where}: ${r.id} granted twice`);
      if (mine.filter((a) => ENDINGS.has(a.type)).length > 1)
        this.violations.push(`${where}: ${r.id} ended twice`);
      // A vote counted once.
      const voters = r.votes.map((v) => v.by.id.toLowerCase());
      if (new Set(voters).size !== voters.length)
        this.violations.push(`${where}: a vote counted twice on ${r.id}`);
      const extensionVoters = (r.pendingExtension?.votes ?? []).map((v) => v.by.id.toLowerCase());
      if (new Set(extensionVoters).size !== extensionVoters.length)
        this.violations.push(`${where}: an extension vote counted twice on ${r.id}`);
      const decidedBy = mine
        .filter(
          (a) => (a.type === 'voted' && !a.detail?.extension) || a.type === 'approved' || a.type === 'denied',
        )
        .map((a) => a.actor?.id.toLowerCase());
      if (new Set(decidedBy).size !== decidedBy.length)
        this.violations.push(`${where}: one person decided ${r.id} twice in the audit`);
      // A grant counts from when its membership was added, not from later (a crash in between).
      const landed = this.landedAt.get(r.id);
      if (r.grantedAt !== undefined && landed !== undefined && r.grantedAt > landed)
        this.violations.push(
          `${where}: ${r.id} counts from ${r.grantedAt}, its membership was added at ${landed}`,
        );
      // Never granted before its start (a scheduled request).
      if (r.startsAt !== undefined && r.grantedAt !== undefined && r.grantedAt < r.startsAt)
        this.violations.push(`${where}: ${r.id} granted at ${r.grantedAt}, before its start ${r.startsAt}`);
      const landedEarly = this.landedAt.get(r.id);
      if (r.startsAt !== undefined && landedEarly !== undefined && landedEarly < r.startsAt)
        this.violations.push(`${where}: ${r.id}'s membership added before its start`);
      // Never a delegate deciding their own request.
      for (const v of r.votes)
        if (v.for && sameId(v.by.id, r.requester.id))
          this.violations.push(`${where}: ${r.id} decided by its own requester as a delegate`);
      // An action never holds a membership; its approval ends on time and lasts no longer than allowed.
      if (r.targetKind === 'action') {
        if (r.status === 'active' || r.group.id !== '')
          this.violations.push(`${where}: action ${r.id} became a membership`);
        if (r.status === 'approved' && r.expiresAt! <= now)
          this.violations.push(`${where}: action ${r.id} approved past its end`);
        if (r.expiresAt !== undefined && r.expiresAt - r.grantedAt! > 30 * MINUTE)
          this.violations.push(`${where}: action ${r.id} approved for longer than approvalValidFor`);
      }
      // No active grant past its end once the scheduler has run.
      if (r.status === 'active' && r.expiresAt! <= now)
        this.violations.push(`${where}: ${r.id} active past its end (${r.expiresAt} <= ${now})`);
      // Break-glass and auto-approved access never grows without a human approval (guarantee 7):
      // each extension of such a grant was approved by someone other than its holder.
      if (r.kind !== 'standard')
        for (const e of r.extensions)
          if (!(e.approvedBy ?? []).some((p) => !sameId(p.id, r.requester.id)))
            this.violations.push(
              `${where}: ${r.kind} grant ${r.id} grew by ${e.addedMs} ms with no approver's approval`,
            );
      // Extensions never take a grant past its group's cap.
      if (r.extensions.length > 0 && totalLengthWith(r, 0) > rig.service.rulesOf(r).extension.maxTotalMs)
        this.violations.push(`${where}: ${r.id} extended past maxTotal`);
    }

    // Every membership is standing or explained by a request that holds it (active, or its removal under way).
    for (const groupId of [DIR.groups.sandbox, DIR.groups.dbRead, DIR.groups.prodAdmin, DIR.groups.billing]) {
      for (const member of rig.directory.members(groupId)) {
        if (this.standing.has(key(groupId, member))) continue;
        const holders = requests.filter(
          (r) => sameId(r.requester.id, member) && sameId(r.group.id, groupId) && mayHoldMembership(r),
        );
        if (holders.length === 0)
          this.violations.push(`${where}: ${member} is in ${groupId} and no grant explains it`);
        if (
          settledBefore !== undefined &&
          holders.length > 0 &&
          holders.every((r) => isClosed(r.status) && r.resolution!.at <= settledBefore)
        ) {
          this.violations.push(`${where}: ${member} still in ${groupId} after every grant ended`);
        }
      }
    }
    // Sessions are never revoked for a standing member (nor for a request whose person stays a member).
    for (const record of records.filter((a) => a.type === 'sessions_revoked')) {
      const r = requests.find((q) => q.id === record.requestId);
      if (r?.standingMember)
        this.violations.push(`${where}: sessions revoked for standing member on ${r.id}`);
    }
    // Standing members are never removed.
    for (const standing of this.standing) {
      const [groupId, member] = standing.split('/') as [string, string];
      if (!rig.directory.members(groupId).includes(member))
        this.violations.push(`${where}: standing member ${member} gone from ${groupId}`);
    }
  }

  async finish(): Promise<void> {
    this.rig.directory.clearFaults();
    if (this.armed) {
      // A kill that never came: nothing to do; the fault is gone with clearFaults.
      this.armed = undefined;
    }
    const file = path.join(this.rig.dir, 'audit.jsonl');
    if (!existsSync(file)) return; // nothing happened
    const verified = await verifyAuditFile(file);
    if (!verified.ok) this.violations.push(`audit chain broken: ${verified.problem}`);
  }
}

const stats = new Map<string, number>();
afterAll(() => {
  if (process.env.PROPERTY_STATS) console.log(Object.fromEntries([...stats].sort()));
});

describe('lifecycle properties under random events', () => {
  it('never two decisions, never an unexplained membership, never an active grant past its end or counted from after its add, never a vote twice, never a standing member removed, never break-glass or auto-approved access grown without an approver', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 28 }), async (steps) => {
        const rig = await startRig({ policy: policy() });
        const run = new Run(rig);
        try {
          for (const s of steps) {
            await run.apply(s);
            if (run.violations.length) break;
          }
          await run.finish();
          if (process.env.PROPERTY_STATS) {
            const types = (await rig.audit()).map((a) => a.type);
            for (const t of types) stats.set(t, (stats.get(t) ?? 0) + 1);
          }
        } finally {
          await rig.close();
        }
        if (run.violations.length) throw new Error(run.violations.join('\n'));
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 50), endOnFailure: true },
    );
  });

  it('break-glass and auto-approved access never grows without an approval by someone other than its holder (guarantee 7), whatever extension.requireApproval says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(capStep, { minLength: 4, maxLength: 20 }), async (steps) => {
        const rig = await startRig({ policy: policy() });
        const run = new Run(rig);
        try {
          for (const s of steps) {
            await run.apply(s);
            if (run.violations.length) break;
          }
          await run.finish();
        } finally {
          await rig.close();
        }
        if (run.violations.length) throw new Error(run.violations.join('\n'));
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 30), endOnFailure: true },
    );
  });
});
