import { randomUUID } from 'node:crypto';

/** A failure the local directory answers in Graph's error shape and status code. */
export class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GraphFailure';
  }
}

/** Graph's error body: `{"error":{"code","message","innerError":{date,request-id,client-request-id}}}`. */
export function graphErrorBody(code: string, message: string, clientRequestId?: string): unknown {
  const requestId = randomUUID();
  return {
    error: {
      code,
      message,
      innerError: {
        date: new Date().toISOString().slice(0, 19),
        'request-id': requestId,
        'client-request-id': clientRequestId ?? requestId,
      },
    },
  };
}

// The texts below are the ones Microsoft Graph sends (as documented and reported in
// Microsoft's docs and issue threads), so that the adapter is tested against the real wording.
export const notFound = (id: string) =>
  new GraphFailure(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );

export const alreadyMember = () =>
  new GraphFailure(
    400,
    'Request_BadRequest',
    "One or more added object references already exist for the following modified properties: 'members'.",
  );

export const notMember = () =>
  new GraphFailure(
    404,
    'Request_ResourceNotFound',
    "One or more removed object references do not exist for the following modified properties: 'members'.",
  );

/** What Graph answers for mailbox settings of a user with no Exchange Online mailbox (unlicensed, on-premises). */
export const mailboxNotEnabled = () =>
  new GraphFailure(
    404,
    'MailboxNotEnabledForRESTAPI',
    'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
  );

export const insufficientPrivileges = () =>
  new GraphFailure(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

export const badRequest = (message: string) => new GraphFailure(400, 'Request_BadRequest', message);

/** Default bodies for statuses that fault injection answers with. */
export function faultFailure(status: number, retryAfterSeconds?: number): GraphFailure {
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
  switch (status) {
    case 429:
      return new GraphFailure(429, 'TooManyRequests', 'Too many requests.', headers);
    case 503:
      return new GraphFailure(503, 'serviceNotAvailable', 'The service is temporarily unavailable.', headers);
    case 504:
      return new GraphFailure(504, 'gatewayTimeout', 'The gateway timed out.', headers);
    case 403:
      return insufficientPrivileges();
    case 401:
      return new GraphFailure(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    case 500:
      return new GraphFailure(500, 'generalException', 'An unspecified error has occurred.');
    default:
      return new GraphFailure(status, 'UnknownError', `Injected failure with status ${status}.`, headers);
  }
}
