import { CardInput, CardVerb } from '../../../src/cards';
import { cardCatalog } from './card-catalog';
import { allActions, allObjects, unexpectedActionData } from './card-walk';

const VERBS: string[] = Object.values(CardVerb);
const INPUT_IDS: string[] = Object.values(CardInput);
const catalog = cardCatalog();

describe('card actions', () => {
  test.each(catalog.map((e) => [e.name, e.card] as const))(
    '%s: every action is Action.Execute or ShowCard, with only a requestId, the decision and the list (or the one https run link of a pipeline request)',
    (_name, card) => {
      for (const action of allActions(card)) {
        if (action.type === 'Action.OpenUrl' && action.title === 'Open card') {
          // The digest's links to approval cards (cards/digest-card.ts): a Teams deep link, https.
          expect(action.url).toMatch(
            /^https:\/\/teams\.microsoft\.com\/l\/message\/[^@\s/]+\/[^@\s/]+\?[^@\s]*$/,
          );
          continue;
        }
        if (action.type === 'Action.OpenUrl') {
          // The workflow's run link (request-view.ts runUrlOf): https, no credentials, once per card.
          expect(action).toMatchObject({
            title: 'Open the run',
            url: expect.stringMatching(/^https:\/\/[^@\s]+$/),
          });
          expect(allActions(card).filter((a) => a.type === 'Action.OpenUrl')).toHaveLength(1);
          continue;
        }
        expect(['Action.Execute', 'Action.ShowCard']).toContain(action.type);
        if (action.type !== 'Action.Execute') continue;
        expect(VERBS).toContain(action.verb);
        expect(unexpectedActionData(action.data as Record<string, unknown>)).toEqual([]);
      }
    },
  );

  test.each(catalog.map((e) => [e.name, e.card] as const))(
    '%s: every Approve and Deny names the decision it is for',
    (name, card) => {
      const decisions = allActions(card).filter(
        (a) => a.verb === CardVerb.APPROVE || a.verb === CardVerb.DENY,
      );
      for (const action of decisions) {
        const { subject } = action.data as { subject?: string };
        expect(subject).toMatch(/^(request|extension:[1-9][0-9]*)$/);
        // The catalog's extension asked is the grant's first; its buttons name that one, and only it.
        if (name.includes('extension-requested')) expect(subject).toBe('extension:1');
        else if (name.startsWith('approval-')) expect(subject).toBe('request');
      }
    },
  );

  test("a pending list names each row's decision: the request, or the extension waiting", () => {
    const several = catalog.find((e) => e.name === 'pending-several')!.card;
    const subjects = allActions(several)
      .filter((a) => a.verb === CardVerb.APPROVE)
      .map((a) => (a.data as { subject: string }).subject);
    expect(subjects).toEqual(['request', 'request', 'extension:1']);
  });

  test.each(catalog.filter((e) => /^(pending|status)-/.test(e.name)).map((e) => [e.name, e.card] as const))(
    '%s: buttons on a list card say which list, so a click is answered with the list',
    (name, card) => {
      const list = name.startsWith('pending') ? 'pending' : 'status';
      for (const action of allActions(card).filter(
        (a) => a.type === 'Action.Execute' && a.verb !== CardVerb.OPEN_REQUEST_FORM,
      )) {
        expect((action.data as { list?: string }).list).toBe(list);
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

  test("request-specific verbs always carry the request id; form verbs carry nothing; a list's refresh names the list", () => {
    const withoutRequest: string[] = [CardVerb.SUBMIT_REQUEST, CardVerb.OPEN_REQUEST_FORM];
    for (const { card } of catalog) {
      for (const action of allActions(card).filter((a) => a.type === 'Action.Execute')) {
        const data = action.data as Record<string, unknown>;
        if (withoutRequest.includes(action.verb as string)) expect(data).toEqual({});
        else if (action.verb === CardVerb.REFRESH && 'list' in data)
          expect(Object.keys(data)).toEqual(['list']);
        else expect(data.requestId).toEqual(expect.any(String));
      }
    }
  });

  test('every verb that acts on a request appears on some card', () => {
    const used = new Set(catalog.flatMap(({ card }) => allActions(card).map((a) => a.verb)));
    for (const verb of VERBS) expect(used).toContain(verb);
  });
});
