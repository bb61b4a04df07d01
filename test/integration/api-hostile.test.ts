import { request as httpRequest } from 'node:http';
import { startApiHarness, type ApiAnswer, type ApiHarness } from '../helpers/api-harness';
import { waitFor } from '../helpers/fake-connector';
import { cardProblems } from '../security/safe-card';

/**
 * Every pipeline text is hostile: bodies and headers that are huge, of the wrong type, built to
 * pollute prototypes, full of controls and bidi tricks. Each gets a 4xx problem (or is filed as
 * plain data), never a 5xx, a stack trace, a polluted object or an unsafe card.
 */

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness();
});
afterAll(async () => {
  await h.close();
});

function expectRefused(res: ApiAnswer, status: number, code: string): void {
  expect([res.status, res.body.code]).toEqual([status, code]);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

const openCount = async () => (await h.bot.store.listOpen()).length;

describe('hostile bodies', () => {
  it.each([
    [
      'larger than 32 kB',
      JSON.stringify({ target: 'deploy-prod', justification: 'x'.repeat(40_000) }),
      413,
      'body.too_large',
    ],
    ['broken JSON', '{"target":', 400, 'body.not_json'],
    ['a JSON string', '"deploy-prod"', 400, 'body.not_json'],
    ['null', 'null', 400, 'body.not_json'],
    ['an array', '[{"target":"deploy-prod","justification":"x"}]', 400, 'body.invalid'],
    ['nested 15,000 deep', '['.repeat(15_000) + ']'.repeat(15_000), 400, 'body.invalid'],
    ['a number for the target', '{"target":42,"justification":"x"}', 400, 'body.invalid'],
    ['an array for the justification', '{"target":"deploy-prod","justification":["x"]}', 400, 'body.invalid'],
    [
      'a string for the context',
      '{"target":"deploy-prod","justification":"x","context":"x"}',
      400,
      'body.invalid',
    ],
    [
      'a number for the duration',
      '{"target":"deploy-prod","justification":"x","duration":30}',
      400,
      'body.invalid',
    ],
    ['an unknown key', '{"target":"deploy-prod","justification":"x","approved":true}', 400, 'body.invalid'],
    [
      '__proto__ at the top',
      '{"__proto__":{"polluted":true},"target":"deploy-prod","justification":"x"}',
      400,
      'body.invalid',
    ],
    [
      '__proto__ in the context',
      '{"target":"deploy-prod","justification":"x","context":{"__proto__":{"polluted":true}}}',
      400,
      'body.invalid',
    ],
    [
      'constructor.prototype',
      '{"constructor":{"prototype":{"polluted":true}},"target":"deploy-prod","justification":"x"}',
      400,
      'body.invalid',
    ],
    [
      'a duplicate key that would win',
      '{"target":"deploy-prod","justification":"x","target":"prod-admin"}',
      403,
      'auth.target_not_allowed',
    ],
    [
      'a commit that is not hex',
      '{"target":"deploy-prod","justification":"x","context":{"commit":"$(rm -rf /)"}}',
      400,
      'body.invalid',
    ],
    [
      'a data: run link',
      '{"target":"deploy-prod","justification":"x","context":{"runUrl":"data:text/html,<b>"}}',
      400,
      'body.run_url_not_https',
    ],
    [
      'an ISO duration with years',
      '{"target":"deploy-prod","justification":"x","duration":"P1Y"}',
      400,
      'body.duration_invalid',
    ],
    [
      'a duration of a million days',
      '{"target":"deploy-prod","justification":"x","duration":"999999d"}',
      422,
      'duration.too_long',
    ],
  ])('%s → %s %s, nothing filed', async (_what, raw, status, code) => {
    const before = await openCount();
    expectRefused(await h.call('/api/v1/requests', { raw }), status, code);
    expect(await openCount()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['text/plain', 415],
    ['application/x-www-form-urlencoded', 415],
    ['application/json; charset=latin1', 415],
    ['multipart/form-data; boundary=x', 415],
  ])('Content-Type %s → %s', async (type, status) => {
    const res = await h.call('/api/v1/requests', {
      raw: '{"target":"deploy-prod","justification":"x"}',
      headers: { 'content-type': type },
    });
    expectRefused(res, status, 'body.unsupported_media_type');
  });

  it('a compressed body is refused, not inflated (no zip bombs)', async () => {
    const res = await h.call('/api/v1/requests', {
      raw: '{"target":"deploy-prod","justification":"x"}',
      headers: { 'content-encoding': 'gzip' },
    });
    expectRefused(res, 415, 'body.unsupported_media_type');
  });

  it('unicode, controls and bidi tricks in free text are filed as plain data; the card stays safe', async () => {
    const justification =
      'deploy \u202egnp.exe\u202c <at>Megan</at> ${user} [click](https://evil.example) \u0000\u0007 ✅ 𝒳 e\u0301';
    const res = await h.call('/api/v1/requests', {
      body: {
        target: 'deploy-prod',
        justification,
        context: {
          repository: 'contoso/<script>alert(1)</script>',
          environment: 'prod\u200b\u2066',
          pipeline: '${{ secrets.X }}',
        },
      },
    });
    expect(res.status).toBe(201);
    // The API answers the text it stored as JSON data: what it shows is escaped by JSON itself.
    expect(typeof res.body.justification).toBe('string');
    const request = await h.posted(res.body.id!);
    const card = await waitFor(
      () => h.connector.created.find((c) => JSON.stringify(c.params.activity).includes(request.id)),
      'the card',
    );
    const content = card.params.activity?.attachments?.[0]?.content;
    expect(cardProblems(content)).toEqual([]);
    await h.call(`/api/v1/requests/${request.id}/cancel`, { method: 'POST' });
  });

  it('a justification of invisible characters only is no justification', async () => {
    const res = await h.call('/api/v1/requests', {
      body: { target: 'deploy-prod', justification: '\u200b\u202e\u2060 \u3164' },
    });
    expectRefused(res, 422, 'justification.required');
  });
});

/** A request with headers exactly as given (fetch would refuse or fix some of them). */
function rawCall(
  path: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  const url = new URL(`${h.bot.url}${path}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('hostile headers', () => {
  it.each([
    ['no scheme', 'abc'],
    ['Basic', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l'],
    ['an empty bearer', 'Bearer '],
    ['two tokens', 'Bearer a.b.c d.e.f'],
    ['8 kB of garbage', `Bearer ${'x'.repeat(8000)}`],
    [
      'alg none',
      `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"azp":"x"}').toString('base64url')}.`,
    ],
  ])('Authorization with %s → 401, nothing runs', async (_what, authorization) => {
    const res = await rawCall('/api/v1/requests/R-ZZZZZZ', { authorization });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ status: 401 });
  });

  it('an Idempotency-Key with a tab or high bytes → 400 idempotency.key_invalid', async () => {
    const token = await h.token();
    for (const key of ['a\tb', Buffer.from('clé', 'utf8').toString('latin1')]) {
      const res = await h.call('/api/v1/requests', {
        body: { target: 'deploy-prod', justification: 'x' },
        headers: { 'idempotency-key': key },
        token,
      });
      expectRefused(res, 400, 'idempotency.key_invalid');
    }
  });

  it('methods and paths that are not the API’s → 404 api.not_found (after authentication)', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/v1/requests/R-ZZZZZZ'],
      ['PUT', '/api/v1/requests'],
      ['GET', '/api/v1/requests'],
      ['POST', '/api/v1/requests/R-ZZZZZZ/approve'],
      ['GET', '/api/v1/requests/R-ZZZZZZ/cancel'],
    ] as const)
      expectRefused(await h.call(path, { method }), 404, 'api.not_found');
  });

  it('a path parameter with encoded slashes, dots and NULs is just an unknown request', async () => {
    for (const id of ['%2e%2e%2f%2e%2e', '%00', 'R-ZZZZZZ%00', '%E2%80%AE', '__proto__', 'constructor'])
      expectRefused(await h.call(`/api/v1/requests/${id}`), 404, 'request.not_found');
  });
});
