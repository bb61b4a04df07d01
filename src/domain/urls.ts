/** Host names of this machine (URL.hostname keeps IPv6 in brackets). */
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Whether Timebox may trust or send to `url`: https anywhere, plain http only to this machine
 * (a test's issuer or receiver). Used for key sources, webhooks and the pipeline client's URL.
 */
export function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
}
