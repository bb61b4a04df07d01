import { Status, isAction, type AccessRequest } from '../domain/request';
import type { GroupRules } from '../domain/policy';
import { defaultChoice, extensionChoices } from './durations';
import { formatDuration } from './format';
import { formatIn } from './time';
import { plain, TextLimit } from './sanitize';
import { lookOf } from './status-style';
import {
  approvalsProgress,
  groupAlias,
  groupTitle,
  justificationText,
  requestFacts,
  requestNotes,
  type Banner,
} from './request-view';
import { expand } from './template';

export interface ReceiptCardView {
  request: AccessRequest;
  /** IANA zone the reader's times are shown in (invalid or absent: UTC). */
  timeZone?: string;
  now: number;
  error?: string;
  /** The group's rules, when known, cap the Extend choices; the bot checks the caps anyway. */
  rules?: GroupRules;
}

function statusLine(r: AccessRequest, now: number): string {
  // The scheduler removes the membership a moment after expiresAt; say so rather than "Active".
  if (r.status === Status.ACTIVE && r.expiresAt !== undefined && r.expiresAt <= now)
    return 'Time is up — removing membership';
  const label = lookOf(r).label;
  if (r.status === Status.PENDING) return `${label} · ${approvalsProgress(r)}`;
  if (r.status === Status.ACTIVE && r.pendingExtension)
    return `${label} · extension of ${formatDuration(r.pendingExtension.addedMs)} waiting for approval`;
  return label;
}

function banners(r: AccessRequest): Banner[] {
  const skipped = plain(r.autoApproveSkipped, TextLimit.LONG);
  if (skipped && r.status === Status.PENDING) return [{ text: skipped, style: 'emphasis' }];
  if (r.status === Status.FAILED)
    return [
      { text: isAction(r) ? 'It was not approved.' : 'You were not given access.', style: 'attention' },
    ];
  if (r.kind === 'break_glass' && r.status === Status.ACTIVE) {
    return [
      {
        text: '⚡ Break-glass access: the approvers have been alerted and will review it.',
        style: 'warning',
      },
    ];
  }
  return [];
}

/** The requester's own card in personal chat: what they asked for and where it stands now. */
export function renderReceiptCard(view: ReceiptCardView): object {
  const { request: r, now } = view;
  const look = lookOf(r);
  const active = r.status === Status.ACTIVE;
  const choices = active && !r.pendingExtension ? extensionChoices(r, view.rules) : [];
  return expand('receipt', {
    requestId: r.id,
    header: {
      icon: look.icon,
      style: look.style,
      kicker: `${isAction(r) ? 'YOUR APPROVAL REQUEST' : 'YOUR ACCESS REQUEST'} · ${groupAlias(r)}`,
      title: groupTitle(r),
      status: statusLine(r, now),
    },
    banners: banners(r),
    facts: requestFacts(r, { requester: false, timeZone: view.timeZone }),
    justification: justificationText(r),
    notes: requestNotes(r, view.timeZone),
    error: plain(view.error, TextLimit.SHORT),
    footer: `Request ${plain(r.id, 64)} · updated ${formatIn(r.updatedAt, view.timeZone)}`,
    extendChoices: choices,
    extendDefault: defaultChoice(choices, formatDuration(r.durationMs)),
    // An approved action can be ended ("done") like a grant; it is never extended.
    actions: {
      cancel: r.status === Status.PENDING || r.status === Status.SCHEDULED,
      extend: choices.length > 0,
      release: active || (isAction(r) && r.status === Status.APPROVED),
      releaseTitle: isAction(r) ? 'Done — end the approval' : 'Release now',
    },
  });
}
