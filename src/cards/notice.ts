import type { GroupRules } from '../domain/policy';
import { describeStatus, isAction, sameId, type AccessRequest, type Extension } from '../domain/request';
import { actionNoticeText } from './action-notice';
import { reasonLine, type NoticeKind, type NoticeText, type NoticeTimes } from './notice-kinds';
import type { Mention, OutgoingMessage } from '../ports/notifier';
import { defaultChoice, extensionChoices } from './durations';
import { formatDuration, humanSpan } from './format';
import { failureAdvice, groupTitle, groupWithAlias, namesText, personName } from './request-view';
import { mentionName, plain, TextLimit } from './sanitize';
import { BREAK_GLASS_ICON } from './status-style';
import { expand } from './template';
import { formatIn, formatWhenIn } from './time';

export { NOTICE_KINDS, type NoticeKind } from './notice-kinds';

export interface NoticeView {
  request: AccessRequest;
  now: number;
  audience: 'channel' | 'requester';
  /** People to @mention (e.g. approvers in a reminder); carried in the card's msteams.entities. */
  mentions?: Mention[];
  /** The group's rules, when known, cap the Extend choices of an expiry warning. */
  rules?: GroupRules;
  /** Facts the request does not keep: who denied an extension, why, and how much was asked. */
  detail?: { by?: string; reason?: string; added?: string };
  /** The reader's IANA zone: the requester's (from Teams) or the approver channel's; UTC when unknown. */
  timeZone?: string;
}

function timesFor(now: number, timeZone: string | undefined): NoticeTimes {
  return {
    now,
    at: (ms) => formatIn(ms, timeZone),
    endOf: (r) =>
      r.expiresAt === undefined ? 'when the membership is added' : formatWhenIn(r.expiresAt, now, timeZone),
  };
}

const MAX_MENTIONS = 20;

/** "Extended by 15m, asked by …, approved by …": who asked is said unless it is the reader. */
function extensionLine(r: AccessRequest, last: Extension, toChannel: boolean): string {
  const self = sameId(last.by.id, r.requester.id);
  const asked = toChannel || !self ? `, asked by ${personName(last.by)}` : '';
  const approvers = namesText(last.approvedBy ?? []);
  return `Extended by ${formatDuration(last.addedMs)}${asked}${approvers ? `, approved by ${approvers}` : ''}.`;
}

/**
 * The requester's confirmation of a release, sent once the directory removal is done (see
 * effects.ts: it follows member_removed / member_kept), so it can say the membership is gone.
 */
function releasedLines(
  r: AccessRequest,
  group: string,
  times: NoticeTimes,
  detail: NoticeView['detail'] = {},
): string[] {
  const first = `You released ${group}.`;
  if (r.standingMember)
    return [`${first} You were a member before Timebox added you, so that membership stays.`];
  const kept = plain(detail.reason, TextLimit.SHORT);
  if (kept) return [`${first} Your membership stays: it is ${kept}.`];
  if (r.membershipRemovedAt === undefined)
    return [`${first} Your membership is being removed; you will get a confirmation here.`];
  return [`${first} Your membership was removed at ${times.at(r.membershipRemovedAt)}.`];
}

/**
 * The requester's "Access ends soon" once the grant is over (updated in place, see effects.ts):
 * that the warning is out of date, what ended the grant and when, and no Extend / Release,
 * which would only be refused now. NB: worded apart from the "Access expired" notice that
 * follows it, so the two messages do not read as one said twice.
 */
function warningAfterEnd(r: AccessRequest, group: string, times: NoticeTimes): NoticeText {
  const at = times.at(r.resolution?.at ?? r.expiresAt ?? times.now);
  const by = personName(r.resolution?.by);
  const how: Partial<Record<AccessRequest['status'], string>> = {
    expired: `Your access to ${group} ended at ${times.at(r.expiresAt ?? times.now)}.`,
    released: `You released ${group} at ${at}.`,
    revoked: `${by} revoked your access to ${group} at ${at}.`,
  };
  return {
    icon: '○',
    title: 'Access ended',
    style: 'emphasis',
    lines: [
      `This warning is out of date. ${how[r.status] ?? `Your grant of ${group} is ${describeStatus(r.status)}.`}`,
      'There is nothing to extend or release any more. Request it again if you still need access.',
    ],
  };
}

/** "Access expired — membership removed at …": the end and what became of the membership. */
function expiredLine(r: AccessRequest, group: string, times: NoticeTimes, whose: string): string {
  const end = times.at(r.expiresAt ?? times.now);
  if (r.standingMember)
    return `${whose} grant for ${group} expired at ${end} — the standing membership was kept.`;
  const removed = times.at(r.membershipRemovedAt ?? r.expiresAt ?? times.now);
  return `${whose} access to ${group} expired — membership removed at ${removed}.`;
}

/** A decision against the requester (a denial, a revocation): what was decided, and why. */
function decidedAgainst(
  look: Pick<NoticeText, 'icon' | 'title'>,
  sentence: string,
  reason: string | undefined,
): NoticeText {
  return { ...look, style: 'attention', lines: [sentence, ...reasonLine(reason)] };
}

/** An extension clears `warnedAt`: the next warning, not this one, is about the new end. */
const extendedSinceWarning = (r: AccessRequest): boolean =>
  r.warnedAt === undefined && r.extensions.length > 0;

/**
 * The requester's "Access ends soon" after the grant was extended: the new end, and no buttons;
 * a new warning (with its own) comes before that end. Worded apart from the "Access extended"
 * notice sent at the same time, like an ended warning (`warningAfterEnd`).
 */
function warningAfterExtension(r: AccessRequest, group: string, times: NoticeTimes): NoticeText {
  return {
    icon: '⊕',
    title: 'Access ends later',
    style: 'emphasis',
    lines: [
      `This warning is out of date. Your access to ${group} was extended and now ends at ${times.endOf(r)}.`,
      'You will be warned again before it ends.',
    ],
  };
}

/** What each notice says, to the channel (about the requester) or to the requester (as "you"). */
function textOf(
  kind: NoticeKind,
  r: AccessRequest,
  times: NoticeTimes,
  toChannel: boolean,
  detail: NoticeView['detail'] = {},
): NoticeText {
  const who = personName(r.requester);
  const by = personName(r.resolution?.by);
  const group = groupTitle(r);
  const subject = toChannel ? who : 'You';
  // "Alex Wilber’s" to the channel, "your" / "Your" to the requester.
  const whose = toChannel ? `${who}’s` : 'your';
  const Whose = toChannel ? whose : 'Your';
  const action = isAction(r) ? actionNoticeText(kind, r, times, toChannel) : undefined;
  if (action) return action;
  switch (kind) {
    case 'approved':
    case 'granted':
      return {
        icon: '●',
        title: 'Access granted',
        style: 'good',
        lines: [
          `${subject} ${toChannel ? 'is' : 'are'} now a member of ${group} until ${times.endOf(r)}.`,
          ...(r.standingMember
            ? [
                `${subject} ${toChannel ? 'was' : 'were'} already a member before: that membership stays when this grant ends.`,
              ]
            : []),
        ],
      };
    case 'scheduled':
      return {
        icon: '◷',
        title: 'Approved — scheduled',
        style: 'good',
        lines: [
          `${by ? `${by} approved` : 'Policy approved'} ${whose} request for ${group}. It starts at ${times.at(r.startsAt ?? times.now)}, when ${toChannel ? `${who} is` : 'you are'} added for ${formatDuration(r.durationMs)}.`,
          ...(toChannel ? [] : ['You can cancel it until then.']),
        ],
      };
    case 'denied':
      return decidedAgainst(
        { icon: '✖', title: 'Request denied' },
        `${by} denied ${whose} request for ${group}.`,
        r.resolution?.reason,
      );
    case 'cancelled':
      return {
        icon: '⊘',
        title: 'Request cancelled',
        style: 'emphasis',
        lines: [`${subject} withdrew the request for ${group}. Nothing was granted.`],
      };
    case 'timed_out':
      return {
        icon: '◷',
        title: 'Request timed out',
        style: 'emphasis',
        lines: [
          `No approver decided on ${whose} request for ${group} in time. Nothing was granted.`,
          ...(toChannel ? [] : ['Request again if you still need access.']),
        ],
      };
    case 'expired':
      return {
        icon: '○',
        title: 'Access expired',
        style: 'emphasis',
        lines: [expiredLine(r, group, times, Whose)],
      };
    case 'released':
      return {
        icon: '↩',
        title: 'Access released',
        style: 'emphasis',
        lines: toChannel
          ? [`${who} released ${group} early, at ${times.at(r.resolution?.at ?? times.now)}.`]
          : releasedLines(r, group, times, detail),
      };
    case 'revoked':
      return decidedAgainst(
        { icon: '⊗', title: 'Access revoked' },
        `${by} revoked ${whose} access to ${group}.`,
        r.resolution?.reason,
      );
    case 'failed':
      return {
        icon: '⚠',
        title: 'Access could not be granted',
        style: 'attention',
        lines: [
          `Adding ${toChannel ? who : 'you'} to ${group} failed: ${plain(r.failure?.message ?? r.resolution?.reason, TextLimit.SHORT).replace(/[.\s]+$/, '') || 'unknown error'}.`,
          `What to do: ${failureAdvice(r.failure?.code)}`,
        ],
      };
    case 'reminder':
      return {
        icon: '◷',
        title: 'Still waiting for a decision',
        style: 'warning',
        lines: [
          toChannel
            ? `${who}’s request for ${group} has waited ${humanSpan(times.now - r.createdAt)}. Approve or deny it on the card above.`
            : `Your request for ${group} has waited ${humanSpan(times.now - r.createdAt)}; the approvers have been reminded.`,
        ],
      };
    case 'escalated':
      return {
        icon: '⇧',
        title: 'Escalated',
        style: 'warning',
        lines: [
          r.escalation?.reason === 'all_away'
            ? `Every approver of ${group} is away, so ${whose} request went to the escalation approvers at once.`
            : `Nobody decided on ${whose} request for ${group} within ${humanSpan((r.escalatedAt ?? times.now) - r.createdAt)}, so the escalation approvers were asked too.`,
          ...(toChannel
            ? [
                r.escalation?.channel
                  ? `The card was also posted in the ${plain(r.escalation.channel, 40)} approvers' channel; a decision on either card counts.`
                  : 'They can decide on the card above.',
              ]
            : []),
        ],
      };
    case 'expiry_warning':
      if (!toChannel && r.status !== 'active') return warningAfterEnd(r, group, times);
      if (!toChannel && extendedSinceWarning(r)) return warningAfterExtension(r, group, times);
      return {
        icon: '◷',
        title: 'Access ends soon',
        style: 'warning',
        lines: [
          `${Whose} access to ${group} ends at ${times.endOf(r)}.`,
          ...(toChannel ? [] : ['Extend it if you still need it, or release it now if you are done.']),
        ],
      };
    case 'extended': {
      const last = r.extensions[r.extensions.length - 1];
      return {
        icon: '⊕',
        title: 'Access extended',
        style: 'good',
        lines: [
          `${Whose} access to ${group} now ends at ${times.endOf(r)}.`,
          ...(last ? [extensionLine(r, last, toChannel)] : []),
          ...reasonLine(last?.reason),
        ],
      };
    }
    case 'break_glass':
      return {
        icon: BREAK_GLASS_ICON,
        title: 'Break-glass access granted',
        style: 'attention',
        lines: toChannel
          ? [
              `${who} took break-glass access to ${group} for ${formatDuration(r.durationMs)}, without approval.`,
              ...reasonLine(r.justification),
              'Acknowledge it on the card above, or revoke it.',
            ]
          : [
              `You have break-glass access to ${group} until ${times.endOf(r)}. The approvers have been alerted and will review it.`,
            ],
      };
    case 'auto_approved':
      return {
        icon: '✔',
        title: 'Approved automatically',
        style: 'good',
        lines: [
          `${Whose} request for ${group} (${formatDuration(r.durationMs)}) was approved by policy.`,
          ...reasonLine(r.resolution?.reason),
        ],
      };
    case 'extension_requested': {
      const p = r.pendingExtension;
      const more = p ? formatDuration(p.addedMs) : 'more time';
      return {
        icon: '◷',
        title: 'Extension requested',
        style: 'warning',
        lines: toChannel
          ? [
              `${personName(p?.by ?? r.requester)} asks to extend ${group} by ${more}. Approve or deny it on the card above.`,
              ...reasonLine(p?.reason),
            ]
          : [`Your request to extend ${group} by ${more} was sent to the approvers.`],
      };
    }
    case 'extension_denied':
      return decidedAgainst(
        { icon: '✖', title: 'Extension denied' },
        `${plain(detail.by, TextLimit.NAME) || 'An approver'} denied ${whose} request to extend ${group}${detail.added ? ` by ${plain(detail.added, 20)}` : ''}. ${toChannel ? 'The' : 'Your'} access still ends at ${times.endOf(r)}.`,
        detail.reason,
      );
    case 'acknowledged':
      return {
        icon: '✔',
        title: 'Break-glass acknowledged',
        style: 'good',
        lines: [`${personName(r.acknowledgedBy)} acknowledged ${whose} break-glass access to ${group}.`],
      };
  }
}

function mentionsOf(mentions: Mention[] | undefined) {
  const seen = new Set<string>();
  const entities: { type: 'mention'; text: string; id: string; name: string }[] = [];
  for (const m of mentions ?? []) {
    const id = plain(m.id, 200);
    if (!id || seen.has(id) || entities.length >= MAX_MENTIONS) continue;
    seen.add(id);
    const name = mentionName(m.name);
    entities.push({ type: 'mention', text: `<at>${name}</at>`, id, name });
  }
  return entities;
}

/**
 * A thread reply under the approval card (`channel`) or a personal message (`requester`), as a
 * card-only message. Mentions are carried inside the card (`msteams.entities`), so the message
 * itself needs no `mentions`.
 */
export function renderNotice(kind: NoticeKind, view: NoticeView): OutgoingMessage {
  const { request: r, now } = view;
  const toChannel = view.audience === 'channel';
  const times = timesFor(now, view.timeZone);
  const text = textOf(kind, r, times, toChannel, view.detail);
  const entities = mentionsOf(view.mentions);
  // NB: a warning shown again after an extension (warnedAt cleared) offers nothing: the next
  // warning does, and only the newest warning is updated when the grant ends.
  const offerExtend =
    kind === 'expiry_warning' && !toChannel && r.status === 'active' && !extendedSinceWarning(r);
  const choices = offerExtend && !r.pendingExtension ? extensionChoices(r, view.rules) : [];
  const card = expand('notice', {
    requestId: r.id,
    icon: text.icon,
    title: text.title,
    style: text.style,
    subtitle: groupWithAlias(r),
    lines: text.lines.map((line) => ({ text: line })),
    mentionText:
      entities.length > 0
        ? `${kind === 'escalated' ? 'Escalation approvers: ' : kind === 'reminder' || kind === 'extension_requested' || kind === 'break_glass' ? 'Approvers: ' : ''}${entities.map((e) => e.text).join(', ')}`
        : '',
    entities,
    footer: `Request ${plain(r.id, 64)} · ${times.at(now)}`,
    extendChoices: choices,
    extendDefault: defaultChoice(choices, formatDuration(r.durationMs)),
    actions: { extend: choices.length > 0, release: offerExtend },
  });
  return { card };
}
