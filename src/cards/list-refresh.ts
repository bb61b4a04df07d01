import type { ListKind } from '../domain/request';
import { isUserId } from './sanitize';
import { CardVerb } from './verbs';

/**
 * A list card (`pending`, `status`) with a Universal Actions refresh for its viewer: Teams asks
 * the bot for the list again whenever they look at it, so an old list shows what is true now.
 * The refresh names only the list; the bot renders it for whoever asks, from the store.
 */
export function listRefresh(
  card: Record<string, unknown>,
  list: ListKind,
  userId: string | undefined,
): Record<string, unknown> {
  if (!userId || !isUserId(userId)) return card;
  card.refresh = {
    action: { type: 'Action.Execute', verb: CardVerb.REFRESH, data: { list } },
    userIds: [userId],
  };
  return card;
}
