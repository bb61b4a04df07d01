import { approverChannel } from './approver-channel';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCodes } from '../domain/errors';
import { rulesFor, type Policy } from '../domain/policy';
import { isAction, Status, sameId, type AccessRequest, type RequestEvent } from '../domain/request';
import type { Clock } from '../ports/clock';
import type { Directory } from '../ports/directory';
import type { Logger } from '../ports/logger';
import type { ChannelTarget, Notifier } from '../ports/notifier';
import type { GroupBaseline, NewEffect, Store } from '../ports/store';
import type { AccessService } from './access-service';
import { isConflict } from './retry-on-conflict';
import { placeEffect } from './effects';

/** The store lease that lets one reconciler pass run at a time, across processes. */
export const RECONCILE_LEASE = 'reconcile';
const isStoreConflict = (error: unknown): boolean =>
  error instanceof DomainError && error.code === ErrorCodes.STORE_CONFLICT;

/** One thing a reconciliation pass found, and what it did (or, in a dry run, would do) about it. */
export interface ReconcileFinding {
  kind:
    /** An active grant past its end: expired through the normal path (its removal follows). */
    | 'expire'
    /** An approved request with no add in the outbox: the add is queued again. */
    | 'requeue-add'
    /** A closed request that may still hold its membership, with no removal queued: queued again. */
    | 'requeue-remove'
    /** A managed group seen for the first time: its members are recorded as standing. */
    | 'baseline'
    /** A member no grant explains and not standing when the group was first seen: reported. */
    | 'drift-report'
    /** The same in a group whose policy says `enforce: remove`: removed. */
    | 'drift-remove'
    /** An active grant whose membership is not in the directory (someone removed it): reported only. */
    | 'membership-missing';
  group?: string;
  groupId?: string;
  userId?: string;
  requestId?: string;
  /** What a person reads in `timebox reconcile --dry-run`. */
  text: string;
  /** False when it was found before (a drift already reported) and nothing new was done. */
  fresh: boolean;
}

export interface ReconcileReport {
  at: number;
  dryRun: boolean;
  findings: ReconcileFinding[];
  /** Per managed group: members and how each is explained. */
  groups: Array<{
    alias: string;
    groupId: string;
    members: number;
    granted: number;
    ending: number;
    standing: number;
    unexplained: number;
  }>;
  /** Steps that failed (a directory outage, a store write); the next pass tries them again. */
  errors: string[];
  /** Set when the pass did not run: another process holds the reconcile lease. */
  skipped?: string;
}

export interface ReconcilerDeps {
  store: Store;
  directory: Directory;
  service: AccessService;
  policy: Policy;
  clock: Clock;
  logger: Logger;
  /** Channel alerts about drift; without one, drift is audited and logged only. */
  notifier?: Notifier;
  /** Called after the reconciler queued effects, so the outbox runs them now. */
  onCommit?: () => void;
}

export interface ReconcilerOptions {
  /** Time between passes; 0 = only the pass at start. */
  intervalMs: number;
  /** The tenant whose learned Bot Connector URL carries alerts (else any request's tenant). */
  tenantId?: string;
  defaultServiceUrl?: string;
  /**
   * How long past its end a grant must be before the reconciler expires it (default 30 s): the
   * scheduler does it at the end itself, also right after a start; this is the net under it.
   */
  overdueGraceMs?: number;
  /** This process's name for the reconcile lease (default: a random id). */
  owner?: string;
  /**
   * How long the lease is taken for (default 60 s), renewed every third of it while a pass runs:
   * a replica that dies mid-pass holds up the others' passes for at most this long.
   */
  leaseMs?: number;
}

const DEFAULT_LEASE_MS = 60_000;

/**
 * Compares what the store says with what the directory holds, and mends the difference: at
 * start and every `intervalMs`. The store is the record of what Timebox decided; the directory
 * is where access really is. Each pass:
 *
 * - grants past their end are expired through the normal path (the scheduler does this too;
 *   this is the net under it);
 * - an approved request whose add is missing from the outbox gets it again, and a closed
 *   request that may still hold its membership gets its removal again (an outbox entry lost
 *   to a bug or a hand-edited store must not leave access behind);
 * - for every managed group (the policy's groups), each member must be explained: by an open
 *   grant, by a closed one whose removal is under way, or by the group's baseline — its members
 *   when Timebox first saw it, recorded once and persisted. Anyone else was added behind
 *   Timebox's back: reported once (audit + channel alert), or removed where the group's policy
 *   says `enforce: remove`.
 *
 * NB: a member is explained by an open grant whatever its `standingMember`, but once that grant
 * ends only the baseline makes them standing: a membership added by someone else after the
 * group was first seen is drift, even if a later request found it and recorded it as standing.
 */
export class Reconciler {
  private cancelTimer?: () => void;
  private running?: Promise<unknown>;
  private stopped = false;
  private readonly owner: string;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly options: ReconcilerOptions,
  ) {
    this.owner = options.owner ?? `reconciler-${randomUUID()}`;
  }

  /** Runs a pass now (in the background) and then every `intervalMs`. */
  start(): void {
    this.arm(0);
  }

  /** Stops the schedule; a pass under way ends at its next step (waited for at most `budgetMs`). */
  async stop(budgetMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    const running = this.running?.catch(() => undefined);
    if (!running) return;
    if (budgetMs === Number.POSITIVE_INFINITY) return void (await running);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([running, new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs)))]);
    clearTimeout(timer);
  }

  /** One pass; `dryRun` reads only (store and directory) and reports what it would do. */
  async runOnce(options: { dryRun?: boolean } = {}): Promise<ReconcileReport> {
    while (this.running) await this.running.catch(() => undefined);
    const pass = this.leased(options.dryRun === true);
    this.running = pass;
    try {
      return await pass;
    } finally {
      this.running = undefined;
    }
  }

  /** A pass under the store's reconcile lease (a dry run changes nothing and takes none); skipped while another owner holds it. */
  private async leased(dryRun: boolean): Promise<ReconcileReport> {
    if (dryRun) return this.pass(true);
    const { store, clock } = this.deps;
    if (
      !(await store.acquireLease(
        RECONCILE_LEASE,
        this.owner,
        clock.now(),
        this.options.leaseMs ?? DEFAULT_LEASE_MS,
      ))
    ) {
      return {
        at: clock.now(),
        dryRun,
        findings: [],
        groups: [],
        errors: [],
        skipped: 'another Timebox process is reconciling',
      };
    }
    const leaseMs = this.options.leaseMs ?? DEFAULT_LEASE_MS;
    let renewing = true;
    let cancelRenew: (() => void) | undefined;
    const renew = () => {
      cancelRenew = clock.setTimer(Math.max(1, Math.floor(leaseMs / 3)), () => {
        if (!renewing) return;
        // NB: a renewal that fails (the store away) is tried again at the next tick; the pass
        // goes on, its changes are conditional commits like any other.
        void store
          .acquireLease(RECONCILE_LEASE, this.owner, clock.now(), leaseMs)
          .catch(() => false)
          .finally(() => renewing && renew());
      });
    };
    renew();
    try {
      return await this.pass(false);
    } finally {
      renewing = false;
      cancelRenew?.();
      await store.releaseLease(RECONCILE_LEASE, this.owner).catch(() => undefined);
    }
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    this.cancelTimer?.();
    this.cancelTimer = this.deps.clock.setTimer(delayMs, () => {
      if (this.stopped) return;
      this.runOnce()
        .then((report) => {
          const acted = report.findings.filter((f) => f.fresh);
          const differences = acted.filter((f) => f.kind !== 'baseline');
          if (differences.length || report.errors.length) {
            this.deps.logger.warn(
              { findings: differences.map((f) => f.text), errors: report.errors },
              'reconciliation found differences',
            );
          }
          if (acted.length > differences.length)
            this.deps.logger.info(
              { findings: acted.filter((f) => f.kind === 'baseline').map((f) => f.text) },
              'reconciliation recorded baselines',
            );
        })
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'reconciliation failed'))
        .finally(() => {
          if (this.options.intervalMs > 0) this.arm(this.options.intervalMs);
        });
    });
  }

  private async pass(dryRun: boolean): Promise<ReconcileReport> {
    const { store, clock } = this.deps;
    const report: ReconcileReport = { at: clock.now(), dryRun, findings: [], groups: [], errors: [] };
    const step = async (what: string, work: () => Promise<void>) => {
      if (this.stopped && !dryRun) return;
      try {
        await work();
      } catch (error) {
        report.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };

    // 1. Grants past their end (that the scheduler should have expired by now).
    const grace = this.options.overdueGraceMs ?? 30_000;
    await step('overdue grants', async () => {
      for (const r of await store.listOpen({ statuses: [Status.ACTIVE] })) {
        if (r.expiresAt === undefined || r.expiresAt + grace > clock.now()) continue;
        report.findings.push({
          kind: 'expire',
          group: r.group.alias,
          groupId: r.group.id,
          userId: r.requester.id,
          requestId: r.id,
          fresh: true,
          text: `${r.id}: ${r.requester.name}'s grant of ${r.group.alias} ended ${new Date(r.expiresAt).toISOString()}; expire it and remove the membership`,
        });
        if (!dryRun) await this.deps.service.expire(r.id);
      }
    });

    // 2. Approved but not added: the add must be in the outbox.
    await step('approved requests', async () => {
      for (const r of await store.listOpen({ statuses: [Status.APPROVED] })) {
        // An approved action gate has no membership to add (it expires by the scheduler).
        if (isAction(r)) continue;
        const effects = await store.listEffects(r.id);
        if (effects.some((e) => e.kind === 'directory.add')) continue;
        report.findings.push({
          kind: 'requeue-add',
          group: r.group.alias,
          groupId: r.group.id,
          userId: r.requester.id,
          requestId: r.id,
          fresh: true,
          text: `${r.id}: approved for ${r.requester.name} in ${r.group.alias}, but no add is queued; queue it again`,
        });
        if (!dryRun)
          await this.requeue(r, { kind: 'directory.add' }, 'the approved add was missing from the outbox');
      }
    });

    // 3. Every managed group's members, each explained or reported.
    const seen = new Set<string>();
    for (const [alias, group] of Object.entries(this.deps.policy.groups)) {
      const groupId = group.groupId;
      if (seen.has(groupId.toLowerCase())) continue;
      seen.add(groupId.toLowerCase());
      await step(`group ${alias}`, () => this.checkGroup(alias, groupId, dryRun, report));
    }
    return report;
  }

  private async checkGroup(
    alias: string,
    groupId: string,
    dryRun: boolean,
    report: ReconcileReport,
  ): Promise<void> {
    const { store, directory, clock } = this.deps;
    const enforce = rulesFor(this.deps.policy, alias).enforce;
    // NB: members first, then the store. The store only moves forward, so a member we list was
    // either explained by then or is still explained now (an add records its request before it
    // calls Graph); the other order could see an add land between the two reads and call it drift.
    const members = [...new Set((await directory.listMembers(groupId)).map((m) => m.toLowerCase()))];
    const open = (await store.listOpen()).filter((r) => sameId(r.group.id, groupId));
    const counts = {
      alias,
      groupId,
      members: members.length,
      granted: 0,
      ending: 0,
      standing: 0,
      unexplained: 0,
    };

    let baseline = await store.getBaseline(groupId);
    let recorded = false;
    if (!baseline) {
      // First sight: everyone in the group now is standing, except those our own grants may have
      // added (`listHolding`: the add was decided and not taken back). NB: not every open grant —
      // one that found its requester already a member (standingMember) added nothing, and an
      // approved one whose add has not looked yet (standingMember unset) has not added anything.
      const ours = new Set<string>();
      for (const m of members) if ((await store.listHolding(m, groupId)).length > 0) ours.add(m);
      baseline = {
        groupId,
        firstSeenAt: clock.now(),
        members: members.filter((m) => !ours.has(m)),
        reported: {},
      };
      report.findings.push({
        kind: 'baseline',
        group: alias,
        groupId,
        fresh: true,
        text: `${alias}: first seen; record its ${baseline.members.length} current member(s) as standing`,
      });
      if (!dryRun) {
        try {
          baseline = await store.saveBaseline(baseline, null);
          recorded = true;
        } catch (error) {
          // Another pass recorded it first (a second process): theirs stands.
          if (!isStoreConflict(error)) throw error;
          baseline = (await store.getBaseline(groupId))!;
          report.findings.pop();
        }
        if (recorded)
          await store.appendAudit([
            {
              type: 'baseline_recorded',
              requestId: '',
              at: clock.now(),
              detail: { group: alias, groupId, members: baseline.members },
            },
          ]);
      }
    }
    const standing = new Set(baseline.members);
    const reported = { ...baseline.reported };

    for (const m of members) {
      if (open.some((r) => sameId(r.requester.id, m) && isHeld(r))) {
        counts.granted++;
        continue;
      }
      const holding = (await store.listHolding(m, groupId)).filter((r) => !isHeld(r));
      if (holding.length > 0) {
        counts.ending++;
        for (const r of holding) {
          const effects = await store.listEffects(r.id);
          if (effects.some((e) => e.kind === 'directory.remove')) continue;
          report.findings.push({
            kind: 'requeue-remove',
            group: alias,
            groupId,
            userId: m,
            requestId: r.id,
            fresh: true,
            text: `${r.id}: ${r.requester.name}'s grant of ${alias} is ${r.status} but the membership is still there and no removal is queued; queue it again`,
          });
          if (!dryRun)
            await this.requeue(r, { kind: 'directory.remove' }, 'the removal was missing from the outbox');
        }
        continue;
      }
      if (standing.has(m)) {
        counts.standing++;
        continue;
      }
      // Looked at again: the store was read after the members were listed, so a grant that ended
      // (and was removed) in between would look like drift here.
      if (!(await directory.isMember(groupId, m))) continue;
      counts.unexplained++;
      const user = await directory.findUser(m).catch(() => undefined);
      const who = user ? `${user.displayName} (${user.userPrincipalName})` : m;
      if (enforce === 'remove') {
        report.findings.push({
          kind: 'drift-remove',
          group: alias,
          groupId,
          userId: m,
          fresh: true,
          text: `${alias}: ${who} is a member no grant explains; policy says enforce: remove — remove them`,
        });
        if (!dryRun) await this.removeDrift(alias, groupId, m, who);
        continue;
      }
      const fresh = reported[m] === undefined;
      report.findings.push({
        kind: 'drift-report',
        group: alias,
        groupId,
        userId: m,
        fresh,
        text: `${alias}: ${who} is a member no grant explains${fresh ? '; report it (audit + channel alert)' : ` (reported ${new Date(reported[m]!).toISOString()})`}`,
      });
      if (fresh && !dryRun) {
        await store.appendAudit([
          {
            type: 'drift_detected',
            requestId: '',
            at: clock.now(),
            reason: `${who} is a member of ${alias} that no grant explains`,
            detail: { group: alias, groupId, userId: m, enforce },
          },
        ]);
        reported[m] = clock.now();
        await this.alert(
          alias,
          `⚠️ ${who} is a member of ${this.displayName(alias)} that no Timebox grant explains, and was not a member when Timebox first saw the group. Someone added them outside Timebox: check it, and remove them if it was not meant to be (or set "enforce: remove" on the group).`,
        );
      }
    }

    // Grants that should hold a membership the directory does not show: reported, not re-added
    // (someone may have removed it on purpose).
    for (const r of open) {
      if (
        r.status !== Status.ACTIVE ||
        r.standingMember !== false ||
        members.includes(r.requester.id.toLowerCase())
      )
        continue;
      report.findings.push({
        kind: 'membership-missing',
        group: alias,
        groupId,
        userId: r.requester.id,
        requestId: r.id,
        fresh: true,
        text: `${r.id}: ${r.requester.name}'s grant of ${alias} is active but the directory does not list the membership`,
      });
    }

    // A reported member who left is forgotten, so that being added again is reported again.
    for (const m of Object.keys(reported)) if (!members.includes(m)) delete reported[m];
    if (!dryRun && JSON.stringify(reported) !== JSON.stringify(baseline.reported))
      await this.saveReported(groupId, baseline, reported, members);
    report.groups.push(counts);
  }

  /**
   * Writes what this pass reported into the baseline, conditionally on the version read; when
   * another writer changed it meanwhile, the same changes (newly reported members added, those
   * who left dropped) are made to the baseline as it is now.
   */
  private async saveReported(
    groupId: string,
    read: GroupBaseline,
    reported: Record<string, number>,
    members: string[],
  ): Promise<void> {
    const added = Object.entries(reported).filter(([m]) => read.reported[m] === undefined);
    let baseline = read;
    for (let attempt = 0; ; attempt++) {
      const next = { ...baseline.reported, ...Object.fromEntries(added) };
      for (const m of Object.keys(next)) if (!members.includes(m)) delete next[m];
      try {
        await this.deps.store.saveBaseline({ ...baseline, reported: next }, baseline.version ?? 0);
        return;
      } catch (error) {
        if (!isStoreConflict(error) || attempt >= 5) throw error;
        baseline = (await this.deps.store.getBaseline(groupId)) ?? baseline;
      }
    }
  }

  /**
   * Queues an effect again for a request, with an audit record that says why (atomically). The
   * commit is conditional on the version read: if the request moved meanwhile (the add or the
   * removal just finished), nothing is queued and the next pass looks again.
   */
  private async requeue(request: AccessRequest, effect: NewEffect, why: string): Promise<void> {
    const event: RequestEvent = {
      type: 'reconciled',
      requestId: request.id,
      at: this.deps.clock.now(),
      reason: why,
      detail: { effect: effect.kind },
    };
    try {
      await this.deps.store.commit({
        request,
        expectedVersion: request.version,
        events: [event],
        effects: [placeEffect(effect, request)],
      });
    } catch (error) {
      if (isConflict(error)) return;
      throw error;
    }
    this.deps.onCommit?.();
  }

  private async removeDrift(alias: string, groupId: string, userId: string, who: string): Promise<void> {
    const { store, directory, clock } = this.deps;
    // Looked at again right before the call: a grant that began since the members were listed wins.
    const open = (await store.listOpen()).filter(
      (r) =>
        sameId(r.group.id, groupId) &&
        sameId(r.requester.id, userId) &&
        (r.status === Status.APPROVED || r.status === Status.ACTIVE),
    );
    if (open.length > 0 || (await store.listHolding(userId, groupId)).length > 0) return;
    await directory.removeMember(groupId, userId);
    await store.appendAudit([
      {
        type: 'drift_removed',
        requestId: '',
        at: clock.now(),
        reason: `${who} was a member of ${alias} that no grant explains; removed (enforce: remove)`,
        detail: { group: alias, groupId, userId },
      },
    ]);
    await this.alert(
      alias,
      `🧹 Removed ${who} from ${this.displayName(alias)}: no Timebox grant explained the membership, and the group's policy says enforce: remove.`,
    );
  }

  /** A channel alert in the group's approver channel; best effort (the audit record is what counts). */
  private async alert(alias: string, text: string): Promise<void> {
    if (!this.deps.notifier) return;
    try {
      const target = await this.channelOf(alias);
      if ('missing' in target) {
        this.deps.logger.warn(
          { group: alias, why: target.missing },
          'drift alert not posted (it is in the audit log)',
        );
        return;
      }
      await this.deps.notifier.postToChannel(target, { text });
    } catch (error) {
      this.deps.logger.error(
        { err: error instanceof DomainError ? error.message : error, group: alias },
        'could not post the drift alert (it is in the audit log)',
      );
    }
  }

  private async channelOf(alias: string): Promise<ChannelTarget | { missing: string }> {
    const group = this.deps.policy.groups[alias];
    if (!group) return { missing: `group "${alias}" is not in the policy` };
    const tenantId =
      this.options.tenantId ?? (await this.deps.store.listOpen()).find((r) => r.tenantId)?.tenantId;
    return approverChannel(this.deps, group.approverChannel, tenantId, this.options.defaultServiceUrl);
  }

  private displayName(alias: string): string {
    return this.deps.policy.groups[alias]?.displayName ?? alias;
  }
}

/** An open request that explains its requester's membership: approved (add under way) or active. */
function isHeld(request: AccessRequest): boolean {
  if (isAction(request)) return false;
  return request.status === Status.APPROVED || request.status === Status.ACTIVE;
}
