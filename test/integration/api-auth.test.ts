import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { AccessTokenVerifier } from '../../src/adapters/api/access-token';
import { authenticatedClient, createApiRouter } from '../../src/adapters/api/api-router';
import {
  APPROVAL_AUDIENCE,
  ApprovalTokens,
  generateSigningKey,
} from '../../src/adapters/api/approval-tokens';
import { validatePolicy } from '../../src/domain/policy';
import { systemClock } from '../../src/ports/clock';
import { silentLogger } from '../../src/ports/logger';
import { testPolicy } from '../helpers/harness';
import {
  LocalIssuer,
  TEST_API_APP as API_APP,
  TEST_PIPELINE_APP as PIPELINE,
  TEST_TENANT as TENANT,
} from '../helpers/local-issuer';

const STRANGER = 'bbbbbbbb-0000-4000-8000-00000000000b';
const PUBLIC_URL = 'https://timebox.contoso.com';

let issuer: LocalIssuer;
let server: Server;
let base: string;
let tokens: ApprovalTokens;
const nowSec = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  issuer = await LocalIssuer.start(TENANT);
  tokens = new ApprovalTokens([await generateSigningKey(Date.now())], {
    issuer: PUBLIC_URL,
    retainRetiredMs: 3_600_000,
  });
  const policy = validatePolicy(
    testPolicy({ clients: { 'github-deploy': { appId: PIPELINE, may: ['db-read'] } } }),
  );
  const app = express();
  app.use(
    createApiRouter(
      {
        verifier: new AccessTokenVerifier({
          tenantId: TENANT,
          audiences: [API_APP],
          metadataUrl: issuer.metadataUrl,
        }),
        policy: () => policy,
        tokens,
        clock: systemClock,
        logger: silentLogger,
        publicUrl: PUBLIC_URL,
        version: '0.1.0-test',
      },
      (router) => {
        // A route as the real ones are mounted: after authentication, reading who called.
        router.post('/echo', (req, res) => {
          const { client, caller } = authenticatedClient(res);
          res.json({ client: client.name, clientId: caller.clientId, body: req.body as unknown });
        });
      },
    ),
  );
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await issuer.close();
});

async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  const res = await fetch(`${base}${path}`, { ...init, headers });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

const postJson = (body: unknown, token?: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  token,
});

describe('the workflow API over HTTP: authentication, clients, problems', () => {
  it('a known client with a good token reaches the route, identified from the token alone', async () => {
    const token = await issuer.appToken(PIPELINE, API_APP, nowSec());
    const res = await call('/api/v1/echo', postJson({ clientId: STRANGER, hello: 'world' }, token));
    expect(res).toMatchObject({
      status: 200,
      body: { client: 'github-deploy', clientId: PIPELINE, body: { hello: 'world' } },
    });
  });

  it('no token → 401 problem+json with a Bearer challenge; the route never runs', async () => {
    const res = await call('/api/v1/echo', postJson({ hello: 'world' }));
    expect(res.status).toBe(401);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="auth.token_missing"',
    );
    expect(res.body).toMatchObject({
      status: 401,
      code: 'auth.token_missing',
      type: 'urn:timebox:problem:auth.token_missing',
    });
  });

  it('an expired token → 401 auth.token_expired', async () => {
    const t = nowSec() - 7200;
    const res = await call('/api/v1/echo', postJson({}, await issuer.appToken(PIPELINE, API_APP, t)));
    expect(res).toMatchObject({ status: 401, body: { code: 'auth.token_expired' } });
  });

  it('a valid token of an application that is not in clients: → 403 auth.unknown_client', async () => {
    const res = await call('/api/v1/echo', postJson({}, await issuer.appToken(STRANGER, API_APP, nowSec())));
    expect(res).toMatchObject({ status: 403, body: { code: 'auth.unknown_client' } });
    expect(String(res.body?.detail)).toContain(STRANGER);
  });

  it('bodies: not JSON → 415, broken JSON → 400, too large → 413; unknown endpoints → 404, all as problems', async () => {
    const token = await issuer.appToken(PIPELINE, API_APP, nowSec());
    const form = await call('/api/v1/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1',
      token,
    });
    expect(form).toMatchObject({ status: 415, body: { code: 'body.unsupported_media_type' } });
    const broken = await call('/api/v1/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"target":',
      token,
    });
    expect(broken).toMatchObject({ status: 400, body: { code: 'body.not_json' } });
    const large = await call('/api/v1/echo', postJson({ justification: 'x'.repeat(40_000) }, token));
    expect(large).toMatchObject({ status: 413, body: { code: 'body.too_large' } });
    const missing = await call('/api/v1/nothing-here', { token });
    expect(missing).toMatchObject({ status: 404, body: { code: 'api.not_found' } });
    expect(missing.type).toMatch(/^application\/problem\+json/);
  });

  it('unknown endpoints are not even revealed without a token', async () => {
    expect(await call('/api/v1/nothing-here')).toMatchObject({ status: 401 });
  });

  it('approval tokens verify with a generic JWT library from /.well-known/jwks.json alone', async () => {
    const jwks = await call('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    const token = await tokens.sign(
      {
        requestId: 'R-ABC123',
        subject: 'oid-alex',
        target: 'deploy-prod',
        approvers: ['oid-megan'],
        expiresAt: Date.now() + 600_000,
      },
      Date.now(),
    );
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)), {
      issuer: PUBLIC_URL,
      audience: APPROVAL_AUDIENCE,
    });
    expect(payload).toMatchObject({ jti: 'R-ABC123', sub: 'oid-alex', target: 'deploy-prod' });
  });

  it('/api/v1/openapi.json: public, OpenAPI 3.1, every $ref resolves, every documented path answers', async () => {
    const res = await call('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: unknown;
    };
    expect(doc.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) {
      const target = ref
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
      expect([ref, target === undefined ? 'missing' : 'found']).toEqual([ref, 'found']);
    }
    // Public operations answer; every other one is there, behind authentication (not a 404).
    for (const [route, operations] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(operations)) {
        const isPublic = (operation as { security?: unknown[] }).security?.length === 0;
        const answer = await call(route.replace('{id}', 'R-ZZZZZZ'), { method: method.toUpperCase() });
        expect([route, method, answer.status]).toEqual([route, method, isPublic ? 200 : 401]);
      }
    // The body's schema is the validator's own.
    const body = (
      doc.components as { schemas: { RequestBody: { required: string[]; additionalProperties: boolean } } }
    ).schemas.RequestBody;
    expect(body).toMatchObject({ required: ['target', 'justification'], additionalProperties: false });
  });
});
