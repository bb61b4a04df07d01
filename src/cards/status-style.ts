import { isAction, Status, type AccessRequest } from '../domain/request';

/** Adaptive Card container `style`. */
export type ContainerStyle = 'default' | 'emphasis' | 'good' | 'warning' | 'attention' | 'accent';

export interface StatusLook {
  icon: string;
  label: string;
  style: ContainerStyle;
}

// Symbols from the BMP that common UI fonts carry, so they render the same in Teams clients
// and in a bare Chromium without an emoji font. NB: a state has no text colour: cards draw icons
// and words in the default colour (the hosts' own state colours fall below 3:1 on their own
// containers: test/e2e/card-contrast.test.ts); the container style and the words carry it.
const LOOKS: Record<Status, StatusLook> = {
  pending: { icon: '◷', label: 'Waiting for approval', style: 'warning' },
  scheduled: { icon: '◷', label: 'Approved — scheduled', style: 'good' },
  approved: { icon: '✔', label: 'Approved — adding membership', style: 'good' },
  active: { icon: '●', label: 'Active', style: 'good' },
  expired: { icon: '○', label: 'Expired — access removed', style: 'emphasis' },
  released: { icon: '↩', label: 'Released early', style: 'emphasis' },
  revoked: { icon: '⊗', label: 'Revoked', style: 'attention' },
  denied: { icon: '✖', label: 'Denied', style: 'attention' },
  cancelled: { icon: '⊘', label: 'Cancelled by the requester', style: 'emphasis' },
  timed_out: { icon: '◷', label: 'Timed out — nobody decided in time', style: 'emphasis' },
  failed: { icon: '⚠', label: 'Failed — access was not granted', style: 'attention' },
};

export const BREAK_GLASS_ICON = '⚡';

/** An action gate's states where a group's words speak of access or membership it does not have. */
const ACTION_LOOKS: Partial<Record<Status, Partial<StatusLook>>> = {
  approved: { label: 'Approved' },
  expired: { label: 'Expired — approval no longer valid' },
  released: { label: 'Used — ended by the requester' },
  failed: { label: 'Failed — not approved' },
};

/** How a request's state looks; break-glass and auto-approval change the open states' wording. */
export function lookOf(request: AccessRequest): StatusLook {
  const look = LOOKS[request.status];
  if (isAction(request)) {
    const auto =
      request.kind === 'auto' && request.status === Status.APPROVED ? { label: 'Auto-approved' } : {};
    return { ...look, ...ACTION_LOOKS[request.status], ...auto };
  }
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
      style: 'warning',
    };
  }
  if (request.kind === 'auto' && request.status === Status.APPROVED) {
    return { ...look, label: 'Auto-approved — adding membership' };
  }
  return look;
}
