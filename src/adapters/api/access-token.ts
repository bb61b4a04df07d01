import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { isHttpsOrLoopback } from '../../domain/urls';

/** Who called the API, as Entra's access token says (never from the request body). */
export interface ApiCaller {
  /** The calling application's (client) id: `azp` in v2 tokens, `appid` in v1 tokens. */
  clientId: string;
  tenantId: string;
  /** The caller's object id (`oid`): the service principal for an app-only token. */
  objectId?: string;
  tokenVersion: '1.0' | '2.0';
  roles: string[];
}

export type ApiAuthErrorCode =
  | 'auth.token_missing'
  | 'auth.token_invalid'
  | 'auth.token_expired'
  | 'auth.token_not_yet_valid'
  | 'auth.wrong_audience'
  | 'auth.wrong_issuer'
  | 'auth.wrong_tenant'
  | 'auth.no_client_id'
  | 'auth.keys_unavailable';

/** Why a token was refused: 401 (send another token) or 503 (the keys cannot be fetched now). */
export class ApiAuthError extends Error {
  readonly status: 401 | 503;
  constructor(
    readonly code: ApiAuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiAuthError';
    this.status = code === 'auth.keys_unavailable' ? 503 : 401;
  }
}

export interface AccessTokenOptions {
  tenantId: string;
  /** Every audience a token may carry (the API app's client id for v2, its app id URI for v1). */
  audiences: string[];
  /** OpenID metadata whose `issuer` and `jwks_uri` are trusted: https, or http on loopback only. */
  metadataUrl: string;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. */
  clockToleranceSec?: number;
  /** An unknown `kid` fetches the keys again, but not sooner than this after the last fetch. */
  keyRefreshCooldownMs?: number;
  now?: () => number;
}

/** Entra's OpenID metadata for a tenant in the cloud of `authorityHost`. */
export function entraMetadataUrl(
  tenantId: string,
  authorityHost = 'https://login.microsoftonline.com',
): string {
  return `${authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(tenantId)}/v2.0/.well-known/openid-configuration`;
}

/** Keys and issuers are trusted only over TLS; plain http is for a test issuer on this machine. */
export function trustedUrl(raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${what} is not a URL: ${raw}`);
  }
  if (isHttpsOrLoopback(url)) return url;
  throw new Error(`${what} must be https (http only on localhost): ${raw}`);
}

/**
 * The issuers Entra uses for one tenant: the v2 form from the metadata, and the v1 form
 * (`https://sts.windows.net/{tid}/`; China: sts.chinacloudapi.cn) — v1 tokens come from apps
 * whose manifest keeps `accessTokenAcceptedVersion` unset. A non-Entra issuer (a test's) gets
 * the v1 form on its own origin.
 */
export function acceptedIssuers(metadataIssuer: string, tenantId: string): { v1: string; v2: string } {
  const v2 = metadataIssuer.replace('{tenantid}', tenantId);
  const host = new URL(v2).hostname;
  const v1Origin =
    host === 'login.microsoftonline.com' || host === 'login.microsoftonline.us'
      ? 'https://sts.windows.net'
      : host.endsWith('.cn')
        ? 'https://sts.chinacloudapi.cn'
        : new URL(v2).origin;
  return { v1: `${v1Origin}/${tenantId}/`, v2 };
}

interface Trust {
  issuers: { v1: string; v2: string };
  keys: ReturnType<typeof createRemoteJWKSet>;
}

const METADATA_TTL_MS = 24 * 60 * 60_000;
/** A failed metadata fetch is not repeated for every call: callers get 503 meanwhile. */
const METADATA_RETRY_MS = 5_000;

/**
 * Verifies the API's bearer tokens with jose: RS256 signature by a key of the tenant's JWKS
 * (cached; an unknown `kid` fetches the set again, at most every 30 s, so forged kids cannot
 * make Timebox hammer Entra), issuer (v1 or v2 form),
 * audience, `tid`, `exp`/`nbf` with a small skew, and a client id in the claim of the token's
 * version. Nothing here is taken from the request but the token.
 */
export class AccessTokenVerifier {
  private trust?: { value: Trust; until: number };
  private failedUntil = 0;
  private loading?: Promise<Trust>;
  private readonly metadataUrl: URL;
  private readonly now: () => number;

  constructor(private readonly options: AccessTokenOptions) {
    this.metadataUrl = trustedUrl(options.metadataUrl, 'TIMEBOX_API_OPENID_METADATA');
    if (options.audiences.length === 0) throw new Error('TIMEBOX_API_AUDIENCE names no audience');
    this.now = options.now ?? Date.now;
  }

  async verify(authorization: string | undefined): Promise<ApiCaller> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token)
      throw new ApiAuthError(
        'auth.token_missing',
        'Send an Entra access token: Authorization: Bearer <token>.',
      );
    const trust = await this.trusted();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trust.keys, {
        algorithms: ['RS256'],
        audience: this.options.audiences,
        issuer: [trust.issuers.v2, trust.issuers.v1],
        clockTolerance: this.options.clockToleranceSec ?? 60,
        currentDate: new Date(this.now()),
        requiredClaims: ['exp', 'iat', 'tid'],
      }));
    } catch (error) {
      throw refusal(error);
    }
    const claims = payload as JWTPayload & Record<string, unknown>;
    if (typeof claims.tid !== 'string' || claims.tid.toLowerCase() !== this.options.tenantId.toLowerCase())
      throw new ApiAuthError('auth.wrong_tenant', 'The token was issued for another tenant.');
    const version = payload.iss === trust.issuers.v1 ? '1.0' : '2.0';
    const clientId = version === '1.0' ? claims.appid : claims.azp;
    if (typeof clientId !== 'string' || clientId === '')
      throw new ApiAuthError(
        'auth.no_client_id',
        `The token names no calling application (${version === '1.0' ? 'appid' : 'azp'}).`,
      );
    return {
      clientId,
      tenantId: claims.tid,
      objectId: typeof claims.oid === 'string' ? claims.oid : undefined,
      tokenVersion: version,
      roles: Array.isArray(claims.roles)
        ? claims.roles.filter((r): r is string => typeof r === 'string')
        : [],
    };
  }

  private async trusted(): Promise<Trust> {
    const now = this.now();
    if (this.trust && now < this.trust.until) return this.trust.value;
    if (now < this.failedUntil) throw keysUnavailable();
    this.loading ??= this.loadTrust().finally(() => (this.loading = undefined));
    try {
      const value = await this.loading;
      this.trust = { value, until: this.now() + METADATA_TTL_MS };
      return value;
    } catch {
      this.failedUntil = this.now() + METADATA_RETRY_MS;
      throw keysUnavailable();
    }
  }

  private async loadTrust(): Promise<Trust> {
    const response = await fetch(this.metadataUrl, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`OpenID metadata answered ${response.status}`);
    const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (typeof metadata.issuer !== 'string' || typeof metadata.jwks_uri !== 'string')
      throw new Error('OpenID metadata has no issuer or jwks_uri');
    return {
      issuers: acceptedIssuers(metadata.issuer, this.options.tenantId),
      keys: createRemoteJWKSet(trustedUrl(metadata.jwks_uri, 'jwks_uri'), {
        timeoutDuration: 5_000,
        cooldownDuration: this.options.keyRefreshCooldownMs ?? 30_000,
      }),
    };
  }
}

function keysUnavailable(): ApiAuthError {
  return new ApiAuthError(
    'auth.keys_unavailable',
    'Timebox cannot fetch the keys that sign API tokens just now; try again shortly.',
  );
}

/** jose's reasons, as the API's stable codes (messages say what to fix, never echo the token). */
function refusal(error: unknown): ApiAuthError {
  if (error instanceof errors.JWTExpired)
    return new ApiAuthError('auth.token_expired', 'The token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat')
      return new ApiAuthError('auth.token_not_yet_valid', 'The token is not valid yet.');
    if (error.claim === 'aud')
      return new ApiAuthError('auth.wrong_audience', 'The token is for another audience than this API.');
    if (error.claim === 'iss')
      return new ApiAuthError('auth.wrong_issuer', "The token was not issued by this tenant's Entra ID.");
    if (error.claim === 'tid') return new ApiAuthError('auth.wrong_tenant', 'The token names no tenant.');
  }
  if (error instanceof errors.JWKSTimeout) return keysUnavailable();
  return new ApiAuthError('auth.token_invalid', 'The token is not a valid, signed Entra access token.');
}
