import type { GroupRules } from '../domain/policy';
import { formatDuration } from './format';
import { plain, TextLimit } from './sanitize';

export const groupName = (g: GroupRules): string =>
  plain(g.displayName, TextLimit.GROUP) || plain(g.alias, 40);

/** A group's rules in one line: `up to 4h · 2 approvals · ticket required · break-glass`. */
export function groupRulesText(g: GroupRules): string {
  const parts = [`up to ${formatDuration(g.maxDurationMs)}`];
  parts.push(g.approvals === 1 ? '1 approval' : `${g.approvals} approvals`);
  if (g.requireTicket) parts.push('ticket required');
  if (g.autoApprove)
    parts.push(`auto-approved for on-call up to ${formatDuration(g.autoApprove.maxDurationMs)}`);
  if (g.breakGlass) parts.push(`break-glass up to ${formatDuration(g.breakGlass.maxDurationMs)}`);
  return parts.join(' · ');
}
