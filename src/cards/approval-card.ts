import { Status, isAction, isClosed, pendingDecision, type AccessRequest } from '../domain/request';
import { formatDuration } from './format';
import { formatIn } from './time';
import { isUserId, plain, TextLimit } from './sanitize';
import { lookOf } from './status-style';
import {
  approvalsProgress,
  groupAlias,
  groupTitle,
  justificationText,
  requestFacts,
  requestNotes,
  runUrlOf,
  type Banner,
} from './request-view';
import { expand } from './template';
import { CardVerb } from './verbs';

export type Viewer = 'approver' | 'requester' | 'other';

export interface ApprovalCardView {
  request: AccessRequest;
  /** IANA zone the reader's times are shown in (invalid or absent: UTC). */
  timeZone?: string;
  viewer: Viewer;
  now: number;
  /** Teams user ids (29:...) of approvers and requester, for `refresh.userIds` (Teams takes ≤ 60). */
  refreshUserIds?: string[];
  /** Shown on the card, e.g. "Only approvers of db-read can approve." */
  error?: string;
  /** Approvers who are away (automatic replies on), and whether that is every one of them. */
  away?: { names: string[]; everyone: boolean };
}

export const MAX_REFRESH_USERS = 60;

function kicker(r: AccessRequest): string {
  if (isAction(r)) return `${r.kind === 'auto' ? 'AUTO-APPROVED' : 'APPROVAL REQUEST'} · ${groupAlias(r)}`;
  const kind =
    r.kind === 'break_glass'
      ? 'BREAK-GLASS ACCESS'
      : r.kind === 'auto'
        ? 'AUTO-APPROVED ACCESS'
        : 'ACCESS REQUEST';
  return `${kind} · ${groupAlias(r)}`;
}

function statusLine(r: AccessRequest, now: number): string {
  // The scheduler removes the membership a moment after expiresAt; say so rather than "Active".
  if (r.status === Status.ACTIVE && r.expiresAt !== undefined && r.expiresAt <= now)
    return 'Time is up — removing membership';
  const label = lookOf(r).label;
  if (r.status === Status.PENDING) return `${label} · ${approvalsProgress(r)}`;
  if (r.status === Status.ACTIVE && r.pendingExtension) {
    const votes = r.pendingExtension.votes.filter((v) => v.decision === 'approve').length;
    const progress = r.approvalsRequired > 1 ? ` · ${votes} of ${r.approvalsRequired} approvals` : '';
    return `${label} · extension of ${formatDuration(r.pendingExtension.addedMs)} requested${progress}`;
  }
  return label;
}

function banners(r: AccessRequest): Banner[] {
  // Why a person decides what a rule usually approves: the rule's daily budget was used up.
  const skipped = plain(r.autoApproveSkipped, TextLimit.LONG);
  if (skipped && r.status === Status.PENDING) return [{ text: skipped, style: 'emphasis' }];
  if (r.escalatedAt !== undefined && r.status === Status.PENDING)
    return [{ text: escalationBanner(r), style: 'warning' }];
  if (r.kind === 'break_glass' && !r.acknowledgedBy && r.status !== Status.PENDING) {
    return [
      {
        text: '⚡ Granted without approval (break-glass). Approvers: acknowledge it, or revoke it if it was not justified.',
        style: 'warning',
      },
    ];
  }
  if (isAction(r) && r.kind === 'auto' && r.status !== Status.PENDING)
    return [{ text: 'Approved automatically by policy; no one had to decide.', style: 'emphasis' }];
  if (r.kind === 'auto' && r.status !== Status.PENDING) {
    return [
      {
        text: 'Approved automatically by policy; no one had to decide.',
        style: 'emphasis',
      },
    ];
  }
  return [];
}

/** Who is away, while the request waits: approvers see why nobody answers, and who might. */
function awayBanners(r: AccessRequest, away: ApprovalCardView['away']): Banner[] {
  if (r.status !== Status.PENDING || !away || away.names.length === 0) return [];
  const names = away.names
    .slice(0, 5)
    .map((n) => plain(n, TextLimit.NAME))
    .join(', ');
  const more = away.names.length > 5 ? ` and ${away.names.length - 5} more` : '';
  if (away.everyone && r.escalatedAt === undefined)
    return [
      {
        text: `Every approver is away (automatic replies on): nobody is in to decide. Away: ${names}${more}.`,
        style: 'attention',
      },
    ];
  return [{ text: `Away (automatic replies on): ${names}${more}.`, style: 'emphasis' }];
}

/** What the original card says once the request escalated (who was asked, and where). */
function escalationBanner(r: AccessRequest): string {
  const why = r.escalation?.reason === 'all_away' ? 'Every approver is away' : 'Nobody decided in time';
  const where = r.escalation?.channel
    ? ` (the card is also in the ${plain(r.escalation.channel, 40)} approvers' channel)`
    : '';
  return `⇧ Escalated: ${why}, so the escalation approvers were asked too${where}. A decision on either card counts.`;
}

/** Which buttons a viewer gets; the bot re-checks every click against policy and the store. */
function actionsFor(r: AccessRequest, viewer: Viewer) {
  const approver = viewer === 'approver';
  const pending = r.status === Status.PENDING;
  const active = r.status === Status.ACTIVE;
  const extensionPending = active && !!r.pendingExtension;
  return {
    approve: approver && (pending || extensionPending),
    approveTitle: extensionPending ? 'Approve extension' : 'Approve',
    deny: approver && pending,
    denyTitle: 'Deny',
    denyExtension: approver && extensionPending,
    claim: approver && pending && !r.claimedBy,
    acknowledge: approver && r.kind === 'break_glass' && !r.acknowledgedBy && r.status !== Status.PENDING,
    revoke: approver && (active || r.status === Status.APPROVED || r.status === Status.SCHEDULED),
    // A scheduled request can be withdrawn until its start.
    cancel: viewer === 'requester' && (pending || r.status === Status.SCHEDULED),
    // What Approve and Deny decide: the server refuses them once another decision is pending.
    subject: pendingDecision(r) ?? 'request',
  };
}

/**
 * The approval card in the approvers' channel, for every state and every viewer: the first
 * post, every update for everyone (viewer `other`) and each user-specific refresh.
 */
export function renderApprovalCard(view: ApprovalCardView): object {
  const { request: r, now } = view;
  const look = lookOf(r);
  const card = expand('approval', {
    requestId: r.id,
    header: {
      icon: look.icon,
      style: look.style,
      kicker: kicker(r),
      title: groupTitle(r),
      status: statusLine(r, now),
    },
    banners: [...banners(r), ...awayBanners(r, view.away)],
    facts: requestFacts(r, { timeZone: view.timeZone }),
    justification: justificationText(r),
    notes: requestNotes(r, view.timeZone),
    error: plain(view.error, TextLimit.SHORT),
    footer: `Request ${plain(r.id, 64)} · updated ${formatIn(r.updatedAt, view.timeZone)}`,
    actions: actionsFor(r, view.viewer),
    runUrl: runUrlOf(r) ?? '',
  });
  const userIds = [...new Set(view.refreshUserIds ?? [])].filter(isUserId).slice(0, MAX_REFRESH_USERS);
  // A closed break-glass grant still needs an approver's acknowledgement, so it keeps refreshing.
  const live = !isClosed(r.status) || (r.kind === 'break_glass' && !r.acknowledgedBy);
  if (userIds.length > 0 && live) {
    card.refresh = {
      action: { type: 'Action.Execute', verb: CardVerb.REFRESH, data: { requestId: r.id } },
      userIds,
    };
  }
  return card;
}
