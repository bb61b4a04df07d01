import { ShownCards } from '../../../src/app/shown-cards';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import { HOUR, MINUTE, people, startRig, type Rig } from './rig';

const connectorDown = () => new DomainError(ErrorCodes.CONNECTOR_FAILED, 'Bot Connector answered 502');

describe('ShownCards: what each card shows already', () => {
  it('knows a version once every copy of the card was updated to it, per card and request', () => {
    const shown = new ShownCards();
    expect(shown.shows('r1', 'approval', 2)).toBe(false);
    shown.showing('r1', 'approval', 2);
    expect(shown.shows('r1', 'approval', 2)).toBe(true);
    expect(shown.shows('r1', 'approval', 3)).toBe(false); // a new version is sent
    expect(shown.shows('r1', 'receipt', 2)).toBe(false); // the receipt is another card
    expect(shown.shows('r2', 'approval', 2)).toBe(false);
  });

  it('forgets the least recently updated card first, past its limit', () => {
    const shown = new ShownCards(2);
    shown.showing('r1', 'approval', 1);
    shown.showing('r2', 'approval', 1);
    shown.showing('r1', 'approval', 2); // r1 used again: r2 is now the oldest
    shown.showing('r3', 'approval', 1);
    expect(shown.shows('r2', 'approval', 1)).toBe(false);
    expect(shown.shows('r1', 'approval', 2)).toBe(true);
    expect(shown.shows('r3', 'approval', 1)).toBe(true);
  });
});

describe('card updates: a card is not sent the version it shows already', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  const updatesOf = (activityId: string | undefined) =>
    rig.notifier.sent.filter((s) => s.op === 'updateCard' && s.to === activityId).map((s) => s.card);

  it('an approval updates the approval card and the receipt once each to what they show now, never twice to the same', async () => {
    const request = await rig.grantTo(people.alex, 'db-read', people.megan);
    expect(request.status).toBe('active');
    for (const card of [request.approvalCard, request.receiptCard]) {
      const updates = updatesOf(card?.activityId);
      expect(updates.length).toBeGreaterThan(0);
      // Consecutive updates of one card differ: none repeats what the card shows.
      for (let i = 1; i < updates.length; i++) expect(updates[i]).not.toEqual(updates[i - 1]);
      expect(JSON.stringify(updates.at(-1))).toMatch(/active|ends|Active/i);
    }
  });

  it('an update that runs once the grant is active already shows it: the one queued for that version is not sent again', async () => {
    // The first update of the approval card fails and is retried after the add has landed.
    rig.notifier.failNext('updateCard', connectorDown, 1);
    const request = await rig.grantTo(people.alex, 'db-read', people.megan);
    await rig.advance(MINUTE);
    expect((await rig.get(request.id)).status).toBe('active');
    const updates = updatesOf(request.approvalCard?.activityId);
    expect(updates).toHaveLength(1);
    expect(updatesOf(request.receiptCard?.activityId)).toHaveLength(1);
  });

  it('a new version is still sent: the end of the grant updates both cards again', async () => {
    const request = await rig.grantTo(people.alex, 'db-read', people.megan);
    const before = updatesOf(request.approvalCard?.activityId).length;
    await rig.advance(2 * HOUR);
    expect((await rig.get(request.id)).status).toBe('expired');
    expect(updatesOf(request.approvalCard?.activityId).length).toBeGreaterThan(before);
    expect(updatesOf(request.receiptCard?.activityId).length).toBeGreaterThan(0);
  });
});
