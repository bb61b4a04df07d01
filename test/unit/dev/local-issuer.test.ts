import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { AccessTokenVerifier, ApiAuthError } from '../../../src/adapters/api/access-token';
import { pipelineToken } from '../../../src/cli/pipeline-credential';
import { devIssuerToken } from '../../../src/cli/pipeline-dev-token';
import {
  DEV_API_APP,
  DEV_API_AUDIENCE,
  DEV_APPS,
  DEV_TENANT_ID,
} from '../../../src/dev/local-issuer/dev-identity';
import { startLocalIssuer, type LocalIssuerHandle } from '../../../src/dev/local-issuer/issuer';
import { loadPolicyFile } from '../../../src/policy-file';

const ROOT = path.resolve(__dirname, '../../..');
const [PIPELINE, STRANGER] = DEV_APPS as [(typeof DEV_APPS)[0], (typeof DEV_APPS)[0]];

let issuer: LocalIssuerHandle;
beforeAll(async () => {
  issuer = await startLocalIssuer({ tenantId: DEV_TENANT_ID, api: DEV_API_APP, apps: DEV_APPS });
});
afterAll(() => issuer.close());

const verifier = (overrides: Partial<{ tenantId: string; audiences: string[] }> = {}) =>
  new AccessTokenVerifier({
    tenantId: DEV_TENANT_ID,
    audiences: DEV_API_AUDIENCE.split(','),
    metadataUrl: issuer.metadataUrl,
    ...overrides,
  });

async function tokenRequest(form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  const res = await fetch(issuer.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const asPipeline = (extra: Record<string, string> = {}) => ({
  grant_type: 'client_credentials',
  client_id: PIPELINE.clientId,
  client_secret: PIPELINE.secret,
  scope: `${DEV_API_APP.appIdUri}/.default`,
  ...extra,
});

async function refusal(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    (value) => value,
    (error: unknown) => error,
  );
  if (!(outcome instanceof ApiAuthError)) throw new Error(`accepted: ${JSON.stringify(outcome)}`);
  return outcome.code;
}

describe("npm run dev's local token issuer: tokens the workflow API's verifier accepts", () => {
  it('serves OpenID metadata with its own loopback issuer, a JWKS and a token endpoint', async () => {
    const metadata = (await (await fetch(issuer.metadataUrl)).json()) as Record<string, string>;
    expect(metadata).toMatchObject({
      issuer: `${issuer.origin}/${DEV_TENANT_ID}/v2.0`,
      jwks_uri: issuer.jwksUrl,
      token_endpoint: issuer.tokenUrl,
    });
    const jwks = (await (await fetch(issuer.jwksUrl)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'RSA', alg: 'RS256', use: 'sig' })]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('mints a v2 app-only token (client credentials) that AccessTokenVerifier accepts', async () => {
    const { status, body } = await tokenRequest(asPipeline());
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const token = body.access_token as string;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer.issuer,
      aud: DEV_API_APP.clientId,
      tid: DEV_TENANT_ID,
      azp: PIPELINE.clientId,
      oid: PIPELINE.objectId,
      sub: PIPELINE.objectId,
      idtyp: 'app',
      ver: '2.0',
    });
    expect(claims.exp! - claims.iat!).toBe(3600);
    await expect(verifier().verify(`Bearer ${token}`)).resolves.toEqual({
      clientId: PIPELINE.clientId,
      tenantId: DEV_TENANT_ID,
      objectId: PIPELINE.objectId,
      tokenVersion: '2.0',
      roles: [],
    });
  });

  it('the scope may name the API by client id too: aud is the client id either way (v2)', async () => {
    const { body } = await tokenRequest(asPipeline({ scope: `${DEV_API_APP.clientId}/.default` }));
    expect(decodeJwt(body.access_token as string).aud).toBe(DEV_API_APP.clientId);
  });

  it('its token is refused by a verifier for another audience or another tenant', async () => {
    const { body } = await tokenRequest(asPipeline());
    const bearer = `Bearer ${body.access_token as string}`;
    expect(await refusal(verifier({ audiences: ['api://another-api'] }).verify(bearer))).toBe(
      'auth.wrong_audience',
    );
    expect(await refusal(verifier({ tenantId: 'd0000000-0000-4000-8000-000000000001' }).verify(bearer))).toBe(
      'auth.wrong_tenant',
    );
  });

  it('a known app not in the policy gets a valid token too (Timebox, not the issuer, says 403)', async () => {
    const { status, body } = await tokenRequest(
      asPipeline({ client_id: STRANGER.clientId, client_secret: STRANGER.secret }),
    );
    expect(status).toBe(200);
    await expect(verifier().verify(`Bearer ${body.access_token as string}`)).resolves.toMatchObject({
      clientId: STRANGER.clientId,
    });
  });

  it.each([
    ['an unknown app', { client_id: 'c1000000-0000-4000-8000-0000000000ff' }, 400, 'unauthorized_client'],
    ['a wrong secret', { client_secret: 'guess' }, 401, 'invalid_client'],
    ['no secret', { client_secret: '' }, 401, 'invalid_client'],
    ['a client assertion', { client_assertion: 'a.b.c' }, 401, 'invalid_client'],
    ['another resource', { scope: 'https://graph.microsoft.com/.default' }, 400, 'invalid_resource'],
    ['a scope without /.default', { scope: DEV_API_APP.appIdUri }, 400, 'invalid_resource'],
    ['another grant', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
  ])('refuses %s with an Entra-shaped error', async (_what, extra, status, error) => {
    const answer = await tokenRequest(asPipeline(extra));
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ error, error_description: expect.stringMatching(/^AADSTS\d+: /) });
    expect(answer.body).not.toHaveProperty('access_token');
  });

  it('refuses a body that is not a form, and one too large', async () => {
    expect((await tokenRequest(asPipeline(), 'application/json')).status).toBe(400);
    expect((await tokenRequest(asPipeline({ pad: 'x'.repeat(20_000) }))).status).toBe(413);
    expect((await fetch(issuer.tokenUrl)).status).toBe(405);
  });
});

describe('timebox request in local mode: a token from the local issuer', () => {
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    TIMEBOX_DEV: '1',
    TIMEBOX_DEV_TOKEN_URL: issuer.tokenUrl,
    AZURE_CLIENT_ID: PIPELINE.clientId,
    AZURE_CLIENT_SECRET: PIPELINE.secret,
    ...extra,
  });

  it('pipelineToken asks the local issuer for the audience, and the API accepts the token', async () => {
    const picked = pipelineToken(env(), DEV_API_AUDIENCE.split(',')[0]!);
    expect(picked.description).toContain('local issuer');
    const token = await picked.token();
    await expect(verifier().verify(`Bearer ${token}`)).resolves.toMatchObject({
      clientId: PIPELINE.clientId,
    });
  });

  it('keeps the token until shortly before it expires (a long wait makes many calls)', async () => {
    const before = issuer.issued();
    const token = devIssuerToken(
      issuer.tokenUrl,
      PIPELINE.clientId,
      PIPELINE.secret,
      `${DEV_API_APP.appIdUri}/.default`,
    );
    const first = await token();
    expect(await token()).toBe(first);
    expect(issuer.issued() - before).toBe(1);
  });

  it('is never used outside local mode, nor towards another machine', () => {
    // Without TIMEBOX_DEV the variables are @azure/identity's, which wants a tenant with a secret.
    const production = pipelineToken(
      env({ TIMEBOX_DEV: undefined, AZURE_TENANT_ID: DEV_TENANT_ID }),
      DEV_API_APP.appIdUri,
    );
    expect(production.description).not.toContain('local issuer');
    expect(() =>
      pipelineToken(env({ TIMEBOX_DEV_TOKEN_URL: 'http://issuer.example.com/t/token' }), 'api://x'),
    ).toThrow('TIMEBOX_DEV_TOKEN_URL must be the local issuer of npm run dev (http on 127.0.0.1)');
    expect(() =>
      pipelineToken(env({ TIMEBOX_DEV_TOKEN_URL: 'https://login.microsoftonline.com/t/token' }), 'api://x'),
    ).toThrow('TIMEBOX_DEV_TOKEN_URL must be');
  });

  it('says what is missing when the app has no secret', () => {
    expect(() => pipelineToken(env({ AZURE_CLIENT_SECRET: undefined }), 'api://x')).toThrow(
      'the local issuer needs AZURE_CLIENT_ID and AZURE_CLIENT_SECRET',
    );
  });
});

describe('the demo policy names the local issuer’s apps', () => {
  it('dev-pipeline may ask for deploy-prod and sandbox; dev-stranger is no client', async () => {
    const policy = await loadPolicyFile(path.join(ROOT, 'examples/demo.policy.yaml'));
    expect(policy.clients['dev-pipeline']).toMatchObject({
      appId: PIPELINE.clientId,
      may: ['deploy-prod', 'sandbox'],
      onBehalfOf: false,
    });
    expect(Object.values(policy.clients).map((c) => c.appId)).not.toContain(STRANGER.clientId);
    expect(policy.actions['deploy-prod']).toMatchObject({
      approverChannel: 'ops',
      approvalValidFor: 15 * 60_000,
    });
  });
});
