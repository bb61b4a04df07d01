import Ajv2020 from 'ajv/dist/2020';
import type { PolicyInput } from '../../src/domain/policy';
import type { AccessRequest } from '../../src/domain/request';
import type { Overrides } from '../../src/main';
import { waitFor } from './fake-connector';
import { GROUPS, startHarness, testPolicy, type Harness } from './harness';
import { LocalIssuer, TEST_API_APP, TEST_PIPELINE_APP } from './local-issuer';
import { TENANT } from './teams-client';

/** A second client, that may ask on behalf of people. */
export const TEST_OPS_APP = 'aaaaaaaa-0000-4000-8000-00000000000c';
/** The demo directory's service principal (examples/demo.directory.json): the pipeline's own. */
export const PIPELINE_SP = 'c2000000-0000-4000-8000-000000000001';

/** The test policy with an action gate and two API clients. */
export function apiPolicy(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return testPolicy({
    actions: {
      'deploy-prod': {
        displayName: 'Deploy to production',
        approverChannel: 'ops',
        approvers: { groups: [GROUPS.sre] },
        approvalValidFor: '15m',
      },
    },
    clients: {
      'github-deploy': { appId: TEST_PIPELINE_APP, may: ['deploy-prod', 'db-read'], onBehalfOf: false },
      'ops-bot': {
        appId: TEST_OPS_APP,
        displayName: 'Ops bot',
        may: ['deploy-prod', 'db-read', 'prod-admin'],
        onBehalfOf: true,
      },
    },
    ...overrides,
  });
}

export interface ApiAnswer {
  status: number;
  type: string | null;
  headers: Headers;
  body: Record<string, unknown> & { id?: string; status?: string; code?: string; approvalToken?: string };
}

export interface ApiHarness extends Harness {
  issuer: LocalIssuer;
  /** A valid app-only token of `clientId` (the pipeline's by default), its SP the demo one. */
  token(clientId?: string, extra?: Record<string, unknown>): Promise<string>;
  /** A call of Timebox's HTTP surface, as the pipeline's client (or `token: ''` for none). */
  call(
    path: string,
    init?: {
      method?: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
      token?: string;
    },
  ): Promise<ApiAnswer>;
  /** POST /api/v1/requests with a body. */
  file(body: unknown, headers?: Record<string, string>, token?: string): Promise<ApiAnswer>;
  /** The request once its approval card is posted. */
  posted(id: string): Promise<AccessRequest>;
}

/**
 * The real bot over HTTP (startHarness) with the workflow API on: a local Entra-like issuer
 * for the tenant the Teams activities come from, and TIMEBOX_API_AUDIENCE set.
 */
export async function startApiHarness(
  options: { policy?: PolicyInput; env?: Record<string, string>; overrides?: Overrides } = {},
): Promise<ApiHarness> {
  const issuer = await LocalIssuer.start(TENANT);
  const h = await startHarness({
    policy: options.policy ?? apiPolicy(),
    env: {
      MicrosoftAppTenantId: TENANT,
      TIMEBOX_API_AUDIENCE: TEST_API_APP,
      TIMEBOX_API_OPENID_METADATA: issuer.metadataUrl,
      TIMEBOX_REQUEST_RATE_LIMIT: 'off',
      ...options.env,
    },
    overrides: options.overrides,
  });
  // Where the approvers' cards go: as if a Teams activity of the tenant had arrived already.
  await h.bot.store.saveServiceUrl(TENANT, h.connector.url);
  const nowSec = () => Math.floor(Date.now() / 1000);
  const api = h as ApiHarness;
  api.issuer = issuer;
  api.token = (clientId = TEST_PIPELINE_APP, extra = {}) =>
    issuer.appToken(clientId, TEST_API_APP, nowSec(), {
      oid: clientId === TEST_PIPELINE_APP ? PIPELINE_SP : `c3000000-0000-4000-8000-${clientId.slice(-12)}`,
      ...extra,
    });
  api.call = async (path, init = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token ?? (await api.token());
    if (token) headers.set('authorization', `Bearer ${token}`);
    const hasBody = init.body !== undefined || init.raw !== undefined;
    if (hasBody && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const res = await fetch(`${h.bot.url}${path}`, {
      method: init.method ?? (hasBody ? 'POST' : 'GET'),
      headers,
      body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      headers: res.headers,
      body: text ? (JSON.parse(text) as ApiAnswer['body']) : {},
    };
  };
  api.file = (body, headers = {}, token) =>
    api.call('/api/v1/requests', { method: 'POST', body, headers, token });
  api.posted = (id) =>
    waitFor(async () => {
      const r = await h.bot.store.get(id);
      return r?.approvalCard ? r : undefined;
    }, `approval card of ${id} posted`);
  const close = h.close.bind(h);
  api.close = async () => {
    await close();
    await issuer.close();
  };
  return api;
}

/**
 * Checks a value against a schema of an OpenAPI document's components (`Request`, `Problem`,
 * …): the errors, [] when it fits. Formats are not checked (no ajv-formats here).
 */
export function schemaChecker(
  document: Record<string, unknown>,
): (schema: string, value: unknown) => string[] {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: 'timebox-openapi', components: document.components }, 'timebox-openapi');
  return (schema, value) => {
    const validate = ajv.getSchema(`timebox-openapi#/components/schemas/${schema}`);
    if (!validate) return [`no schema ${schema}`];
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}
