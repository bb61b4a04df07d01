type Json = Record<string, unknown>;

/** Every Action.Execute on a card (nested ShowCards included, the refresh left out). */
export function executesOf(card: unknown): Json[] {
  const out: Json[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Json;
    if (n.type === 'Action.Execute') out.push(n);
    for (const [key, value] of Object.entries(n)) if (key !== 'refresh') walk(value);
  };
  walk(card);
  return out;
}

/** The verbs of every Action.Execute on a card, in card order. */
export const verbsOf = (card: unknown): string[] => executesOf(card).map((a) => String(a.verb));
