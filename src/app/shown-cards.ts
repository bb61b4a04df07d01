/**
 * Which version of each request a card (the approval card with its escalation copy, or the
 * receipt) last showed, as this process updated it. An update of a card to a version it already
 * shows changes nothing Teams would show, so it is not rendered nor sent again: an approval
 * queues the cards' updates, and the add's outcome queues them once more — by the time the
 * first update of the receipt runs, it usually shows that outcome already.
 *
 * NB: memory only, and only what this process sent. Another replica, or this one after a
 * restart, does not know it and sends the update once more, which is harmless (an update is
 * idempotent); a request's version only grows, and one request's Teams effects run one at a
 * time, so a version remembered here is never older than what the card shows.
 */
/** The approval card (with its escalation copy) or the receipt: the cards a request's version shows. */
export type ShownCard = 'approval' | 'receipt';

export class ShownCards {
  private readonly shown = new Map<string, number>();

  /** @param limit cards remembered; the least recently updated are forgotten first. */
  constructor(private readonly limit = 4096) {}

  /** Whether `card` of the request shows `version` already (updated to it by this process). */
  shows(requestId: string, card: ShownCard, version: number): boolean {
    return this.shown.get(keyOf(requestId, card)) === version;
  }

  /** Records that `card` of the request now shows `version` (every copy of it was updated). */
  showing(requestId: string, card: ShownCard, version: number): void {
    const key = keyOf(requestId, card);
    this.shown.delete(key); // to the end: the Map's order is the order of use
    this.shown.set(key, version);
    if (this.shown.size > this.limit) this.shown.delete(this.shown.keys().next().value!);
  }
}

const keyOf = (requestId: string, card: ShownCard) => `${card}:${requestId}`;
