import { formatDuration, truncateForMessage } from './duration';
import { DomainError, ErrorCodes } from './errors';
import type { GroupRules } from './policy';
import { hasVisibleContent } from './text';
import { ticketExampleFor } from './ticket-example';

/** The longest justification a request may carry, in UTF-16 code units (what a card input counts). */
export const MAX_JUSTIFICATION = 1000;

/** What a person asks for, as typed: any field may be missing. */
export interface SubmitFields {
  durationMs?: number;
  justification?: string;
  ticket?: string;
  breakGlass?: boolean;
}

/** An ask with the group's defaults filled in and the typed text trimmed: what the rules judge. */
export interface SubmitAsk {
  durationMs: number;
  breakGlass: boolean;
  justification: string;
  ticket?: string;
}

/** One rule of the policy on a new request: throws the refusal, with what to do instead, or returns. */
export type SubmitCheck = (rules: GroupRules, ask: SubmitAsk) => void;

/** The longest grant the ask may have: the group's, or its break-glass cap (none = 0). */
function maxDurationOf(rules: GroupRules, ask: SubmitAsk): number {
  return ask.breakGlass ? (rules.breakGlass?.maxDurationMs ?? 0) : rules.maxDurationMs;
}

export const durationIsPositive: SubmitCheck = (rules, ask) => {
  if (Number.isFinite(ask.durationMs) && ask.durationMs > 0) return;
  throw new DomainError(
    ErrorCodes.DURATION_INVALID,
    `A duration must be longer than zero. Ask for something like 30m or ${formatDuration(rules.defaultDurationMs)}.`,
  );
};

export const breakGlassIsAllowed: SubmitCheck = (rules, ask) => {
  if (!ask.breakGlass || rules.breakGlass) return;
  throw new DomainError(
    ErrorCodes.BREAK_GLASS_NOT_ALLOWED,
    `Break-glass is not allowed for ${rules.alias}; file a normal request instead.`,
  );
};

export const durationWithinMax: SubmitCheck = (rules, ask) => {
  const maxMs = maxDurationOf(rules, ask);
  if (ask.durationMs <= maxMs) return;
  throw new DomainError(
    ErrorCodes.DURATION_TOO_LONG,
    `${formatDuration(ask.durationMs)} is longer than ${rules.alias} allows (${formatDuration(maxMs)}${ask.breakGlass ? ' for break-glass' : ''}). Ask for ${formatDuration(maxMs)} or less.`,
  );
};

/** A justification that only looks filled in (blanks, fillers, emoji) is missing: see hasVisibleContent. */
export const justificationGiven: SubmitCheck = (rules, ask) => {
  if (!rules.requireJustification || hasVisibleContent(ask.justification)) return;
  throw new DomainError(
    ErrorCodes.JUSTIFICATION_REQUIRED,
    `${rules.alias} needs a reason. Add one: request ${rules.alias} for ${formatDuration(ask.durationMs)} because <why you need it>.`,
  );
};

export const justificationShortEnough: SubmitCheck = (_rules, ask) => {
  if (ask.justification.length <= MAX_JUSTIFICATION) return;
  throw new DomainError(
    ErrorCodes.JUSTIFICATION_TOO_LONG,
    `The reason is ${ask.justification.length} characters long; keep it under ${MAX_JUSTIFICATION}.`,
  );
};

// NB: people are shown an example ticket, never the pattern: a regex means nothing to most of them.
export const ticketGiven: SubmitCheck = (rules, ask) => {
  if (!rules.requireTicket || hasVisibleContent(ask.ticket)) return;
  const example = ticketExampleFor(rules);
  throw new DomainError(
    ErrorCodes.TICKET_REQUIRED,
    example
      ? `${rules.alias} needs a ticket, like ${example}: add "ticket ${example}".`
      : rules.ticketPattern
        ? `${rules.alias} needs a ticket in the form its policy sets: add "ticket <your ticket id>" (an admin can tell you the form).`
        : `${rules.alias} needs a ticket: add "ticket INC-123".`,
  );
};

export const ticketMatchesPattern: SubmitCheck = (rules, ask) => {
  if (!ask.ticket || !rules.ticketPattern || new RegExp(rules.ticketPattern).test(ask.ticket)) return;
  const example = ticketExampleFor(rules);
  throw new DomainError(
    ErrorCodes.TICKET_INVALID,
    `"${truncateForMessage(ask.ticket)}" is not a valid ticket for ${rules.alias}: ${
      example
        ? `use one like ${example}.`
        : 'it is not in the form its policy sets (an admin can tell you the form).'
    }`,
  );
};

/**
 * Every rule a new request must meet, in the order a person is told about them (one refusal at
 * a time: the first that fails). Who may ask (`eligible`) is not here: it asks the directory,
 * so the use case checks it first (app/authorization.ts).
 */
export const SUBMIT_CHECKS: readonly SubmitCheck[] = [
  durationIsPositive,
  breakGlassIsAllowed,
  durationWithinMax,
  justificationGiven,
  justificationShortEnough,
  ticketGiven,
  ticketMatchesPattern,
];

/** The ask as the rules see it: the group's default duration when none was given, text trimmed, a blank ticket as none. */
export function submitAsk(rules: GroupRules, fields: SubmitFields): SubmitAsk {
  const ticket = fields.ticket?.trim() || undefined;
  return {
    durationMs: fields.durationMs ?? rules.defaultDurationMs,
    breakGlass: !!fields.breakGlass,
    justification: (fields.justification ?? '').trim(),
    ...(ticket !== undefined ? { ticket } : {}),
  };
}

/** Checks a new request against the group's rules; returns the ask it judged (see submitAsk), or throws the first refusal. */
export function checkSubmit(rules: GroupRules, fields: SubmitFields): SubmitAsk {
  const ask = submitAsk(rules, fields);
  for (const check of SUBMIT_CHECKS) check(rules, ask);
  return ask;
}
