import { allObjects } from './card-walk';
import { cardCatalog } from './card-catalog';

// Text in good / warning / attention colours is hard to read on several host themes (the
// playground's warning yellow on amber is 1.18:1): only icons and short error lines may carry a
// state colour; the state itself is in the container style and the header's words.
const STATE_COLOURS = new Set(['good', 'warning', 'attention']);
/** An icon (a glyph or two), never a sentence. */
const ICON_MAX = 2;

test.each(cardCatalog().map((e) => [e.name, e.card] as const))(
  '%s: no long text in a state colour except a refusal',
  (_name, card) => {
    const coloured = allObjects(card).filter(
      (o) =>
        (o.type === 'TextBlock' || o.type === 'TextRun') &&
        typeof o.color === 'string' &&
        STATE_COLOURS.has(o.color.toLowerCase()) &&
        typeof o.text === 'string' &&
        [...o.text].length > ICON_MAX,
    );
    // A refusal ("Only approvers of … can …") is the one coloured sentence: bold attention, what the clicker must read.
    const notRefusals = coloured.filter((o) => !(o.color === 'attention' && o.weight === 'Bolder'));
    expect(notRefusals.map((o) => `${String(o.color)}: ${String(o.text)}`)).toEqual([]);
  },
);
