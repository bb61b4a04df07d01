import { startHarness, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { personalChatOf, users, type TeamsUser } from '../helpers/teams-client';
import type { AccessRequest } from '../../src/domain/request';
import type { AuditRecord } from '../../src/ports/store';
import { executesOf } from '../helpers/card-actions';
import { cardReplyTo } from '../helpers/chat-replies';

/**
 * Issue 19, finding 2, through the real bot over HTTP: a click decides only what its card
 * showed, list cards (`pending`, `status`) are updated in place when a request on them changes,
 * and a click on a list is answered with the list. db-read: approvers Megan and Adele (SRE);
 * its extensions need an approval (the built-in default).
 */

type Json = Record<string, unknown>;

const dataOf = (card: unknown, verb: string, requestId: string): Json | undefined =>
  executesOf(card).find((a) => a.verb === verb && (a.data as Json).requestId === requestId)?.data as
    Json | undefined;

describe('an old Approve never decides a later decision; list cards do not lie', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  async function auditSince(count: number): Promise<AuditRecord[]> {
    return (await h.audit())
      .slice(count)
      .filter(
        (r) => r.type !== 'reconciled' && r.type !== 'baseline_recorded' && r.type !== 'drift_detected',
      );
  }

  const stored = async (id: string): Promise<AccessRequest> => (await h.bot.store.get(id))!;

  /** `who` asks in chat; resolves with their pending request once its approval card is posted. */
  async function ask(who: TeamsUser, text: string): Promise<AccessRequest> {
    await h.teams.say(who, text);
    const mine = () => h.bot.store.listOpen({ requesterId: who.aadObjectId, statuses: ['pending'] });
    const request = await waitFor(
      async () => (await mine()).find((r) => r.approvalCard),
      'approval card posted',
    );
    await h.bot.settled();
    return request;
  }

  it('Approve on a pending list for a 30m request, clicked after it was granted and its requester asked for 3h30m more, is refused with the current list; the extension stays pending', async () => {
    const request = await ask(users.alex, 'request db-read for 30m because orders table');

    // Megan lists what she may decide: the request, with buttons that name it.
    const list = await cardReplyTo(h, users.megan, 'pending');
    const listCard = firstCard(list.activity);
    const oldApprove = dataOf(listCard, 'approve', request.id);
    expect(oldApprove).toEqual({ requestId: request.id, subject: 'request', list: 'pending' });
    expect((listCard as Json).refresh).toMatchObject({
      action: { verb: 'refresh', data: { list: 'pending' } },
      userIds: [users.megan.id],
    });
    await waitFor(
      async () => (await stored(request.id)).listCards?.length,
      'the list card recorded on the request',
    );

    // Adele approves it from the approval card; the membership is added.
    await h.clickOnCard(users.adele, 'approve', request, { subject: 'request' });
    await waitFor(async () => (await stored(request.id)).status === 'active', 'granted');
    await h.bot.settled();
    // Megan's list card was updated in place: the request is no longer on it.
    const updated = await waitFor(() => h.connector.lastUpdateOf(list.id), 'the list card updated');
    expect(dataOf(firstCard(updated.activity), 'approve', request.id)).toBeUndefined();
    expect(cardText(firstCard(updated.activity))).toMatch(/All caught up/);

    // Alex asks for 3h30m more: an extension Megan never saw.
    await h.teams.say(users.alex, 'extend db-read by 3h30m because migration runs long');
    const asked = await waitFor(
      async () => ((await stored(request.id)).pendingExtension ? stored(request.id) : undefined),
      'extension asked',
    );
    await h.bot.settled();
    const auditBefore = (await h.audit()).length;

    // The Approve as the list card first showed it (a client that has not caught up yet).
    const click = await h.teams.click(users.megan, 'approve', oldApprove!, {
      conversationId: personalChatOf(users.megan),
      replyToId: list.id,
      personal: true,
    });
    await h.bot.settled();

    expect(click.status).toBe(200);
    expect(click.body.type).toBe('application/vnd.microsoft.card.adaptive');
    const answer = click.body.value;
    const text = cardText(answer);
    // Answered with the list as it is now (the extension, with its own buttons), and why nothing happened.
    expect(text).toContain('WAITING FOR YOUR DECISION');
    expect(text).toContain(
      'That button was for the request itself; the decision pending now is extension 1 (3h30m more).',
    );
    expect(dataOf(answer, 'approve', request.id)).toEqual({
      requestId: request.id,
      subject: 'extension:1',
      list: 'pending',
    });
    // Nothing changed: the extension still waits, without Megan's vote.
    const after = await stored(request.id);
    expect(after.version).toBe(asked!.version);
    expect(after).toMatchObject({
      status: 'active',
      expiresAt: asked!.expiresAt,
      pendingExtension: { addedMs: 3.5 * 3_600_000, votes: [], n: 1 },
    });
    // The refusal is audited, like every refusal of a decision.
    expect(await auditSince(auditBefore)).toEqual([
      expect.objectContaining({
        type: 'refused',
        requestId: request.id,
        actor: expect.objectContaining({ id: users.megan.aadObjectId }),
        detail: expect.objectContaining({ action: 'approve', code: 'REQUEST.DECISION_STALE' }),
      }),
    ]);

    // The approval card's own Approve for the request, and one from a card of an older version
    // (no subject at all), are refused the same way and answered with the approval card.
    for (const data of [{ subject: 'request' }, {}]) {
      const old = await h.clickOnCard(users.megan, 'approve', request, data);
      expect(cardText(old.body.value)).toContain(
        'That button was for the request itself; the decision pending now is extension 1 (3h30m more).',
      );
      expect(cardText(old.body.value)).toContain(`Request ${request.id}`);
    }
    await h.bot.settled();
    expect((await stored(request.id)).version).toBe(asked!.version);
    expect((await auditSince(auditBefore)).map((r) => `${r.type} ${String(r.detail?.code)}`)).toEqual(
      Array(3).fill('refused REQUEST.DECISION_STALE'),
    );

    // The extension's own button decides it.
    const approve = await h.clickOnCard(users.megan, 'approve', request, { subject: 'extension:1' });
    expect(cardText(approve.body.value)).not.toMatch(/That button was for/);
    const extended = await stored(request.id);
    expect(extended).toMatchObject({
      expiresAt: asked!.expiresAt! + 3.5 * 3_600_000,
      pendingExtension: undefined,
    });
  });

  it("a stale click on a status list is answered with the whole list as it is now, never with one request's card; the list was updated when the request changed", async () => {
    const request = await ask(users.lynne, 'request db-read for 1h because billing export');
    const list = await cardReplyTo(h, users.lynne, 'status');
    const oldCancel = dataOf(firstCard(list.activity), 'cancel', request.id);
    expect(oldCancel).toEqual({ requestId: request.id, list: 'status' });
    await waitFor(
      async () => (await stored(request.id)).listCards?.length,
      'the list card recorded on the request',
    );

    await h.clickOnCard(users.megan, 'deny', request, { subject: 'request', reason: 'use the replica' });
    await waitFor(async () => (await stored(request.id)).status === 'denied', 'denied');
    await h.bot.settled();
    const updated = await waitFor(() => h.connector.lastUpdateOf(list.id), 'the status card updated');
    expect(dataOf(firstCard(updated.activity), 'cancel', request.id)).toBeUndefined();
    expect(cardText(firstCard(updated.activity))).toMatch(/YOUR ACCESS/);

    const auditBefore = (await h.audit()).length;
    const click = await h.teams.click(users.lynne, 'cancel', oldCancel!, {
      conversationId: personalChatOf(users.lynne),
      replyToId: list.id,
      personal: true,
    });
    await h.bot.settled();
    const text = cardText(click.body.value);
    expect(text).toContain('YOUR ACCESS'); // the list, not the request's receipt
    expect(text).toMatch(/already denied/);
    expect(dataOf(click.body.value, 'cancel', request.id)).toBeUndefined();
    expect((await stored(request.id)).status).toBe('denied');
    expect(await auditSince(auditBefore)).toEqual([
      expect.objectContaining({
        type: 'refused',
        requestId: request.id,
        detail: expect.objectContaining({ action: 'cancel' }),
      }),
    ]);
  });

  it("a list's refresh renders the list for whoever looks, from the store, and changes nothing", async () => {
    const request = await ask(users.lynne, 'request db-read for 1h because second export');
    const before = await stored(request.id);
    const updates = h.connector.updates.length;
    const where = { conversationId: personalChatOf(users.megan), personal: true };
    const megan = await h.teams.click(users.megan, 'refresh', { list: 'pending' }, where, 'automatic');
    expect(dataOf(megan.body.value, 'approve', request.id)).toEqual({
      requestId: request.id,
      subject: 'request',
      list: 'pending',
    });
    // Someone who approves nothing sees an empty list, whoever's card it was.
    const bystander = await h.teams.click(
      users.patti,
      'refresh',
      { list: 'pending' },
      { conversationId: personalChatOf(users.patti), personal: true },
      'automatic',
    );
    expect(cardText(bystander.body.value)).toMatch(/All caught up/);
    expect(cardText(bystander.body.value)).not.toContain('Lynne');
    await h.bot.settled();
    expect((await stored(request.id)).version).toBe(before.version);
    expect(h.connector.updates.length).toBe(updates);
  });
});
