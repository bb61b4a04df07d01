import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookSender } from '../../src/adapters/webhooks/http-webhook-sender';
import { verifyDelivery } from '../../src/adapters/webhooks/signature';
import type { WebhookEvent } from '../../src/domain/policy-workflows';
import { flushAsync } from '../helpers/fake-clock';
import { DIR } from '../helpers/fake-directory';
import { MINUTE, people, Rig, rigPolicy } from '../unit/app/rig';

const SECRET = 'whsec-outbox-0123456789abcdef';
const ALL: WebhookEvent[] = ['requested', 'decided', 'granted', 'extended', 'ended', 'failed'];

interface Delivery {
  id: string;
  event: string;
  at: string;
  request: { id: string; status: string; target: string };
  /** Headers as they came. */
  headerId: string;
  headerEvent: string;
  /** The signature's time (Unix seconds) and whether it verified then. */
  t: number;
  verified: boolean;
  /** What the receiver answered. */
  status: number;
}

type Mode =
  | { answer: number; retryAfter?: string }
  /** Holds every answer until `release` is called, then answers 200. */
  | { hold: true };

/**
 * A receiver on loopback: records every attempt (verified against the rig's fake clock, which
 * the sender signs with) and answers as the test says.
 */
class Receiver {
  readonly attempts: Delivery[] = [];
  mode: Mode = { answer: 200 };
  private held: Array<() => void> = [];
  private server?: Server;
  url = '';

  constructor(private readonly now: () => number) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.take(Buffer.concat(chunks).toString('utf8'), req.headers, res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/timebox`;
    return this;
  }

  /** Answers every held delivery (200). */
  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  /** The events of the deliveries answered 2xx, in order. */
  delivered(): string[] {
    return this.attempts.filter((a) => a.status < 300).map((a) => a.event);
  }

  /** The request's status in the accepted delivery of `event`. */
  statusIn(event: string): string | undefined {
    return this.attempts.find((a) => a.status < 300 && a.event === event)?.request.status;
  }

  async waitForAttempts(n: number): Promise<void> {
    for (let i = 0; i < 500 && this.attempts.length + this.held.length < n; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  get holding(): number {
    return this.held.length;
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private take(
    body: string,
    headers: Record<string, string | string[] | undefined>,
    res: ServerResponse,
  ): void {
    const signature = String(headers['timebox-signature']);
    const parsed = JSON.parse(body) as Omit<
      Delivery,
      'headerId' | 'headerEvent' | 't' | 'verified' | 'status'
    >;
    const record = (status: number): Delivery => ({
      ...parsed,
      headerId: String(headers['timebox-delivery']),
      headerEvent: String(headers['timebox-event']),
      t: Number(/t=(\d+)/.exec(signature)?.[1]),
      verified: verifyDelivery(SECRET, body, signature, this.now()).ok,
      status,
    });
    const mode = this.mode;
    if ('hold' in mode) {
      this.held.push(() => {
        this.attempts.push(record(200));
        res.writeHead(200).end();
      });
      return;
    }
    this.attempts.push(record(mode.answer));
    res.writeHead(mode.answer, mode.retryAfter ? { 'retry-after': mode.retryAfter } : {}).end();
  }
}

describe('webhook deliveries through the outbox (the real worker, a real receiver)', () => {
  let rig: Rig;
  let receiver: Receiver;
  /** Real time of each membership change, to compare with the receiver's answers. */
  let writes: Array<{ op: string; at: number }>;

  async function start(events: WebhookEvent[] = ALL): Promise<void> {
    receiver = await new Receiver(() => rig.clock.now()).start();
    const webhooks = [{ url: receiver.url, events, secretEnv: 'TIMEBOX_WEBHOOK_SECRET' }];
    const sender = createWebhookSender(
      webhooks,
      { TIMEBOX_WEBHOOK_SECRET: SECRET },
      { now: () => rig.clock.now(), timeoutMs: 5_000 },
    );
    rig = new Rig({ policy: rigPolicy({ webhooks }), webhooks: sender });
    writes = [];
    rig.directory.onWrite = (op) => void writes.push({ op, at: performance.now() });
    await rig.start();
  }

  /** Real time passes (the receiver answers on its own) until `done`, at most 5 s. */
  async function until(done: () => boolean | Promise<boolean>): Promise<void> {
    for (let i = 0; i < 500 && !(await done()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  afterEach(async () => {
    await receiver.stop();
    await rig.close();
  });

  it('a grant’s life reaches the receiver signed, once per event, in order, with the request as it is then', async () => {
    await start();
    const granted = await rig.grantTo(people.alex, 'db-read', people.megan, 30 * MINUTE);
    expect(granted.status).toBe('active');
    await rig.advance(31 * MINUTE);
    expect((await rig.get(granted.id)).status).toBe('expired');

    expect(receiver.delivered()).toEqual(['requested', 'decided', 'granted', 'ended']);
    expect(receiver.statusIn('requested')).toBe('pending');
    expect(receiver.statusIn('granted')).toBe('active');
    expect(receiver.statusIn('ended')).toBe('expired');
    for (const a of receiver.attempts) {
      expect(a.verified).toBe(true);
      expect(a.headerId).toBe(a.id);
      expect(a.headerEvent).toBe(a.event);
      expect(a.request).toMatchObject({ id: granted.id, target: 'db-read' });
    }
    expect(new Set(receiver.attempts.map((a) => a.id)).size).toBe(4);
    // `at` is when the event happened; the request is as it is when the delivery is sent.
    expect(receiver.attempts.find((a) => a.event === 'ended')!.at).toBe(
      new Date(granted.expiresAt!).toISOString(),
    );
    expect(await rig.auditOf(granted.id)).not.toContain('notify_failed');
  });

  it('only the events a hook subscribes to', async () => {
    await start(['decided', 'ended']);
    const request = await rig.askFor(people.alex, 'db-read');
    await rig.service.decide(request.id, people.megan, 'deny', 'not today');
    await rig.settle();
    expect(receiver.delivered()).toEqual(['decided']);
    expect(receiver.statusIn('decided')).toBe('denied');
  });

  it('a receiver down for a while holds up neither the add nor the removal; its deliveries arrive once it is back, each once', async () => {
    await start();
    receiver.mode = { answer: 503 };
    const granted = await rig.grantTo(people.alex, 'db-read', people.megan, 15 * MINUTE);
    // The grant started at the decision, not after the receiver.
    expect(granted.status).toBe('active');
    expect(granted.grantedAt).toBe(rig.clock.now());
    expect(rig.directory.members(DIR.groups.dbRead)).toContain(people.alex.id);
    expect(await rig.repliesFor(granted.id)).toContain('granted');
    await rig.advance(4 * MINUTE);
    expect(receiver.delivered()).toEqual([]);
    expect(receiver.attempts.length).toBeGreaterThan(5); // retried, with backoff
    receiver.mode = { answer: 200 };
    await rig.advance(2 * MINUTE);
    expect(receiver.delivered()).toEqual(['requested', 'decided', 'granted']);

    // Down again when the grant ends: the removal is on time all the same.
    receiver.mode = { answer: 503 };
    await rig.advance(10 * MINUTE);
    const ended = await rig.get(granted.id);
    expect(ended.status).toBe('expired');
    expect(ended.membershipRemovedAt! - ended.expiresAt!).toBeLessThan(5_000);
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    expect(receiver.delivered()).toEqual(['requested', 'decided', 'granted']);

    receiver.mode = { answer: 200 };
    await rig.advance(2 * MINUTE);
    expect(receiver.delivered()).toEqual(['requested', 'decided', 'granted', 'ended']);
    const accepted = receiver.attempts.filter((a) => a.status === 200).map((a) => a.id);
    expect(new Set(accepted).size).toBe(4);
    // Every attempt of one delivery had the same id, and was signed afresh.
    const ofRequested = receiver.attempts.filter((a) => a.event === 'requested');
    expect(new Set(ofRequested.map((a) => a.id)).size).toBe(1);
    expect(ofRequested.at(-1)!.t - ofRequested[0]!.t).toBeGreaterThan(60);
    expect(await rig.auditOf(granted.id)).not.toContain('notify_failed');
  });

  it('a receiver that hangs holds up neither the membership changes nor the request’s cards', async () => {
    await start();
    const settle = rig.clock.settle;
    // Nothing waits for the worker here: the receiver holds deliveries while the rest goes on.
    rig.clock.settle = () => flushAsync();
    receiver.mode = { hold: true };
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'db-read',
      durationMs: 15 * MINUTE,
      justification: 'x',
    });
    await until(() => receiver.holding === 1);
    expect(receiver.holding).toBe(1);
    await rig.service.decide(request.id, people.megan, 'approve');
    await until(async () => (await rig.get(request.id)).status === 'active');
    await until(async () => (await rig.repliesFor(request.id)).includes('granted'));
    expect((await rig.get(request.id)).status).toBe('active');
    expect(await rig.repliesFor(request.id)).toContain('granted');
    // `requested` is still held: the request's next deliveries queue behind it, nothing else does.
    expect(receiver.holding).toBe(1);
    expect(receiver.attempts).toHaveLength(0);
    const addedAt = writes.find((w) => w.op === 'addMember')!.at;
    receiver.mode = { answer: 200 };
    receiver.release();
    expect(addedAt).toBeLessThan(performance.now());
    rig.clock.settle = settle;
    await rig.settle();
    expect(receiver.delivered()).toEqual(['requested', 'decided', 'granted']);

    // The ending: the receiver hangs again while the grant expires.
    rig.clock.settle = () => flushAsync();
    receiver.mode = { hold: true };
    await rig.clock.advance(16 * MINUTE);
    await until(() => receiver.holding === 1 && writes.some((w) => w.op === 'removeMember'));
    expect(writes.some((w) => w.op === 'removeMember')).toBe(true);
    expect(receiver.holding).toBe(1); // `ended`, held while the membership was removed
    expect(rig.directory.members(DIR.groups.dbRead)).not.toContain(people.alex.id);
    receiver.mode = { answer: 200 };
    receiver.release();
    rig.clock.settle = settle;
    await rig.settle();
    expect(receiver.delivered()).toEqual(['requested', 'decided', 'granted', 'ended']);
    expect(receiver.statusIn('requested')).toBe('pending');
    expect(receiver.statusIn('ended')).toBe('expired');
  });

  it('honours Retry-After, and a refusal (400) is given up at once, recorded, and changes nothing of the request', async () => {
    await start(['requested']);
    receiver.mode = { answer: 429, retryAfter: '120' };
    const request = await rig.askFor(people.alex, 'db-read');
    await rig.advance(5 * MINUTE);
    const times = receiver.attempts.map((a) => a.t);
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(120);

    receiver.mode = { answer: 400 };
    const tried = receiver.attempts.length;
    await rig.advance(5 * MINUTE);
    expect(receiver.attempts.length).toBe(tried + 1);
    await rig.advance(30 * MINUTE);
    expect(receiver.attempts.length).toBe(tried + 1);
    const failures = (await rig.audit()).filter(
      (r) => r.requestId === request.id && r.type === 'notify_failed',
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.detail).toMatchObject({
      effect: 'webhook.deliver',
      webhook: { event: 'requested', hook: 0 },
    });
    expect(failures[0]!.reason).toMatch(/refused the delivery with 400/);
    expect((await rig.get(request.id)).status).toBe('pending');
    expect((await rig.store.listEffects(request.id)).map((e) => e.kind)).not.toContain('webhook.deliver');
  });
});
