import { DomainError, ErrorCodes, type ErrorCode } from '../domain/errors';
import type { Person } from '../domain/request';
import type { Logger } from '../ports/logger';
import type { AccessService } from './access-service';

/**
 * Refusals of who someone is or what they may do: audited whatever the action, from chat or
 * from a card. ALREADY_VOTED is one of them: a second vote by the same approver is someone
 * trying to count twice towards `approvals`, which an auditor wants to see wherever it came from.
 */
const AUTHORIZATION_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.NOT_APPROVER,
  ErrorCodes.NOT_REQUESTER,
  ErrorCodes.NOT_ADMIN,
  ErrorCodes.SELF_APPROVAL,
  ErrorCodes.ALREADY_VOTED,
  ErrorCodes.NOT_ELIGIBLE,
  ErrorCodes.WRONG_TENANT,
  ErrorCodes.UNAUTHENTICATED,
  ErrorCodes.REQUEST_RATE_LIMITED,
]);

/**
 * Actions that change a request, by the name both the card verbs (cards/verbs.ts) and the chat
 * commands give them: every refusal of one is audited, whatever the reason (stale, forged, not
 * allowed), except a dependency failing under it.
 */
const CHANGING_ACTIONS: ReadonlySet<string> = new Set([
  'approve',
  'deny',
  'cancel',
  'extend',
  'release',
  'revoke',
  'acknowledge',
  'claim',
]);

/** A directory, store or connector failing: logged and retried, not a refusal of the person. */
const DEPENDENCY_FAILURE = /^(DIRECTORY|STORE|CONNECTOR)\./;

/**
 * Whether an error is Timebox saying no to a person (written to the audit log as `refused`),
 * rather than a dependency failing (logged). `action`: the card verb or chat command that was
 * refused ("message" when the message was not a command at all).
 */
export function isAuditedRefusal(action: string, error: unknown): error is DomainError {
  if (!(error instanceof DomainError)) return false;
  if (AUTHORIZATION_CODES.has(error.code)) return true;
  return CHANGING_ACTIONS.has(action) && !DEPENDENCY_FAILURE.test(error.code);
}

export interface Refusal {
  /** The card verb or chat command refused ("message" when it was not a command). */
  action: string;
  error: unknown;
  requestId?: string;
  /** Who was refused, once known; before that, `detail` says who the activity claimed to be. */
  actor?: Person;
  detail?: Record<string, unknown>;
}

/**
 * Writes a refusal to the audit log when it is one (isAuditedRefusal); a store that cannot
 * take it is logged, and the person still gets their answer. Every adapter refuses through here.
 */
export async function auditIfRefused(
  service: Pick<AccessService, 'auditRefusal'>,
  logger: Logger,
  refusal: Refusal,
): Promise<void> {
  if (!isAuditedRefusal(refusal.action, refusal.error)) return;
  await service
    .auditRefusal(refusal.requestId, refusal.actor, refusal.action, refusal.error, refusal.detail)
    .catch((e: unknown) => logger.error({ err: e }, 'could not audit a refusal'));
}
