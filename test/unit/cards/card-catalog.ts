import {
  NOTICE_KINDS,
  renderApprovalCard,
  renderHelpCard,
  renderMessageCard,
  renderNotice,
  renderPendingCard,
  renderReceiptCard,
  renderRequestForm,
  renderStatusCard,
} from '../../../src/cards';
import { renderWelcomeCard } from '../../../src/cards/welcome-card';
import { digestCards } from './digest-catalog';
import { reportCards } from './report-catalog';
import { Status, type AccessRequest } from '../../../src/domain/request';
import {
  aGroupRules,
  aPerson,
  aPipeline,
  aRequestIn,
  anActionRequestIn,
  aSecondApprover,
  anApprover,
  aVote,
  HOUR,
  MINUTE,
  T0,
} from '../../helpers/builders';

/** One rendered card in one state: the unit of golden tests, browser checks and screenshots. */
export interface CatalogEntry {
  /** `<card>-<state>`, also the screenshot's file name. */
  name: string;
  card: object;
  /** Title of a ShowCard button to open before the screenshot (e.g. "Deny"). */
  open?: string;
}

const REFRESH_IDS = ['29:1approver-grace', '29:1approver-alan', '29:1requester-ada'];

const twoOfTwo = (): AccessRequest =>
  aRequestIn('pending', {
    approvalsRequired: 2,
    votes: [aVote({ at: T0 - 4 * MINUTE })],
    claimedBy: aSecondApprover(),
    updatedAt: T0 - 2 * MINUTE,
  });
const breakGlass = (): AccessRequest =>
  aRequestIn('active', {
    kind: 'break_glass',
    durationMs: HOUR,
    votes: [],
    resolution: { at: T0 - 5 * MINUTE, reason: 'Checkout is down; nobody on call could approve.' },
    grantedAt: T0 - 5 * MINUTE + 2000,
    expiresAt: T0 + 55 * MINUTE + 2000,
  });
const autoApproved = (): AccessRequest =>
  aRequestIn('active', {
    kind: 'auto',
    durationMs: 30 * MINUTE,
    votes: [],
    resolution: { at: T0 - 5 * MINUTE, reason: 'on-call member, 30m ≤ 1h' },
    expiresAt: T0 + 25 * MINUTE,
  });
const escalated = (): AccessRequest =>
  aRequestIn('pending', {
    createdAt: T0 - 40 * MINUTE,
    remindedAt: T0 - 25 * MINUTE,
    escalatedAt: T0 - 10 * MINUTE,
    escalation: { reason: 'timeout', channel: 'security' },
    updatedAt: T0 - 10 * MINUTE,
  });
const withExtensionAsked = (): AccessRequest =>
  aRequestIn('active', {
    pendingExtension: {
      by: aPerson(),
      at: T0 - MINUTE,
      addedMs: HOUR,
      reason: 'Still bisecting the deploy.',
      votes: [],
    },
  });
const extended = (): AccessRequest => {
  const r = aRequestIn('active');
  return {
    ...r,
    // Asked by the requester, approved by an approver: as the domain records an approved offer.
    extensions: [
      {
        by: aPerson(),
        at: T0 - MINUTE,
        addedMs: HOUR,
        reason: 'Approved extension',
        approvedBy: [anApprover()],
      },
    ],
    expiresAt: (r.expiresAt ?? T0) + HOUR,
    updatedAt: T0 - MINUTE,
  };
};

function approvalCards(): CatalogEntry[] {
  const entries: [string, AccessRequest, 'approver' | 'requester' | 'other', string?][] = [
    ['pending-approver', aRequestIn('pending'), 'approver'],
    ['pending-requester', aRequestIn('pending'), 'requester'],
    ['pending-other', aRequestIn('pending'), 'other'],
    ['pending-1-of-2-claimed-approver', twoOfTwo(), 'approver'],
    ['pending-error-approver', aRequestIn('pending'), 'approver', 'Only approvers of db-read can approve.'],
    [
      'pending-auto-approve-budget-spent-approver',
      aRequestIn('pending', {
        autoApproveSkipped:
          'Not approved automatically: Ada Lovelace already had 3 auto-approved requests for db-read in the last 24 hours (autoApprove.maxPerDay: 3), so an approver decides this one.',
      }),
      'approver',
    ],
    ['approved-other', aRequestIn('approved'), 'other'],
    ['scheduled-approver', aRequestIn('scheduled'), 'approver'],
    [
      'approved-by-delegate-other',
      aRequestIn('approved', {
        votes: [aVote({ by: aSecondApprover(), for: anApprover(), at: T0 - 5 * MINUTE })],
        resolution: { by: aSecondApprover(), at: T0 - 5 * MINUTE },
      }),
      'other',
    ],
    ['pending-escalated-approver', escalated(), 'approver'],
    ['pending-scheduled-approver', aRequestIn('pending', { startsAt: T0 + 8 * HOUR }), 'approver'],
    ['active-approver', aRequestIn('active'), 'approver'],
    ['active-other', aRequestIn('active'), 'other'],
    ['active-extension-requested-approver', withExtensionAsked(), 'approver'],
    ['active-extended-other', extended(), 'other'],
    ['expired-other', aRequestIn('expired'), 'other'],
    ['expired-standing-member-other', aRequestIn('expired', { standingMember: true }), 'other'],
    ['released-other', aRequestIn('released'), 'other'],
    ['revoked-other', aRequestIn('revoked'), 'other'],
    ['denied-other', aRequestIn('denied'), 'other'],
    ['cancelled-other', aRequestIn('cancelled'), 'other'],
    ['timed-out-other', aRequestIn('timed_out'), 'other'],
    ['failed-other', aRequestIn('failed'), 'other'],
    ['break-glass-approver', breakGlass(), 'approver'],
    ['break-glass-acknowledged-approver', { ...breakGlass(), acknowledgedBy: anApprover() }, 'approver'],
    ['auto-approved-other', autoApproved(), 'other'],
    // Action gates asked by a pipeline: workflow facts, "approval", never "access".
    ['action-pending-approver', anActionRequestIn('pending'), 'approver'],
    [
      'action-pending-on-behalf-approver',
      anActionRequestIn('pending', { requester: aPerson(), context: { repository: 'contoso/shop' } }),
      'approver',
    ],
    ['action-approved-other', anActionRequestIn('approved'), 'other'],
    [
      'action-auto-approved-other',
      anActionRequestIn('approved', { kind: 'auto', votes: [], resolution: { at: T0 - 5 * MINUTE } }),
      'other',
    ],
    ['action-expired-other', anActionRequestIn('expired'), 'other'],
    ['action-released-other', anActionRequestIn('released'), 'other'],
    ['action-revoked-other', anActionRequestIn('revoked'), 'other'],
    ['action-denied-other', anActionRequestIn('denied'), 'other'],
    ['action-cancelled-other', anActionRequestIn('cancelled'), 'other'],
    ['action-timed-out-other', anActionRequestIn('timed_out'), 'other'],
    [
      'group-by-pipeline-active-other',
      aRequestIn('active', {
        requester: aPipeline(),
        client: { appId: '6f1d2c3b-0000-4000-8000-00000000c1e1', name: 'github-deploy' },
        context: { repository: 'contoso/shop', environment: 'production' },
      }),
      'other',
    ],
  ];
  const cards = entries.map(([state, request, viewer, error]) => ({
    name: `approval-${state}`,
    card: renderApprovalCard({
      request,
      viewer,
      now: T0,
      refreshUserIds: REFRESH_IDS,
      ...(error ? { error } : {}),
    }),
  }));
  const opened = (name: string, open: string): CatalogEntry => ({
    ...cards.find((c) => c.name === `approval-${name}`)!,
    name: `approval-${name}-${open.toLowerCase()}-open`,
    open,
  });
  return [...cards, opened('pending-approver', 'Deny'), opened('active-approver', 'Revoke')];
}

function receiptCards(): CatalogEntry[] {
  const states: [string, AccessRequest, string?][] = [
    ['pending', aRequestIn('pending')],
    ['approved', aRequestIn('approved')],
    ['scheduled', aRequestIn('scheduled')],
    ['active', aRequestIn('active')],
    ['active-extension-requested', withExtensionAsked()],
    ['active-error', aRequestIn('active'), 'An extension of 12h would exceed the 12h total for db-read.'],
    ['break-glass', breakGlass()],
    ['expired', aRequestIn('expired')],
    ['released', aRequestIn('released')],
    ['revoked', aRequestIn('revoked')],
    ['denied', aRequestIn('denied')],
    ['cancelled', aRequestIn('cancelled')],
    ['timed-out', aRequestIn('timed_out')],
    ['failed', aRequestIn('failed')],
    ['action-pending-on-behalf', anActionRequestIn('pending', { requester: aPerson() })],
    ['action-approved-on-behalf', anActionRequestIn('approved', { requester: aPerson() })],
  ];
  const cards = states.map(([state, request, error]) => ({
    name: `receipt-${state}`,
    card: renderReceiptCard({ request, now: T0, ...(error ? { error } : {}), rules: aGroupRules() }),
  }));
  return [
    ...cards,
    {
      ...cards.find((c) => c.name === 'receipt-active')!,
      name: 'receipt-active-extend-open',
      open: 'Extend',
    },
  ];
}

/** The request each notice is about, in the state the notice follows. */
function noticeSubject(kind: (typeof NOTICE_KINDS)[number]): AccessRequest {
  switch (kind) {
    case 'granted':
      return aRequestIn('active');
    case 'approved':
      return anActionRequestIn('approved');
    case 'scheduled':
      return aRequestIn('scheduled');
    case 'escalated':
      return escalated();
    case 'denied':
      return aRequestIn('denied');
    case 'cancelled':
      return aRequestIn('cancelled');
    case 'timed_out':
      return aRequestIn('timed_out');
    case 'expired':
      return aRequestIn('expired');
    case 'released':
      return aRequestIn('released');
    case 'revoked':
      return aRequestIn('revoked');
    case 'failed':
      return aRequestIn('failed');
    case 'reminder':
      return aRequestIn('pending', { createdAt: T0 - 20 * MINUTE });
    case 'expiry_warning':
      return aRequestIn('active', { expiresAt: T0 + 10 * MINUTE });
    case 'extended':
      return extended();
    case 'break_glass':
      return breakGlass();
    case 'auto_approved':
      return autoApproved();
    case 'extension_requested':
      return withExtensionAsked();
    case 'extension_denied':
      return aRequestIn('active', { expiresAt: T0 + 30 * MINUTE });
    case 'acknowledged':
      return { ...breakGlass(), acknowledgedBy: anApprover() };
  }
}

const APPROVER_MENTIONS = [
  { id: '29:1approver-grace', name: 'Grace Hopper' },
  { id: '29:1approver-alan', name: 'Alan Turing' },
];

function noticeCards(): CatalogEntry[] {
  const cards: CatalogEntry[] = NOTICE_KINDS.flatMap((kind) =>
    (['channel', 'requester'] as const).map((audience) => {
      const mentions =
        audience === 'channel' &&
        (kind === 'reminder' || kind === 'break_glass' || kind === 'extension_requested')
          ? APPROVER_MENTIONS
          : undefined;
      const request = noticeSubject(kind);
      // A notice goes out when its event happens: no earlier than the request's last change.
      const message = renderNotice(kind, {
        request,
        now: Math.max(T0, request.updatedAt),
        audience,
        ...(mentions ? { mentions } : {}),
        rules: aGroupRules(),
        ...(kind === 'extension_denied'
          ? { detail: { by: 'Grace Hopper', reason: 'Finish in the maintenance window', added: '1h' } }
          : {}),
      });
      return { name: `notice-${kind.replace(/_/g, '-')}-${audience}`, card: message.card! };
    }),
  );
  return [
    ...cards,
    {
      ...cards.find((c) => c.name === 'notice-expiry-warning-requester')!,
      name: 'notice-expiry-warning-requester-extend-open',
      open: 'Extend',
    },
    ...warningsUpdatedLater(),
  ];
}

/** The requester's expiry warning as it is updated in place later: after the end, or an extension. */
function warningsUpdatedLater(): CatalogEntry[] {
  const ended = (status: 'expired' | 'released' | 'revoked'): AccessRequest => {
    const r = aRequestIn(status);
    return { ...r, warnedAt: (r.expiresAt ?? T0) - 10 * MINUTE };
  };
  const states: [string, AccessRequest][] = [
    ['ended-expired', ended('expired')],
    ['ended-released', ended('released')],
    ['ended-revoked', ended('revoked')],
    ['extended-since', { ...extended(), warnedAt: undefined }],
  ];
  return states.map(([state, request]) => ({
    name: `notice-expiry-warning-requester-${state}`,
    card: renderNotice('expiry_warning', { request, now: T0, audience: 'requester', rules: aGroupRules() })
      .card!,
  }));
}

const groups = () => [
  aGroupRules(),
  aGroupRules({
    alias: 'k8s-admin',
    displayName: 'AKS cluster admin',
    maxDurationMs: HOUR,
    approvals: 2,
    requireTicket: true,
    ticketPattern: '^INC-[0-9]+$',
    breakGlass: { maxDurationMs: HOUR },
  }),
  aGroupRules({
    alias: 'billing-read',
    displayName: 'Billing reports (read)',
    maxDurationMs: 8 * HOUR,
    requireJustification: false,
    autoApprove: { requesterInGroups: ['oncall'], maxDurationMs: HOUR },
  }),
];

function listCards(): CatalogEntry[] {
  const many = Array.from({ length: 11 }, (_, i) =>
    aRequestIn(i % 2 ? 'active' : 'pending', {
      id: `req-${1000 + i}`,
      group: { alias: `team-${i}`, id: `g${i}`, displayName: `Team ${i} resources` },
    }),
  );
  return [
    { name: 'status-empty', card: renderStatusCard({ open: [], recent: [], now: T0 }) },
    {
      name: 'status-delegating',
      card: renderStatusCard({
        open: [],
        recent: [],
        now: T0,
        delegation: {
          given: {
            id: 'D-1',
            from: anApprover(),
            to: aSecondApprover(),
            since: T0 - HOUR,
            until: T0 + 20 * HOUR,
            createdAt: T0 - HOUR,
          },
          received: [],
        },
      }),
    },
    {
      name: 'status-mixed',
      card: renderStatusCard({
        open: [
          aRequestIn('active'),
          aRequestIn('pending', {
            id: 'req-2',
            group: { alias: 'k8s-admin', id: 'g2', displayName: 'AKS cluster admin' },
          }),
        ],
        recent: [
          aRequestIn('expired', { id: 'r3', createdAt: T0 - 5 * HOUR }),
          aRequestIn('denied', {
            id: 'r4',
            createdAt: T0 - 26 * HOUR,
            group: { alias: 'k8s-admin', id: 'g2', displayName: 'AKS cluster admin' },
          }),
          aRequestIn('timed_out', { id: 'r5', createdAt: T0 - 50 * HOUR }),
        ],
        now: T0,
        rules: { 'db-read': aGroupRules() },
      }),
    },
    {
      name: 'status-many',
      card: renderStatusCard({
        open: many,
        recent: many.map((r) => ({ ...r, status: Status.EXPIRED })),
        now: T0,
      }),
    },
    { name: 'pending-empty', card: renderPendingCard({ requests: [], now: T0 }) },
    {
      // What a stale click on a list is answered with: the list as it is now, saying why.
      name: 'pending-refreshed-after-stale-click',
      card: renderPendingCard({
        requests: [withExtensionAsked()],
        now: T0,
        refreshUserId: '29:1approver-grace',
        error:
          'That button was for the request itself; the decision pending now is extension 1 (1h more). Nothing was changed; here is the current card.',
      }),
    },
    {
      name: 'pending-several',
      card: renderPendingCard({
        requests: [
          twoOfTwo(),
          aRequestIn('pending', {
            id: 'req-9',
            requester: aPerson({ name: 'Linus Torvalds', upn: 'linus@contoso.com' }),
            ticket: undefined,
            justification: 'Rotate the replica credentials.',
          }),
          withExtensionAsked(),
        ],
        now: T0,
      }),
    },
    {
      name: 'pending-many',
      card: renderPendingCard({ requests: many.map((r) => ({ ...r, status: Status.PENDING })), now: T0 }),
    },
    { name: 'help-groups', card: renderHelpCard({ groups: groups() }) },
    { name: 'help-no-groups', card: renderHelpCard({ groups: [] }) },
    { name: 'welcome-personal', card: renderWelcomeCard({ scope: 'personal', groups: groups() }) },
    { name: 'welcome-personal-no-groups', card: renderWelcomeCard({ scope: 'personal', groups: [] }) },
    {
      name: 'welcome-team-approver',
      card: renderWelcomeCard({
        scope: 'team',
        teamId: '19:team@thread.tacv2',
        channels: [{ name: 'sre', groups: ['db-read', 'k8s-admin', 'billing-read'] }],
      }),
    },
    {
      name: 'welcome-team-not-approver',
      card: renderWelcomeCard({ scope: 'team', teamId: '19:other-team@thread.tacv2', channels: [] }),
    },
    { name: 'request-form-blank', card: renderRequestForm({ groups: groups() }) },
    { name: 'request-form-one-group', card: renderRequestForm({ groups: [aGroupRules()] }) },
    {
      name: 'request-form-error',
      card: renderRequestForm({
        groups: groups(),
        values: {
          group: 'k8s-admin',
          duration: '1h',
          justification: 'Restart the stuck ingress controller',
          ticket: 'INC-12',
        },
        error: 'k8s-admin needs a ticket like INC-123 (got "INC-12").',
      }),
    },
    { name: 'request-form-no-groups', card: renderRequestForm({ groups: [] }) },
    {
      name: 'message-default',
      card: renderMessageCard('Request req-7f3a9c is already approved; nothing changed.'),
    },
    { name: 'message-good', card: renderMessageCard('Cancelled your request for db-read.', 'good') },
    {
      name: 'message-warning',
      card: renderMessageCard(
        '"4x" is not a duration. Use a number with a unit, like 30m, 2h, 1d or 1h30m.',
        'warning',
      ),
    },
    {
      name: 'message-attention',
      card: renderMessageCard('Only approvers of db-read can approve.', 'attention'),
    },
  ];
}

/**
 * Cards read in a zone other than UTC: the zone's own short name (EST, CET) or a GMT offset
 * (Asia/Kolkata has none in English) must fit where "UTC" did, on every host theme.
 */
function zonedCards(): CatalogEntry[] {
  const warned = aRequestIn('active', { expiresAt: T0 + 10 * MINUTE });
  const released = aRequestIn('released');
  return [
    {
      name: 'receipt-active-in-new-york',
      card: renderReceiptCard({
        request: aRequestIn('active'),
        now: T0,
        rules: aGroupRules(),
        timeZone: 'America/New_York',
      }),
    },
    {
      name: 'approval-pending-approver-in-berlin',
      card: renderApprovalCard({
        request: aRequestIn('pending'),
        viewer: 'approver',
        now: T0,
        refreshUserIds: REFRESH_IDS,
        timeZone: 'Europe/Berlin',
      }),
    },
    {
      name: 'notice-expiry-warning-requester-in-kolkata',
      card: renderNotice('expiry_warning', {
        request: warned,
        now: T0,
        audience: 'requester',
        rules: aGroupRules(),
        timeZone: 'Asia/Kolkata',
      }).card!,
    },
    {
      name: 'notice-released-channel-in-berlin',
      card: renderNotice('released', {
        request: released,
        now: Math.max(T0, released.updatedAt),
        audience: 'channel',
        timeZone: 'Europe/Berlin',
      }).card!,
    },
  ];
}

/** Every card Timebox sends, in every state worth looking at. */
export function cardCatalog(): CatalogEntry[] {
  return [
    ...approvalCards(),
    ...receiptCards(),
    ...noticeCards(),
    ...listCards(),
    ...zonedCards(),
    ...digestCards(),
    ...reportCards(),
  ];
}
