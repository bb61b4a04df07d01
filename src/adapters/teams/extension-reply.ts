import { formatDuration } from '../../domain/duration';
import type { AccessRequest } from '../../domain/request';
import { formatIn } from '../../cards/time';

/**
 * The answer to a `request` (typed, or from the form) for a group the person already holds:
 * the ask became an extension of that grant. A break-glass or auto-approved grant is never
 * extended without an approver, whatever the group's policy says, and the answer says why.
 */
export function overlapReply(r: AccessRequest, timeZone?: string): string {
  if (!r.pendingExtension) {
    return `You already hold ${r.group.alias}, so I extended ${r.id} instead: it now ends ${endOf(r, timeZone)}.`;
  }
  const asked = `I asked the approvers to extend ${r.id} by ${formatDuration(r.pendingExtension.addedMs)}`;
  const how =
    r.kind === 'break_glass' ? 'by break-glass' : r.kind === 'auto' ? 'by auto-approval' : undefined;
  return how
    ? `You hold ${r.group.alias} ${how}, so more time needs an approver: ${asked}.`
    : `You already hold ${r.group.alias}, so ${asked} instead.`;
}

/** The answer to a `request` filed outside personal chat (typed, or from the form): the rest comes in personal chat. */
export function filedElsewhereReply(r: AccessRequest): string {
  return `Filed ${r.id} for ${r.group.alias} (${formatDuration(r.durationMs)}). I'll keep you posted in our personal chat.`;
}

/** The answer to `extend` when the approvers must decide: it is the only message the requester gets now. */
export function extensionAskedReply(r: AccessRequest): string {
  const added = r.pendingExtension ? ` by ${formatDuration(r.pendingExtension.addedMs)}` : '';
  return `Asked the approvers of ${r.group.alias} to extend ${r.id}${added}. I'll tell you in our personal chat when they decide.`;
}

/** The answer to `extend` typed outside personal chat: the "Access extended" card goes to personal chat. */
export function extendedElsewhereReply(r: AccessRequest, timeZone?: string): string {
  return `Extended ${r.id}: ${r.group.alias} now ends ${endOf(r, timeZone)}.`;
}

/**
 * The new end in the reader's zone, with its date: a reply stays in the chat as written, so
 * no "in 45m" that would be wrong by the time it is read again.
 */
const endOf = (r: AccessRequest, timeZone: string | undefined): string =>
  r.expiresAt === undefined ? 'when the membership is added' : formatIn(r.expiresAt, timeZone);

/**
 * The answer to `release`: the removal is queued, not done, so say it is under way; the
 * worker confirms in personal chat once the directory has removed the membership.
 */
export function releaseReply(r: AccessRequest, personal: boolean): string {
  const where = personal ? 'here' : 'in our personal chat';
  return `Released ${r.id}: removing you from ${r.group.alias} now. I'll confirm ${where} once the membership is gone.`;
}
