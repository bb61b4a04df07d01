import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { ApiCaller } from '../../../src/adapters/api/access-token';
import { createApiRouter } from '../../../src/adapters/api/api-router';
import { ApprovalTokens, generateSigningKey } from '../../../src/adapters/api/approval-tokens';
import { idempotentRequestId } from '../../../src/adapters/api/idempotency';
import { requestsRoutes, type RequestsRoutesDeps } from '../../../src/adapters/api/requests-routes';
import type { SubmitInput } from '../../../src/app/access-service';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { validatePolicy } from '../../../src/domain/policy';
import type { AccessRequest } from '../../../src/domain/request';
import { systemClock } from '../../../src/ports/clock';
import { silentLogger } from '../../../src/ports/logger';
import { apiPolicy, PIPELINE_SP } from '../../helpers/api-harness';
import { aRequest } from '../../helpers/domain-builders';
import { TEST_PIPELINE_APP, TEST_TENANT } from '../../helpers/local-issuer';

/**
 * The routes on stubs, for what one process cannot make happen: another replica filing under
 * the same key between our look-up and our submit, and dependencies failing.
 */

const CALLER: ApiCaller = {
  clientId: TEST_PIPELINE_APP,
  tenantId: TEST_TENANT,
  objectId: PIPELINE_SP,
  tokenVersion: '2.0',
  roles: [],
};
const BODY = { target: 'deploy-prod', justification: 'release' };

let server: Server;
let base: string;
const stored = new Map<string, AccessRequest>();
let submit: (input: SubmitInput) => Promise<{ request: AccessRequest; outcome: 'created' | 'extension' }>;
const calls: SubmitInput[] = [];

beforeAll(async () => {
  const policy = validatePolicy(apiPolicy());
  const tokens = new ApprovalTokens([await generateSigningKey(Date.now())], {
    issuer: 'https://t',
    retainRetiredMs: 1,
  });
  const deps: RequestsRoutesDeps = {
    service: {
      submit: (input) => (calls.push(input), submit(input)),
      cancel: () => Promise.reject(new Error('unused')),
      release: () => Promise.reject(new Error('unused')),
    },
    requests: {
      get: async (id) => stored.get(id),
      listOpen: async (q) =>
        [...stored.values()].filter(
          (r) => r.requester.id === q?.requesterId && r.group.alias === q?.groupAlias,
        ),
    },
    directory: { findUser: async () => undefined },
    policy: () => policy,
    tokens,
    clock: systemClock,
  };
  const app = express();
  app.use(
    createApiRouter(
      {
        verifier: { verify: async () => CALLER },
        policy: () => policy,
        tokens,
        clock: systemClock,
        logger: silentLogger,
        publicUrl: 'https://t',
        version: 'test',
      },
      requestsRoutes(deps),
    ),
  );
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());
beforeEach(() => {
  stored.clear();
  calls.length = 0;
});

async function post(body: unknown, key?: string) {
  const res = await fetch(`${base}/api/v1/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** The request another replica filed under `key` with our body, as our submit would have. */
function filedElsewhere(input: SubmitInput): AccessRequest {
  return aRequest({
    id: input.id!,
    requester: input.requester,
    client: input.client,
    idempotency: input.idempotency,
    group: { alias: 'deploy-prod', id: '', displayName: 'Deploy to production' },
    targetKind: 'action',
  });
}

describe('requests routes, on stubs', () => {
  it('files as the client’s service principal, with the client, its tenant and the derived id', async () => {
    submit = async (input) => ({ request: filedElsewhere(input), outcome: 'created' });
    const res = await post(BODY, 'k-1');
    expect(res.status).toBe(201);
    expect(calls[0]).toMatchObject({
      requester: { id: PIPELINE_SP, name: 'github-deploy', kind: 'service_principal' },
      tenantId: TEST_TENANT,
      group: 'deploy-prod',
      client: { appId: TEST_PIPELINE_APP, name: 'github-deploy' },
      id: idempotentRequestId(TEST_PIPELINE_APP, 'k-1', 0),
      idempotency: { key: 'k-1', bodyHash: expect.any(String) },
    });
  });

  it('another replica took the id between look-up and submit (REQUEST_ID_TAKEN): its request is answered', async () => {
    submit = async (input) => {
      stored.set(input.id!, filedElsewhere(input));
      throw new DomainError(ErrorCodes.REQUEST_ID_TAKEN, 'taken');
    };
    const res = await post(BODY, 'k-2');
    expect([res.status, res.headers.get('idempotent-replayed'), res.body.id]).toEqual([
      200,
      'true',
      idempotentRequestId(TEST_PIPELINE_APP, 'k-2', 0),
    ]);
  });

  it('…or the store’s one-open-request constraint refused ours (REQUEST_OPEN_EXISTS): the same', async () => {
    submit = async (input) => {
      stored.set(input.id!, filedElsewhere(input));
      throw new DomainError(ErrorCodes.REQUEST_OPEN_EXISTS, 'open');
    };
    expect((await post(BODY, 'k-3')).status).toBe(200);
  });

  it('an unrelated request took the id meanwhile: the next derived id is tried', async () => {
    let first = true;
    submit = async (input) => {
      if (first) {
        first = false;
        stored.set(input.id!, aRequest({ id: input.id! }));
        throw new DomainError(ErrorCodes.REQUEST_ID_TAKEN, 'taken');
      }
      return { request: filedElsewhere(input), outcome: 'created' };
    };
    const res = await post(BODY, 'k-4');
    expect([res.status, res.body.id]).toEqual([201, idempotentRequestId(TEST_PIPELINE_APP, 'k-4', 1)]);
  });

  it('an active grant of the requester for the target: 409 naming it, and nothing is submitted', async () => {
    const held = aRequest({
      id: 'R-HELD22',
      status: 'active',
      requester: { id: PIPELINE_SP, name: 'github-deploy', kind: 'service_principal' },
      group: { alias: 'db-read', id: 'g', displayName: 'DB' },
      expiresAt: Date.now() + 60_000,
    });
    stored.set(held.id, held);
    submit = async () => {
      throw new Error('must not be called');
    };
    const res = await post({ target: 'db-read', justification: 'again' });
    expect([res.status, res.body.code, res.body.requestId]).toEqual([409, 'request.duplicate', 'R-HELD22']);
    expect(calls).toEqual([]);
  });

  it.each([
    [new DomainError(ErrorCodes.STORE_UNAVAILABLE, 'db down'), 503, 'api.unavailable', '5'],
    [
      new DomainError(ErrorCodes.REQUEST_RATE_LIMITED, 'slow down', { retryAfterMs: 42_500 }),
      429,
      'request.rate_limited',
      '43',
    ],
    [new DomainError(ErrorCodes.BREAK_GLASS_NOT_ALLOWED, 'no'), 422, 'request.refused', null],
  ])(
    'a service refusal (case %#) answers its status, code and Retry-After',
    async (error, status, code, retryAfter) => {
      submit = async () => {
        throw error;
      };
      const res = await post(BODY);
      expect([res.status, res.body.code, res.headers.get('retry-after')]).toEqual([status, code, retryAfter]);
      expect(res.body.detail).toBe(error.message);
    },
  );

  it('a bug under the route: 500 api.internal that says nothing was changed and leaks nothing', async () => {
    submit = async () => {
      throw new Error('secret internals at /srv/app.ts:12');
    };
    const res = await post(BODY);
    expect([res.status, res.body.code]).toEqual([500, 'api.internal']);
    expect(JSON.stringify(res.body)).not.toMatch(/secret|srv|\.ts/);
  });
});
