import { z } from 'zod';
import { requestBodySchema } from './request-body';

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
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/**
 * The OpenAPI 3.1 document of the workflow API, served at /api/v1/openapi.json. The request
 * body's schema is generated from the zod schema that validates it, so the two cannot drift.
 */
export function openApiDocument(serverUrl: string, version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Timebox workflow API',
      version,
      description:
        'Pipelines and services ask for a group or an action gate; approvers decide on the Teams card; approved requests carry an ES256 approval token verifiable with /.well-known/jwks.json.',
    },
    servers: [{ url: serverUrl }],
    security: [{ entra: [] }],
    paths: {
      '/.well-known/jwks.json': {
        get: {
          operationId: 'getJwks',
          summary: 'The public keys that verify approval tokens',
          security: [],
          responses: {
            '200': {
              description: 'A JWK set',
              content: { 'application/json': { schema: { type: 'object' } } },
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
      schemas: { RequestBody: jsonSchema(requestBodySchema), Problem: problem },
      responses: {
        Unauthorized: problemResponse('No valid Entra access token'),
        Forbidden: problemResponse(
          'The application is not one of the policy’s clients, or may not ask for this',
        ),
        BadRequest: problemResponse('The body is not valid'),
      },
    },
  };
}
