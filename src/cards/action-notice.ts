import type { AccessRequest } from '../domain/request';
import { formatDuration } from './format';
import { reasonLine, type NoticeKind, type NoticeText, type NoticeTimes } from './notice-kinds';
import { actionPhrase, personName } from './request-view';
import { plain, TextLimit } from './sanitize';

/**
 * What a notice about an action gate says: an approval to do something, valid for a while —
 * never "access" or "membership", which an action does not have. Undefined = the group's wording
 * fits (a request's own life before the decision: cancelled, reminder, …).
 */
export function actionNoticeText(
  kind: NoticeKind,
  r: AccessRequest,
  times: NoticeTimes,
  toChannel: boolean,
): NoticeText | undefined {
  const who = personName(r.requester);
  const by = personName(r.resolution?.by);
  const what = actionPhrase(r);
  const whose = toChannel ? `${who}’s` : 'your';
  const Whose = toChannel ? whose : 'Your';
  const until = times.at(r.expiresAt ?? times.now);
  switch (kind) {
    case 'approved':
      return {
        icon: '●',
        title: 'Approved',
        style: 'good',
        lines: [
          `${by} approved ${whose} request for approval to ${what}.`,
          `The approval is valid until ${until}.`,
        ],
      };
    case 'auto_approved':
      return {
        icon: '✔',
        title: 'Approved automatically',
        style: 'good',
        lines: [
          `${Whose} request for approval to ${what} (${formatDuration(r.durationMs)}) was approved by policy; valid until ${until}.`,
          ...reasonLine(r.resolution?.reason),
        ],
      };
    case 'scheduled':
      return {
        icon: '◷',
        title: 'Approved — scheduled',
        style: 'good',
        lines: [
          `${r.resolution?.by ? by : 'Policy'} approved ${whose} request for approval to ${what}, from ${times.at(r.startsAt ?? times.now)} for ${formatDuration(r.durationMs)}.`,
        ],
      };
    case 'failed':
      return {
        icon: '⚠',
        title: 'Not approved at its start',
        style: 'attention',
        lines: [
          `The scheduled approval to ${what} was not carried out: ${plain(r.failure?.message ?? r.resolution?.reason, TextLimit.SHORT) || 'policy no longer allows it'}`,
        ],
      };
    case 'denied':
      return {
        icon: '✖',
        title: 'Request denied',
        style: 'attention',
        lines: [
          `${by} denied ${whose} request for approval to ${what}.`,
          ...reasonLine(r.resolution?.reason),
        ],
      };
    case 'timed_out':
      return {
        icon: '◷',
        title: 'Request timed out',
        style: 'emphasis',
        lines: [
          `No approver decided on ${whose} request for approval to ${what} in time. Nothing was approved.`,
          ...(toChannel ? [] : ['Ask again if it is still needed.']),
        ],
      };
    case 'expired':
      return {
        icon: '○',
        title: 'Approval no longer valid',
        style: 'emphasis',
        lines: [`${Whose} approval to ${what} ran out at ${until}.`],
      };
    case 'released':
      return {
        icon: '↩',
        title: 'Approval used',
        style: 'emphasis',
        lines: [
          `${toChannel ? who : 'You'} ended the approval to ${what} at ${times.at(r.resolution?.at ?? times.now)}.`,
        ],
      };
    case 'revoked':
      return {
        icon: '⊗',
        title: 'Approval revoked',
        style: 'attention',
        lines: [`${by} revoked ${whose} approval to ${what}.`, ...reasonLine(r.resolution?.reason)],
      };
    default:
      return undefined;
  }
}
