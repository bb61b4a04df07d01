import { formatDuration } from '../../domain/duration';
import type { AccessRequest } from '../../domain/request';

/**
 * The answer to a `request` (typed, or from the form) for a group the person already holds:
 * the ask became an extension of that grant. A break-glass or auto-approved grant is never
 * extended without an approver, whatever the group's policy says, and the answer says why.
 */
export function overlapReply(r: AccessRequest): string {
  if (!r.pendingExtension) {
    return `You already hold ${r.group.alias}, so I extended ${r.id} instead: it now ends ${new Date(r.expiresAt!).toISOString().slice(11, 16)} UTC.`;
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
