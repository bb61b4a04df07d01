import { Status, pendingDecision, type AccessRequest } from '../domain/request';
import { formatDuration, relative } from './format';
import { formatIn, formatShortIn, formatWhenIn } from './time';
import { plain, TextLimit } from './sanitize';
import { approvalsText, groupWithAlias, personWithUpn, type Fact } from './request-view';
import { listRefresh } from './list-refresh';
import { expand } from './template';

export interface PendingCardView {
  requests: AccessRequest[];
  now: number;
  /** IANA zone of the viewer (a person's, or the approver channel's); invalid or absent: UTC. */
  timeZone?: string;
  /** The viewer's Teams id (29:...): Teams fetches the list again from the bot when they view it. */
  refreshUserId?: string;
  /** Shown on the card, e.g. why a click on it changed nothing. */
  error?: string;
}

/** The requests a pending list shows, in its order (the ones its card's buttons act on). */
export function pendingShown(requests: AccessRequest[]): AccessRequest[] {
  return [...requests].sort((a, b) => a.createdAt - b.createdAt).slice(0, MAX_SHOWN);
}

// Keeps the card far below Teams' 28 KB limit during a storm of requests.
const MAX_SHOWN = 8;

function facts(r: AccessRequest, now: number, timeZone: string | undefined): Fact[] {
  const out: Fact[] = [];
  const ext = r.status === Status.ACTIVE ? r.pendingExtension : undefined;
  if (ext) {
    out.push({ label: 'Extension', value: `+${formatDuration(ext.addedMs)}` });
    if (r.expiresAt !== undefined)
      out.push({ label: 'Now ends', value: formatWhenIn(r.expiresAt, now, timeZone) });
    out.push({ label: 'Asked', value: `${formatShortIn(ext.at, now, timeZone)} (${relative(ext.at, now)})` });
  } else {
    out.push({ label: 'Duration', value: formatDuration(r.durationMs) });
    out.push({
      label: 'Requested',
      value: `${formatShortIn(r.createdAt, now, timeZone)} (${relative(r.createdAt, now)})`,
    });
    out.push({ label: 'Approvals', value: approvalsText(r) });
  }
  if (r.ticket) out.push({ label: 'Ticket', value: plain(r.ticket, TextLimit.TICKET) });
  if (r.claimedBy && !ext) out.push({ label: 'Reviewing', value: plain(r.claimedBy.name, TextLimit.NAME) });
  return out;
}

/** `pending`: the requests (and extension requests) an approver can decide now. */
export function renderPendingCard(view: PendingCardView): object {
  const { now } = view;
  const shown = pendingShown(view.requests);
  const hidden = view.requests.length - shown.length;
  const n = view.requests.length;
  const card = expand('pending', {
    style: n > 0 ? 'warning' : 'emphasis',
    summary: n === 0 ? 'All caught up' : `${n} request${n === 1 ? '' : 's'} waiting`,
    requests: shown.map((r) => {
      const extension = r.status === Status.ACTIVE && r.pendingExtension;
      return {
        requestId: r.id,
        requester: personWithUpn(r.requester),
        group: extension ? `${groupWithAlias(r)} — extension` : groupWithAlias(r),
        facts: facts(r, now, view.timeZone),
        justification: plain(extension ? r.pendingExtension?.reason : r.justification, 200, true),
        // Each row's buttons name the decision it shows; the bot refuses them once it has changed.
        subject: pendingDecision(r) ?? 'request',
        approveTitle: extension ? 'Approve extension' : 'Approve',
      };
    }),
    more: hidden > 0 ? `…and ${hidden} more, oldest first. Decide these to see the rest.` : '',
    error: plain(view.error, TextLimit.SHORT),
    footer: `As of ${formatIn(now, view.timeZone)}`,
  });
  return listRefresh(card, 'pending', view.refreshUserId);
}
