import { CardVerb, NOTICE_KINDS, renderNotice } from '../../../src/cards';
import { aGroupRules, anApprover, aPerson, aRequestIn, HOUR, MINUTE, T0 } from '../../helpers/builders';
import { allActions, allObjects, allStrings, elementsOfType, type Json } from './card-walk';

const active = () => aRequestIn('active', { expiresAt: T0 + 10 * MINUTE });

describe('notices', () => {
  test.each(
    NOTICE_KINDS.flatMap(
      (k) =>
        [
          [k, 'channel'],
          [k, 'requester'],
        ] as const,
    ),
  )('%s to %s is a card-only message', (kind, audience) => {
    const message = renderNotice(kind, { request: active(), now: T0, audience });
    expect(message.text).toBeUndefined();
    expect(message.card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
  });

  test('the expiry warning to the requester offers Extend (with a duration choice within policy) and Release', () => {
    const rules = aGroupRules({
      maxDurationMs: 4 * HOUR,
      extension: { requireApproval: false, maxTotalMs: 3 * HOUR },
    });
    const card = renderNotice('expiry_warning', { request: active(), now: T0, audience: 'requester', rules })
      .card as Json;
    const verbs = allActions(card)
      .filter((a) => a.type === 'Action.Execute')
      .map((a) => a.verb);
    expect(verbs).toEqual([CardVerb.EXTEND, CardVerb.RELEASE]);
    const choice = allObjects(card).find((o) => o.id === 'duration')!;
    // 2h granted, 3h total allowed: at most 1h more.
    expect((choice.choices as Json[]).map((c) => c.value)).toEqual(['15m', '30m', '1h']);
    expect(allStrings(card).join(' ')).toContain('ends at 2026-11-21 14:10 UTC (in 10m)');
  });

  test('the expiry warning in the channel has no buttons', () => {
    expect(
      allActions(renderNotice('expiry_warning', { request: active(), now: T0, audience: 'channel' }).card),
    ).toEqual([]);
  });

  test('mentions are carried in the card as msteams entities whose text appears in a TextBlock', () => {
    const card = renderNotice('reminder', {
      request: aRequestIn('pending', { createdAt: T0 - 20 * MINUTE }),
      now: T0,
      audience: 'channel',
      mentions: [
        { id: '29:g', name: 'Grace Hopper' },
        { id: '29:a', name: 'Alan Turing' },
        { id: '29:g', name: 'Grace again' },
      ],
    }).card as Json;
    const entities = (card.msteams as Json).entities as Json[];
    expect(entities).toEqual([
      { type: 'mention', text: '<at>Grace Hopper</at>', mentioned: { id: '29:g', name: 'Grace Hopper' } },
      { type: 'mention', text: '<at>Alan Turing</at>', mentioned: { id: '29:a', name: 'Alan Turing' } },
    ]);
    const blocks = elementsOfType(card, 'TextBlock').map((b) => String(b.text));
    for (const e of entities) expect(blocks.some((t) => t.includes(String(e.text)))).toBe(true);
    expect(allStrings(card).join(' ')).toContain('has waited 20m');
  });

  test('without mentions there are no entities', () => {
    const card = renderNotice('granted', { request: active(), now: T0, audience: 'channel' }).card as Json;
    expect((card.msteams as Json).entities).toEqual([]);
  });

  test('denied and revoked notices carry the reason; failed says what to do', () => {
    const say = (kind: 'denied' | 'revoked' | 'failed', status: 'denied' | 'revoked' | 'failed') =>
      allStrings(
        renderNotice(kind, { request: aRequestIn(status), now: T0, audience: 'requester' }).card,
      ).join(' ');
    expect(say('denied', 'denied')).toContain('Reason: “Use the read replica.”');
    expect(say('revoked', 'revoked')).toContain('Reason: “Incident closed.”');
    expect(say('failed', 'failed')).toContain('What to do:');
  });
});

describe('notices that confirm what happened', () => {
  const textOf = (message: { card?: object }) => allStrings(message.card as Json).join(' ');

  test('an extension reads as one sentence and one line of who added how much (no doubled brackets)', () => {
    const self = aRequestIn('active', {
      expiresAt: T0 + 45 * MINUTE,
      extensions: [{ by: aPerson(), at: T0, addedMs: 15 * MINUTE, n: 1 }],
    });
    const mine = textOf(renderNotice('extended', { request: self, now: T0, audience: 'requester' }));
    expect(mine).toContain('Your access to Production DB (read) now ends at 2026-11-21 14:45 UTC (in 45m).');
    expect(mine).toContain('Extended by 15m.');
    expect(mine).not.toMatch(/\)\s*\(/);
    const channel = textOf(renderNotice('extended', { request: self, now: T0, audience: 'channel' }));
    expect(channel).toContain('Extended by 15m, asked by Ada Lovelace.');
    const approved = aRequestIn('active', {
      expiresAt: T0 + 45 * MINUTE,
      extensions: [{ by: aPerson(), at: T0, addedMs: 15 * MINUTE, n: 1, approvedBy: [anApprover()] }],
    });
    expect(textOf(renderNotice('extended', { request: approved, now: T0, audience: 'requester' }))).toContain(
      'Extended by 15m, approved by Grace Hopper.',
    );
  });

  test('a release tells the requester that the membership is gone, or why it stays', () => {
    const released = aRequestIn('released');
    const at = released.resolution!.at;
    const removed = { ...released, membershipRemovedAt: at + 800 };
    expect(textOf(renderNotice('released', { request: removed, now: T0, audience: 'requester' }))).toContain(
      'You released Production DB (read). Your membership was removed at 2026-11-21 14:25 UTC.',
    );
    const standing = { ...removed, standingMember: true };
    expect(textOf(renderNotice('released', { request: standing, now: T0, audience: 'requester' }))).toContain(
      'You were a member before Timebox added you, so that membership stays.',
    );
    const kept = textOf(
      renderNotice('released', {
        request: removed,
        now: T0,
        audience: 'requester',
        detail: { reason: 'still granted by R-OTHER1' },
      }),
    );
    expect(kept).toContain('Your membership stays: it is still granted by R-OTHER1.');
    // The channel's line is unchanged.
    expect(textOf(renderNotice('released', { request: removed, now: T0, audience: 'channel' }))).toContain(
      'Ada Lovelace released Production DB (read) early',
    );
  });

  test('the outdated warning and the expired notice do not read as one message said twice', () => {
    const expired = { ...aRequestIn('expired'), warnedAt: T0 - 10 * MINUTE };
    const removed = { ...expired, membershipRemovedAt: expired.expiresAt! + 900 };
    const warning = textOf(
      renderNotice('expiry_warning', { request: removed, now: T0, audience: 'requester' }),
    );
    const notice = textOf(renderNotice('expired', { request: removed, now: T0, audience: 'requester' }));
    expect(warning).toContain('Access ended');
    expect(warning).toContain(
      'This warning is out of date. Your access to Production DB (read) ended at 2026-11-21 15:55 UTC.',
    );
    expect(notice).toContain('Access expired');
    expect(notice).toContain(
      'Your access to Production DB (read) expired — membership removed at 2026-11-21 15:55 UTC.',
    );
    expect(notice).not.toContain('out of date');
    const standing = textOf(
      renderNotice('expired', {
        request: { ...removed, standingMember: true },
        now: T0,
        audience: 'channel',
      }),
    );
    expect(standing).toContain(
      'Ada Lovelace’s grant for Production DB (read) expired at 2026-11-21 15:55 UTC — the standing membership was kept.',
    );
    // Likewise a warning outdated by an extension, next to the "Access extended" notice.
    const extended = aRequestIn('active', {
      expiresAt: T0 + 45 * MINUTE,
      extensions: [{ by: aPerson(), at: T0, addedMs: 15 * MINUTE, n: 1 }],
    });
    const outdated = textOf(
      renderNotice('expiry_warning', { request: extended, now: T0, audience: 'requester' }),
    );
    const told = textOf(renderNotice('extended', { request: extended, now: T0, audience: 'requester' }));
    expect(outdated).toContain('Access ends later');
    expect(outdated).toContain(
      'This warning is out of date. Your access to Production DB (read) was extended',
    );
    expect(outdated).not.toContain('Access extended');
    expect(told).toContain('Access extended');
  });
});
