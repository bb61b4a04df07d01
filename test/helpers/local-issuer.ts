import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';

/** The ids the API tests share: the tenant, the API's own app, a pipeline's app. */
export const TEST_TENANT = '11111111-2222-3333-4444-555555555555';
export const TEST_API_APP = '99999999-0000-0000-0000-000000000001';
export const TEST_PIPELINE_APP = 'aaaaaaaa-0000-4000-8000-00000000000a';

/** A GitHub Actions run as the pipeline client describes it on the approvers' card. */
export const GITHUB_RUN = {
  repository: 'contoso/shop',
  runUrl: 'https://github.com/contoso/shop/actions/runs/42',
  commit: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b',
};

interface IssuerKey {
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

export interface TokenOptions {
  /** Sign with this key instead of the issuer's current one (e.g. one it never published). */
  key?: IssuerKey;
  header?: Record<string, unknown>;
}

/** A key that no issuer publishes. */
export async function strayKey(kid = 'stray'): Promise<IssuerKey> {
  return makeKey(kid);
}

async function makeKey(kid: string): Promise<IssuerKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/**
 * An Entra-shaped token issuer on 127.0.0.1: OpenID metadata at
 * /{tenant}/v2.0/.well-known/openid-configuration (issuer http://127.0.0.1:port/{tenant}/v2.0)
 * and its JWKS, signing RS256 tokens with its own keys. Counts the JWKS fetches.
 */
export class LocalIssuer {
  private keys: IssuerKey[] = [];
  jwksFetches = 0;
  /** While set, every answer is this status (an issuer that is down). */
  failWith?: number;

  private constructor(
    private readonly server: Server,
    readonly tenantId: string,
  ) {}

  static async start(tenantId: string): Promise<LocalIssuer> {
    // The handler runs only once the server listens, after `issuer` is set.
    const server = createServer((req, res) => issuer.answer(req.url ?? '', res));
    const issuer = new LocalIssuer(server, tenantId);
    issuer.keys.push(await makeKey('key-1'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return issuer;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  get metadataUrl(): string {
    return `${this.origin}/${this.tenantId}/v2.0/.well-known/openid-configuration`;
  }
  get issuerV2(): string {
    return `${this.origin}/${this.tenantId}/v2.0`;
  }
  get issuerV1(): string {
    return `${this.origin}/${this.tenantId}/`;
  }

  /** Publishes a new key and signs with it from now on; the old one stays published. */
  async rotate(kid: string): Promise<void> {
    this.keys.unshift(await makeKey(kid));
  }

  /** Signs `claims` as given (the caller sets iss, aud, exp, …). */
  async token(claims: Record<string, unknown>, options: TokenOptions = {}): Promise<string> {
    const key = options.key ?? this.keys[0]!;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...options.header })
      .sign(key.privateKey);
  }

  /** A v2 app-only token for `clientId`, valid for an hour from `nowSec`. */
  async appToken(clientId: string, audience: string, nowSec: number, extra: Record<string, unknown> = {}) {
    return this.token({
      iss: this.issuerV2,
      aud: audience,
      tid: this.tenantId,
      azp: clientId,
      oid: `sp-${clientId}`,
      ver: '2.0',
      roles: ['Requests.Create'],
      iat: nowSec,
      nbf: nowSec,
      exp: nowSec + 3600,
      ...extra,
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(url: string, res: import('node:http').ServerResponse): void {
    if (this.failWith !== undefined) {
      res.writeHead(this.failWith).end();
      return;
    }
    if (url === `/${this.tenantId}/v2.0/.well-known/openid-configuration`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: this.issuerV2,
          jwks_uri: `${this.origin}/${this.tenantId}/discovery/v2.0/keys`,
        }),
      );
      return;
    }
    if (url === `/${this.tenantId}/discovery/v2.0/keys`) {
      this.jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  }
}
