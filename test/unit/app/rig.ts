import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccessService, SubmitInput } from '../../../src/app/access-service';
import type { GrantWorker, WorkerOptions } from '../../../src/app/grant-worker';
import type { Reconciler } from '../../../src/app/reconciler';
import type { Scheduler } from '../../../src/app/scheduler';
import type { Presenter } from '../../../src/app/presenter';
import { renderApprovalCard, renderNotice, renderReceiptCard, type NoticeKind } from '../../../src/cards';
import { LowdbStore } from '../../../src/adapters/store/lowdb-store';
import { InMemoryStore } from '../../../src/adapters/store/in-memory-store';
import { DomainError } from '../../../src/domain/errors';
import { validatePolicy, type PolicyInput } from '../../../src/domain/policy';
import type { AccessRequest, ListCardRef, Person } from '../../../src/domain/request';
import { renderList } from '../../../src/adapters/teams/list-cards';
import { silentLogger } from '../../../src/ports/logger';
import type { AuditRecord, Store } from '../../../src/ports/store';
import type { WebhookSender } from '../../../src/ports/webhook-sender';
import { wireCore, type Core } from '../../../src/wire';
import { FakeClock, flushAsync } from '../../helpers/fake-clock';
import { DIR, FakeDirectory } from '../../helpers/fake-directory';
import { RecordingNotifier } from '../../helpers/recording-notifier';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const SERVICE_URL = 'https://smba.test/teams/';
export const CHANNEL = { teamId: '19:team@thread.tacv2', channelId: '19:ops@thread.tacv2' };

const person = (key: keyof typeof DIR.users, name: string, upn: string): Person => ({
  id: DIR.users[key],
  name,
  upn,
});

/** People as the Teams adapter hands them to the service: object id, name and UPN from the directory. */
export const people = {
  alex: person('alex', 'Alex Wilber', 'alex@example.com'),
  megan: person('megan', 'Megan Bowen', 'meganb@example.com'),
  adele: person('adele', 'Adele Vance', 'adelev@example.com'),
  isaiah: person('isaiah', 'Isaiah Langer', 'isaiah@example.com'),
  patti: person('patti', 'Patti Fernandez', 'patti@example.com'),
  lynne: person('lynne', 'Lynne Robbins', 'lynner@example.com'),
};
export type PersonKey = keyof typeof people;

/** The personal chat the rig registers for each person. */
export const chatOf = (who: PersonKey | Person): string =>
  `a:personal-${typeof who === 'string' ? who : Object.entries(people).find(([, p]) => p.id === who.id)![0]}`;

/**
 * Groups that exercise the rules:
 * - sandbox: approver Alex (by UPN), self-approval allowed, direct extensions up to 4h in all.
 * - db-read: approvers = the SRE group (Megan, Adele); extensions need approval, 6h in all.
 * - prod-admin: approvers Megan (UPN), Adele (object id), Isaiah (UPN); 2 approvals; ticket
 *   INC-<n>; break-glass 30m; auto-approve for on-call (Isaiah) up to 30m. Lynne is a
 *   standing member in the directory.
 * - billing: only Lynne (UPN) and SRE may ask; approvers = the Leads group, which holds SRE
 *   (transitive); no justification needed.
 */
export function rigPolicy(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    approverChannels: { ops: CHANNEL },
    admins: { users: ['patti@example.com'], groups: [] },
    defaults: {
      defaultDuration: '1h',
      maxDuration: '8h',
      pendingTimeout: '1h',
      remindAfter: '15m',
      expiryWarning: '10m',
      approvals: 1,
      requireJustification: true,
      extension: { requireApproval: false, maxTotal: '4h' },
    },
    groups: {
      sandbox: {
        groupId: DIR.groups.sandbox,
        displayName: 'Sandbox',
        approverChannel: 'ops',
        approvers: { users: ['alex@example.com'] },
        allowSelfApproval: true,
      },
      'db-read': {
        groupId: DIR.groups.dbRead,
        displayName: 'Production DB (read)',
        approverChannel: 'ops',
        approvers: { groups: [DIR.groups.sre] },
        maxDuration: '4h',
        extension: { requireApproval: true, maxTotal: '6h' },
      },
      'prod-admin': {
        groupId: DIR.groups.prodAdmin,
        displayName: 'Production admin',
        approverChannel: 'ops',
        approvers: { users: ['meganb@example.com', DIR.users.adele, 'ISAIAH@example.com'] },
        approvals: 2,
        maxDuration: '2h',
        requireTicket: true,
        ticketPattern: '^INC-[0-9]+$',
        breakGlass: { maxDuration: '30m' },
        autoApprove: { requesterInGroups: [DIR.groups.oncall], maxDuration: '30m' },
      },
      billing: {
        groupId: DIR.groups.billing,
        displayName: 'Billing',
        approverChannel: 'ops',
        approvers: { groups: [DIR.groups.leads] },
        eligible: { users: ['LYNNER@example.com'], groups: [DIR.groups.sre] },
        requireJustification: false,
      },
    },
    ...overrides,
  };
}

/** Cards as people see them; notices also carry their template name as `text`, for assertions. */
class TaggingPresenter implements Presenter {
  constructor(
    private readonly clock: FakeClock,
    private readonly lists: { store: Store; service: AccessService },
  ) {}
  listCard(ref: ListCardRef) {
    return renderList({ ...this.lists, clock: this.clock }, ref.list, ref.viewer, { userId: ref.userId });
  }
  approvalCard(request: AccessRequest) {
    return renderApprovalCard({ request, viewer: 'other', now: this.clock.now() });
  }
  receiptCard(request: AccessRequest) {
    return renderReceiptCard({ request, now: this.clock.now() });
  }
  notice(template: string, request: AccessRequest, audience: 'channel' | 'requester') {
    return {
      ...renderNotice(template as NoticeKind, { request, now: this.clock.now(), audience }),
      text: template,
    };
  }
}

/** A port whose every call, once severed, never answers: what a dead process's calls do. */
function severable<T extends object>(target: T): { port: T; sever(): void } {
  let dead = false;
  const port = new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        dead ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(t, args);
    },
  });
  return { port, sever: () => (dead = true) };
}

/** One running "process": the service and its loops on one store. */
interface Process {
  store: Store;
  /** The store itself, past the severable port: for closing it after a test. */
  raw: Store;
  /** Wired as main.ts wires them (src/wire.ts), on the severable ports. */
  core: Core;
  sever(): void;
}

export interface RigOptions {
  policy?: PolicyInput;
  directory?: FakeDirectory;
  clock?: FakeClock;
  worker?: Partial<WorkerOptions>;
  mode?: 'membership' | 'pim';
  /** `lowdb`: a real LowdbStore in `dir`, for tests about files; default: an InMemoryStore (reopened on restart and crash). */
  store?: 'memory' | 'lowdb';
  /** Sends the policy's webhook deliveries (none by default). */
  webhooks?: WebhookSender;
}

/**
 * AccessService + GrantWorker + Scheduler on an InMemoryStore (or a LowdbStore in a temp dir), with the
 * FakeClock, the FakeDirectory and the RecordingNotifier. `restart` stops cleanly and starts
 * again on the same data; `crash` abandons the process mid-flight (its calls never answer,
 * its timers die) and starts a new one, as a kill -9 and a restart would.
 */
export class Rig {
  readonly clock: FakeClock;
  readonly directory: FakeDirectory;
  readonly notifier = new RecordingNotifier();
  readonly dir = mkdtempSync(path.join(tmpdir(), 'timebox-app-'));
  readonly policy;
  private process!: Process;
  private memory?: InMemoryStore;

  constructor(private readonly options: RigOptions = {}) {
    this.clock = options.clock ?? new FakeClock();
    this.directory = options.directory ?? new FakeDirectory();
    this.policy = validatePolicy(options.policy ?? rigPolicy());
    this.clock.settle = () => this.quiesce();
    this.directory.now = () => this.clock.now();
  }

  get store(): Store {
    return this.process.store;
  }
  get service(): AccessService {
    return this.process.core.service;
  }
  get reconciler(): Reconciler {
    return this.process.core.reconciler;
  }
  get worker(): GrantWorker {
    return this.process.core.worker;
  }
  get scheduler(): Scheduler {
    return this.process.core.scheduler;
  }

  async start(): Promise<this> {
    this.process = await this.boot();
    for (const key of Object.keys(people) as PersonKey[]) {
      await this.process.store.savePersonalChat(people[key].id, {
        serviceUrl: SERVICE_URL,
        conversationId: chatOf(key),
        userId: `29:${key}`,
        botId: '28:bot',
      });
    }
    await this.settle();
    return this;
  }

  /** Waits until the worker and the scheduler have nothing left to do now (timers due now included). */
  async settle(): Promise<void> {
    await this.quiesce();
    while ((await this.clock.runDue()) > 0) await this.quiesce();
  }

  /** Moves fake time forward, letting everything that falls due on the way happen at its time. */
  async advance(ms: number): Promise<void> {
    await this.clock.advance(ms);
    await this.settle();
  }

  /** Stops cleanly, stays down for `downMs` of fake time, and starts again on the same data. */
  async restart(downMs = 0): Promise<void> {
    const old = this.process;
    await old.core.stop();
    await old.store.close();
    this.clock.jumpWhileDown(downMs);
    this.process = await this.boot();
    await this.settle();
  }

  /**
   * Kills the process where it stands, stays down for `downMs` of fake time, and starts a new
   * one on the same data (not settled yet: the test decides when to look).
   */
  async crash(downMs = 0): Promise<void> {
    this.process.sever();
    // A store write already under way completes (each commit is atomic: the crash falls before
    // or after it, never inside; crashes inside a commit are the store tests' business).
    await this.process.raw.close();
    this.clock.jumpWhileDown(downMs);
    this.process = await this.boot();
  }

  /** Files a request as `who` (with `extra.ticket`, if given) and lets the worker post its cards. */
  async askFor(
    who: Person,
    group: string,
    durationMs = HOUR,
    justification = 'x',
    extra: Pick<SubmitInput, 'ticket'> = {},
  ): Promise<AccessRequest> {
    const { request } = await this.service.submit({
      requester: who,
      group,
      durationMs,
      justification,
      ...extra,
    });
    await this.settle();
    return request;
  }

  /** Files a request as `who`, has `approver` approve it, settles, and returns the request as stored. */
  async grantTo(
    who: Person,
    group: string,
    approver: Person,
    durationMs = HOUR,
    justification = 'x',
  ): Promise<AccessRequest> {
    const { request } = await this.service.submit({ requester: who, group, durationMs, justification });
    await this.service.decide(request.id, approver, 'approve');
    await this.settle();
    return this.get(request.id);
  }

  async get(id: string): Promise<AccessRequest> {
    const request = await this.store.get(id);
    if (!request) throw new Error(`no request ${id}`);
    return request;
  }

  async audit(): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    for await (const record of this.store.readAudit()) records.push(record);
    return records;
  }

  /** Audit record types of one request, in order. */
  async auditOf(requestId: string): Promise<string[]> {
    return (await this.audit()).filter((r) => r.requestId === requestId).map((r) => r.type);
  }

  /** Thread replies (their notice templates) under a request's approval card. */
  async repliesFor(requestId: string): Promise<string[]> {
    return this.notifier.repliesUnder((await this.get(requestId)).approvalCard?.activityId);
  }

  /** Personal notices (templates) the requester got; the receipt card is '' . */
  toldTo(who: PersonKey): string[] {
    return this.notifier.messagesTo(chatOf(who)).filter(Boolean);
  }

  async close(): Promise<void> {
    this.process.sever();
    this.clock.clearTimers();
    // A write under way when the test ended finishes first (the store serializes them).
    await this.process.raw.close();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  private async boot(): Promise<Process> {
    const raw =
      this.options.store === 'lowdb' ? new LowdbStore(this.dir) : (this.memory ??= new InMemoryStore());
    const store = severable<Store>(raw);
    const directory = severable(this.directory);
    const notifier = severable(this.notifier);
    await store.port.open();
    const core = wireCore(
      {
        store: store.port,
        directory: directory.port,
        notifier: notifier.port,
        presenter: (service) => new TaggingPresenter(this.clock, { store: store.port, service }),
        policy: this.policy,
        clock: this.clock,
        logger: silentLogger,
        webhooks: this.options.webhooks,
      },
      { mode: this.options.mode, worker: { defaultServiceUrl: SERVICE_URL, ...this.options.worker } },
    );
    core.start();
    return {
      store: store.port,
      raw,
      core,
      sever: () => {
        store.sever();
        directory.sever();
        notifier.sever();
      },
    };
  }

  /** Runs the loops until neither has work now; fake time does not move. */
  private async quiesce(): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      await flushAsync(2);
      const { scheduler, worker } = this.process.core;
      if (!scheduler.busy && !worker.busy) {
        await flushAsync(2);
        if (!scheduler.busy && !worker.busy) return;
      }
      await scheduler.settled();
      await worker.settled();
    }
    throw new Error('the worker and the scheduler never settled');
  }
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  return new Rig(options).start();
}

/** Awaits a use case that must refuse: returns its DomainError (any other outcome fails the test). */
export async function refusal(attempt: Promise<unknown>): Promise<DomainError> {
  let outcome: unknown;
  try {
    outcome = await attempt;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(outcome)?.slice(0, 200)}`);
}
