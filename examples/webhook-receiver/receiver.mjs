#!/usr/bin/env node
// A receiver for Timebox's webhooks: Node 20+, no dependencies. See README.md next to it.
//
//   WEBHOOK_SECRET=… PORT=8080 node receiver.mjs
//
// Every delivery is checked before anything in it is believed: the signature over the
// timestamp and the raw body (HMAC-SHA256, compared in constant time), the timestamp's age
// (older than 5 minutes = a replay), and the delivery id (seen before = a replay or a retry of
// one already handled). Replace `handle` with what your system does with an event.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const SECRET = process.env.WEBHOOK_SECRET ?? '';
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '127.0.0.1';
/** How old a signature may be: the same 5 minutes Timebox documents. */
const TOLERANCE_S = 300;
/** Deliveries are small; anything larger is not from Timebox. */
const MAX_BODY_BYTES = 256 * 1024;
/**
 * How long a delivery id is remembered. Longer than the tolerance: Timebox retries a delivery
 * for several minutes, each attempt freshly signed but under the same id.
 */
const REMEMBER_MS = 24 * 60 * 60 * 1000;
const REMEMBER_MAX = 100_000;

if (SECRET.length < 16) {
  console.error(
    'Set WEBHOOK_SECRET to the secret in the variable the hook’s secretEnv names (16+ characters).',
  );
  process.exit(2);
}

/** Delivery id → when first seen (a Map keeps insertion order: the oldest go first). */
const seen = new Map();

function remember(id, now) {
  for (const [old, at] of seen) {
    if (seen.size < REMEMBER_MAX && now - at < REMEMBER_MS) break;
    seen.delete(old);
  }
  seen.set(id, now);
}

/** `t=<unix seconds>,v1=<hex>` → { t, v1 }, or undefined when malformed. */
function parseSignature(header) {
  if (typeof header !== 'string') return undefined;
  const parts = {};
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) parts[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return undefined;
  return { t, v1: parts.v1 };
}

/** Checks one delivery; returns the parsed event, or why it is refused. */
function verify(rawBody, signatureHeader, now = Date.now()) {
  const signature = parseSignature(signatureHeader);
  if (!signature) return { refused: 400, reason: 'malformed signature header' };
  const expected = createHmac('sha256', SECRET).update(`${signature.t}.`).update(rawBody).digest();
  // Constant time: how much of a guess matched must not show in how long the answer takes.
  if (!timingSafeEqual(expected, Buffer.from(signature.v1, 'hex')))
    return { refused: 401, reason: 'signature mismatch' };
  if (Math.abs(now / 1000 - signature.t) > TOLERANCE_S) return { refused: 400, reason: 'stale timestamp' };
  let event;
  try {
    event = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { refused: 400, reason: 'body is not JSON' };
  }
  // NB: the id from the signed body, not the Timebox-Delivery header: headers are not signed.
  if (typeof event?.id !== 'string' || !event.id) return { refused: 400, reason: 'no delivery id' };
  return { event };
}

/** What your system does with an event. Here: one JSON line on stdout. */
async function handle(event) {
  console.log(
    JSON.stringify({
      received: event.id,
      event: event.event,
      at: event.at,
      request: event.request?.id,
      status: event.request?.status,
      target: event.request?.target,
    }),
  );
}

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      answer(res, 413, { error: 'body too large' });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', async () => {
    if (res.headersSent) return;
    const outcome = verify(Buffer.concat(chunks), req.headers['timebox-signature']);
    if (outcome.refused) {
      console.error(JSON.stringify({ refused: outcome.reason }));
      return answer(res, outcome.refused, { error: outcome.reason });
    }
    const { event } = outcome;
    if (seen.has(event.id)) {
      // Handled already: say so with a 2xx, so that Timebox stops retrying it.
      console.error(JSON.stringify({ duplicate: event.id }));
      return answer(res, 200, { ok: true, duplicate: true });
    }
    remember(event.id, Date.now());
    try {
      await handle(event);
    } catch (error) {
      // Not handled: forget it, so that Timebox's retry is handled (a 5xx is retried).
      seen.delete(event.id);
      console.error(JSON.stringify({ failed: event.id, error: String(error) }));
      return answer(res, 500, { error: 'not handled, try again' });
    }
    answer(res, 200, { ok: true });
  });
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(JSON.stringify({ listening: `http://${HOST}:${port}/` }));
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
