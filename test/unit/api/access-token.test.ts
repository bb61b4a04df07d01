import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url } from 'jose';
import {
  AccessTokenVerifier,
  acceptedIssuers,
  ApiAuthError,
  entraMetadataUrl,
  trustedUrl,
} from '../../../src/adapters/api/access-token';
import {
  LocalIssuer,
  strayKey,
  TEST_API_APP as API_CLIENT_ID,
  TEST_PIPELINE_APP as PIPELINE,
  TEST_TENANT as TENANT,
} from '../../helpers/local-issuer';

const API = 'api://timebox-test';

let issuer: LocalIssuer;
let verifier: AccessTokenVerifier;
const nowSec = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  issuer = await LocalIssuer.start(TENANT);
});
afterAll(() => issuer.close());
beforeEach(() => {
  verifier = new AccessTokenVerifier({
    tenantId: TENANT,
    audiences: [API_CLIENT_ID, API],
    metadataUrl: issuer.metadataUrl,
  });
});

async function refused(authorization: string | undefined): Promise<ApiAuthError> {
  const outcome = await verifier.verify(authorization).then(
    (caller) => caller,
    (error: unknown) => error,
  );
  if (!(outcome instanceof ApiAuthError)) throw new Error(`accepted: ${JSON.stringify(outcome)}`);
  return outcome;
}

const bearer = (token: string) => `Bearer ${token}`;

/** The claims of a good v2 app token issued at `t` (seconds), valid for ten minutes. */
const goodClaims = (t: number) => ({
  iss: issuer.issuerV2,
  aud: API_CLIENT_ID,
  tid: TENANT,
  azp: PIPELINE,
  iat: t,
  nbf: t,
  exp: t + 600,
});

describe('API access tokens: Entra-shaped, checked by jose against the issuer’s published keys', () => {
  it('a v2 app token: accepted, the client id from azp', async () => {
    const caller = await verifier.verify(bearer(await issuer.appToken(PIPELINE, API_CLIENT_ID, nowSec())));
    expect(caller).toEqual({
      clientId: PIPELINE,
      tenantId: TENANT,
      objectId: `sp-${PIPELINE}`,
      tokenVersion: '2.0',
      roles: ['Requests.Create'],
    });
  });

  it('a v1 token (issuer in the sts form, app id URI audience): the client id from appid, never azp', async () => {
    const t = nowSec();
    const v1 = await issuer.token({
      iss: issuer.issuerV1,
      aud: API,
      tid: TENANT,
      appid: PIPELINE,
      ver: '1.0',
      iat: t,
      nbf: t,
      exp: t + 600,
    });
    expect(await verifier.verify(bearer(v1))).toMatchObject({ clientId: PIPELINE, tokenVersion: '1.0' });
    const v1WithAzpOnly = await issuer.token({
      iss: issuer.issuerV1,
      aud: API,
      tid: TENANT,
      azp: PIPELINE,
      iat: t,
      exp: t + 600,
    });
    expect((await refused(bearer(v1WithAzpOnly))).code).toBe('auth.no_client_id');
  });

  it.each([
    ['no Authorization header', 'auth.token_missing', undefined],
    ['an empty bearer', 'auth.token_missing', 'Bearer '],
    ['Basic credentials', 'auth.token_missing', 'Basic dXNlcjpwYXNz'],
    ['not a JWT', 'auth.token_invalid', 'Bearer not-a-jwt'],
  ])('%s → 401 %s', async (_what, code, header) => {
    const error = await refused(header);
    expect(error).toMatchObject({ status: 401, code });
  });

  it('the refusal matrix: every forged, stale or misdirected token → 401 with its own code', async () => {
    const t = nowSec();
    const good = goodClaims(t);
    const valid = await issuer.token(good);
    const [head, body] = valid.split('.');
    const tampered = `${head}.${base64url.encode(JSON.stringify({ ...good, azp: 'someone-else' }))}.${valid.split('.')[2]}`;
    const badSignature = `${head}.${body}.${base64url.encode('not the signature at all, not even close to it')}`;
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${body}.`;
    const cases: Array<[string, string, string]> = [
      ['claims changed after signing', tampered, 'auth.token_invalid'],
      ['bad signature', badSignature, 'auth.token_invalid'],
      ['alg: none', unsigned, 'auth.token_invalid'],
      [
        'signed by a key the issuer never published (unknown kid)',
        await issuer.token(good, { key: await strayKey() }),
        'auth.token_invalid',
      ],
      [
        'signed by another key under a published kid',
        await issuer.token(good, { key: await strayKey('key-1') }),
        'auth.token_invalid',
      ],
      ['HS256 with the public key as secret', await hs256(good), 'auth.token_invalid'],
      [
        'expired beyond the skew',
        await issuer.token({ ...good, iat: t - 7200, nbf: t - 7200, exp: t - 120 }),
        'auth.token_expired',
      ],
      [
        'not yet valid beyond the skew',
        await issuer.token({ ...good, nbf: t + 600, exp: t + 1200 }),
        'auth.token_not_yet_valid',
      ],
      [
        'wrong audience (Graph)',
        await issuer.token({ ...good, aud: '00000003-0000-0000-c000-000000000000' }),
        'auth.wrong_audience',
      ],
      [
        'wrong issuer',
        await issuer.token({ ...good, iss: `https://login.microsoftonline.com/${TENANT}/v2.0` }),
        'auth.wrong_issuer',
      ],
      [
        'wrong tenant',
        await issuer.token({ ...good, tid: '66666666-0000-0000-0000-000000000000' }),
        'auth.wrong_tenant',
      ],
      ['no tenant', await issuer.token({ ...good, tid: undefined }), 'auth.wrong_tenant'],
      ['no client id', await issuer.token({ ...good, azp: undefined }), 'auth.no_client_id'],
      ['no expiry', await issuer.token({ ...good, exp: undefined }), 'auth.token_invalid'],
    ];
    const outcomes: Array<[string, string]> = [];
    for (const [what, token] of cases) outcomes.push([what, (await refused(bearer(token))).code]);
    expect(outcomes).toEqual(cases.map(([what, , code]) => [what, code]));
  });

  it('a small clock skew is tolerated (a minute), a larger one is not', async () => {
    const t = nowSec();
    const { nbf: _nbf, exp: _exp, ...base } = goodClaims(t);
    await expect(
      verifier.verify(bearer(await issuer.token({ ...base, exp: t - 30 }))),
    ).resolves.toMatchObject({ clientId: PIPELINE });
    await expect(
      verifier.verify(bearer(await issuer.token({ ...base, nbf: t + 30, exp: t + 600 }))),
    ).resolves.toMatchObject({ clientId: PIPELINE });
  });

  it('keys are cached; a token with an unknown kid (the issuer rotated) fetches them again and is accepted', async () => {
    const rotating = new AccessTokenVerifier({
      tenantId: TENANT,
      audiences: [API_CLIENT_ID],
      metadataUrl: issuer.metadataUrl,
      keyRefreshCooldownMs: 100,
    });
    const fetchesBefore = issuer.jwksFetches;
    await rotating.verify(bearer(await issuer.appToken(PIPELINE, API_CLIENT_ID, nowSec())));
    await rotating.verify(bearer(await issuer.appToken(PIPELINE, API_CLIENT_ID, nowSec())));
    expect(issuer.jwksFetches - fetchesBefore).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await issuer.rotate(`key-${Date.now()}`);
    await rotating.verify(bearer(await issuer.appToken(PIPELINE, API_CLIENT_ID, nowSec())));
    expect(issuer.jwksFetches - fetchesBefore).toBe(2);
  });

  it('unknown kids right after a fetch do not fetch again (forged kids cannot make Timebox hammer Entra)', async () => {
    await verifier.verify(bearer(await issuer.appToken(PIPELINE, API_CLIENT_ID, nowSec())));
    const fetchesBefore = issuer.jwksFetches;
    const t = nowSec();
    const forged = goodClaims(t);
    for (let i = 0; i < 5; i++)
      expect(
        (await refused(bearer(await issuer.token(forged, { key: await strayKey(`forged-${i}`) })))).code,
      ).toBe('auth.token_invalid');
    expect(issuer.jwksFetches).toBe(fetchesBefore);
  });

  it('the issuer unreachable: 503 keys_unavailable (not a 401 that blames the caller), and it recovers', async () => {
    let clock = Date.now();
    const v = new AccessTokenVerifier({
      tenantId: TENANT,
      audiences: [API_CLIENT_ID],
      metadataUrl: issuer.metadataUrl,
      now: () => clock,
    });
    const token = bearer(await issuer.appToken(PIPELINE, API_CLIENT_ID, nowSec()));
    issuer.failWith = 500;
    try {
      await expect(v.verify(token)).rejects.toMatchObject({ status: 503, code: 'auth.keys_unavailable' });
    } finally {
      issuer.failWith = undefined;
    }
    // Within 5 s of the failure the issuer is not asked again; after, it is, and the token passes.
    await expect(v.verify(token)).rejects.toMatchObject({ code: 'auth.keys_unavailable' });
    clock += 5_001;
    await expect(v.verify(token)).resolves.toMatchObject({ clientId: PIPELINE });
  });

  it('a metadata document pointing its keys at plain http off this machine is refused', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ issuer: 'http://127.0.0.1/x/v2.0', jwks_uri: 'http://keys.example.com/keys' }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const v = new AccessTokenVerifier({
        tenantId: TENANT,
        audiences: [API],
        metadataUrl: `http://127.0.0.1:${port}/meta`,
      });
      await expect(v.verify(bearer(await issuer.appToken(PIPELINE, API, nowSec())))).rejects.toMatchObject({
        code: 'auth.keys_unavailable',
      });
    } finally {
      server.close();
    }
  });
});

describe('trusted URLs and Entra’s issuers', () => {
  it('https anywhere, http on loopback only', () => {
    expect(trustedUrl('https://login.microsoftonline.com/x', 'm').host).toBe('login.microsoftonline.com');
    expect(trustedUrl('http://127.0.0.1:9/x', 'm').port).toBe('9');
    expect(() => trustedUrl('http://login.microsoftonline.com/x', 'TIMEBOX_API_OPENID_METADATA')).toThrow(
      'TIMEBOX_API_OPENID_METADATA must be https (http only on localhost): http://login.microsoftonline.com/x',
    );
    expect(() => trustedUrl('not a url', 'm')).toThrow('m is not a URL: not a url');
  });

  it('v1 and v2 issuers for the public cloud, US Government and China', () => {
    expect(acceptedIssuers('https://login.microsoftonline.com/{tenantid}/v2.0', TENANT)).toEqual({
      v2: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      v1: `https://sts.windows.net/${TENANT}/`,
    });
    expect(acceptedIssuers(`https://login.microsoftonline.us/${TENANT}/v2.0`, TENANT).v1).toBe(
      `https://sts.windows.net/${TENANT}/`,
    );
    expect(acceptedIssuers(`https://login.partner.microsoftonline.cn/${TENANT}/v2.0`, TENANT).v1).toBe(
      `https://sts.chinacloudapi.cn/${TENANT}/`,
    );
    expect(entraMetadataUrl(TENANT)).toBe(
      `https://login.microsoftonline.com/${TENANT}/v2.0/.well-known/openid-configuration`,
    );
    expect(entraMetadataUrl(TENANT, 'https://login.microsoftonline.us/')).toBe(
      `https://login.microsoftonline.us/${TENANT}/v2.0/.well-known/openid-configuration`,
    );
  });

  it('no audience configured: refused at construction, never an API that accepts any audience', () => {
    expect(
      () => new AccessTokenVerifier({ tenantId: TENANT, audiences: [], metadataUrl: 'https://x.example/m' }),
    ).toThrow('TIMEBOX_API_AUDIENCE names no audience');
  });
});

/** The classic confusion attack: an HMAC token keyed with the RSA public key's bytes. */
async function hs256(claims: Record<string, unknown>): Promise<string> {
  const { SignJWT } = await import('jose');
  const publicJwk = JSON.stringify(
    await (await fetch(`${issuer.origin}/${TENANT}/discovery/v2.0/keys`)).json(),
  );
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
    .sign(new TextEncoder().encode(publicJwk));
}
