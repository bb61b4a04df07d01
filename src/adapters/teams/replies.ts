import type { TurnContext } from 'botbuilder';
import { DomainError, ErrorCodes } from '../../domain/errors';
import type { Logger } from '../../ports/logger';
import { toActivity } from './teams-notifier';

/** Replies with plain text (never markdown: it may quote what the person typed). */
export async function replyText(context: TurnContext, text: string): Promise<void> {
  await context.sendActivity(toActivity({ text }));
}

export async function replyCard(context: TurnContext, card: object): Promise<void> {
  await context.sendActivity(toActivity({ card }));
}

/** Replies with a card; returns the id of the message it became (to update it later), if Teams gave one. */
export async function replyCardAt(context: TurnContext, card: object): Promise<string | undefined> {
  return (await context.sendActivity(toActivity({ card })))?.id || undefined;
}

/** The one place an error becomes what a person reads: DomainErrors say what to do; others say sorry. */
export function userMessageOf(error: unknown, logger: Logger): string {
  // NB: the directory's outage messages are written for the outbox ("the change will be
  // retried"); a person's command is not queued when Graph fails under it, so say that instead.
  if (
    error instanceof DomainError &&
    (error.code === ErrorCodes.DIRECTORY_THROTTLED || error.code === ErrorCodes.DIRECTORY_UNAVAILABLE)
  ) {
    logger.warn({ code: error.code, err: error.message }, 'Microsoft Graph failed under a command');
    const what = error.code === ErrorCodes.DIRECTORY_THROTTLED ? 'is throttling Timebox' : 'is not answering';
    return `Microsoft Graph ${what} right now, so nothing was changed. Try again in a minute.`;
  }
  if (error instanceof DomainError) return error.message;
  const ref = Math.random().toString(36).slice(2, 8);
  logger.error({ err: error, ref }, 'unexpected error while handling an activity');
  return `Something went wrong on Timebox's side, and nothing was changed. Try again; if it keeps happening, give your admin this reference: ${ref}.`;
}
