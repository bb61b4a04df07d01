import type { StoredJwk } from '../../ports/store';
import { generateSigningKey } from './approval-tokens';

/**
 * A new ES256 key for the store's key set (app/signing-keys.ts `generate`): jose stays in the
 * adapters, the app only sees the JWK. Its kid is the JWK thumbprint, as for every other key.
 */
export async function newSigningKeyMaterial(): Promise<{ kid: string; privateJwk: StoredJwk }> {
  const key = await generateSigningKey(0);
  const { kty, crv, x, y, d } = key.privateJwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !d)
    throw new Error('the generated approval signing key is not an EC P-256 private key');
  return { kid: key.kid, privateJwk: { kty, crv, x, y, d, alg: 'ES256' } };
}
