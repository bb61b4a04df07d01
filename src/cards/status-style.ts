import { Status, type AccessRequest } from '../domain/request';

/** Adaptive Card `color` of a TextBlock/TextRun. */
export type TextColor = 'default' | 'good' | 'warning' | 'attention' | 'accent';
/** Adaptive Card container `style`. */
export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'warning' | 'attention' | 'accent';

export interface StatusLook {
  icon: string;
  label: string;
  color: TextColor;
  style: ContainerStyle;
}

// Symbols from the BMP that common UI fonts carry, so they render the same in Teams clients
// and in a bare Chromium without an emoji font. NB: cards draw them in the default colour (the
// hosts' own state colours fall below 3:1 on their own containers: test/e2e/card-contrast.test.ts);
// `color` still goes into the templates' data; no template draws with it.
const LOOKS: Record<Status, StatusLook> = {
  pending: { icon: '◷', label: 'Waiting for approval', color: 'warning', style: 'warning' },
  approved: { icon: '✔', label: 'Approved — adding membership', color: 'good', style: 'good' },
  active: { icon: '●', label: 'Active', color: 'good', style: 'good' },
  expired: { icon: '○', label: 'Expired — access removed', color: 'default', style: 'emphasis' },
  released: { icon: '↩', label: 'Released early', color: 'default', style: 'emphasis' },
  revoked: { icon: '⊗', label: 'Revoked', color: 'attention', style: 'attention' },
  denied: { icon: '✖', label: 'Denied', color: 'attention', style: 'attention' },
  cancelled: { icon: '⊘', label: 'Cancelled by the requester', color: 'default', style: 'emphasis' },
  timed_out: { icon: '◷', label: 'Timed out — nobody decided in time', color: 'default', style: 'emphasis' },
  failed: { icon: '⚠', label: 'Failed — access was not granted', color: 'attention', style: 'attention' },
};

export const BREAK_GLASS_ICON = '⚡';

/** How a request's state looks; break-glass and auto-approval change the open states' wording. */
export function lookOf(request: AccessRequest): StatusLook {
  const look = LOOKS[request.status];
  if (request.status === Status.EXPIRED && request.standingMember) {
    return { ...look, label: 'Expired — standing membership kept' };
  }
  if (
    request.kind === 'break_glass' &&
    (request.status === Status.APPROVED || request.status === Status.ACTIVE)
  ) {
    return {
      ...look,
      icon: BREAK_GLASS_ICON,
      label: request.status === Status.ACTIVE ? 'Break-glass — active' : 'Break-glass — adding membership',
      color: 'warning',
      style: 'warning',
    };
  }
  if (request.kind === 'auto' && request.status === Status.APPROVED) {
    return { ...look, label: 'Auto-approved — adding membership' };
  }
  return look;
}
