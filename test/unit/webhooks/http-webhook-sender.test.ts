import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookSender } from '../../../src/adapters/webhooks/http-webhook-sender';
import { verifyDelivery } from '../../../src/adapters/webhooks/signature';
import { ConfigError } from '../../../src/config';
import { DomainError, ErrorCodes, isTransient } from '../../../src/domain/errors';
import type { WebhookPolicy } from '../../../src/domain/policy-workflows';
import type { WebhookSender } from '../../../src/ports/webhook-sender';

const SECRET = 'whsec-0123456789abcdef';
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);
const BODY = JSON.stringify({ id: 'R-ABC123:granted:1:0', event: 'granted', request: { id: 'R-ABC123' } });
const delivery = { hook: 0, event: 'granted', deliveryId: 'R-ABC123:granted:1:0', body: BODY };

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  method?: string;
}

/** A receiver on loopback whose answer each test decides. */
async function receiver(
  answer: (res: ServerResponse) => void,
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), method: req.method });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=private`,
    got,
    server,
  };
}

const hook = (url: string, secretEnv = 'TIMEBOX_WEBHOOK_SECRET'): WebhookPolicy => ({
  url,
  events: ['granted'],
  secretEnv,
});

function senderFor(url: string, timeoutMs = 2_000): WebhookSender {
  return createWebhookSender([hook(url)], { TIMEBOX_WEBHOOK_SECRET: SECRET }, { now: () => NOW, timeoutMs })!;
}

async function failureOf(attempt: Promise<unknown>): Promise<DomainError> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the delivery to fail');
}

describe('the HTTP webhook sender', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });
  async function answering(answer: (res: ServerResponse) => void) {
    const r = await receiver(answer);
    servers.push(r.server);
    return r;
  }

  it('POSTs the body as JSON, signed over timestamp and body, with the delivery id and the event', async () => {
    const r = await answering((res) => res.writeHead(204).end());
    await senderFor(r.url).deliver(delivery);
    expect(r.got).toHaveLength(1);
    const [got] = r.got;
    expect(got).toMatchObject({ method: 'POST', body: BODY });
    expect(got!.headers).toMatchObject({
      'content-type': 'application/json',
      'timebox-delivery': delivery.deliveryId,
      'timebox-event': 'granted',
      'timebox-signature': expect.stringMatching(new RegExp(`^t=${NOW / 1000},v1=[0-9a-f]{64}$`)),
    });
    expect(verifyDelivery(SECRET, got!.body, got!.headers['timebox-signature'] as string, NOW)).toEqual({
      ok: true,
    });
    expect(
      verifyDelivery('another-secret-0000', got!.body, got!.headers['timebox-signature'] as string, NOW),
    ).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('any 2xx is done', async () => {
    const r = await answering((res) => res.writeHead(202, { 'content-type': 'text/plain' }).end('queued'));
    await expect(senderFor(r.url).deliver(delivery)).resolves.toBeUndefined();
  });

  it('500 and 503 are transient: tried again later by the outbox', async () => {
    for (const status of [500, 503]) {
      const r = await answering((res) => res.writeHead(status).end('down'));
      const error = await failureOf(senderFor(r.url).deliver(delivery));
      expect(error.code).toBe(ErrorCodes.WEBHOOK_FAILED);
      expect(isTransient(error)).toBe(true);
      expect(error.details).toMatchObject({ status, deliveryId: delivery.deliveryId });
      expect(error.details.retryAfterMs).toBeUndefined();
    }
  });

  it('429 and 408 are transient, and the receiver’s Retry-After (seconds or a date) is passed on, capped at an hour', async () => {
    const seconds = await answering((res) => res.writeHead(429, { 'retry-after': '7' }).end());
    expect((await failureOf(senderFor(seconds.url).deliver(delivery))).details).toMatchObject({
      status: 429,
      retryAfterMs: 7_000,
    });
    const date = await answering((res) =>
      res.writeHead(503, { 'retry-after': new Date(NOW + 90_000).toUTCString() }).end(),
    );
    expect((await failureOf(senderFor(date.url).deliver(delivery))).details).toMatchObject({
      retryAfterMs: 90_000,
    });
    const forever = await answering((res) => res.writeHead(429, { 'retry-after': '864000' }).end());
    expect((await failureOf(senderFor(forever.url).deliver(delivery))).details.retryAfterMs).toBe(3_600_000);
    const timeout = await answering((res) => res.writeHead(408).end());
    expect(isTransient(await failureOf(senderFor(timeout.url).deliver(delivery)))).toBe(true);
  });

  it('400, 401, 404, 410 are refusals: given up at once, never retried', async () => {
    for (const status of [400, 401, 404, 410]) {
      const r = await answering((res) => res.writeHead(status).end('no'));
      const error = await failureOf(senderFor(r.url).deliver(delivery));
      expect(error.code).toBe(ErrorCodes.WEBHOOK_REFUSED);
      expect(isTransient(error)).toBe(false);
      expect(r.got).toHaveLength(1);
    }
  });

  it('never follows a redirect: a signed delivery goes to the configured URL only', async () => {
    const elsewhere = await answering((res) => res.writeHead(200).end());
    const r = await answering((res) => res.writeHead(307, { location: elsewhere.url }).end());
    const error = await failureOf(senderFor(r.url).deliver(delivery));
    expect(error.code).toBe(ErrorCodes.WEBHOOK_REFUSED);
    expect(elsewhere.got).toHaveLength(0);
  });

  it('a receiver that does not answer in time is transient (the timeout), as is one that is not there', async () => {
    const r = await answering(() => undefined); // never answers
    const started = Date.now();
    const slow = await failureOf(senderFor(r.url, 300).deliver(delivery));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(slow.code).toBe(ErrorCodes.WEBHOOK_FAILED);
    expect(slow.message).toMatch(/did not answer within 300 ms/);
    const gone = await answering((res) => res.end());
    const url = gone.url;
    gone.server.close();
    gone.server.closeAllConnections();
    const down = await failureOf(senderFor(url).deliver(delivery));
    expect(down.code).toBe(ErrorCodes.WEBHOOK_FAILED);
    expect(down.message).toMatch(/could not be reached.*ECONNREFUSED/);
  });

  it('names the hook by its host in errors, never its path or query (they may carry a token)', async () => {
    const r = await answering((res) => res.writeHead(500).end());
    const error = await failureOf(senderFor(r.url).deliver(delivery));
    expect(error.message).toContain('127.0.0.1');
    expect(error.message).not.toContain('token');
    expect(JSON.stringify(error.details)).not.toContain(SECRET);
  });

  it('an index the policy does not have is a refusal', async () => {
    const error = await failureOf(senderFor('http://127.0.0.1:9/').deliver({ ...delivery, hook: 3 }));
    expect(error.code).toBe(ErrorCodes.WEBHOOK_REFUSED);
  });

  describe('built at start-up from the policy and the environment', () => {
    it('none without hooks', () => {
      expect(createWebhookSender([], {})).toBeUndefined();
    });

    it('a hook whose secret variable is unset or blank stops the start, naming the variable', () => {
      for (const env of [{}, { HOOK_SECRET: '  ' }]) {
        const build = () =>
          createWebhookSender(
            [hook('https://hooks.example.com/a'), hook('https://b.example.com/', 'HOOK_SECRET')],
            {
              TIMEBOX_WEBHOOK_SECRET: SECRET,
              ...env,
            },
          );
        expect(build).toThrow(ConfigError);
        expect(build).toThrow(/HOOK_SECRET is not set: webhooks\[1\] \(b\.example\.com\)/);
      }
    });

    it('a short secret is refused', () => {
      expect(() =>
        createWebhookSender([hook('https://a.example.com/')], { TIMEBOX_WEBHOOK_SECRET: 'short' }),
      ).toThrow(/TIMEBOX_WEBHOOK_SECRET is shorter than 16 characters/);
    });
  });
});
