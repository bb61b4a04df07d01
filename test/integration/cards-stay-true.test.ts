import { startHarness, testPolicy, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor, type SentActivity } from '../helpers/fake-connector';
import { personalChatOf, users } from '../helpers/teams-client';
import { verbsOf } from '../helpers/card-actions';
import { cardReplyTo } from '../helpers/chat-replies';
import type { AccessRequest } from '../../src/domain/request';

/**
 * Issue 15, "cards that cannot lie about what is possible", through the real bot over HTTP:
 * the requester's "Access ends soon" loses Extend / Release in place when the grant ends, and a
 * click on a pending list for a request closed since is answered with the list, not one card.
 */

type Json = Record<string, unknown>;

describe('the expiry warning and the pending list never offer what is no longer possible', () => {
  let h: Harness;
  beforeEach(async () => {
    // The warning comes 6 s before the end: an 8 s grant is warned 2 s in and ends 6 s later.
    const policy = testPolicy();
    h = await startHarness({ policy: { ...policy, defaults: { ...policy.defaults, expiryWarning: '6s' } } });
  });
  afterEach(async () => {
    await h.close();
  });

  const stored = async (id: string): Promise<AccessRequest> => (await h.bot.store.get(id))!;

  /** Alex holds db-read for `seconds`, approved by Megan; resolves once his expiry warning is sent. */
  async function warnedGrant(seconds: number): Promise<{ request: AccessRequest; warning: SentActivity }> {
    const request = await h.ask(
      users.alex,
      `request db-read for ${seconds}s because checking the orders table`,
    );
    await h.clickOnCard(users.megan, 'approve', request, { subject: 'request' });
    const warning = await waitFor(
      () =>
        h.connector
          .sentTo(personalChatOf(users.alex))
          .find((s) => cardText(firstCard(s.activity)).includes('Access ends soon')),
      'the expiry warning',
    );
    expect(verbsOf(firstCard(warning.activity))).toEqual(expect.arrayContaining(['extend', 'release']));
    const withRef = await waitFor(
      async () => ((await stored(request.id)).warningCard ? stored(request.id) : undefined),
      'the warning location stored',
    );
    expect(withRef.warningCard).toMatchObject({
      conversationId: personalChatOf(users.alex),
      activityId: warning.id,
    });
    return { request: withRef, warning };
  }

  it('at expiry the warning is updated in place: it says the access ended and has no Extend / Release', async () => {
    const { request, warning } = await warnedGrant(8);
    await waitFor(async () => (await stored(request.id)).status === 'expired', 'expired', 8000);
    await h.bot.settled();
    const updated = await waitFor(() => h.connector.lastUpdateOf(warning.id), 'the warning updated');
    const card = firstCard(updated.activity);
    expect(cardText(card)).toContain('Access ended');
    expect(cardText(card)).toMatch(/Your access to Production DB \(read\) ended at/);
    expect(cardText(card)).not.toContain('Access ends soon');
    expect(verbsOf(card)).toEqual([]);
  });

  it('after a release the warning is updated in place, without buttons, saying it was released', async () => {
    const { request, warning } = await warnedGrant(8);
    // The Release on the warning itself, as Teams sends it (its conversation and message).
    const click = await h.teams.click(
      users.alex,
      'release',
      { requestId: request.id },
      { conversationId: personalChatOf(users.alex), replyToId: warning.id, personal: true },
    );
    expect(click.status).toBe(200);
    await waitFor(async () => (await stored(request.id)).status === 'released', 'released');
    await h.bot.settled();
    const updated = await waitFor(() => h.connector.lastUpdateOf(warning.id), 'the warning updated');
    const card = firstCard(updated.activity);
    expect(cardText(card)).toContain('Access ended');
    expect(cardText(card)).toMatch(/You released Production DB \(read\) at/);
    expect(verbsOf(card)).toEqual([]);
  });

  it('after an approved extension the warning says the new end and offers nothing until the next warning', async () => {
    const { request, warning } = await warnedGrant(10);
    await h.teams.say(users.alex, 'extend db-read by 30m because the migration runs long');
    await waitFor(async () => (await stored(request.id)).pendingExtension, 'extension asked');
    await h.bot.settled();
    // While the extension waits, Release stays and Extend goes (one offer at a time).
    const waiting = firstCard(h.connector.lastUpdateOf(warning.id)!.activity);
    expect(verbsOf(waiting)).toEqual(['release']);
    await h.clickOnCard(users.megan, 'approve', request, { subject: 'extension:1' });
    await waitFor(async () => (await stored(request.id)).extensions.length === 1, 'extended');
    await h.bot.settled();
    const card = firstCard(h.connector.lastUpdateOf(warning.id)!.activity);
    expect(cardText(card)).toContain('Access ends later');
    expect(cardText(card)).toMatch(/was extended and now ends at/);
    expect(verbsOf(card)).toEqual([]);
  });

  it('a request stored before warnings were tracked (no warningCard) still expires and updates its other cards', async () => {
    const request = await h.ask(users.alex, 'request db-read for 8s because checking the orders table');
    await h.clickOnCard(users.megan, 'approve', request, { subject: 'request' });
    await waitFor(async () => (await stored(request.id)).warnedAt !== undefined, 'warned', 5000);
    await h.bot.settled();
    // As an older Timebox stored it: no location of the warning.
    const current = await stored(request.id);
    if (current.status === 'active') {
      await h.bot.store.commit({
        request: { ...current, warningCard: undefined },
        expectedVersion: current.version,
        events: [],
      });
    }
    const ended = await waitFor(
      async () => ((await stored(request.id)).membershipRemovedAt ? stored(request.id) : undefined),
      'removed',
      8000,
    );
    expect(ended.status).toBe('expired');
    await h.bot.settled();
    expect((await h.bot.store.listEffects()).filter((e) => e.requestId === request.id)).toEqual([]);
    const approval = h.connector.lastUpdateOf(ended.approvalCard!.activityId);
    expect(cardText(firstCard(approval!.activity))).toMatch(/expired/i);
  });

  it('Approve on a pending list for a request cancelled since is answered with the list as it is now, saying so', async () => {
    const cancelled = await h.ask(users.alex, 'request db-read for 30m because orders table');
    await h.bot.settled();
    const list = await cardReplyTo(h, users.megan, 'pending');
    expect(cardText(firstCard(list.activity))).toContain('1 request waiting');
    await h.teams.say(users.alex, `cancel ${cancelled.id}`);
    await waitFor(async () => (await stored(cancelled.id)).status === 'cancelled', 'cancelled');
    // Another request stays open: the list the click is answered with still shows it, with its buttons.
    const open = await h.ask(users.lynne, 'request db-read for 1h because report');
    expect(open.status).toBe('pending');
    await h.bot.settled();

    const click = await h.teams.click(
      users.megan,
      'approve',
      { requestId: cancelled.id, subject: 'request', list: 'pending' },
      { conversationId: personalChatOf(users.megan), replyToId: list.id, personal: true },
    );
    expect(click.status).toBe(200);
    const answer = click.body.value as Json;
    const text = cardText(answer);
    // The list, for Megan, as it is now: not the cancelled request's approval card.
    expect(answer.refresh).toMatchObject({ action: { verb: 'refresh', data: { list: 'pending' } } });
    expect(text).toContain('WAITING FOR YOUR DECISION');
    expect(text).toMatch(new RegExp(`${cancelled.id}.*cancelled`, 'i'));
    expect(text).toContain('Lynne Robbins');
    expect(text).not.toContain('Alex Wilber');
    expect(verbsOf(answer).filter((v) => v === 'approve')).toHaveLength(1);
    expect((await stored(cancelled.id)).status).toBe('cancelled');

    // A click on a row still open keeps the list too: the row is gone once it is decided.
    const approve = await h.teams.click(
      users.megan,
      'approve',
      { requestId: open.id, subject: 'request', list: 'pending' },
      { conversationId: personalChatOf(users.megan), replyToId: list.id, personal: true },
    );
    const after = approve.body.value as Json;
    expect(after.refresh).toMatchObject({ action: { verb: 'refresh', data: { list: 'pending' } } });
    expect(cardText(after)).toContain('All caught up');
    expect(verbsOf(after)).not.toContain('approve');
    expect((await stored(open.id)).status).toMatch(/approved|active/);
  });
});
