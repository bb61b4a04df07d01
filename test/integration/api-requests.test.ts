import { createRemoteJWKSet, jwtVerify } from 'jose';
import { APPROVAL_AUDIENCE } from '../../src/adapters/api/approval-tokens';
import {
  apiPolicy,
  PIPELINE_SP,
  schemaChecker,
  startApiHarness,
  TEST_OPS_APP,
  type ApiAnswer,
  type ApiHarness,
} from '../helpers/api-harness';
import { cardText, waitFor } from '../helpers/fake-connector';
import { startHarness } from '../helpers/harness';
import { GITHUB_RUN, TEST_PIPELINE_APP } from '../helpers/local-issuer';
import { users } from '../helpers/teams-client';

/**
 * Issue 16 over real HTTP, on the real bot: a pipeline files a request through the API, the
 * approvers decide on the Teams card, the long-poll answers with an approval token that verifies
 * against /.well-known/jwks.json alone; every refusal is a problem with a stable code.
 */

let h: ApiHarness;
let check: (schema: string, value: unknown) => string[];

beforeAll(async () => {
  h = await startApiHarness();
  const doc = await h.call('/api/v1/openapi.json', { token: '' });
  check = schemaChecker(doc.body);
});
afterAll(async () => {
  await h.close();
});

/** A problem answer: its status and code, problem+json, fitting the document's Problem schema. */
function expectProblem(res: ApiAnswer, status: number, code: string): void {
  expect([res.status, res.body.code]).toEqual([status, code]);
  expect(res.type).toMatch(/^application\/problem\+json/);
  expect(check('Problem', res.body)).toEqual([]);
}

const opsToken = () => h.token(TEST_OPS_APP);

describe('a pipeline asks, approvers decide on the card, the pipeline gets a verifiable approval', () => {
  it('POST → card in the channel → Approve → the long-poll answers approved with a token that verifies', async () => {
    const filed = await h.file({
      target: 'deploy-prod',
      duration: 'PT10M',
      justification: 'release 2026.12 to production',
      context: { ...GITHUB_RUN, environment: 'production' },
    });
    expect(filed.status).toBe(201);
    const id = filed.body.id!;
    expect(filed.headers.get('location')).toBe(`/api/v1/requests/${id}`);
    expect(filed.headers.get('cache-control')).toBe('no-store');
    expect(check('Request', filed.body)).toEqual([]);
    expect(filed.body).toMatchObject({
      status: 'pending',
      kind: 'action',
      target: 'deploy-prod',
      requester: { id: PIPELINE_SP, kind: 'service_principal' },
      caller: { appId: TEST_PIPELINE_APP, name: 'github-deploy' },
      duration: '10m',
      context: { ...GITHUB_RUN, environment: 'production' },
      approvals: { needed: 1, by: [] },
    });
    expect(filed.body.approvalToken).toBeUndefined();

    // The approvers' card, with the workflow's context.
    const request = await h.posted(id);
    const card = h.connector.created.find((c) => cardText(c.params.activity).includes(id));
    expect(cardText(card?.params.activity)).toEqual(expect.stringContaining('Deploy to production'));
    expect(cardText(card?.params.activity)).toEqual(expect.stringContaining(GITHUB_RUN.repository));

    // The pipeline waits; Megan approves meanwhile; the wait ends at once.
    const started = Date.now();
    const waiting = h.call(`/api/v1/requests/${id}?wait=30`);
    await new Promise((r) => setTimeout(r, 300));
    const click = await h.clickOnCard(users.megan, 'approve', request, { subject: 'request' });
    expect(click.status).toBe(200);
    const decided = await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(decided.status).toBe(200);
    expect(check('Request', decided.body)).toEqual([]);
    expect(decided.body).toMatchObject({
      status: 'approved',
      decidedBy: [{ id: users.megan.aadObjectId, name: 'Megan Bowen' }],
      approvals: { by: [{ id: users.megan.aadObjectId }] },
    });

    // Anyone verifies the token offline, with the JWKS only.
    const token = decided.body.approvalToken!;
    const jwks = createRemoteJWKSet(new URL(`${h.bot.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: h.bot.url,
      audience: APPROVAL_AUDIENCE,
      algorithms: ['ES256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(payload).toMatchObject({
      sub: PIPELINE_SP,
      jti: id,
      target: 'deploy-prod',
      approvers: [users.megan.aadObjectId],
      ctx: { ...GITHUB_RUN, environment: 'production' },
    });
    expect(payload.exp! * 1000).toBe(Math.floor(Date.parse(String(decided.body.expiresAt)) / 1000) * 1000);
    expect(Date.parse(String(decided.body.expiresAt)) - Date.parse(String(decided.body.decidedAt))).toBe(
      600_000,
    );

    // Done deploying: release ends the approval; no token any more.
    const released = await h.call(`/api/v1/requests/${id}/release`, { method: 'POST' });
    expect(released).toMatchObject({ status: 200, body: { status: 'released' } });
    expect(released.body.approvalToken).toBeUndefined();
    expect((await h.call(`/api/v1/requests/${id}`)).body.approvalToken).toBeUndefined();
  });

  it('a group for the client’s own service principal: active once granted, the token lives as long as the grant', async () => {
    const filed = await h.file({ target: 'db-read', duration: '30m', justification: 'nightly export job' });
    expect(filed).toMatchObject({ status: 201, body: { kind: 'group', status: 'pending' } });
    const request = await h.posted(filed.body.id!);
    await h.clickOnCard(users.adele, 'approve', request, { subject: 'request' });
    const active = await waitFor(async () => {
      const r = await h.call(`/api/v1/requests/${request.id}?wait=5`);
      return r.body.status === 'active' ? r : undefined;
    }, 'active');
    const { payload } = await jwtVerify(
      active.body.approvalToken!,
      createRemoteJWKSet(new URL(`${h.bot.url}/.well-known/jwks.json`)),
      { audience: APPROVAL_AUDIENCE },
    );
    expect(payload).toMatchObject({ sub: PIPELINE_SP, jti: request.id, target: 'db-read' });
    expect(payload.exp).toBe(Math.floor(Date.parse(String(active.body.expiresAt)) / 1000));
    expect(h.directory.members(request.group.id)).toContain(PIPELINE_SP);
    const released = await h.call(`/api/v1/requests/${request.id}/release`, { method: 'POST' });
    expect(released.body.status).toBe('released');
    await waitFor(() => !h.directory.members(request.group.id).includes(PIPELINE_SP), 'the SP removed');
  });

  it('JWKS keys are public EC P-256 keys: no private part is ever served', async () => {
    const jwks = await h.call('/.well-known/jwks.json', { token: '' });
    expect(check('Jwks', jwks.body)).toEqual([]);
    const keys = jwks.body.keys as Array<Record<string, unknown>>;
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.d).toBeUndefined();
  });
});

describe('who asks: the client itself, or a person where policy allows it', () => {
  it('onBehalfOf, allowed: the person is the requester, found in the directory; the card shows both', async () => {
    const filed = await h.file(
      {
        target: 'db-read',
        duration: '1h',
        justification: 'investigating INC-7',
        onBehalfOf: 'alex@example.com',
      },
      {},
      await opsToken(),
    );
    expect(filed.status).toBe(201);
    expect(filed.body).toMatchObject({
      requester: { id: users.alex.aadObjectId, name: 'Alex Wilber', kind: 'person' },
      onBehalfOf: true,
      caller: { appId: TEST_OPS_APP, name: 'ops-bot' },
    });
    const request = await h.posted(filed.body.id!);
    const card = cardText(
      h.connector.created.find((c) => cardText(c.params.activity).includes(request.id))?.params.activity,
    );
    expect(card).toEqual(expect.stringContaining('Alex Wilber'));
    expect(card).toEqual(expect.stringContaining('ops-bot'));
    const cancelled = await h.call(`/api/v1/requests/${request.id}/cancel`, {
      method: 'POST',
      token: await opsToken(),
    });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
  });

  it('onBehalfOf, not allowed for the client → 403; nobody in the directory → 422; nothing is filed', async () => {
    const before = (await h.bot.store.listOpen()).length;
    expectProblem(
      await h.file({ target: 'db-read', justification: 'x', onBehalfOf: 'alex@example.com' }),
      403,
      'auth.on_behalf_of_not_allowed',
    );
    for (const who of ['nobody@example.com', '../groups/b2000000', 'a@b/c', '%2e%2e']) {
      const res = await h.file(
        { target: 'db-read', justification: 'x', onBehalfOf: who },
        {},
        await opsToken(),
      );
      expectProblem(res, 422, 'person.unknown');
    }
    expect((await h.bot.store.listOpen()).length).toBe(before);
  });

  it('a token that names no service principal cannot ask as the client → 403 auth.no_service_principal', async () => {
    const token = await h.token(TEST_PIPELINE_APP, { oid: undefined });
    expectProblem(
      await h.file({ target: 'deploy-prod', justification: 'x' }, {}, token),
      403,
      'auth.no_service_principal',
    );
  });
});

describe('a client sees and changes only what it filed', () => {
  it('another client’s request, a chat request and an id that does not exist are the same 404', async () => {
    const mine = await h.file({ target: 'deploy-prod', justification: 'mine' }, {}, await opsToken());
    expect(mine.status).toBe(201);
    const chat = await h.ask(users.lynne, 'request sandbox for 1h because testing');
    const nonexistent = 'R-ZZZZZZ';
    for (const id of [
      mine.body.id!,
      chat.id,
      nonexistent,
      'r-zzzzzz',
      '..%2F..%2Fetc',
      'R-' + 'A'.repeat(500),
    ]) {
      for (const [method, suffix] of [
        ['GET', ''],
        ['POST', '/cancel'],
        ['POST', '/release'],
      ] as const) {
        const res = await h.call(`/api/v1/requests/${id}${suffix}`, { method });
        expectProblem(res, 404, 'request.not_found');
      }
    }
    // Nothing was changed by those calls.
    expect((await h.bot.store.get(mine.body.id!))?.status).toBe('pending');
    expect((await h.bot.store.get(chat.id))?.status).toBe('pending');
    await h.call(`/api/v1/requests/${mine.body.id}/cancel`, { method: 'POST', token: await opsToken() });
  });

  it('cancel a pending request; cancel or release again → 409 with the service’s words', async () => {
    const filed = await h.file({ target: 'deploy-prod', justification: 'to be cancelled' });
    const id = filed.body.id!;
    expectProblem(
      await h.call(`/api/v1/requests/${id}/release`, { method: 'POST' }),
      409,
      'request.wrong_state',
    );
    expect((await h.call(`/api/v1/requests/${id}/cancel`, { method: 'POST' })).body.status).toBe('cancelled');
    const again = await h.call(`/api/v1/requests/${id}/cancel`, { method: 'POST' });
    expectProblem(again, 409, 'request.wrong_state');
    expect(again.body.detail).toMatch(/already cancelled/);
  });
});

describe('the policy’s refusals, each with its own code', () => {
  it.each([
    [
      'a target the client may not ask for',
      { target: 'prod-admin', justification: 'x' },
      403,
      'auth.target_not_allowed',
    ],
    ['a target that does not exist', { target: 'nope', justification: 'x' }, 422, 'target.unknown'],
    ['proto keys as a target', { target: '__proto__', justification: 'x' }, 422, 'target.unknown'],
    [
      'a duration over the maximum',
      { target: 'db-read', duration: '5h', justification: 'x' },
      422,
      'duration.too_long',
    ],
    [
      'an unreadable duration',
      { target: 'db-read', duration: 'soon', justification: 'x' },
      400,
      'body.duration_invalid',
    ],
    ['no justification', { target: 'db-read', justification: '   ' }, 422, 'justification.required'],
    ['a missing justification key', { target: 'db-read' }, 400, 'body.invalid'],
    [
      'a run link that is not https',
      { target: 'deploy-prod', justification: 'x', context: { runUrl: 'javascript:alert(1)' } },
      400,
      'body.run_url_not_https',
    ],
  ])('%s', async (_what, body, status, code) => {
    const before = (await h.bot.store.listOpen()).length;
    expectProblem(await h.file(body), status, code);
    expect((await h.bot.store.listOpen()).length).toBe(before);
  });

  it('tickets, where the target asks for one: missing → ticket.required, not of the pattern → ticket.invalid', async () => {
    const ask = { target: 'prod-admin', justification: 'x', onBehalfOf: 'lynner@example.com' };
    expectProblem(await h.file(ask, {}, await opsToken()), 422, 'ticket.required');
    expectProblem(await h.file({ ...ask, ticket: 'CHG-1' }, {}, await opsToken()), 422, 'ticket.invalid');
  });

  it('a second open request for the same target → 409 request.duplicate naming the open one', async () => {
    const first = await h.file({ target: 'deploy-prod', justification: 'first' });
    const second = await h.file({ target: 'deploy-prod', justification: 'second' });
    expectProblem(second, 409, 'request.duplicate');
    expect(second.body.requestId).toBe(first.body.id);
    await h.call(`/api/v1/requests/${first.body.id}/cancel`, { method: 'POST' });
  });

  it('every authenticated call is audited with the client, refusals with their code', async () => {
    await h.file({ target: 'prod-admin', justification: 'x' });
    await h.call('/api/v1/requests/R-ZZZZZZ');
    const calls = await waitFor(async () => {
      const records = (await h.audit()).filter((r) => r.type === 'api_called');
      return records.some((r) => r.detail?.path === '/api/v1/requests/R-ZZZZZZ') ? records : undefined;
    }, 'the calls audited');
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: expect.objectContaining({ id: PIPELINE_SP }),
          detail: expect.objectContaining({
            appId: TEST_PIPELINE_APP,
            client: 'github-deploy',
            method: 'POST',
            path: '/api/v1/requests',
            status: 403,
            code: 'auth.target_not_allowed',
          }),
        }),
        expect.objectContaining({
          detail: expect.objectContaining({ method: 'GET', status: 404, code: 'request.not_found' }),
        }),
        expect.objectContaining({
          requestId: expect.stringMatching(/^R-/),
          detail: expect.objectContaining({ method: 'POST', status: 201 }),
        }),
      ]),
    );
    // A call without a valid token is not a client's call: logged, never audited as one.
    const audited = async () => (await h.audit()).filter((r) => r.type === 'api_called').length;
    await new Promise((r) => setTimeout(r, 200));
    const before = await audited();
    await h.call('/api/v1/requests/R-ZZZZZZ', { token: 'not-a-token' });
    await new Promise((r) => setTimeout(r, 200));
    expect(await audited()).toBe(before);
  });
});

describe('limits and switches', () => {
  it('per-client call limit → 429 api.rate_limited with Retry-After; the requester’s filing limit → 429 request.rate_limited', async () => {
    const limited = await startApiHarness({
      env: { TIMEBOX_API_RATE_LIMIT: '4/1m', TIMEBOX_REQUEST_RATE_LIMIT: '1/1h' },
    });
    try {
      expect((await limited.file({ target: 'deploy-prod', justification: 'one' })).status).toBe(201);
      const second = await limited.file({ target: 'db-read', justification: 'two' });
      expect([second.status, second.body.code]).toEqual([429, 'request.rate_limited']);
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(60);
      await limited.call('/api/v1/requests/R-ZZZZZZ');
      await limited.call('/api/v1/requests/R-ZZZZZZ');
      const fifth = await limited.call('/api/v1/requests/R-ZZZZZZ');
      expect([fifth.status, fifth.body.code]).toEqual([429, 'api.rate_limited']);
      expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another client has its own budget.
      expect(
        (await limited.call('/api/v1/requests/R-ZZZZZZ', { token: await limited.token(TEST_OPS_APP) }))
          .status,
      ).toBe(404);
    } finally {
      await limited.close();
    }
  });

  it('without TIMEBOX_API_AUDIENCE the API is off: /api/v1/* is 404, nothing answers a token', async () => {
    const off = await startHarness({ policy: apiPolicy() });
    try {
      for (const path of ['/api/v1/requests', '/api/v1/openapi.json']) {
        const res = await fetch(`${off.bot.url}${path}`, { method: 'POST' });
        expect(res.status).toBe(404);
      }
      expect((await fetch(`${off.bot.url}/.well-known/jwks.json`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
