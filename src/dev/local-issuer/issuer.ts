import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { DevApp } from './dev-identity';

export interface LocalIssuerOptions {
  tenantId: string;
  /** The API the tokens are for: a scope of either form gets a v2 token whose `aud` is the client id. */
  api: { clientId: string; appIdUri: string };
  apps: readonly DevApp[];
  /** 0 (default): a free port. */
  port?: number;
  /** Default 127.0.0.1: the issuer mints tokens for anyone who asks with a known secret. */
  host?: string;
  /** Default 3600, as Entra's app-only tokens. */
  tokenLifetimeSec?: number;
  now?: () => number;
}

export interface LocalIssuerHandle {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** `iss` of its tokens: http://127.0.0.1:<port>/<tenant>/v2.0 (the v2 form, on its own origin). */
  issuer: string;
  /** What TIMEBOX_API_OPENID_METADATA is set to. */
  metadataUrl: string;
  jwksUrl: string;
  /** The client-credentials endpoint: what TIMEBOX_DEV_TOKEN_URL is set to. */
  tokenUrl: string;
  /** How many tokens it issued (for the launcher's and the tests' eyes). */
  issued(): number;
  close(): Promise<void>;
}

/** A form body is a few hundred bytes; anything much bigger is not a token request. */
const MAX_BODY_BYTES = 16 * 1024;

/** Entra's error body (RFC 6749 §5.2 plus its AADSTS code), so clients print what they would in a tenant. */
interface OAuthError {
  status: number;
  error: string;
  aadsts: number;
  description: string;
}

/**
 * An Entra-shaped token issuer for `npm run dev`, on loopback: OpenID metadata at
 * /<tenant>/v2.0/.well-known/openid-configuration, its JWKS, and a client-credentials token
 * endpoint at /<tenant>/oauth2/v2.0/token that mints RS256 v2 app-only access tokens for the
 * apps it knows (client_id + client_secret). Keys are made at start and live in memory only:
 * tokens from an earlier run no longer verify. Signing and key handling are jose's.
 */
export async function startLocalIssuer(options: LocalIssuerOptions): Promise<LocalIssuerHandle> {
  const now = options.now ?? Date.now;
  const lifetime = options.tokenLifetimeSec ?? 3600;
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' } satisfies JWK] };
  const tenant = options.tenantId;
  let origin = '';
  let issued = 0;
  const issuer = () => `${origin}/${tenant}/v2.0`;
  const paths = {
    metadata: `/${tenant}/v2.0/.well-known/openid-configuration`,
    jwks: `/${tenant}/discovery/v2.0/keys`,
    token: `/${tenant}/oauth2/v2.0/token`,
  };

  const server: Server = createServer((req, res) => {
    void answer(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://issuer.invalid').pathname;
    if (req.method === 'GET' && path === paths.metadata)
      return send(res, 200, {
        issuer: issuer(),
        jwks_uri: `${origin}${paths.jwks}`,
        token_endpoint: `${origin}${paths.token}`,
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        grant_types_supported: ['client_credentials'],
        id_token_signing_alg_values_supported: ['RS256'],
        tenant_region_scope: 'local',
      });
    if (req.method === 'GET' && path === paths.jwks) return send(res, 200, jwks);
    if (path === paths.token) {
      if (req.method !== 'POST') return send(res, 405, { error: 'invalid_request' }, { allow: 'POST' });
      const result = await mint(await readForm(req));
      if ('error' in result) return sendError(res, result);
      issued++;
      return send(res, 200, {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: result.token,
      });
    }
    send(res, 404, { error: 'not_found' });
  }

  async function mint(form: URLSearchParams | OAuthError): Promise<{ token: string } | OAuthError> {
    if (!(form instanceof URLSearchParams)) return form;
    if (form.get('grant_type') !== 'client_credentials')
      return oauthError(
        400,
        'unsupported_grant_type',
        70003,
        'The local issuer supports grant_type=client_credentials only.',
      );
    const clientId = form.get('client_id') ?? '';
    const app = options.apps.find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
    if (!app)
      return oauthError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId.slice(0, 64)}' was not found in the directory '${tenant}'.`,
      );
    if (form.has('client_assertion'))
      return oauthError(
        401,
        'invalid_client',
        7000215,
        'The local issuer takes client_secret only (federated credentials need a real tenant).',
      );
    if (form.get('client_secret') !== app.secret)
      return oauthError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    const scope = form.get('scope') ?? '';
    const resource = scope.endsWith('/.default') ? scope.slice(0, -'/.default'.length) : undefined;
    if (resource !== options.api.clientId && resource !== options.api.appIdUri)
      return oauthError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${scope.slice(0, 100)} was not found in the tenant. Ask for ${options.api.appIdUri}/.default.`,
      );
    const iat = Math.floor(now() / 1000);
    const token = await new SignJWT({
      tid: tenant,
      azp: app.clientId,
      azpacr: '1',
      oid: app.objectId,
      idtyp: 'app',
      uti: randomUUID(),
      ver: '2.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(issuer())
      .setAudience(options.api.clientId)
      .setSubject(app.objectId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + lifetime)
      .sign(privateKey);
    return { token };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;
  return {
    origin,
    issuer: issuer(),
    metadataUrl: `${origin}${paths.metadata}`,
    jwksUrl: `${origin}${paths.jwks}`,
    tokenUrl: `${origin}${paths.token}`,
    issued: () => issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function oauthError(status: number, error: string, aadsts: number, description: string): OAuthError {
  return { status, error, aadsts, description };
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | OAuthError> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    return Promise.resolve(
      oauthError(
        400,
        'invalid_request',
        900144,
        'The request body must be application/x-www-form-urlencoded.',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Answered now; the rest of the body is read and dropped.
        req.removeAllListeners('data').removeAllListeners('end').resume();
        resolve(oauthError(413, 'invalid_request', 90014, 'The request body is too large.'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function sendError(res: ServerResponse, e: OAuthError): void {
  send(res, e.status, {
    error: e.error,
    error_description: `AADSTS${e.aadsts}: ${e.description}`,
    error_codes: [e.aadsts],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}
