import type { TurnContext } from 'botbuilder';
import { DomainError } from '../../domain/errors';
import type { Logger } from '../../ports/logger';
import { toActivity } from './teams-notifier';

/** Replies with plain text (never markdown: it may quote what the person typed). */
export async function replyText(context: TurnContext, text: string): Promise<void> {
  await context.sendActivity(toActivity({ text }));
}

export async function replyCard(context: TurnContext, card: object): Promise<void> {
  await context.sendActivity(toActivity({ card }));
}

/** The one place an error becomes what a person reads: DomainErrors say what to do; others say sorry. */
export function userMessageOf(error: unknown, logger: Logger): string {
  if (error instanceof DomainError) return error.message;
  const ref = Math.random().toString(36).slice(2, 8);
  logger.error({ err: error, ref }, 'unexpected error while handling an activity');
  return `Something went wrong on Timebox's side, and nothing was changed. Try again; if it keeps happening, give your admin this reference: ${ref}.`;
}
