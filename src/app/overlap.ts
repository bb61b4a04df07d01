import { formatDuration } from '../domain/duration';
import { DomainError, ErrorCodes } from '../domain/errors';
import type { AccessRequest } from '../domain/request';
import { formatShortIn } from '../cards/time';

/**
 * The refusal of a request for a group the person holds while an extension of that grant is
 * already waiting. NB: the person asked for a new request, not an extension, so "an extension
 * is already waiting" alone puzzles them: say what they hold, until when, and what became of
 * this ask (nothing was filed).
 */
export function overlapWaitingError(active: AccessRequest, now: number, timeZone?: string): DomainError {
  const how =
    active.kind === 'break_glass' ? ' by break-glass' : active.kind === 'auto' ? ' by auto-approval' : '';
  const until =
    active.expiresAt === undefined ? '' : `, until ${formatShortIn(active.expiresAt, now, timeZone)}`;
  const more = active.pendingExtension ? ` (${formatDuration(active.pendingExtension.addedMs)} more)` : '';
  return new DomainError(
    ErrorCodes.REQUEST_DUPLICATE,
    `You already hold ${active.group.alias}${how} (request ${active.id}${until}), so a new request for it would be an extension of that grant; one${more} is already waiting for the approvers. Nothing new was filed: wait for their decision ("status" shows it).`,
    { requestId: active.id },
  );
}

/** The refusal of break-glass for a group the person already holds: the end in their zone. */
export function breakGlassNotNeededError(active: AccessRequest, now: number, timeZone?: string): DomainError {
  const until =
    active.expiresAt === undefined ? '' : `, until ${formatShortIn(active.expiresAt, now, timeZone)}`;
  return new DomainError(
    ErrorCodes.REQUEST_DUPLICATE,
    `You already hold ${active.group.alias} (request ${active.id}${until}); no break-glass is needed. Extend it with "extend ${active.group.alias} by <duration>" if you need more time.`,
  );
}
