import { DomainError, ErrorCodes, type ErrorCode } from '../../domain/errors';
import type { Problem } from './problem';

interface Mapped {
  status: number;
  code: string;
  title: string;
}

/**
 * The service's refusals as the API's problems: a stable code per refusal a pipeline can act
 * on; the detail is the service's own sentence (what is wrong, what to do instead).
 */
const PROBLEMS: Partial<Record<ErrorCode, Mapped>> = {
  [ErrorCodes.GROUP_UNKNOWN]: { status: 422, code: 'target.unknown', title: 'There is no such target' },
  [ErrorCodes.NOT_ELIGIBLE]: {
    status: 403,
    code: 'auth.not_eligible',
    title: 'The requester may not ask for this target',
  },
  [ErrorCodes.DURATION_INVALID]: {
    status: 422,
    code: 'duration.invalid',
    title: 'The duration is not one Timebox takes',
  },
  [ErrorCodes.DURATION_TOO_LONG]: {
    status: 422,
    code: 'duration.too_long',
    title: 'The duration is longer than the policy allows',
  },
  [ErrorCodes.JUSTIFICATION_REQUIRED]: {
    status: 422,
    code: 'justification.required',
    title: 'Say why: this target needs a justification',
  },
  [ErrorCodes.JUSTIFICATION_TOO_LONG]: {
    status: 422,
    code: 'justification.too_long',
    title: 'The justification is too long',
  },
  [ErrorCodes.TICKET_REQUIRED]: { status: 422, code: 'ticket.required', title: 'This target needs a ticket' },
  [ErrorCodes.TICKET_INVALID]: {
    status: 422,
    code: 'ticket.invalid',
    title: 'The ticket is not of the form the policy asks for',
  },
  [ErrorCodes.REQUEST_DUPLICATE]: {
    status: 409,
    code: 'request.duplicate',
    title: 'The requester already has an open request for this target',
  },
  [ErrorCodes.REQUEST_OPEN_EXISTS]: {
    status: 409,
    code: 'request.duplicate',
    title: 'The requester already has an open request for this target',
  },
  [ErrorCodes.REQUEST_RATE_LIMITED]: {
    status: 429,
    code: 'request.rate_limited',
    title: 'Too many requests filed for this requester',
  },
  [ErrorCodes.REQUEST_NOT_FOUND]: {
    status: 404,
    code: 'request.not_found',
    title: 'There is no such request',
  },
  [ErrorCodes.REQUEST_ALREADY_RESOLVED]: {
    status: 409,
    code: 'request.wrong_state',
    title: 'The request is not in a state that allows this',
  },
  [ErrorCodes.REQUEST_ILLEGAL_TRANSITION]: {
    status: 409,
    code: 'request.wrong_state',
    title: 'The request is not in a state that allows this',
  },
  [ErrorCodes.REQUEST_CONFLICT]: {
    status: 503,
    code: 'api.unavailable',
    title: 'The request is changing right now; try again',
  },
  [ErrorCodes.STORE_UNAVAILABLE]: {
    status: 503,
    code: 'api.unavailable',
    title: 'Timebox cannot reach its store just now; nothing was changed',
  },
  [ErrorCodes.DIRECTORY_UNAVAILABLE]: {
    status: 503,
    code: 'api.unavailable',
    title: 'Timebox cannot reach the directory just now; nothing was changed',
  },
  [ErrorCodes.DIRECTORY_THROTTLED]: {
    status: 503,
    code: 'api.unavailable',
    title: 'The directory is throttling Timebox; nothing was changed',
  },
};

/** Retry-After (seconds) for the problems a retry can get past. */
function retryAfter(error: DomainError, status: number): Record<string, string> {
  if (status === 429) {
    const ms = Number(error.details.retryAfterMs);
    return { 'Retry-After': String(Math.max(1, Math.ceil((Number.isFinite(ms) ? ms : 60_000) / 1000))) };
  }
  return status === 503 ? { 'Retry-After': '5' } : {};
}

/** A DomainError as a problem and its headers; an unmapped refusal is a 422 with its sentence. */
export function problemOf(error: DomainError): { problem: Problem; headers: Record<string, string> } {
  const mapped = PROBLEMS[error.code] ?? {
    status: 422,
    code: 'request.refused',
    title: 'Timebox refused the request',
  };
  return {
    problem: { ...mapped, detail: error.message },
    headers: retryAfter(error, mapped.status),
  };
}
