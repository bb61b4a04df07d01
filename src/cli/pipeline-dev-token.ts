/** Host names of this machine (URL.hostname keeps IPv6 in brackets). */
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** A token is fetched again this long before it expires (a long wait spans many calls). */
const RENEW_BEFORE_MS = 60_000;

/**
 * Local mode only (TIMEBOX_DEV=1 and TIMEBOX_DEV_TOKEN_URL): a client-credentials token from
 * `npm run dev`'s local issuer (src/dev/local-issuer), so that `timebox request` can be tried
 * without a tenant. Refuses any URL off this machine: the secret is sent in the clear, and a
 * real tenant's tokens come from @azure/identity (pipeline-credential.ts), never from here.
 */
export function devIssuerToken(
  tokenUrl: string,
  clientId: string | undefined,
  clientSecret: string | undefined,
  scope: string,
  fetchFn: typeof fetch = fetch,
  now: () => number = Date.now,
): () => Promise<string> {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new Error(`TIMEBOX_DEV_TOKEN_URL is not a URL: ${tokenUrl}`);
  }
  if (url.protocol !== 'http:' || !LOOPBACK.has(url.hostname))
    throw new Error(
      `TIMEBOX_DEV_TOKEN_URL must be the local issuer of npm run dev (http on 127.0.0.1), not ${tokenUrl}`,
    );
  if (!clientId || !clientSecret)
    throw new Error(
      'the local issuer needs AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (npm run dev prints them)',
    );
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && now() < cached.until) return cached.token;
    const res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
        scope,
      }),
    });
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
      error_description?: unknown;
    };
    if (!res.ok || typeof body.access_token !== 'string')
      throw new Error(
        `the local issuer answered ${res.status}: ${typeof body.error_description === 'string' ? body.error_description : 'no token'}`,
      );
    const lifetimeMs = (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000;
    cached = { token: body.access_token, until: now() + Math.max(0, lifetimeMs - RENEW_BEFORE_MS) };
    return cached.token;
  };
}
