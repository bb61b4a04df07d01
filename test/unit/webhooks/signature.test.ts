import { createHmac } from 'node:crypto';
import { signDelivery, verifyDelivery } from '../../../src/adapters/webhooks/signature';

const SECRET = 'whsec-test-0123456789';
const BODY = JSON.stringify({ event: 'granted', request: { id: 'R-ABC123', target: 'db-read' } });
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);

describe('webhook signatures: HMAC-SHA256 over timestamp and body', () => {
  it('is the documented HMAC, so any receiver can check it with its own crypto library', () => {
    const header = signDelivery(SECRET, BODY, NOW);
    const t = NOW / 1000;
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${BODY}`).digest('hex')}`);
    expect(verifyDelivery(SECRET, BODY, header, NOW + 1000)).toEqual({ ok: true });
  });

  it('refuses a changed body, another secret, a replay under a new timestamp, a stale or malformed header', () => {
    const header = signDelivery(SECRET, BODY, NOW);
    expect(verifyDelivery(SECRET, BODY.replace('db-read', 'prod-admin'), header, NOW)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyDelivery('another-secret', BODY, header, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    const replayed = header.replace(`t=${NOW / 1000}`, `t=${NOW / 1000 + 600}`);
    expect(verifyDelivery(SECRET, BODY, replayed, NOW + 600_000)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyDelivery(SECRET, BODY, header, NOW + 301_000)).toEqual({ ok: false, reason: 'stale' });
    for (const bad of [
      undefined,
      '',
      'v1=abc',
      `t=${NOW / 1000}`,
      `t=soon,v1=${'a'.repeat(64)}`,
      `t=1,v1=${'z'.repeat(64)}`,
    ])
      expect(verifyDelivery(SECRET, BODY, bad, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });
});
