import { Status } from '../../domain/request';

/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses) of what the API answers: the request as
 * app/request-json.ts builds it, plus `approvalToken`. A test validates real answers against
 * them, so they cannot drift from the code.
 */

const person = {
  type: 'object',
  required: ['id', 'name'],
  properties: {
    id: { type: 'string', description: 'Entra object id' },
    name: { type: 'string' },
  },
};

const instant = { type: 'string', format: 'date-time' };

export const requestSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'status',
    'target',
    'kind',
    'requester',
    'duration',
    'durationMs',
    'justification',
    'approvals',
    'createdAt',
  ],
  properties: {
    id: { type: 'string', pattern: '^R-[A-Z2-9]{6}$' },
    status: {
      enum: Object.values(Status),
      description:
        'pending until decided; an approved action is `approved`, an approved group becomes `active` once granted',
    },
    target: { type: 'string', description: 'The group or action alias' },
    kind: { enum: ['group', 'action'] },
    requester: {
      type: 'object',
      required: ['id', 'name', 'kind'],
      properties: {
        ...person.properties,
        upn: { type: 'string' },
        kind: { enum: ['person', 'service_principal'] },
      },
    },
    onBehalfOf: { type: 'boolean', description: 'Filed by the caller for the requester, a person' },
    caller: {
      type: 'object',
      required: ['appId', 'name'],
      properties: { appId: { type: 'string' }, name: { type: 'string' } },
    },
    duration: { type: 'string', examples: ['30m', '1h30m'] },
    durationMs: { type: 'integer', minimum: 1 },
    justification: { type: 'string' },
    ticket: { type: 'string' },
    context: { $ref: '#/components/schemas/RequestBody/properties/context' },
    approvals: {
      type: 'object',
      required: ['needed', 'by'],
      properties: {
        needed: { type: 'integer', minimum: 1 },
        by: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'name', 'at'],
            properties: { ...person.properties, at: instant },
          },
        },
      },
    },
    decidedBy: {
      type: 'array',
      items: person,
      description: 'Who decided; empty when a rule did (auto-approve, break-glass)',
    },
    decidedAt: instant,
    startsAt: instant,
    expiresAt: instant,
    createdAt: instant,
    failure: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    approvalToken: {
      type: 'string',
      description:
        'While an action is approved or a group grant is active: an ES256 JWT (aud timebox-approval, sub, jti = id, target, approvers, ctx, exp), verifiable with /.well-known/jwks.json',
    },
  },
};

export const jwksSchema = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'],
        properties: {
          kty: { const: 'EC' },
          crv: { const: 'P-256' },
          x: { type: 'string' },
          y: { type: 'string' },
          kid: { type: 'string' },
          alg: { const: 'ES256' },
          use: { const: 'sig' },
        },
      },
    },
  },
};
