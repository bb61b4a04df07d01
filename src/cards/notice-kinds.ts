/** The notices Timebox sends and the shape of their text, apart from how each is worded (notice.ts, action-notice.ts). */
import type { AccessRequest } from '../domain/request';
import { plain, TextLimit } from './sanitize';
import type { ContainerStyle } from './status-style';

export type NoticeKind =
  | 'granted'
  /** An action gate's approval (its grant); a group's approval is told once granted. */
  | 'approved'
  /** Approved ahead of its start: granted at `startsAt`. */
  | 'scheduled'
  | 'denied'
  | 'cancelled'
  | 'timed_out'
  | 'expired'
  | 'released'
  | 'revoked'
  | 'failed'
  | 'reminder'
  /** Nobody decided in time (or every approver is away): the escalation approvers were asked. */
  | 'escalated'
  | 'expiry_warning'
  | 'extended'
  | 'break_glass'
  | 'auto_approved'
  | 'extension_requested'
  | 'extension_denied'
  | 'acknowledged';

export const NOTICE_KINDS: readonly NoticeKind[] = [
  'granted',
  'approved',
  'scheduled',
  'denied',
  'cancelled',
  'timed_out',
  'expired',
  'released',
  'revoked',
  'failed',
  'reminder',
  'escalated',
  'expiry_warning',
  'extended',
  'break_glass',
  'auto_approved',
  'extension_requested',
  'extension_denied',
  'acknowledged',
];

/**
 * How a notice writes times for its reader. NB: a notice is not re-rendered as time passes
 * (only the expiry warning is updated, when the grant ends), so relative phrases ("in 45m")
 * appear only beside an end and are read against the footer, which says when it was written.
 */
export interface NoticeTimes {
  now: number;
  at(ms: number): string;
  /** The grant's end with how far off it is, or what starts the clock when it has not begun. */
  endOf(r: AccessRequest): string;
}

export interface NoticeText {
  icon: string;
  title: string;
  style: ContainerStyle;
  lines: string[];
}

/** A reason as a notice quotes it (a deny's, a revoke's, a rule's), or nothing. */
export function reasonLine(reason: string | undefined): string[] {
  const text = plain(reason, TextLimit.LONG, true);
  return text ? [`Reason: “${text}”`] : [];
}
