import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

/** The `aud` of every approval token: what a verifier checks so that no other token passes for one. */
export const APPROVAL_AUDIENCE = 'timebox-approval';

/** One ES256 key that signs approval tokens. Private parts never leave the key ring. */
export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  createdAt: number;
  /** Set when a newer key took over: still published until the tokens it signed have expired. */
  retiredAt?: number;
}

/** What an approval token says (§11): who asked, for what, who approved, until when. */
export interface ApprovalClaims {
  /** The request id (`jti`). */
  requestId: string;
  /** The requester's object id (`sub`). */
  subject: string;
  target: string;
  approvers: string[];
  context?: Record<string, string>;
  expiresAt: number;
}

export async function generateSigningKey(now: number): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return {
    kid: await calculateJwkThumbprint(privateJwk),
    privateJwk: { ...privateJwk, alg: 'ES256' },
    createdAt: now,
  };
}

/** A new current key; the one before is retired now (still published, no longer signing). */
export async function rotateKeys(keys: SigningKey[], now: number): Promise<SigningKey[]> {
  const next = await generateSigningKey(now);
  return [next, ...keys.map((k) => (k.retiredAt === undefined ? { ...k, retiredAt: now } : k))];
}

function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, y };
}

/**
 * Keys given in the environment (TIMEBOX_APPROVAL_KEYS): a JWK set of private EC P-256 keys.
 * The first one signs; the others are only published, so that a rotation is "put the new key
 * first, keep the old one until its tokens expired". Every replica must be given the same set.
 */
export function signingKeysFromJwks(text: string, now: number): SigningKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('TIMEBOX_APPROVAL_KEYS is not JSON: give a JWK set, {"keys":[…]}');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new Error('TIMEBOX_APPROVAL_KEYS has no keys: give a JWK set, {"keys":[…]}');
  return keys.map((raw: unknown, index) => {
    const jwk = raw as JWK;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string' || !jwk.x || !jwk.y)
      throw new Error(
        `TIMEBOX_APPROVAL_KEYS key ${index + 1}: an EC P-256 private key (kty EC, crv P-256, d, x, y) is needed`,
      );
    if (typeof jwk.kid !== 'string' || jwk.kid === '')
      throw new Error(`TIMEBOX_APPROVAL_KEYS key ${index + 1} has no kid`);
    // The older keys count as retired from this start on: published for as long as a token
    // they signed can still be valid.
    return {
      kid: jwk.kid,
      privateJwk: { ...jwk, alg: 'ES256' },
      createdAt: now,
      retiredAt: index === 0 ? undefined : now,
    };
  });
}

export interface ApprovalTokenOptions {
  /** Timebox's public URL: the `iss` of its tokens. */
  issuer: string;
  /**
   * How long a retired key stays published: the longest an approval token can live (the
   * longest grant with its extensions, or `approvalValidFor`), so no token outlives its key.
   */
  retainRetiredMs: number;
}

/** Signs approval tokens with the current key and publishes the keys that verify them. */
export class ApprovalTokens {
  constructor(
    private keys: readonly SigningKey[],
    private readonly options: ApprovalTokenOptions,
  ) {
    if (!keys.some((k) => k.retiredAt === undefined)) throw new Error('no current approval signing key');
  }

  /** Another view of the stored keys (a rotation, here or on another replica): sign and publish from it. */
  replaceKeys(keys: readonly SigningKey[]): void {
    if (!keys.some((k) => k.retiredAt === undefined)) throw new Error('no current approval signing key');
    this.keys = keys;
  }

  private current(): SigningKey {
    return this.keys.find((k) => k.retiredAt === undefined)!;
  }

  async sign(claims: ApprovalClaims, now: number): Promise<string> {
    const key = this.current();
    const nowSec = Math.floor(now / 1000);
    return new SignJWT({
      target: claims.target,
      approvers: claims.approvers,
      ...(claims.context ? { ctx: claims.context } : {}),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid })
      .setIssuer(this.options.issuer)
      .setAudience(APPROVAL_AUDIENCE)
      .setSubject(claims.subject)
      .setJti(claims.requestId)
      .setIssuedAt(nowSec)
      .setExpirationTime(Math.max(nowSec + 1, Math.floor(claims.expiresAt / 1000)))
      .sign(await importJWK(key.privateJwk, 'ES256'));
  }

  /** `/.well-known/jwks.json`: the current key and every retired one whose tokens may still be valid. */
  jwks(now: number): { keys: JWK[] } {
    return {
      keys: this.keys
        .filter((k) => k.retiredAt === undefined || now < k.retiredAt + this.options.retainRetiredMs)
        .map((k) => ({ ...publicPart(k.privateJwk), kid: k.kid, alg: 'ES256', use: 'sig' })),
    };
  }
}
