import { z } from 'zod';
import { jwksSchema, requestSchema } from './openapi-schemas';
import { requestBodySchema } from './request-body';
import { MAX_WAIT_SECONDS } from './long-poll';

/** Every `code` a problem of the API can carry: the document lists them, clients branch on them. */
export const PROBLEM_CODES = [
  'auth.token_missing',
  'auth.token_invalid',
  'auth.token_expired',
  'auth.token_not_yet_valid',
  'auth.wrong_audience',
  'auth.wrong_issuer',
  'auth.wrong_tenant',
  'auth.no_client_id',
  'auth.keys_unavailable',
  'auth.unknown_client',
  'body.invalid',
  'body.not_json',
  'body.too_large',
  'body.unsupported_media_type',
  'body.run_url_not_https',
  'body.duration_invalid',
  'api.not_found',
  'api.internal',
  'api.rate_limited',
  'api.unavailable',
  'auth.target_not_allowed',
  'auth.on_behalf_of_not_allowed',
  'auth.no_service_principal',
  'auth.not_eligible',
  'person.unknown',
  'target.unknown',
  'duration.invalid',
  'duration.too_long',
  'justification.required',
  'justification.too_long',
  'ticket.required',
  'ticket.invalid',
  'idempotency.key_invalid',
  'idempotency.key_reused',
  'query.wait_invalid',
  'request.duplicate',
  'request.not_found',
  'request.rate_limited',
  'request.refused',
  'request.wrong_state',
] as const;

/** JSON Schema 2020-12 (what OpenAPI 3.1 uses) of a zod schema, without its `$schema` line. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

const problem = {
  type: 'object',
  required: ['type', 'status', 'code', 'title'],
  properties: {
    type: { type: 'string', description: 'urn:timebox:problem:<code>' },
    status: { type: 'integer' },
    code: { type: 'string', enum: [...PROBLEM_CODES] },
    title: { type: 'string' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    requestId: {
      type: 'string',
      description:
        'The request the problem is about: the open one a duplicate would be, the one a reused key filed',
    },
  },
};

const problemResponse = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
};

const ref = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** The answers every authenticated call may get, whatever the route. */
const common = {
  '401': ref('Unauthorized'),
  '403': ref('Forbidden'),
  '429': ref('RateLimited'),
  '500': ref('Internal'),
  '503': ref('Unavailable'),
};

const requestAnswer = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Request' } } },
});

const requestId = { $ref: '#/components/parameters/RequestId' };

const change = (verb: 'cancel' | 'release', summary: string) => ({
  post: {
    operationId: `${verb}Request`,
    summary,
    parameters: [requestId],
    responses: {
      '200': requestAnswer(verb === 'cancel' ? 'The request, cancelled' : 'The request, released'),
      '404': ref('NotFound'),
      '409': problemResponse(
        `request.wrong_state: the request cannot be ${verb === 'cancel' ? 'cancelled (it is no longer pending)' : 'released (it is not approved or active)'}`,
      ),
      ...common,
    },
  },
});

/**
 * The OpenAPI 3.1 document of the workflow API, served at /api/v1/openapi.json. The request
 * body's schema is generated from the zod schema that validates it, so the two cannot drift;
 * a test checks the paths against the router's own routes and real answers against the schemas.
 */
export function openApiDocument(serverUrl: string, version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Timebox workflow API',
      version,
      description:
        'Pipelines and services ask for a group or an action gate; approvers decide on the Teams card; approved requests carry an ES256 approval token verifiable with /.well-known/jwks.json. Errors are application/problem+json with a stable `code`.',
    },
    servers: [{ url: serverUrl }],
    security: [{ entra: [] }],
    paths: {
      '/api/v1/requests': {
        post: {
          operationId: 'fileRequest',
          summary: 'Ask for a group or an action',
          description:
            "The requester is the calling application's own service principal, or the person named by `onBehalfOf` where the client's policy allows it. With an Idempotency-Key, a retry with the same key and body answers the request the first call filed (200, Idempotent-Replayed: true).",
          parameters: [{ $ref: '#/components/parameters/IdempotencyKey' }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/RequestBody' } } },
          },
          responses: {
            '201': requestAnswer('Filed', {
              Location: { description: "The request's URL", schema: { type: 'string' } },
            }),
            '200': requestAnswer('A retry of an earlier call with the same Idempotency-Key and body', {
              'Idempotent-Replayed': { schema: { const: 'true' } },
            }),
            '400': problemResponse(
              'body.invalid, body.not_json, body.run_url_not_https, body.duration_invalid, idempotency.key_invalid',
            ),
            '409': problemResponse(
              'request.duplicate: the requester already has an open request for the target (`requestId` names it)',
            ),
            '413': problemResponse('body.too_large'),
            '415': problemResponse('body.unsupported_media_type'),
            '422': problemResponse(
              'target.unknown, person.unknown, duration.invalid, duration.too_long, justification.required, justification.too_long, ticket.required, ticket.invalid, idempotency.key_reused, request.refused',
            ),
            ...common,
          },
        },
      },
      '/api/v1/requests/{id}': {
        get: {
          operationId: 'getRequest',
          summary: 'A request this application filed; with ?wait=, waits while it is pending',
          parameters: [requestId, { $ref: '#/components/parameters/Wait' }],
          responses: {
            '200': requestAnswer('The request (with an approvalToken while approved or active)'),
            '400': problemResponse('query.wait_invalid'),
            '404': ref('NotFound'),
            ...common,
          },
        },
      },
      '/api/v1/requests/{id}/cancel': change('cancel', 'Withdraw a pending request'),
      '/api/v1/requests/{id}/release': change('release', 'End an approval or a grant now'),
      '/.well-known/jwks.json': {
        get: {
          operationId: 'getJwks',
          summary: 'The public keys that verify approval tokens',
          security: [],
          responses: {
            '200': {
              description: 'A JWK set',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Jwks' } } },
            },
          },
        },
      },
      '/api/v1/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          security: [],
          responses: {
            '200': {
              description: 'OpenAPI 3.1',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        entra: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "An Entra access token for TIMEBOX_API_AUDIENCE from the caller's own workload identity.",
        },
      },
      parameters: {
        RequestId: {
          name: 'id',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^R-[A-Z2-9]{6}$' },
        },
        Wait: {
          name: 'wait',
          in: 'query',
          required: false,
          description:
            'Hold the answer while the request is pending or scheduled (or an approved group is being granted), at most this many seconds; a change answers at once',
          schema: { type: 'integer', minimum: 0, maximum: MAX_WAIT_SECONDS },
        },
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'The same for every retry of one request (e.g. a UUID): 1 to 200 printable ASCII characters',
          schema: { type: 'string', minLength: 1, maxLength: 200 },
        },
      },
      schemas: {
        RequestBody: jsonSchema(requestBodySchema),
        Request: requestSchema,
        Problem: problem,
        Jwks: jwksSchema,
      },
      responses: {
        Unauthorized: problemResponse(
          'No valid Entra access token: auth.token_missing, auth.token_invalid, auth.token_expired, auth.token_not_yet_valid, auth.wrong_audience, auth.wrong_issuer, auth.wrong_tenant, auth.no_client_id',
        ),
        Forbidden: problemResponse(
          'auth.unknown_client, auth.target_not_allowed, auth.on_behalf_of_not_allowed, auth.no_service_principal, auth.not_eligible',
        ),
        NotFound: problemResponse(
          'request.not_found: no request of this application has this id (api.not_found: no such endpoint)',
        ),
        RateLimited: problemResponse('api.rate_limited, request.rate_limited', retryAfter),
        Internal: problemResponse('api.internal: nothing was changed'),
        Unavailable: problemResponse(
          'api.unavailable, auth.keys_unavailable: a dependency cannot be reached now; nothing was changed',
          retryAfter,
        ),
      },
    },
  };
}
