/** Letters and digits of request ids: no 0/O, 1/I, so an id read off a card is typed right. */
export const REQUEST_ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const REQUEST_ID_LENGTH = 6;

/**
 * A new request id: "R-" and six characters of REQUEST_ID_ALPHABET. `draw(n)` gives a whole
 * number in [0, n); production passes node:crypto's `randomInt` (the domain does no I/O, and a
 * test may pass a sequence). Ids are not secrets: who may act on a request is never its id.
 */
export function newRequestId(draw: (n: number) => number): string {
  let id = 'R-';
  for (let i = 0; i < REQUEST_ID_LENGTH; i++) id += REQUEST_ID_ALPHABET[draw(REQUEST_ID_ALPHABET.length)];
  return id;
}

/** Request ids as people type them: any case, with or without the "R-". */
export function normalizeId(text: string): string {
  const upper = text.trim().toUpperCase();
  return upper.startsWith('R-') ? upper : `R-${upper}`;
}
