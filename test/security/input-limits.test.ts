import { startHarness, CHANNEL, type Harness } from '../helpers/harness';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { users, personalChatOf, type TeamsUser } from '../helpers/teams-client';
import { MAX_COMMAND_LENGTH } from '../../src/adapters/teams/command-parser';
import { MAX_JUSTIFICATION } from '../../src/domain/submit-rules';
import { RateLimiter, parseRateLimit } from '../../src/app/rate-limit';
import type { Clock } from '../../src/ports/clock';
import { isBackground } from './background';

/** Input limits on every way in (commands, form submissions, card actions), and the per-person rate limit on new requests. */

async function lastReply(h: Harness, user: TeamsUser, after: number): Promise<string> {
  const reply = await waitFor(
    () =>
      h.connector
        .sentTo(personalChatOf(user))
        .slice(after)
        .find((s) => s.activity.text || firstCard(s.activity)),
    'a reply',
  );
  return reply.activity.text ?? cardText(firstCard(reply.activity));
}

async function auditTypes(h: Harness): Promise<Array<{ type: string; code?: unknown; actor?: string }>> {
  const out = [];
  for await (const r of h.bot.store.readAudit())
    if (!isBackground(r)) out.push({ type: r.type, code: r.detail?.code, actor: r.actor?.id });
  return out;
}

describe('input limits', () => {
  let h: Harness;
  beforeAll(async () => {
    // Many requests by one person here: the rate limit has its own tests below.
    h = await startHarness({ env: { TIMEBOX_REQUEST_RATE_LIMIT: 'off' } });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(async () => {
    await h.bot.settled();
    for (const r of await h.bot.store.listOpen())
      if (r.status === 'pending') await h.bot.service.cancel(r.id, r.requester).catch(() => undefined);
    await h.bot.settled();
  });

  const say = async (user: TeamsUser, text: string) => {
    const n = h.connector.sentTo(personalChatOf(user)).length;
    const res = await h.teams.say(user, text);
    expect(res.status).toBe(200);
    return lastReply(h, user, n);
  };

  it(`a justification over ${MAX_JUSTIFICATION} characters is refused with what to do, through chat`, async () => {
    const reply = await say(
      users.alex,
      `request sandbox for 1h because ${'x'.repeat(MAX_JUSTIFICATION + 1)}`,
    );
    expect(reply).toMatch(new RegExp(`keep it under ${MAX_JUSTIFICATION}`));
    expect(await h.bot.store.listOpen()).toEqual([]);
  });

  it('a justification of exactly the limit is accepted', async () => {
    await say(users.alex, `request sandbox for 1h because ${'y'.repeat(MAX_JUSTIFICATION)}`);
    const [r] = await waitFor(async () => {
      const open = await h.bot.store.listOpen();
      return open.length ? open : undefined;
    }, 'request');
    expect(r!.justification).toHaveLength(MAX_JUSTIFICATION);
  });

  it(`a command over ${MAX_COMMAND_LENGTH} characters is refused (and a 100 KB one too), without echoing it`, async () => {
    for (const size of [MAX_COMMAND_LENGTH + 1, 100_000]) {
      const reply = await say(users.alex, `request sandbox for 1h because ${'z'.repeat(size)}`);
      expect(reply).toMatch(new RegExp(`under ${MAX_COMMAND_LENGTH}`));
      expect(reply.length).toBeLessThan(200);
    }
    expect(await h.bot.store.listOpen()).toEqual([]);
  });

  it('a body over 256 KB is refused before it is parsed (413, not 5xx)', async () => {
    const res = await h.teams.say(users.alex, `request sandbox for 1h because ${'z'.repeat(300_000)}`);
    expect(res.status).toBe(413);
    expect(await h.bot.store.listOpen()).toEqual([]);
  });

  it('form submission: an over-long justification comes back on the form with what to fix, clipped', async () => {
    const click = await h.teams.click(
      users.alex,
      'submitRequest',
      { group: 'sandbox', duration: '1h', justification: 'j'.repeat(5000) },
      { conversationId: personalChatOf(users.alex), personal: true },
    );
    expect(click.status).toBe(200);
    const text = cardText(click.body.value);
    expect(text).toMatch(/justification is too long: keep it under 1000/i);
    expect(JSON.stringify(click.body.value)).not.toContain('j'.repeat(1001));
    expect(await h.bot.store.listOpen()).toEqual([]);
  });

  it.each([
    ['a reason over 1000 characters', 'deny', { reason: 'r'.repeat(1001) }, /reason is too long/i],
    ['a duration over 20 characters', 'extend', { duration: '1'.repeat(21) + 'h' }, /duration is too long/i],
    ['a reason that is not a string', 'deny', { reason: { toString: 'x' } }, /reason is not valid/i],
    ['a request id with odd characters', 'approve', { requestId: 'R-1;DROP' }, /not one Timebox knows/i],
    [
      'a request id over 20 characters',
      'approve',
      { requestId: 'R-' + 'A'.repeat(30) },
      /not one Timebox knows/i,
    ],
  ])(
    'card action with %s: refused with a short reason, nothing changed',
    async (_name, verb, data, expected) => {
      await say(users.alex, 'request db-read for 1h because limits on card actions');
      const request = await waitFor(
        async () => (await h.bot.store.listOpen()).find((r) => r.group.alias === 'db-read'),
        'request',
      );
      const click = await h.teams.click(
        users.megan,
        verb,
        { requestId: request.id, ...data },
        { conversationId: CHANNEL.channelId },
      );
      expect(click.status).toBe(200);
      expect(cardText(click.body.value)).toMatch(expected);
      await h.bot.settled();
      expect(await h.bot.store.get(request.id)).toMatchObject({ status: 'pending', votes: [] });
    },
  );

  it.each([['unknownVerb'], ['APPROVE'], ['approve '], ['__proto__'], ['constructor'], ['']])(
    'unknown verb %j is rejected and changes nothing',
    async (verb) => {
      await say(users.alex, 'request db-read for 1h because unknown verbs');
      const request = await waitFor(
        async () => (await h.bot.store.listOpen()).find((r) => r.group.alias === 'db-read'),
        'request',
      );
      const click = await h.teams.click(
        users.megan,
        verb,
        { requestId: request.id },
        { conversationId: CHANNEL.channelId },
      );
      expect(click.status).toBe(200);
      expect(cardText(click.body.value)).toMatch(/not one Timebox knows/i);
      await h.bot.settled();
      expect(await h.bot.store.get(request.id)).toMatchObject({ status: 'pending', votes: [] });
    },
  );

  it('who acts comes from the activity, never from the card data (forged requester/approver fields are ignored)', async () => {
    await say(users.alex, 'request db-read for 1h because forged fields');
    const request = await waitFor(
      async () => (await h.bot.store.listOpen()).find((r) => r.group.alias === 'db-read'),
      'request',
    );
    const megan = { id: users.megan.aadObjectId, name: users.megan.name };
    const forged = {
      requestId: request.id,
      actor: megan,
      from: megan,
      approver: megan,
      by: megan,
      aadObjectId: users.megan.aadObjectId,
      userId: users.megan.aadObjectId,
      status: 'approved',
      approvalsRequired: 0,
    };
    const click = await h.teams.click(users.alex, 'approve', forged, { conversationId: CHANNEL.channelId });
    expect(cardText(click.body.value)).toMatch(/only approvers/i);
    await h.bot.settled();
    expect(await h.bot.store.get(request.id)).toMatchObject({
      status: 'pending',
      votes: [],
      approvalsRequired: 1,
    });
    const audit = await auditTypes(h);
    expect(audit.at(-1)).toEqual({
      type: 'refused',
      code: 'AUTH.NOT_APPROVER',
      actor: users.alex.aadObjectId,
    });
  });

  it('an automatic refresh never changes state, whatever verb it carries', async () => {
    await say(users.alex, 'request db-read for 1h because refresh');
    const request = await waitFor(
      async () => (await h.bot.store.listOpen()).find((r) => r.group.alias === 'db-read'),
      'request',
    );
    const click = await h.teams.click(
      users.megan,
      'approve',
      { requestId: request.id },
      { conversationId: CHANNEL.channelId },
      'automatic',
    );
    expect(click.status).toBe(200);
    await h.bot.settled();
    expect(await h.bot.store.get(request.id)).toMatchObject({ status: 'pending', votes: [] });
  });
});

describe('rate limit on new requests', () => {
  it('RateLimiter: N per window per person, on the Clock, with the wait in the message', () => {
    let now = 1_000_000;
    const clock: Clock = { now: () => now, setTimer: () => () => undefined };
    const limiter = new RateLimiter(clock, parseRateLimit('3/10m')!);
    limiter.take('alex');
    now += 60_000;
    limiter.take('alex');
    limiter.take('alex');
    expect(() => limiter.take('alex')).toThrow(/filed 3 requests in the last 10m.*Try again in 9m/);
    expect(() => limiter.take('megan')).not.toThrow();
    now += 9 * 60_000 + 1; // the first one leaves the window
    expect(() => limiter.take('alex')).not.toThrow();
    expect(() => limiter.take('alex')).toThrow(/REQUEST|requests/);
    const refund = (() => {
      now += 20 * 60_000;
      return limiter.take('alex');
    })();
    expect(limiter.used('alex')).toBe(1);
    refund();
    expect(limiter.used('alex')).toBe(0);
  });

  it('parseRateLimit takes "N/duration" or "off", and refuses anything else', () => {
    expect(parseRateLimit('10/10m')).toEqual({ max: 10, windowMs: 600_000 });
    expect(parseRateLimit(' 5 / 1h ')).toEqual({ max: 5, windowMs: 3_600_000 });
    expect(parseRateLimit('off')).toBeUndefined();
    for (const bad of ['10', '/10m', '0/10m', '10/0m', 'ten/10m', '10/forever', '-1/1m'])
      expect(() => parseRateLimit(bad)).toThrow(/not a rate limit/);
  });

  it('through the bot: the next request after the limit is refused with a clear message and audited; others are unaffected', async () => {
    const h = await startHarness({ env: { TIMEBOX_REQUEST_RATE_LIMIT: '3/1h' } });
    try {
      const say = async (user: TeamsUser, text: string) => {
        const n = h.connector.sentTo(personalChatOf(user)).length;
        await h.teams.say(user, text);
        return lastReply(h, user, n);
      };
      for (let i = 0; i < 3; i++) {
        await h.teams.say(users.alex, `request sandbox for 1h because attempt ${i}`);
        const r = await waitFor(
          async () => (await h.bot.store.listOpen()).find((x) => x.requester.id === users.alex.aadObjectId),
          'request',
        );
        await say(users.alex, `cancel ${r.id}`);
        await waitFor(async () => (await h.bot.store.listOpen()).length === 0, 'cancelled');
        await h.bot.settled(); // the receipt's update for the cancel is sent before the next reply is read
      }
      // Refusals that file nothing did not use up the allowance...
      await say(users.alex, 'request nosuchgroup for 1h because typo');
      // ...but the fourth real request is over it.
      const refused = await say(users.alex, 'request sandbox for 1h because one too many');
      expect(refused).toMatch(/You have filed 3 requests in the last 1h.*Try again in/);
      expect(await h.bot.store.listOpen()).toEqual([]);
      const form = await h.teams.click(
        users.alex,
        'submitRequest',
        { group: 'sandbox', duration: '1h', justification: 'via the form' },
        { conversationId: personalChatOf(users.alex), personal: true },
      );
      expect(cardText(form.body.value)).toMatch(/You have filed 3 requests/);
      expect(await h.bot.store.listOpen()).toEqual([]);
      const audit = await auditTypes(h);
      expect(audit.filter((a) => a.code === 'REQUEST.RATE_LIMITED')).toEqual([
        { type: 'refused', code: 'REQUEST.RATE_LIMITED', actor: users.alex.aadObjectId },
        { type: 'refused', code: 'REQUEST.RATE_LIMITED', actor: users.alex.aadObjectId },
      ]);
      // Megan has her own allowance.
      await h.teams.say(users.megan, 'request sandbox for 1h because my own allowance');
      await waitFor(async () => (await h.bot.store.listOpen()).length === 1, "megan's request");
    } finally {
      await h.close();
    }
  });
});
