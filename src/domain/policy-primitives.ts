/** The value schemas every part of the policy file shares. */
import { z } from 'zod';
import { parseDuration } from './duration';
import { MAX_TICKET_EXAMPLE, TICKET_EXAMPLE_TEXT } from './ticket-example';

/** A group's or an action's alias, as people type it. */
export const ALIAS = /^[a-z0-9][a-z0-9._-]{0,39}$/;

/** An Entra object id. */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A duration written as text in the policy ("1h30m"), held as milliseconds. */
export const durationText = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (use 30s, 15m, 2h, 1d or 1h30m)` });
    return z.NEVER;
  }
});

export const regexText = z.string().superRefine((text, ctx) => {
  try {
    new RegExp(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` });
  }
});

/** Shown to people instead of the pattern, so it is kept to what a ticket id looks like (see ticket-example.ts). */
export const ticketExampleText = z
  .string()
  .max(MAX_TICKET_EXAMPLE, { message: `at most ${MAX_TICKET_EXAMPLE} characters` })
  .regex(TICKET_EXAMPLE_TEXT, {
    message:
      'a ticket id like INC-12345: letters, digits, spaces and _ . / # : -, starting and ending with a letter or digit',
  });

export const principals = z
  .object({
    users: z.array(z.string().min(1)).default([]),
    groups: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** The approval keys a group and an action share (each also settable in `defaults`). */
export const approvalKeys = {
  pendingTimeout: durationText.optional(),
  remindAfter: durationText.optional(),
  approvals: z.number().int().min(1).max(10).optional(),
  requireJustification: z.boolean().optional(),
  allowSelfApproval: z.boolean().optional(),
  /** Whether an approver's delegate (`delegate to … until …`) may decide for them here; default true. */
  allowDelegation: z.boolean().optional(),
  requireTicket: z.boolean().optional(),
  ticketPattern: regexText.optional(),
  ticketExample: ticketExampleText.optional(),
  /** How far ahead a scheduled start may be (`request … at <time>`); default 7d. */
  maxScheduleAhead: durationText.optional(),
  /** No decision this long after the ask → the escalation approvers are asked too (§12). */
  escalateAfter: durationText.optional(),
  /** Who is asked on escalation: a channel the card is posted in, and the people who may then decide. */
  escalateTo: z
    .object({
      channel: z.string().min(1).optional(),
      users: z.array(z.string().min(1)).default([]),
      groups: z.array(z.string().min(1)).default([]),
    })
    .strict()
    .optional(),
};

export type AddProblem = (path: string[], message: string) => void;

/** A raw policy value as an object (the cross-key checks also run on input that failed its schema). */
export const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * The cross-key checks a group and an action share: its alias, its approverChannel among the
 * policy's, at least one approver. `section` is `groups` or `actions`.
 */
export function checkApprovalTarget(
  section: 'groups' | 'actions',
  alias: string,
  target: Record<string, unknown>,
  channels: Record<string, unknown>,
  add: AddProblem,
): void {
  if (!ALIAS.test(alias))
    add(
      [section, alias],
      `${section === 'groups' ? 'a group' : 'an action'} alias is 1-40 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  const channel = target.approverChannel;
  if (typeof channel === 'string' && channel && !Object.hasOwn(channels, channel))
    add(
      [section, alias, 'approverChannel'],
      `"${channel}" is not one of approverChannels (${Object.keys(channels).join(', ') || 'none defined'})`,
    );
  const approvers = asRecord(target.approvers);
  const count = (list: unknown) => (Array.isArray(list) ? list.length : 0);
  if (count(approvers.users) === 0 && count(approvers.groups) === 0)
    add([section, alias, 'approvers'], 'name at least one approver user or group');
  checkEscalation([section, alias], target, channels, add);
}

/** `escalateTo` names a known channel and at least one person or group who may then decide. */
export function checkEscalation(
  path: string[],
  target: Record<string, unknown>,
  channels: Record<string, unknown>,
  add: AddProblem,
): void {
  if (target.escalateTo === undefined) return;
  const to = asRecord(target.escalateTo);
  const count = (list: unknown) => (Array.isArray(list) ? list.length : 0);
  if (typeof to.channel === 'string' && !Object.hasOwn(channels, to.channel))
    add(
      [...path, 'escalateTo', 'channel'],
      `"${to.channel}" is not one of approverChannels (${Object.keys(channels).join(', ') || 'none defined'})`,
    );
  if (count(to.users) === 0 && count(to.groups) === 0)
    add(
      [...path, 'escalateTo'],
      'name at least one user or group who may decide once it escalates (a channel alone says where, not who)',
    );
}
