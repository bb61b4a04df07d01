import { CardInput, CardVerb } from '../../../src/cards';
import { cardCatalog } from './card-catalog';
import { allActions, allObjects } from './card-walk';

const VERBS: string[] = Object.values(CardVerb);
const INPUT_IDS: string[] = Object.values(CardInput);
const catalog = cardCatalog();

describe('card actions', () => {
  test.each(catalog.map((e) => [e.name, e.card] as const))(
    '%s: every action is Action.Execute or ShowCard, with only a requestId',
    (_name, card) => {
      for (const action of allActions(card)) {
        expect(['Action.Execute', 'Action.ShowCard']).toContain(action.type);
        if (action.type !== 'Action.Execute') continue;
        expect(VERBS).toContain(action.verb);
        const data = action.data as Record<string, unknown>;
        expect(Object.keys(data).filter((k) => k !== 'requestId')).toEqual([]);
        if ('requestId' in data) expect(typeof data.requestId).toBe('string');
      }
    },
  );

  test.each(catalog.map((e) => [e.name, e.card] as const))(
    '%s: inputs are the ones the bot reads',
    (_name, card) => {
      for (const input of allObjects(card).filter((o) => String(o.type).startsWith('Input.'))) {
        expect(INPUT_IDS).toContain(input.id);
      }
    },
  );

  test('request-specific verbs always carry the request id; form verbs carry nothing', () => {
    const withoutRequest: string[] = [CardVerb.SUBMIT_REQUEST, CardVerb.OPEN_REQUEST_FORM];
    for (const { card } of catalog) {
      for (const action of allActions(card).filter((a) => a.type === 'Action.Execute')) {
        const data = action.data as Record<string, unknown>;
        if (withoutRequest.includes(action.verb as string)) expect(data).toEqual({});
        else expect(data.requestId).toEqual(expect.any(String));
      }
    }
  });

  test('every verb that acts on a request appears on some card', () => {
    const used = new Set(catalog.flatMap(({ card }) => allActions(card).map((a) => a.verb)));
    for (const verb of VERBS) expect(used).toContain(verb);
  });
});
