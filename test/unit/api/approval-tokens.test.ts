import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import {
  APPROVAL_AUDIENCE,
  ApprovalTokens,
  generateSigningKey,
  rotateKeys,
  signingKeysFromJwks,
} from '../../../src/adapters/api/approval-tokens';

const ISSUER = 'https://timebox.contoso.com';
const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const HOUR = 3_600_000;
const claims = {
  requestId: 'R-7KQ2MX',
  subject: 'oid-of-alex',
  target: 'deploy-prod',
  approvers: ['oid-of-megan'],
  context: { repository: 'contoso/shop', runUrl: 'https://github.com/contoso/shop/actions/runs/1' },
  expiresAt: T0 + 15 * 60_000,
};

/** What any verifier does with the JWKS document alone (jose here, as a generic JWT library). */
async function verifyWithJwks(token: string, jwks: { keys: unknown[] }, now: number) {
  return jwtVerify(token, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]), {
    issuer: ISSUER,
    audience: APPROVAL_AUDIENCE,
    algorithms: ['ES256'],
    currentDate: new Date(now),
  });
}

describe('approval tokens: ES256, verifiable offline with the published keys only', () => {
  it('carries the claims of §11 and verifies against the JWKS', async () => {
    const tokens = new ApprovalTokens([await generateSigningKey(T0)], {
      issuer: ISSUER,
      retainRetiredMs: 8 * HOUR,
    });
    const token = await tokens.sign(claims, T0);
    const { payload, protectedHeader } = await verifyWithJwks(token, tokens.jwks(T0), T0 + 60_000);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT', kid: tokens.jwks(T0).keys[0]!.kid });
    expect(payload).toEqual({
      iss: ISSUER,
      aud: APPROVAL_AUDIENCE,
      sub: 'oid-of-alex',
      jti: 'R-7KQ2MX',
      target: 'deploy-prod',
      approvers: ['oid-of-megan'],
      ctx: claims.context,
      iat: T0 / 1000,
      exp: (T0 + 15 * 60_000) / 1000,
    });
    await expect(verifyWithJwks(token, tokens.jwks(T0), T0 + 16 * 60_000)).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
    });
  });

  it('the JWKS holds public parts only', async () => {
    const tokens = new ApprovalTokens([await generateSigningKey(T0)], {
      issuer: ISSUER,
      retainRetiredMs: HOUR,
    });
    const [key] = tokens.jwks(T0).keys;
    expect(Object.keys(key!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  it('rotation: new tokens under the new key; the old key stays published until its tokens expired, then goes', async () => {
    const first = [await generateSigningKey(T0)];
    const before = new ApprovalTokens(first, { issuer: ISSUER, retainRetiredMs: 8 * HOUR });
    const oldToken = await before.sign({ ...claims, expiresAt: T0 + 8 * HOUR }, T0);

    const rotated = await rotateKeys(first, T0 + HOUR);
    const after = new ApprovalTokens(rotated, { issuer: ISSUER, retainRetiredMs: 8 * HOUR });
    const newToken = await after.sign(claims, T0 + HOUR);
    expect(decodeProtectedHeader(newToken).kid).toBe(rotated[0]!.kid);
    expect(rotated[0]!.kid).not.toBe(first[0]!.kid);

    const jwksSoon = after.jwks(T0 + 2 * HOUR);
    expect(jwksSoon.keys.map((k) => k.kid)).toEqual([rotated[0]!.kid, first[0]!.kid]);
    await expect(verifyWithJwks(oldToken, jwksSoon, T0 + 2 * HOUR)).resolves.toBeDefined();
    await expect(verifyWithJwks(newToken, jwksSoon, T0 + HOUR)).resolves.toBeDefined();

    const jwksLater = after.jwks(T0 + 9 * HOUR + 1);
    expect(jwksLater.keys.map((k) => k.kid)).toEqual([rotated[0]!.kid]);
    await expect(verifyWithJwks(oldToken, jwksLater, T0 + 2 * HOUR)).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('a token signed by any other key, or altered, does not verify', async () => {
    const tokens = new ApprovalTokens([await generateSigningKey(T0)], {
      issuer: ISSUER,
      retainRetiredMs: HOUR,
    });
    const stranger = new ApprovalTokens(
      [{ ...(await generateSigningKey(T0)), kid: tokens.jwks(T0).keys[0]!.kid! }],
      {
        issuer: ISSUER,
        retainRetiredMs: HOUR,
      },
    );
    const forged = await stranger.sign(claims, T0);
    await expect(verifyWithJwks(forged, tokens.jwks(T0), T0)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    const [h, , sig] = (await tokens.sign(claims, T0)).split('.');
    const widened = Buffer.from(JSON.stringify({ ...claims, target: 'prod-admin' })).toString('base64url');
    await expect(verifyWithJwks(`${h}.${widened}.${sig}`, tokens.jwks(T0), T0)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  it('keys from TIMEBOX_APPROVAL_KEYS: the first signs, the others are published; bad sets are refused clearly', async () => {
    const jwk = async (kid: string) => ({
      ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
      kid,
    });
    const keys = signingKeysFromJwks(
      JSON.stringify({ keys: [await jwk('2026-12'), await jwk('2026-06')] }),
      T0,
    );
    const tokens = new ApprovalTokens(keys, { issuer: ISSUER, retainRetiredMs: HOUR });
    expect(decodeProtectedHeader(await tokens.sign(claims, T0)).kid).toBe('2026-12');
    expect(tokens.jwks(T0).keys.map((k) => k.kid)).toEqual(['2026-12', '2026-06']);

    expect(() => signingKeysFromJwks('nope', T0)).toThrow('TIMEBOX_APPROVAL_KEYS is not JSON');
    expect(() => signingKeysFromJwks('{"keys":[]}', T0)).toThrow('TIMEBOX_APPROVAL_KEYS has no keys');
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
    expect(() => signingKeysFromJwks(JSON.stringify({ keys: [{ ...rsa, kid: 'r' }] }), T0)).toThrow(
      'TIMEBOX_APPROVAL_KEYS key 1: an EC P-256 private key (kty EC, crv P-256, d, x, y) is needed',
    );
    const { d: _d, ...publicOnly } = await jwk('p');
    expect(() => signingKeysFromJwks(JSON.stringify({ keys: [publicOnly] }), T0)).toThrow(
      'key 1: an EC P-256 private key',
    );
    const { kid: _kid, ...noKid } = await jwk('x');
    expect(() => signingKeysFromJwks(JSON.stringify({ keys: [noKid] }), T0)).toThrow(
      'TIMEBOX_APPROVAL_KEYS key 1 has no kid',
    );
  });
});
