import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createWebhookSender } from '../../src/adapters/webhooks/http-webhook-sender';
import { signDelivery } from '../../src/adapters/webhooks/signature';
import { DomainError, ErrorCodes } from '../../src/domain/errors';

const RECEIVER = path.join(__dirname, '../../examples/webhook-receiver/receiver.mjs');
const SECRET = 'whsec-example-0123456789abcdef';

/** examples/webhook-receiver/receiver.mjs as its README runs it, on a free port. */
async function startReceiver(): Promise<{
  url: string;
  child: ChildProcessWithoutNullStreams;
  handled: Array<Record<string, unknown>>;
}> {
  const child = spawn(process.execPath, [RECEIVER], {
    env: { PATH: process.env.PATH, WEBHOOK_SECRET: SECRET, PORT: '0' },
  });
  const handled: Array<Record<string, unknown>> = [];
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the receiver exited with ${code}`)));
    lines.on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (typeof record.listening === 'string') resolve(record.listening);
      else handled.push(record);
    });
  });
  return { url, child, handled };
}

const bodyOf = (id: string) =>
  JSON.stringify({
    id,
    event: 'granted',
    at: new Date().toISOString(),
    request: { id: 'R-ABC123', status: 'active', target: 'db-read' },
  });

async function post(url: string, body: string, signature?: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'timebox-signature': signature } : {}) },
    body,
  });
  await res.body?.cancel();
  return res.status;
}

async function refusalOf(attempt: Promise<unknown>): Promise<DomainError> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the receiver to refuse');
}

describe('examples/webhook-receiver: what the README shows a receiver checks', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => (receiver = await startReceiver()));
  afterAll(async () => {
    const exited = new Promise((resolve) => receiver.child.once('exit', resolve));
    receiver.child.kill('SIGTERM');
    await exited;
  });

  const sender = (now = Date.now, secret = SECRET) =>
    createWebhookSender(
      [{ url: receiver.url, events: ['granted'], secretEnv: 'TIMEBOX_WEBHOOK_SECRET' }],
      { TIMEBOX_WEBHOOK_SECRET: secret },
      { now },
    )!;
  const deliver = (id: string, now?: () => number, secret?: string) =>
    sender(now, secret).deliver({ hook: 0, event: 'granted', deliveryId: id, body: bodyOf(id) });
  let sentinels = 0;
  /**
   * The ids handled so far, read once a fresh delivery sent now has shown up: the receiver's
   * stdout is in order, so whatever came before it has been printed by then.
   */
  const handledIds = async (): Promise<unknown[]> => {
    const sentinel = `S-${++sentinels}`;
    await deliver(sentinel);
    while (!receiver.handled.some((r) => r.received === sentinel))
      await new Promise((resolve) => setTimeout(resolve, 10));
    return receiver.handled.map((r) => r.received).filter((id) => !String(id).startsWith('S-'));
  };

  it('takes a delivery Timebox signed, and handles it once however often it comes', async () => {
    await deliver('D-1');
    await deliver('D-1'); // Timebox's retry after a lost answer: freshly signed, same id
    expect(await handledIds()).toEqual(['D-1']);
    expect(receiver.handled[0]).toMatchObject({ event: 'granted', request: 'R-ABC123', status: 'active' });
  });

  it('a captured delivery sent again as it was is not handled again', async () => {
    const body = bodyOf('D-2');
    const signature = signDelivery(SECRET, body, Date.now());
    expect(await post(receiver.url, body, signature)).toBe(200);
    expect(await post(receiver.url, body, signature)).toBe(200);
    expect((await handledIds()).filter((id) => id === 'D-2')).toHaveLength(1);
  });

  it('refuses a delivery signed more than 5 minutes ago (a replay), which Timebox then gives up', async () => {
    const error = await refusalOf(deliver('D-3', () => Date.now() - 6 * 60_000));
    expect(error.code).toBe(ErrorCodes.WEBHOOK_REFUSED);
    expect(error.details.status).toBe(400);
    await deliver('D-4', () => Date.now() - 4 * 60_000); // within the tolerance
    expect(await handledIds()).not.toContain('D-3');
    expect(await handledIds()).toContain('D-4');
  });

  it('refuses another secret, a changed body, an old signature on a new timestamp, and a missing or malformed header', async () => {
    expect((await refusalOf(deliver('D-5', undefined, 'not-the-secret-at-all'))).details.status).toBe(401);
    const body = bodyOf('D-6');
    const now = Date.now();
    const signature = signDelivery(SECRET, body, now);
    expect(await post(receiver.url, body.replace('db-read', 'prod-admin'), signature)).toBe(401);
    const t = Math.floor(now / 1000);
    expect(await post(receiver.url, body, signature.replace(`t=${t}`, `t=${t + 1}`))).toBe(401);
    expect(await post(receiver.url, body)).toBe(400);
    expect(await post(receiver.url, body, 'v1=abc')).toBe(400);
    expect(await post(receiver.url, body, `t=${t},v1=${'0'.repeat(64)}`)).toBe(401);
    expect(await handledIds()).not.toContain('D-5');
    expect(await handledIds()).not.toContain('D-6');
  });
});
