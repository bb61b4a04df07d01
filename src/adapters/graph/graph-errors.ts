import { DomainError, ErrorCodes } from '../../domain/errors';
import { retryAfterMs, TransportErrorNames } from './retry-middleware';

/** What Timebox needs to know about a failed Graph call, whatever threw it. */
export interface GraphFailureInfo {
  /** HTTP status; -1 when no answer came (transport or credential failure). */
  status: number;
  /** Graph's error code ("Authorization_RequestDenied"), or the thrown error's name. */
  code: string;
  message: string;
  requestId?: string;
  retryAfterMs?: number;
}

export const Permissions = {
  groupMembers: 'GroupMember.ReadWrite.All',
  roleAssignable: 'RoleManagement.ReadWrite.Directory',
  readUsers: 'User.Read.All',
  readGroups: 'GroupMember.Read.All',
  /** Service principals (machine requesters): reading them and their group memberships. */
  readApplications: 'Application.Read.All',
  pim: 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup',
  /** Ending a person's sign-in sessions after a removal (policy `revokeSessionsOnEnd`). */
  revokeSessions: 'User.RevokeSessions.All',
  /** Optional: reading automatic replies (out of office); without it everyone is `unknown`. */
  mailboxSettings: 'MailboxSettings.Read',
} as const;

const TOKEN_ENDPOINT_DOWN =
  /network_error|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|status code 5\d\d|\b50[234]\b/i;
const CREDENTIAL_ERRORS = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);

/** Reads a GraphError (or anything thrown by the Graph client's chain) into plain fields. */
export function describeGraphError(error: unknown): GraphFailureInfo {
  const e = (error ?? {}) as {
    statusCode?: unknown;
    code?: unknown;
    name?: unknown;
    message?: unknown;
    requestId?: unknown;
    headers?: unknown;
    body?: unknown;
  };
  const status = typeof e.statusCode === 'number' ? e.statusCode : -1;
  // PIM (identityGovernance) answers some refusals in another shape: {"errorCode","message","instanceAnnotations"}.
  const pimBody =
    typeof e.body === 'object' && e.body !== null
      ? (e.body as { errorCode?: unknown; message?: unknown })
      : undefined;
  const pimCode = typeof pimBody?.errorCode === 'string' ? pimBody.errorCode : undefined;
  const code =
    pimCode ??
    (typeof e.code === 'string' && e.code ? e.code : typeof e.name === 'string' ? e.name : 'Unknown');
  const message =
    pimCode !== undefined
      ? String(pimBody?.message ?? '')
      : typeof e.message === 'string'
        ? e.message
        : String(error);
  const headers = e.headers as { get?: (name: string) => string | null } | undefined;
  const retryAfter =
    typeof headers?.get === 'function' ? retryAfterMs(headers.get('Retry-After')) : undefined;
  return {
    status,
    code,
    message,
    requestId: typeof e.requestId === 'string' ? e.requestId : undefined,
    retryAfterMs: retryAfter,
  };
}

/** One answer inside a `$batch` response: `{ id, status, headers, body }`. */
export interface BatchItemAnswer {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A header of a batch item, by name in any case. */
export function batchItemHeader(item: BatchItemAnswer, name: string): string | null {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(item.headers ?? {}))
    if (key.toLowerCase() === wanted) return String(value);
  return null;
}

/** Reads a failed `$batch` item into the same fields a failed single call gives (`describeGraphError`). */
export function describeBatchItem(item: BatchItemAnswer): GraphFailureInfo {
  const error = (
    item.body as
      { error?: { code?: unknown; message?: unknown; innerError?: Record<string, unknown> } } | undefined
  )?.error;
  const requestId = error?.innerError?.['request-id'];
  return {
    status: item.status,
    code: typeof error?.code === 'string' ? error.code : 'Unknown',
    message: typeof error?.message === 'string' ? error.message : `HTTP ${item.status}`,
    requestId: typeof requestId === 'string' ? requestId : undefined,
    retryAfterMs: retryAfterMs(batchItemHeader(item, 'Retry-After')),
  };
}

function details(info: GraphFailureInfo, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    status: info.status,
    graphCode: info.code,
    graphMessage: info.message,
    requestId: info.requestId,
    ...extra,
  };
}

/**
 * The failures that mean the same whatever the call was: throttling past the retry budget,
 * outages and timeouts, credential problems. Undefined for the ones the caller must judge
 * (403, 404, 400), which depend on the group and the operation.
 */
export function commonDomainError(info: GraphFailureInfo): DomainError | undefined {
  if (info.status === 429) {
    const wait =
      info.retryAfterMs === undefined
        ? ''
        : ` (Graph asked to wait ${Math.ceil(info.retryAfterMs / 1000)} s)`;
    return new DomainError(
      ErrorCodes.DIRECTORY_THROTTLED,
      `Microsoft Graph is throttling Timebox and the retry budget is spent${wait}; the change will be retried later.`,
      details(info, { retryAfterMs: info.retryAfterMs }),
    );
  }
  if (
    info.status >= 500 ||
    info.code === TransportErrorNames.timeout ||
    info.code === TransportErrorNames.network
  ) {
    return new DomainError(
      ErrorCodes.DIRECTORY_UNAVAILABLE,
      `Microsoft Graph is unavailable (${info.status > 0 ? `HTTP ${info.status}` : info.message}); the change will be retried.`,
      details(info, { retryAfterMs: info.retryAfterMs }),
    );
  }
  if (CREDENTIAL_ERRORS.has(info.code) && TOKEN_ENDPOINT_DOWN.test(info.message)) {
    // The sign-in endpoint (or the managed identity endpoint) did not answer: an outage, not a misconfiguration.
    return new DomainError(
      ErrorCodes.DIRECTORY_UNAVAILABLE,
      `Timebox cannot reach the Microsoft Entra sign-in endpoint to get a Graph token (${info.message.split('\n')[0]}); the change will be retried.`,
      details(info),
    );
  }
  if (CREDENTIAL_ERRORS.has(info.code)) {
    return new DomainError(
      ErrorCodes.DIRECTORY_AUTH,
      `Timebox cannot get a token for Microsoft Graph: ${info.message.split('\n')[0]} Check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET / AZURE_CLIENT_CERTIFICATE_PATH (or the managed identity); run \`timebox directory check\`.`,
      details(info),
    );
  }
  if (info.status === 401) {
    return new DomainError(
      ErrorCodes.DIRECTORY_AUTH,
      `Microsoft Graph refused Timebox's token (${info.code}: ${info.message}). Check that the credential belongs to the right tenant and that GRAPH_BASE_URL matches its cloud; run \`timebox directory check\`.`,
      details(info),
    );
  }
  if (info.status === -1) {
    return new DomainError(
      ErrorCodes.DIRECTORY_UNAVAILABLE,
      `Microsoft Graph call failed: ${info.message}`,
      details(info),
    );
  }
  return undefined;
}

export function permissionError(info: GraphFailureInfo, message: string, permission: string): DomainError {
  return new DomainError(ErrorCodes.DIRECTORY_PERMISSION, message, details(info, { permission }));
}

export function groupNotFound(info: GraphFailureInfo, groupId: string): DomainError {
  return new DomainError(
    ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
    `Group ${groupId} does not exist in Entra ID (or was deleted): fix its groupId in the policy file.`,
    details(info, { groupId }),
  );
}

export function userNotFound(info: GraphFailureInfo, userId: string): DomainError {
  return new DomainError(
    ErrorCodes.DIRECTORY_USER_NOT_FOUND,
    `User (or service principal) ${userId} does not exist in Entra ID (or was deleted).`,
    details(info, { userId }),
  );
}

export function dynamicGroup(info: GraphFailureInfo, groupId: string): DomainError {
  return new DomainError(
    ErrorCodes.DIRECTORY_DYNAMIC_GROUP,
    `Group ${groupId} has dynamic membership: its members come from a rule and cannot be added or removed. Use an assigned security group for Timebox.`,
    details(info, { groupId }),
  );
}

export function invalidRequest(info: GraphFailureInfo, what: string): DomainError {
  return new DomainError(
    ErrorCodes.DIRECTORY_INVALID,
    `Microsoft Graph refused to ${what}: ${info.message} (${info.code})`,
    details(info),
  );
}

/** Whether a 404 names this object ("Resource '{id}' does not exist ..."). */
export function namesObject(info: GraphFailureInfo, id: string): boolean {
  return info.message.toLowerCase().includes(`'${id.toLowerCase()}'`);
}
