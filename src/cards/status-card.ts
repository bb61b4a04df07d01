import { Status, type AccessRequest } from '../domain/request';
import type { Delegation } from '../domain/delegation';
import type { GroupRules } from '../domain/policy';
import { defaultChoice, extensionChoices } from './durations';
import { formatDuration } from './format';
import { formatIn, formatShortIn, formatWhenIn } from './time';
import { plain, TextLimit } from './sanitize';
import { lookOf } from './status-style';
import { approvalsProgress, groupWithAlias } from './request-view';
import { listRefresh } from './list-refresh';
import { expand } from './template';

export interface StatusCardView {
  open: AccessRequest[];
  recent: AccessRequest[];
  now: number;
  /** IANA zone of the viewer (a person's, or the approver channel's); invalid or absent: UTC. */
  timeZone?: string;
  /** Rules by group alias, when known, cap the Extend choices. */
  rules?: Record<string, GroupRules>;
  /** The viewer's Teams id (29:...): Teams fetches the list again from the bot when they view it. */
  refreshUserId?: string;
  /** Shown on the card, e.g. why a click on it changed nothing. */
  error?: string;
  /** The viewer's delegations holding now: the one they gave, and the ones they hold (`delegate to …`). */
  delegation?: { given?: Delegation; received: readonly Delegation[] };
}

/** One line per delegation: whom the viewer's approvals go to, and whom they stand in for, until when. */
function delegationLines(view: StatusCardView): Array<{ text: string }> {
  const until = (d: Delegation) => formatWhenIn(d.until, view.now, view.timeZone);
  const given = view.delegation?.given;
  return [
    ...(given
      ? [{ text: `Your approvals go to ${plain(given.to.name, TextLimit.NAME)} until ${until(given)}.` }]
      : []),
    ...(view.delegation?.received ?? []).slice(0, MAX_RECENT).map((d) => ({
      text: `You stand in for ${plain(d.from.name, TextLimit.NAME)} until ${until(d)}.`,
    })),
  ];
}

/** The open requests a status card shows, in its order (the ones its buttons act on). */
export function statusShown(open: AccessRequest[]): AccessRequest[] {
  // Access someone holds now matters more than what they are waiting for.
  const rank = (r: AccessRequest): number => (r.status === Status.PENDING ? 1 : 0);
  return [...open].sort((a, b) => rank(a) - rank(b) || a.createdAt - b.createdAt).slice(0, MAX_OPEN);
}

// Keeps the card far below Teams' 28 KB limit whatever a person has accumulated.
const MAX_OPEN = 8;
const MAX_RECENT = 5;

function openDetail(r: AccessRequest, now: number, timeZone: string | undefined): string {
  const added = r.extensions.reduce((sum, e) => sum + e.addedMs, 0);
  const parts = [
    added > 0
      ? `${formatDuration(r.durationMs)} (+${formatDuration(added)} extended)`
      : formatDuration(r.durationMs),
  ];
  if (r.status === Status.ACTIVE && r.expiresAt !== undefined)
    parts.push(`until ${formatWhenIn(r.expiresAt, now, timeZone)}`);
  if (r.status === Status.PENDING)
    parts.push(`requested ${formatShortIn(r.createdAt, now, timeZone)}`, approvalsProgress(r));
  if (r.pendingExtension)
    parts.push(`extension of ${formatDuration(r.pendingExtension.addedMs)} waiting for approval`);
  if (r.ticket) parts.push(plain(r.ticket, 60));
  return parts.join(' · ');
}

function openItem(r: AccessRequest, now: number, rules: GroupRules | undefined, timeZone?: string) {
  const look = lookOf(r);
  const active = r.status === Status.ACTIVE;
  const choices = active && !r.pendingExtension ? extensionChoices(r, rules) : [];
  return {
    requestId: r.id,
    icon: look.icon,
    group: groupWithAlias(r),
    status: look.label,
    detail: openDetail(r, now, timeZone),
    cancel: r.status === Status.PENDING,
    extend: choices.length > 0,
    release: active,
    extendChoices: choices,
    extendDefault: defaultChoice(choices, formatDuration(r.durationMs)),
  };
}

/** `status` / `my access`: one's pending requests and active grants, with their buttons. */
export function renderStatusCard(view: StatusCardView): object {
  const { now } = view;
  const open = statusShown(view.open);
  const hidden = view.open.length - open.length;
  const active = view.open.filter((r) => r.status === Status.ACTIVE || r.status === Status.APPROVED).length;
  const pending = view.open.length - active;
  const summary =
    view.open.length === 0
      ? 'Nothing open'
      : [active ? `${active} active` : '', pending ? `${pending} pending` : ''].filter(Boolean).join(' · ');
  const card = expand('status', {
    summary,
    open: open.map((r) => openItem(r, now, view.rules?.[r.group.alias], view.timeZone)),
    more: hidden > 0 ? `…and ${hidden} more not shown.` : '',
    delegations: delegationLines(view),
    recent: view.recent.slice(0, MAX_RECENT).map((r) => {
      const look = lookOf(r);
      return {
        icon: look.icon,
        group: groupWithAlias(r),
        status: r.status === Status.TIMED_OUT ? 'timed out' : r.status,
        when: formatShortIn(r.updatedAt, now, view.timeZone),
      };
    }),
    error: plain(view.error, TextLimit.SHORT),
    footer: `As of ${formatIn(now, view.timeZone)}`,
  });
  return listRefresh(card, 'status', view.refreshUserId);
}
