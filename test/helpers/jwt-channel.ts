import { createSign, createHmac, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  AppCredentials,
  PasswordServiceClientCredentialFactory,
  type ServiceClientCredentials,
} from 'botframework-connector';

/**
 * The Bot Framework channel's side of authentication, on loopback, for tests of botbuilder's own
 * JWT validation: OpenID metadata and a JWKS (keys endorsed for `msteams`, as the real ones are),
 * a second "emulator / Entra" metadata document with a key of its own, and a client-credentials
 * token endpoint for the bot's outbound calls (what login.microsoftonline.com does in production).
 */

export const CHANNEL_ISSUER = 'https://api.botframework.com';
export const CHANNEL_SCOPE = 'https://api.botframework.com';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function newSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A compact JWS, signed here with node:crypto so that tests can also build broken ones. */
export function signJwt(
  payload: Record<string, unknown>,
  key: SigningKey,
  options: {
    alg?: 'RS256' | 'RS384' | 'RS512' | 'HS256' | 'none';
    kid?: string;
    hmacSecret?: Buffer | string;
  } = {},
): string {
  const alg = options.alg ?? 'RS256';
  const header = { alg, typ: 'JWT', kid: options.kid ?? key.kid, x5t: options.kid ?? key.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (alg === 'none') return `${input}.`;
  if (alg === 'HS256')
    return `${input}.${createHmac('sha256', options.hmacSecret ?? '')
      .update(input)
      .digest('base64url')}`;
  const signer = createSign(`RSA-SHA${alg.slice(2)}`);
  signer.update(input);
  return `${input}.${signer.sign(key.privateKey).toString('base64url')}`;
}

export interface ChannelClaims {
  appId: string;
  serviceUrl: string;
  /** Seconds relative to now. */
  expiresIn?: number;
  notBeforeIn?: number;
  issuer?: string;
  audience?: string;
  extra?: Record<string, unknown>;
}

/** The claims of a token the Bot Connector sends with each activity. */
export function channelClaims(c: ChannelClaims): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    serviceurl: c.serviceUrl,
    nbf: now + (c.notBeforeIn ?? -60),
    exp: now + (c.expiresIn ?? 3600),
    iss: c.issuer ?? CHANNEL_ISSUER,
    aud: c.audience ?? c.appId,
    ...c.extra,
  };
}

export interface IssuedToken {
  clientId: string;
  scope: string;
  token: string;
}

export class JwtChannel {
  /** The key the channel signs with (served in the JWKS, endorsed for msteams). */
  readonly key = newSigningKey('channel-key-1');
  /** A key served in the JWKS but endorsed only for another channel. */
  readonly webchatKey = newSigningKey('webchat-only-key');
  /** The key of the second (emulator / Entra) metadata document. */
  readonly emulatorKey = newSigningKey('emulator-key-1');
  /** Tokens handed to the bot for its outbound calls. */
  readonly issued: IssuedToken[] = [];
  /** Client credentials the token endpoint accepts. */
  readonly clients = new Map<string, string>();
  /**
   * `expires_in` of the tokens it issues. At 60 s or less a client that renews a minute early
   * (as the bot's credentials do) asks again for every call: a rotated secret shows at once.
   */
  tokenLifetimeS = 3599;
  /** Requests the metadata and key endpoints answered (path). */
  readonly fetches: string[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    const app = express();
    app.use((req, _res, next) => {
      this.fetches.push(req.path);
      next();
    });
    const jwk = (key: SigningKey, endorsements: string[]) => ({
      kty: 'RSA',
      use: 'sig',
      kid: key.kid,
      x5t: key.kid,
      ...pick(key.publicKey.export({ format: 'jwk' })),
      endorsements,
    });
    app.get('/v1/.well-known/openidconfiguration', (_req, res) => {
      res.json({
        issuer: CHANNEL_ISSUER,
        authorization_endpoint: `${this.url}/v1/authorize`,
        jwks_uri: `${this.url}/v1/.well-known/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      });
    });
    app.get('/v1/.well-known/keys', (_req, res) => {
      res.json({
        keys: [jwk(this.key, ['msteams', 'skype']), jwk(this.webchatKey, ['webchat', 'directline'])],
      });
    });
    app.get('/emulator/v2.0/.well-known/openid-configuration', (_req, res) => {
      res.json({
        issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
        jwks_uri: `${this.url}/emulator/discovery/v2.0/keys`,
      });
    });
    app.get('/emulator/discovery/v2.0/keys', (_req, res) => {
      res.json({ keys: [jwk(this.emulatorKey, [])] });
    });
    // Client credentials grant, as Entra answers it (application/x-www-form-urlencoded in, JSON out).
    app.post('/:tenant/oauth2/v2.0/token', express.urlencoded({ extended: false }), (req, res) => {
      const body = req.body as Record<string, string>;
      if (
        body.grant_type !== 'client_credentials' ||
        !body.client_id ||
        this.clients.get(body.client_id) !== body.client_secret
      ) {
        res.status(401).json({
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        });
        return;
      }
      const token = `outbound-${randomBytes(12).toString('hex')}`;
      this.issued.push({ clientId: body.client_id, scope: body.scope ?? '', token });
      res.json({
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeS,
        ext_expires_in: this.tokenLifetimeS,
        access_token: token,
      });
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections?.();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * botbuilder's own configuration keys (ConfigurationBotFrameworkAuthentication), pointing every
   * endpoint of the public cloud at this server. Issuer and scope keep their real values.
   */
  botEnv(): Record<string, string> {
    return {
      ToBotFromChannelOpenIdMetadataUrl: `${this.url}/v1/.well-known/openidconfiguration`,
      ToBotFromEmulatorOpenIdMetadataUrl: `${this.url}/emulator/v2.0/.well-known/openid-configuration`,
      ToBotFromChannelTokenIssuer: CHANNEL_ISSUER,
      ToChannelFromBotLoginUrl: `${this.url}/botframework.com`,
      ToChannelFromBotOAuthScope: CHANNEL_SCOPE,
      OAuthUrl: `${this.url}/oauth`,
      CallerId: 'urn:botframework:azure',
      ValidateAuthority: 'false',
    };
  }

  /** A valid channel token for an activity sent to `appId` through `serviceUrl`. */
  token(c: ChannelClaims, key: SigningKey = this.key): string {
    return signJwt(channelClaims(c), key);
  }
}

function pick(jwk: { n?: string; e?: string }): { n?: string; e?: string } {
  return { n: jwk.n, e: jwk.e };
}

/**
 * botbuilder's password credential factory (so inbound checks — app id match, authentication
 * on — are botbuilder's own code), with outbound tokens fetched from the login URL with a plain
 * client-credentials POST. MSAL would refuse a plain-http authority on loopback; this is the one
 * piece of the production path a test replaces.
 */
export class LoopbackCredentialsFactory extends PasswordServiceClientCredentialFactory {
  override async createCredentials(
    appId: string,
    audience: string,
    loginEndpoint: string,
    validateAuthority: boolean,
  ): Promise<ServiceClientCredentials> {
    if (await this.isAuthenticationDisabled())
      return super.createCredentials(appId, audience, loginEndpoint, validateAuthority);
    if (!(await this.isValidAppId(appId))) throw new Error('Invalid appId.');
    return new LoopbackAppCredentials(appId, this.password ?? '', loginEndpoint, audience);
  }
}

class LoopbackAppCredentials extends AppCredentials {
  private cached?: { token: string; until: number };

  constructor(
    appId: string,
    private readonly secret: string,
    private readonly loginEndpoint: string,
    scope: string,
  ) {
    super(appId, undefined, scope);
  }

  override async getToken(forceRefresh = false): Promise<string> {
    if (!forceRefresh && this.cached && this.cached.until > Date.now()) return this.cached.token;
    const { accessToken, expiresOn } = await this.refreshToken();
    this.cached = { token: accessToken, until: expiresOn.getTime() - 60_000 };
    return accessToken;
  }

  protected async refreshToken(): Promise<{ accessToken: string; expiresOn: Date }> {
    const res = await fetch(`${this.loginEndpoint}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.appId,
        client_secret: this.secret,
        scope: `${this.oAuthScope}/.default`,
      }),
    });
    if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    return { accessToken: body.access_token, expiresOn: new Date(Date.now() + body.expires_in * 1000) };
  }
}
