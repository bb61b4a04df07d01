/** Helpers that look inside rendered card JSON, for tests and the browser check. */
export type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every object in the card, depth first (elements, actions, ShowCard cards, refresh, choices). */
export function allObjects(node: unknown, out: Json[] = []): Json[] {
  if (Array.isArray(node)) for (const item of node) allObjects(item, out);
  else if (isObject(node)) {
    out.push(node);
    for (const value of Object.values(node)) allObjects(value, out);
  }
  return out;
}

/** Every action anywhere: card actions, ActionSets, inside ShowCards, selectAction, refresh. */
export const allActions = (card: unknown): Json[] =>
  allObjects(card).filter((o) => typeof o.type === 'string' && o.type.startsWith('Action.'));

export const elementsOfType = (card: unknown, type: string): Json[] =>
  allObjects(card).filter((o) => o.type === type);

/** Every string value in the card. */
export function allStrings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) allStrings(item, out);
  else if (isObject(node)) for (const value of Object.values(node)) allStrings(value, out);
  return out;
}

export const byteSize = (card: unknown): number => Buffer.byteLength(JSON.stringify(card), 'utf8');

/** Adaptive Cards' payload limit in Teams. */
export const TEAMS_CARD_LIMIT_BYTES = 28 * 1024;

/**
 * What a card's action data may say besides its inputs' values (PRODUCT.md §4): the request id,
 * the decision a button is for (`request` or `extension:<n>`) and the list card it sits on.
 * Returns what else it carries, or what is malformed (empty when it is as it should be).
 */
export function unexpectedActionData(data: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (key === 'requestId' && typeof value === 'string') continue;
    if (key === 'subject' && typeof value === 'string' && /^(request|extension:[1-9][0-9]*)$/.test(value))
      continue;
    if (key === 'list' && (value === 'pending' || value === 'status')) continue;
    out.push(`${key}=${JSON.stringify(value)}`);
  }
  return out;
}
