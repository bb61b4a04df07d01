/**
 * A refusal or failure the user can act on. `code` is stable (tests, logs, metrics and the
 * one place that maps errors to what people see rely on it); `message` tells the person what
 * to do instead, and never contains a stack trace.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const ErrorCodes = {
  COMMAND_UNKNOWN: 'COMMAND.UNKNOWN',
  COMMAND_INVALID: 'COMMAND.INVALID',
  DURATION_INVALID: 'DURATION.INVALID',
  DURATION_TOO_LONG: 'DURATION.TOO_LONG',
  GROUP_UNKNOWN: 'GROUP.UNKNOWN',
  JUSTIFICATION_REQUIRED: 'JUSTIFICATION.REQUIRED',
  JUSTIFICATION_TOO_LONG: 'JUSTIFICATION.TOO_LONG',
  REASON_REQUIRED: 'REASON.REQUIRED',
  TICKET_REQUIRED: 'TICKET.REQUIRED',
  TICKET_INVALID: 'TICKET.INVALID',
  REQUEST_NOT_FOUND: 'REQUEST.NOT_FOUND',
  REQUEST_ALREADY_RESOLVED: 'REQUEST.ALREADY_RESOLVED',
  REQUEST_ILLEGAL_TRANSITION: 'REQUEST.ILLEGAL_TRANSITION',
  REQUEST_CONFLICT: 'REQUEST.CONFLICT',
  REQUEST_RATE_LIMITED: 'REQUEST.RATE_LIMITED',
  REQUEST_DUPLICATE: 'REQUEST.DUPLICATE',
  /** The store's constraint: one open request per requester and group (not an id collision). */
  REQUEST_OPEN_EXISTS: 'REQUEST.OPEN_EXISTS',
  /** A caller-chosen request id (the API's idempotency) belongs to a request already filed. */
  REQUEST_ID_TAKEN: 'REQUEST.ID_TAKEN',
  /** A scheduled start that is not a time, is too soon or too far ahead (maxScheduleAhead). */
  START_INVALID: 'START.INVALID',
  START_TOO_SOON: 'START.TOO_SOON',
  START_TOO_FAR: 'START.TOO_FAR',
  /** A decision button for another decision than the one pending now (an old card's Approve). */
  DECISION_STALE: 'REQUEST.DECISION_STALE',
  BREAK_GLASS_NOT_ALLOWED: 'BREAK_GLASS.NOT_ALLOWED',
  NOT_ELIGIBLE: 'AUTH.NOT_ELIGIBLE',
  NOT_APPROVER: 'AUTH.NOT_APPROVER',
  NOT_REQUESTER: 'AUTH.NOT_REQUESTER',
  NOT_ADMIN: 'AUTH.NOT_ADMIN',
  SELF_APPROVAL: 'AUTH.SELF_APPROVAL',
  ALREADY_VOTED: 'AUTH.ALREADY_VOTED',
  WRONG_TENANT: 'AUTH.WRONG_TENANT',
  NOT_TEAMS: 'AUTH.NOT_TEAMS',
  UNAUTHENTICATED: 'AUTH.UNAUTHENTICATED',
  EXTENSION_TOO_LONG: 'EXTENSION.TOO_LONG',
  EXTENSION_NOT_ALLOWED: 'EXTENSION.NOT_ALLOWED',
  GRANT_NOT_FOUND: 'GRANT.NOT_FOUND',
  POLICY_INVALID: 'POLICY.INVALID',
  /** The environment Timebox was started with is wrong (config.ts): the operator's to fix, never a person's command. */
  CONFIG_INVALID: 'CONFIG.INVALID',
  DIRECTORY_PERMISSION: 'DIRECTORY.PERMISSION_MISSING',
  DIRECTORY_GROUP_NOT_FOUND: 'DIRECTORY.GROUP_NOT_FOUND',
  DIRECTORY_USER_NOT_FOUND: 'DIRECTORY.USER_NOT_FOUND',
  DIRECTORY_DYNAMIC_GROUP: 'DIRECTORY.DYNAMIC_GROUP',
  DIRECTORY_THROTTLED: 'DIRECTORY.THROTTLED',
  DIRECTORY_UNAVAILABLE: 'DIRECTORY.UNAVAILABLE',
  DIRECTORY_INVALID: 'DIRECTORY.INVALID_REQUEST',
  DIRECTORY_AUTH: 'DIRECTORY.AUTHENTICATION_FAILED',
  STORE_CORRUPT: 'STORE.CORRUPT',
  STORE_WRITE_FAILED: 'STORE.WRITE_FAILED',
  /** The store cannot be reached now (a database blip): transient, retried, never a failed grant. */
  STORE_UNAVAILABLE: 'STORE.UNAVAILABLE',
  /** An effect's lease is no longer held under the token shown: another worker has it. */
  STORE_LEASE_LOST: 'STORE.LEASE_LOST',
  /** A conditional write of something other than a request (a baseline) lost a race: read again. */
  STORE_CONFLICT: 'STORE.CONFLICT',
  CONNECTOR_FAILED: 'CONNECTOR.FAILED',
  CONNECTOR_PERMANENT: 'CONNECTOR.PERMANENT',
  /** A webhook receiver did not take a delivery now (timeout, no connection, 408/429/5xx): tried again later. */
  WEBHOOK_FAILED: 'WEBHOOK.FAILED',
  /** A webhook receiver refused a delivery (another 4xx): given up, logged, never the request's failure. */
  WEBHOOK_REFUSED: 'WEBHOOK.REFUSED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Whether retrying the same call later can succeed (throttling, outages), as opposed to a refusal. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof DomainError)) return true; // unknown errors (network, bugs in a dependency) are retried, boundedly
  return (
    error.code === ErrorCodes.DIRECTORY_THROTTLED ||
    error.code === ErrorCodes.DIRECTORY_UNAVAILABLE ||
    error.code === ErrorCodes.CONNECTOR_FAILED ||
    error.code === ErrorCodes.WEBHOOK_FAILED ||
    error.code === ErrorCodes.REQUEST_CONFLICT ||
    error.code === ErrorCodes.STORE_UNAVAILABLE
  );
}
