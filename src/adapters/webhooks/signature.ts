import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every webhook delivery carries: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'Timebox-Signature';

/** How old a delivery a receiver should still accept (replays of older ones are refused). */
export const DEFAULT_TOLERANCE_S = 300;

function mac(secret: string, timestampS: number, body: string): string {
  // Timestamp and body, so that a captured delivery cannot be replayed under a new time.
  return createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
}

/** The signature header's value for one delivery of `body` (the exact bytes sent). */
export function signDelivery(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

/**
 * What a receiver does (examples/webhook-receiver/ and docs/workflow-api.md show it): recompute
 * the HMAC over the timestamp and the raw body, compare in constant time, refuse stale timestamps.
 */
export function verifyDelivery(
  secret: string,
  body: string,
  header: string | undefined,
  nowMs: number,
  toleranceS = DEFAULT_TOLERANCE_S,
): { ok: true } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' } {
  const parts = Object.fromEntries(
    (header ?? '').split(',').map((p) => {
      const at = p.indexOf('=');
      return [p.slice(0, at).trim(), p.slice(at + 1).trim()];
    }),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? ''))
    return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs / 1000 - t) > toleranceS) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(mac(secret, t, body), 'hex');
  const given = Buffer.from(parts.v1!, 'hex');
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
