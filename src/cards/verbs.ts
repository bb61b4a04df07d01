/** The verbs of every Action.Execute on Timebox cards; the bot routes invokes on these. */
export const CardVerb = {
  APPROVE: 'approve',
  DENY: 'deny',
  CANCEL: 'cancel',
  EXTEND: 'extend',
  RELEASE: 'release',
  REVOKE: 'revoke',
  ACKNOWLEDGE: 'acknowledge',
  CLAIM: 'claim',
  SUBMIT_REQUEST: 'submitRequest',
  OPEN_REQUEST_FORM: 'openRequestForm',
  REFRESH: 'refresh',
} as const;
export type CardVerb = (typeof CardVerb)[keyof typeof CardVerb];

/**
 * Ids of the inputs whose values Teams merges into an action's data. The bot reads these and
 * nothing else from `activity.value.action.data` besides `requestId`.
 */
export const CardInput = {
  REASON: 'reason',
  DURATION: 'duration',
  GROUP: 'group',
  JUSTIFICATION: 'justification',
  TICKET: 'ticket',
  /** The request form's scheduled start (`request … at`): empty = now. */
  START: 'start',
} as const;
export type CardInput = (typeof CardInput)[keyof typeof CardInput];
