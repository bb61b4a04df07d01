import { trackListCard } from '../../../src/app/list-cards';
import { renderApprovalCard } from '../../../src/cards';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import * as lifecycle from '../../../src/domain/request';
import type { ListCardRef } from '../../../src/domain/request';
import { allActions, allStrings } from '../cards/card-walk';
import { HOUR, MINUTE, people, refusal, SERVICE_URL, startRig, type Rig } from './rig';

/**
 * A decision button decides only what its card showed (PRODUCT.md §4, §8 guarantee 5): its
 * action data names the request, or extension number n, and `decide` refuses it once another
 * decision is the one pending. db-read (rig): approvers Megan and Adele; extensions need approval.
 */
describe('decision buttons name what they decide', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  /** Alex holds db-read for 30m (approved by Adele) and has asked to extend it by 3h30m. */
  async function grantedThenExtensionAsked() {
    const granted = await rig.grantTo(people.alex, 'db-read', people.adele, 30 * MINUTE, 'orders table');
    expect(granted.status).toBe('active');
    await rig.service.extend({
      requestId: granted.id,
      actor: people.alex,
      addedMs: 3.5 * HOUR,
      reason: 'migration runs long',
    });
    await rig.settle();
    return rig.get(granted.id);
  }

  it("an Approve for the request, clicked after the grant and an extension asked, is refused: the extension stays pending, nobody's vote is recorded", async () => {
    const asked = await grantedThenExtensionAsked();
    expect(asked.pendingExtension).toMatchObject({ addedMs: 3.5 * HOUR, n: 1, votes: [] });
    const auditBefore = await rig.auditOf(asked.id);

    const refused = await refusal(
      rig.service.decide(asked.id, people.megan, 'approve', undefined, 'request'),
    );

    expect(refused.code).toBe('REQUEST.DECISION_STALE');
    expect(refused.message).toBe(
      'That button was for the request itself; the decision pending now is extension 1 (3h30m more). Nothing was changed; here is the current card.',
    );
    const after = await rig.get(asked.id);
    expect(after).toEqual(asked); // not even the version moved
    expect(after.pendingExtension?.votes).toEqual([]);
    await rig.settle();
    expect(await rig.auditOf(asked.id)).toEqual(auditBefore);
    // The extension's own button still decides it.
    const extended = await rig.service.decide(asked.id, people.megan, 'approve', undefined, 'extension:1');
    expect(extended).toMatchObject({
      expiresAt: asked.expiresAt! + 3.5 * HOUR,
      pendingExtension: undefined,
      extensions: [{ n: 1, addedMs: 3.5 * HOUR }],
    });
  });

  it("the request's Deny on an extension is refused the same way, and denies nothing", async () => {
    const asked = await grantedThenExtensionAsked();
    const refused = await refusal(rig.service.decide(asked.id, people.megan, 'deny', 'no', 'request'));
    expect(refused).toMatchObject({
      code: 'REQUEST.DECISION_STALE',
      message: expect.stringContaining('extension 1 (3h30m more)'),
    });
    expect(await rig.get(asked.id)).toEqual(asked);
  });

  it("extension 1's button, used after extension 1 was denied and extension 2 asked, is refused; extension 2's decides it", async () => {
    const first = await grantedThenExtensionAsked();
    await rig.service.decide(first.id, people.megan, 'deny', 'finish in the window', 'extension:1');
    const second = await rig.service.extend({
      requestId: first.id,
      actor: people.alex,
      addedMs: HOUR,
      reason: 'really',
    });
    expect(second.pendingExtension).toMatchObject({ addedMs: HOUR, n: 2 }); // the denied one is counted
    expect(lifecycle.pendingDecision(second)).toBe('extension:2');

    const stale = await refusal(
      rig.service.decide(first.id, people.adele, 'approve', undefined, 'extension:1'),
    );
    expect(stale).toMatchObject({
      code: 'REQUEST.DECISION_STALE',
      message:
        'That button was for extension 1; the decision pending now is extension 2 (1h more). Nothing was changed; here is the current card.',
    });
    expect(await rig.get(first.id)).toEqual(second);

    const extended = await rig.service.decide(first.id, people.adele, 'approve', undefined, 'extension:2');
    expect(extended).toMatchObject({
      expiresAt: first.expiresAt! + HOUR,
      extensions: [{ n: 2, addedMs: HOUR }],
      pendingExtension: undefined,
    });
  });

  it('an extension button used again once that extension was approved changes nothing, and says it is no longer waiting', async () => {
    const asked = await grantedThenExtensionAsked();
    const extended = await rig.service.decide(asked.id, people.megan, 'approve', undefined, 'extension:1');
    const again = await refusal(
      rig.service.decide(asked.id, people.adele, 'approve', undefined, 'extension:1'),
    );
    expect(again).toMatchObject({
      code: 'REQUEST.DECISION_STALE',
      message: expect.stringMatching(
        /^That button was for extension 1, which is no longer waiting for a decision\./,
      ),
    });
    expect(await rig.get(asked.id)).toEqual(extended);
    // A third ask is number 2 (only asked ones count), and extension 1's button stays refused.
    const next = await rig.service.extend({ requestId: asked.id, actor: people.alex, addedMs: 30 * MINUTE });
    expect(lifecycle.pendingDecision(next)).toBe('extension:2');
    expect(
      await refusal(rig.service.decide(asked.id, people.adele, 'approve', undefined, 'extension:1')),
    ).toMatchObject({ code: 'REQUEST.DECISION_STALE' });
  });

  it('the approval card names the decision pending on its Approve and Deny, and changes it when the decision changes', async () => {
    const subjects = (request: lifecycle.AccessRequest) =>
      allActions(renderApprovalCard({ request, viewer: 'approver', now: rig.clock.now() }))
        .filter((a) => a.verb === 'approve' || a.verb === 'deny')
        .map((a) => `${String(a.verb)} ${(a.data as { subject: string }).subject}`);
    const pending = await rig.askFor(people.alex, 'db-read', 30 * MINUTE, 'orders table');
    expect(subjects(pending)).toEqual(['approve request', 'deny request']);
    await rig.service.decide(pending.id, people.adele, 'approve', undefined, 'request');
    await rig.settle();
    const asked = await rig.service.extend({
      requestId: pending.id,
      actor: people.alex,
      addedMs: 3.5 * HOUR,
    });
    expect(subjects(asked)).toEqual(['approve extension:1', 'deny extension:1']);
  });
});

describe('list cards are updated in place when a request on them changes', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig()));
  afterEach(() => rig.close());

  const listRef = (activityId: string): ListCardRef => ({
    serviceUrl: SERVICE_URL,
    conversationId: 'a:personal-megan',
    activityId,
    list: 'pending',
    viewer: people.megan,
    userId: '29:megan',
  });

  it("Megan's pending list is rendered again for her when a request on it is decided, and then forgets that request", async () => {
    const first = await rig.askFor(people.alex, 'db-read', 30 * MINUTE, 'orders table');
    const second = await rig.askFor(people.lynne, 'db-read', HOUR, 'billing export');
    await trackListCard(rig.store, listRef('list-1'), [first.id, second.id]);
    expect((await rig.get(first.id)).listCards).toEqual([listRef('list-1')]);

    await rig.service.decide(first.id, people.adele, 'approve', undefined, 'request');
    await rig.settle();

    const card = rig.notifier.lastCardOf('list-1') as Record<string, unknown> | undefined;
    expect(card).toBeDefined();
    const text = allStrings(card).join('\n');
    expect(text).toContain('1 request waiting');
    expect(text).toContain('Lynne Robbins');
    expect(text).not.toContain('Alex Wilber');
    // Its buttons are the ones still true, and Teams fetches it again when Megan looks at it.
    expect(
      allActions(card)
        .filter((a) => a.verb === 'approve')
        .map((a) => (a.data as { requestId: string }).requestId),
    ).toEqual([second.id]);
    expect(card!.refresh).toMatchObject({
      action: { verb: 'refresh', data: { list: 'pending' } },
      userIds: ['29:megan'],
    });
    // The decided request no longer shows on the card, so it stops updating it; the other still does.
    expect((await rig.get(first.id)).listCards).toEqual([]);
    expect((await rig.get(second.id)).listCards).toEqual([listRef('list-1')]);
  });

  it('shows a waiting extension on the list once the grant is asked to be extended, when the card is updated for another change', async () => {
    const first = await rig.askFor(people.alex, 'db-read', 30 * MINUTE, 'orders table');
    await rig.service.decide(first.id, people.adele, 'approve', undefined, 'request');
    await rig.settle();
    await rig.service.extend({
      requestId: first.id,
      actor: people.alex,
      addedMs: 3.5 * HOUR,
      reason: 'migration',
    });
    const other = await rig.askFor(people.lynne, 'db-read', HOUR, 'billing export');
    await trackListCard(rig.store, listRef('list-2'), [other.id]);
    await rig.service.claim(other.id, people.adele);
    await rig.settle();
    const card = rig.notifier.lastCardOf('list-2');
    const approves = allActions(card)
      .filter((a) => a.verb === 'approve')
      .map((a) => a.data as { requestId: string; subject: string });
    expect(approves).toEqual([
      { requestId: first.id, subject: 'extension:1', list: 'pending' },
      { requestId: other.id, subject: 'request', list: 'pending' },
    ]);
    // The extension now shown learns of the card, and will update it when it is decided.
    expect((await rig.get(first.id)).listCards).toEqual([listRef('list-2')]);
    await rig.service.decide(first.id, people.megan, 'approve', undefined, 'extension:1');
    await rig.settle();
    expect(
      allActions(rig.notifier.lastCardOf('list-2'))
        .filter((a) => a.verb === 'approve')
        .map((a) => (a.data as { requestId: string }).requestId),
    ).toEqual([other.id]);
  });

  it('a list card Teams refuses to update (deleted) is forgotten, and the request goes on', async () => {
    const request = await rig.askFor(people.alex, 'db-read', HOUR, 'orders table');
    await trackListCard(rig.store, listRef('gone'), [request.id]);
    // The approval card and the receipt are updated first; the list card's update is the third.
    let calls = 0;
    const update = rig.notifier.updateCard.bind(rig.notifier);
    rig.notifier.updateCard = async (ref, card) => {
      if (ref.activityId === 'gone') {
        calls++;
        throw new DomainError(ErrorCodes.CONNECTOR_PERMANENT, 'Bot Connector: 404 NotFound');
      }
      return update(ref, card);
    };
    await rig.service.decide(request.id, people.megan, 'approve', undefined, 'request');
    await rig.settle();
    expect(calls).toBe(1);
    const after = await rig.get(request.id);
    expect(after.status).toBe('active');
    expect(after.listCards).toEqual([]);
    expect(await rig.auditOf(request.id)).not.toContain('notify_failed');
  });

  it('keeps at most the newest MAX_LIST_CARDS list cards per request, and records each once', async () => {
    const request = await rig.askFor(people.alex, 'db-read', HOUR, 'orders table');
    for (let i = 0; i < lifecycle.MAX_LIST_CARDS + 2; i++)
      await trackListCard(rig.store, listRef(`l${i}`), [request.id]);
    const version = (await rig.get(request.id)).version;
    await trackListCard(rig.store, listRef(`l${lifecycle.MAX_LIST_CARDS + 1}`), [request.id]);
    const after = await rig.get(request.id);
    expect(after.version).toBe(version); // already known: not written again
    expect(after.listCards!.map((r) => r.activityId)).toEqual(
      Array.from({ length: lifecycle.MAX_LIST_CARDS }, (_, i) => `l${i + 2}`),
    );
  });
});

describe('extension numbers', () => {
  const T = 1_800_000_000_000;
  const alex = { id: 'a', name: 'Alex' };
  const active = (): lifecycle.AccessRequest =>
    lifecycle.markGranted(
      lifecycle.castVote(
        lifecycle.createRequest(
          {
            id: 'R-NUMBER',
            requester: alex,
            group: { alias: 'g', id: 'g', displayName: 'G' },
            approverChannel: 'ops',
            durationMs: HOUR,
            justification: 'x',
            approvalsRequired: 1,
          },
          T,
        ).request,
        { id: 'm', name: 'Megan' },
        'approve',
        T,
      ).request,
      T,
      false,
    ).request;

  it('count every extension asked: approved, denied and direct ones', () => {
    let r = active();
    r = lifecycle.requestExtension(r, alex, HOUR, T).request;
    expect(lifecycle.pendingDecision(r)).toBe('extension:1');
    r = lifecycle.voteOnExtension(r, { id: 'm', name: 'Megan' }, 'deny', T, 'no').request;
    expect(lifecycle.pendingDecision(r)).toBeUndefined();
    r = lifecycle.extend(r, alex, HOUR, T).request; // a direct extension (no approval needed)
    expect(r.extensions.map((e) => e.n)).toEqual([2]);
    r = lifecycle.requestExtension(r, alex, HOUR, T).request;
    expect(lifecycle.pendingDecision(r)).toBe('extension:3');
    r = lifecycle.voteOnExtension(r, { id: 'm', name: 'Megan' }, 'approve', T).request;
    expect(r.extensions.map((e) => e.n)).toEqual([2, 3]);
    expect(r.extensionsAsked).toBe(3);
  });

  it('an offer stored before offers were numbered is the one after those granted', () => {
    const r = {
      ...active(),
      extensions: [{ by: alex, at: T, addedMs: HOUR }],
      pendingExtension: { by: alex, at: T, addedMs: HOUR, votes: [] },
    };
    expect(lifecycle.pendingDecision(r)).toBe('extension:2');
    expect(lifecycle.nextExtensionNumber(r)).toBe(3);
  });

  it('the request is the decision while it is pending; nothing once it is decided and no extension waits', () => {
    const pending = lifecycle.createRequest(
      {
        id: 'R-P',
        requester: alex,
        group: { alias: 'g', id: 'g', displayName: 'G' },
        approverChannel: 'ops',
        durationMs: HOUR,
        justification: 'x',
        approvalsRequired: 1,
      },
      T,
    ).request;
    expect(lifecycle.pendingDecision(pending)).toBe('request');
    expect(lifecycle.pendingDecision(active())).toBeUndefined();
  });
});
