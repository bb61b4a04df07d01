import { retryOnConflict } from './retry-on-conflict';
import { MAX_LIST_CARDS, type ListCardRef, type MessageLocation } from '../domain/request';
import type { Store } from '../ports/store';

/** The same message: list cards are told apart by where they are, whoever's they are. */
export const sameMessage = (a: MessageLocation, b: MessageLocation): boolean =>
  a.conversationId === b.conversationId && a.activityId === b.activityId;

/**
 * Records on each request that `ref` (a `pending` or `status` list card) shows it, so that the
 * worker updates that card when the request changes. Requests that know the card already are
 * not written; each keeps the newest MAX_LIST_CARDS cards.
 */
export async function trackListCard(
  store: Store,
  ref: ListCardRef,
  requestIds: readonly string[],
): Promise<void> {
  if (!ref.activityId) return; // a message without an id cannot be updated
  for (const id of requestIds) {
    await retryOnConflict(5, async () => {
      const current = await store.get(id);
      if (!current || (current.listCards ?? []).some((known) => sameMessage(known, ref))) return;
      const listCards = [...(current.listCards ?? []), ref].slice(-MAX_LIST_CARDS);
      await store.commit({
        request: { ...current, listCards },
        expectedVersion: current.version,
        events: [],
      });
    });
  }
}
