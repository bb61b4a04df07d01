import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startHarness, CHANNEL, type Harness } from '../helpers/harness';
import { TENANT, users, personalChatOf, type TeamsUser } from '../helpers/teams-client';
import { verifyAuditFile } from '../../src/adapters/store/audit-verify';
import type { AccessRequest, Person } from '../../src/domain/request';
import { RecordingLogger } from './recording-logger';
import { hasVisibleContent } from '../../src/domain/text';
import { cardText, firstCard, waitFor } from '../helpers/fake-connector';
import { activityProblems, cardProblems, type CardProblem } from './safe-card';

/**
 * Hostile input through every way in — chat commands, the request form (verb submitRequest) and
 * card actions (invoke data) — against the real bot over HTTP. For every entry: no crash (no
 * unexpected error logged), no 5xx, no state change where none is due, and every card and reply
 * that results is safe (see safe-card.ts).
 */

/** 240 combining marks, above and below, for one letter. */
const TOWER =
  '\u030D\u030E\u0304\u0305\u033F\u0311\u0306\u0310\u0352\u0357\u0351\u0307\u0316\u0317\u0318\u0319\u031C\u031D\u031E\u031F\u0320\u0324\u0325\u0326'.repeat(
    10,
  );

/** Text that looks filled in on a card but has no visible letter or digit: a missing reason. */
const LOOKS_FILLED: Array<[string, string]> = [
  ['U+3164 (Hangul filler) only', '\u3164\u3164\u3164'],
  ['U+2800 (braille blank) only', '\u2800\u2800\u2800'],
  [
    'tag characters only',
    '\u{E0001}\u{E0061}\u{E0070}\u{E0070}\u{E0072}\u{E006F}\u{E0076}\u{E0065}\u{E007F}',
  ],
  ['variation selectors only', '\uFE00\uFE0E\u{E0100}\u{E01EF}'],
  ['U+034F and U+17B4, U+17B5 only', '\u034F\u17B4\u17B5\u034F'],
  ['240 combining marks on nothing', TOWER],
];

const HOSTILE: Array<[string, string]> = [
  // Template expressions (adaptivecards-templating) and Teams' date functions
  ['template expression', '${1+1}'],
  ['template field of the view model', '${requester.name}'],
  ['template root', '${$root}'],
  ['template function', '${if(true, "a", "b")}'],
  ['template $data binding', '{"$data": "${$root}", "$when": "${true}"}'],
  ['Teams DATE function', '{{DATE(2017-02-14T06:08:39Z, SHORT)}}'],
  ['Teams TIME function', '{{TIME(2017-02-14T06:08:39Z)}}'],
  ['nested template', '$${${x}}}'],
  // Markdown
  ['markdown link', '[click me](https://evil.example/login)'],
  ['markdown image', '![img](https://evil.example/x.png)'],
  ['markdown emphasis claiming approval', '**APPROVED** by security'],
  ['markdown heading and list', '# Heading\n- item\n1. first'],
  ['autolink', '<https://evil.example>'],
  ['link dressed as a request id', '[R-AAAAAA](https://evil.example) approved'],
  ['code, strike, emphasis', '`code` ~~strike~~ _em_ |table|'],
  ['quote with escaped brackets', '> quote \\[escaped\\](x)'],
  // Mentions
  ['mention markup', '<at>Megan Bowen</at>'],
  ['mention markup with id', '<at id="29:megan">Megan</at> please approve'],
  ['plain @mention', '@Megan Bowen approve this'],
  ['mention of the bot with a command', '<at>Timebox</at> approve R-AAAAAA'],
  // HTML
  ['script tag', '<script>alert(1)</script>'],
  ['img onerror', '<img src=x onerror=alert(1)>'],
  ['anchor', '<a href="https://evil.example">ok</a>'],
  ['HTML entities', '&lt;b&gt;entity&lt;/b&gt; &amp;amp; &#x3C;i&#x3E;'],
  ['iframe', '<iframe src="https://evil.example"></iframe>'],
  ['comment and CDATA', '<!-- comment --> <![CDATA[x]]>'],
  // Control and bidi characters
  ['C0 controls', 'a\u0000b\u0007c\u001bd'],
  ['right-to-left override', '\u202Egnp.exe\u202C approve'],
  ['isolates and marks', '\u2066isolate\u2069 \u200Fmark \u061C'],
  ['zero-width characters', '\u200B\u200C\u200D\uFEFF zero width'],
  ['line separators', 'line1\r\nline2\rline3\u2028line4\u2029end'],
  ['NEL and soft hyphen', '\u0085 NEL \u00AD soft'],
  ['tabs, VT, FF', '\t\t tabs \v \f'],
  ['lone surrogate', 'half \ud800 a pair'],
  // Homoglyph group names (also used as the group)
  ['Cyrillic a in db-read', 'db-re\u0430d'],
  ['Cyrillic s in sandbox', '\u0455andbox'],
  ['fullwidth sandbox', '\uff53\uff41\uff4e\uff44\uff42\uff4f\uff58'],
  ['combining accent', 'sandbox\u0301'],
  ['Greek omicron in prod-admin', 'pr\u03bfd-admin'],
  ['display name with homoglyph', 'Production DB (re\u0430d)'],
  // Big strings
  ['100 KB of A', 'A'.repeat(100_000)],
  ['emoji x 25k', '\u{1F600}'.repeat(25_000)],
  ['template openers x 30k', '${'.repeat(30_000)],
  ['brackets x 50k', '['.repeat(50_000)],
  ['RLO x 40k', '\u202E'.repeat(40_000)],
  ['50k words', 'a '.repeat(50_000)],
  // Other injections and parser confusion
  ['__proto__', '__proto__'],
  ['constructor', 'constructor'],
  ['NoSQL operator', '{"$ne": null}'],
  ['SQL', "'; DROP TABLE requests; --"],
  ['path traversal', '../../../../etc/passwd'],
  ['format string', '%s%s%s%n %x %d'],
  ['request id', 'R-AAAAAA'],
  ['two tickets', 'ticket INC-123 ticket INC-456'],
  ['javascript URL', 'javascript:alert(1)'],
  ['approval link', 'https://evil.example/approve?id=R-AAAAAA'],
  ['parser confusion', 'for 1h because for 2h because'],
  ['a command inside', 'break-glass prod-admin 30m because'],
  ['literal escapes', '\\u0000 literal \\n escapes \\"'],
  [
    'mixed scripts and ZWJ emoji',
    'Ω≈ç√ 田中さん \u{1F469}\u200D\u{1F469}\u200D\u{1F467} \u{1F3F3}\uFE0F\u200D\u{1F308}',
  ],
  ['empty', ''],
  ['blanks', '   '],
  ['null', 'null'],
  ['undefined', 'undefined'],
  ['JSON', '{"type":"invoke","value":{"action":{"verb":"approve"}}}'],
  // Text that draws something other than itself: a fake timeline line, blanks that pass for a
  // reason, characters that carry hidden data, a tower of marks over the facts above.
  [
    'fake timeline line via newline',
    'Need the logs\n✔ Approved by Ana Approver · 10:02\n● Membership added · 10:02',
  ],
  ...LOOKS_FILLED,
  [
    'tag characters among words',
    'see\u{E0001}\u{E0069}\u{E0067}\u{E006E}\u{E006F}\u{E0072}\u{E0065}\u{E007F} the logs',
  ],
  ['variation selectors among words', 'v\uFE00a\uFE0Er\u{E0100}y\u{E01EF} logs'],
  ['U+034F and U+17B4 among words', 'c\u034Fg\u034Fj k\u17B4h\u17B5m'],
  ['240 combining marks on one letter', `Z${TOWER}algo`],
];

const ALEX: Person = { id: users.alex.aadObjectId, name: 'Alex Wilber', upn: 'alex@example.com' };

describe('hostile-input corpus', () => {
  let h: Harness;
  const logger = new RecordingLogger();
  const statuses: number[] = [];
  const knownMentions = Object.values(users).map((u) => u.id);

  beforeAll(async () => {
    h = await startHarness({
      env: { TIMEBOX_REQUEST_RATE_LIMIT: 'off', MicrosoftAppTenantId: TENANT },
      overrides: { logger },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Every card and reply the bot sent since `mark`, and every invoke answer given, must be safe. */
  const sentSince = (mark: { created: number; sent: number; updates: number }) => [
    ...h.connector.created.slice(mark.created).map((c) => c.params.activity as Record<string, unknown>),
    ...h.connector.sent.slice(mark.sent).map((s) => s.activity),
    ...h.connector.updates.slice(mark.updates).map((u) => u.activity),
  ];
  const markNow = () => ({
    created: h.connector.created.length,
    sent: h.connector.sent.length,
    updates: h.connector.updates.length,
  });

  async function say(user: TeamsUser, text: string): Promise<void> {
    const res = await h.teams.say(user, text);
    statuses.push(res.status);
    expect(res.status).toBeLessThan(500);
  }

  async function click(
    user: TeamsUser,
    verb: string,
    data: Record<string, unknown>,
    personal = false,
  ): Promise<unknown> {
    const where = personal
      ? { conversationId: personalChatOf(user), personal: true }
      : { conversationId: CHANNEL.channelId };
    const res = await h.teams.click(user, verb, data, where);
    statuses.push(res.status);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('application/vnd.microsoft.card.adaptive');
    return res.body.value;
  }

  const openIds = async () =>
    (await h.bot.store.listOpen()).map((r) => `${r.id}:${r.status}:${r.version}`).sort();

  async function cancelAllPending(): Promise<void> {
    await h.bot.settled();
    for (const r of await h.bot.store.listOpen())
      if (r.status === 'pending') await h.bot.service.cancel(r.id, r.requester).catch(() => undefined);
    await h.bot.settled();
  }

  it(`has at least 50 entries (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(50);
  });

  it.each(HOSTILE)('%s: commands, form and card actions stay safe', async (_name, payload) => {
    const mark = markNow();
    const answers: unknown[] = [];
    const logged = logger.entries.length;

    // (a) Chat: as the justification. Filing it is due (it is data); anything shown must be safe.
    await say(users.alex, `request sandbox for 1h because ${payload}`);
    await cancelAllPending();

    // (b) Chat: as the group name. No homoglyph or junk may resolve to a group.
    await say(users.alex, `request ${payload} for 1h because hostile group name`);
    await h.bot.settled();
    expect(await h.bot.store.listOpen()).toEqual([]);

    // (c) Chat: as the whole message.
    await say(users.alex, payload);
    await h.bot.settled();
    expect(await h.bot.store.listOpen()).toEqual([]);

    // (d) Form: as the justification (filing it is due).
    answers.push(
      await click(
        users.alex,
        'submitRequest',
        { group: 'sandbox', duration: '1h', justification: payload },
        true,
      ),
    );
    await cancelAllPending();

    // (e) Form: as the group, the duration and the ticket: nothing may be filed.
    answers.push(
      await click(
        users.alex,
        'submitRequest',
        { group: payload, duration: '1h', justification: 'hostile form' },
        true,
      ),
    );
    answers.push(
      await click(
        users.alex,
        'submitRequest',
        { group: 'prod-admin', duration: payload, justification: 'hostile duration', ticket: payload },
        true,
      ),
    );
    await h.bot.settled();
    expect(await h.bot.store.listOpen()).toEqual([]);

    // (f) Card actions on a real pending request.
    const { request } = await h.bot.service.submit({
      requester: ALEX,
      tenantId: TENANT,
      group: 'db-read',
      durationMs: 3_600_000,
      justification: 'corpus target',
    });
    await h.bot.settled();
    const before = await openIds();
    // A request id that is not one: nothing changes anywhere.
    answers.push(await click(users.megan, 'approve', { requestId: payload }));
    answers.push(
      await click(users.alex, 'extend', { requestId: request.id, duration: payload, reason: payload }, true),
    );
    answers.push(await click(users.lynne, 'deny', { requestId: request.id, reason: payload }));
    await h.bot.settled();
    expect(await openIds()).toEqual(before);
    // An approver denies with the payload as the reason: denied when the reason is usable, else unchanged.
    answers.push(await click(users.megan, 'deny', { requestId: request.id, reason: payload }));
    await h.bot.settled();
    const after = (await h.bot.store.get(request.id)) as AccessRequest;
    const usable = hasVisibleContent(payload) && payload.length <= 1000;
    if (usable) expect(after.status).toBe('denied');
    else expect(after).toMatchObject({ status: 'pending', votes: [] });
    await cancelAllPending();

    // Everything shown was safe, and nothing unexpected went wrong.
    const problems: CardProblem[] = [
      ...sentSince(mark).flatMap((a) => activityProblems(a, knownMentions)),
      ...answers.flatMap((card) => cardProblems(card)),
    ];
    expect(problems).toEqual([]);
    expect(logger.entries.slice(logged).filter((e) => e.level === 'error')).toEqual([]);
  });

  it.each(LOOKS_FILLED)(
    'a justification of %s is refused as JUSTIFICATION_REQUIRED: chat, form and service',
    async (_name, payload) => {
      const chat = personalChatOf(users.alex);
      const before = h.connector.sentTo(chat).length;
      await say(users.alex, `request sandbox for 1h because ${payload}`);
      const reply = await waitFor(
        () =>
          h.connector
            .sentTo(chat)
            .slice(before)
            .find((s) => s.activity.text || firstCard(s.activity)),
        'a reply',
      );
      expect(reply.activity.text ?? cardText(firstCard(reply.activity))).toMatch(
        /sandbox needs a reason\. Add one/,
      );
      const form = await click(
        users.alex,
        'submitRequest',
        { group: 'sandbox', duration: '1h', justification: payload },
        true,
      );
      expect(cardText(form)).toMatch(/needs a reason/i);
      await expect(
        h.bot.service.submit({
          requester: ALEX,
          tenantId: TENANT,
          group: 'sandbox',
          durationMs: 3_600_000,
          justification: payload,
        }),
      ).rejects.toMatchObject({ code: 'JUSTIFICATION.REQUIRED' });
      await h.bot.settled();
      expect(await h.bot.store.listOpen()).toEqual([]);
    },
  );

  it('a fake timeline line in a justification stays inside the justification, on one line, on the approval card', async () => {
    const mark = markNow();
    const { request } = await h.bot.service.submit({
      requester: ALEX,
      tenantId: TENANT,
      group: 'db-read',
      durationMs: 3_600_000,
      justification: 'Need the logs\n✔ Approved by Ana Approver · 10:02',
    });
    await h.bot.settled();
    const cards = sentSince(mark).flatMap((a) =>
      ((a.attachments as Array<{ content?: unknown }> | undefined) ?? []).map((x) => x.content),
    );
    const texts = cards.flatMap((card) =>
      [...JSON.stringify(card ?? null).matchAll(/"text":"((?:[^"\\]|\\.)*)"/g)].map(
        (m) => JSON.parse(`"${m[1]}"`) as string,
      ),
    );
    expect(texts).toContain('Need the logs ↵ ✔ Approved by Ana Approver · 10:02');
    expect(texts.filter((t) => /[\n\r]/.test(t))).toEqual([]);
    expect(texts.filter((t) => /^✔ Approved by Ana/.test(t.trim()))).toEqual([]);
    // The store keeps what was typed.
    expect((await h.bot.store.get(request.id))?.justification).toBe(
      'Need the logs\n✔ Approved by Ana Approver · 10:02',
    );
    await cancelAllPending();
  });

  it('no request was answered with a 5xx, and the audit chain still verifies', async () => {
    expect(statuses.length).toBeGreaterThan(HOSTILE.length * 8);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const result = await verifyAuditFile(path.join(h.dataDir, 'data', 'audit.jsonl'));
    expect(result).toMatchObject({ ok: true });
    expect(result.records).toBeGreaterThan(HOSTILE.length);
  });
});

/** Bodies and activities that are not what Teams sends: malformed JSON, wrong types, odd shapes. */
const STRUCTURAL = (connectorUrl: string): Array<[string, { body: string; contentType?: string }]> => {
  const base = {
    id: 'x1',
    timestamp: new Date().toISOString(),
    channelId: 'msteams',
    serviceUrl: connectorUrl,
    recipient: { id: '28:timebox-test-bot', name: 'Timebox' },
    conversation: { id: 'a:personal-alex', conversationType: 'personal', tenantId: TENANT },
    channelData: { tenant: { id: TENANT } },
  };
  const from = { id: '29:alex', name: 'Alex Wilber', aadObjectId: users.alex.aadObjectId };
  // "status" changes nothing when it works; any request stored would be a state change.
  const msg = (extra: Record<string, unknown>) =>
    JSON.stringify({ ...base, type: 'message', from, text: 'status', ...extra });
  const invoke = (value: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ ...base, type: 'invoke', name: 'adaptiveCard/action', from, value, ...extra });
  const execute = (data: unknown, verb: unknown = 'approve') =>
    invoke({ action: { type: 'Action.Execute', verb, data }, trigger: 'manual' });
  return [
    ['truncated JSON', { body: '{"type":"message","text":"request' }],
    ['empty body', { body: '' }],
    ['null', { body: 'null' }],
    ['an array', { body: '[]' }],
    ['a string', { body: '"hello"' }],
    ['a number', { body: '123' }],
    ['byte order mark', { body: `\ufeff${msg({})}` }],
    ['deeply nested arrays', { body: '['.repeat(100_000) + ']'.repeat(100_000) }],
    ['deeply nested objects', { body: '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000) }],
    [
      '__proto__ pollution',
      {
        body: msg({
          __proto__: { polluted: 'yes' },
          constructor: { prototype: { polluted: 'yes' } },
        }).replace('"text"', '"__proto__":{"polluted":"yes"},"text"'),
      },
    ],
    ['duplicate keys', { body: msg({}).replace('"type":"message"', '"type":"message","type":"invoke"') }],
    [
      'invalid UTF-8',
      { body: Buffer.from([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]).toString('latin1') },
    ],
    ['text/plain content type', { body: msg({}), contentType: 'text/plain' }],
    ['no type', { body: JSON.stringify({ ...base, from, text: 'help' }) }],
    ['type is a number', { body: msg({ type: 123 }) }],
    ['text is an object', { body: msg({ text: { toString: 'x' } }) }],
    ['text is a number', { body: msg({ text: 42 }) }],
    ['text is an array', { body: msg({ text: ['request', 'sandbox'] }) }],
    ['from is a string', { body: msg({ from: 'alex' }) }],
    ['from is null', { body: msg({ from: null }) }],
    ['aadObjectId is a number', { body: msg({ from: { ...from, aadObjectId: 42 } }) }],
    ['aadObjectId is an object', { body: msg({ from: { ...from, aadObjectId: { $ne: null } } }) }],
    ['aadObjectId is 10 KB', { body: msg({ from: { ...from, aadObjectId: 'a'.repeat(10_000) } }) }],
    ['no aadObjectId', { body: msg({ from: { id: '29:alex', name: 'Alex' } }) }],
    ['conversation is null', { body: msg({ conversation: null }) }],
    [
      'conversation id is an object',
      { body: msg({ conversation: { id: {}, conversationType: 'personal', tenantId: TENANT } }) },
    ],
    [
      'tenant id is an object',
      {
        body: msg({
          conversation: { id: 'a:personal-alex', conversationType: 'personal', tenantId: { id: TENANT } },
        }),
      },
    ],
    ['entities is a string', { body: msg({ entities: 'mention' }) }],
    ['an entity without a type', { body: msg({ entities: [{}] }) }],
    ['a mention without mentioned', { body: msg({ entities: [{ type: 'mention', text: '<at>x</at>' }] }) }],
    [
      'a mention of the bot in a message without text',
      {
        body: msg({
          text: undefined,
          entities: [{ type: 'mention', mentioned: { id: '28:timebox-test-bot' }, text: '<at>Timebox</at>' }],
        }),
      },
    ],
    [
      'a Mention with an upper-case type and a numeric text',
      { body: msg({ entities: [{ type: 'MENTION', mentioned: { id: '28:timebox-test-bot' }, text: 5 }] }) },
    ],
    [
      '10k mention entities',
      {
        body: msg({
          entities: Array.from({ length: 10_000 }, () => ({
            type: 'mention',
            mentioned: { id: '28:timebox-test-bot' },
            text: '<at>x</at>',
          })),
        }),
      },
    ],
    ['attachments is an object', { body: msg({ attachments: { contentType: 'x' } }) }],
    ['channelData is a string', { body: msg({ channelData: 'x' }) }],
    ['serviceUrl is javascript:', { body: msg({ serviceUrl: 'javascript:alert(1)' }) }],
    ['serviceUrl is file:', { body: msg({ serviceUrl: 'file:///etc/passwd' }) }],
    ['invoke value is a string', { body: invoke('approve') }],
    ['invoke value is null', { body: invoke(null) }],
    ['invoke value is an array', { body: invoke([]) }],
    ['invoke action is a string', { body: invoke({ action: 'Action.Execute' }) }],
    [
      'invoke action type is Action.Submit',
      {
        body: invoke({ action: { type: 'Action.Submit', verb: 'approve', data: { requestId: 'R-AAAAAA' } } }),
      },
    ],
    ['invoke data is a string', { body: execute('R-AAAAAA') }],
    ['invoke data is an array', { body: execute(['R-AAAAAA']) }],
    ['invoke requestId is a number', { body: execute({ requestId: 123 }) }],
    ['invoke requestId is an array', { body: execute({ requestId: ['R-AAAAAA'] }) }],
    ['invoke requestId is an operator', { body: execute({ requestId: { $ne: null } }) }],
    ['invoke verb is a number', { body: execute({ requestId: 'R-AAAAAA' }, 7) }],
    ['invoke verb is an object', { body: execute({ requestId: 'R-AAAAAA' }, { toString: 'approve' }) }],
    [
      'invoke trigger is odd',
      {
        body: invoke({
          action: { type: 'Action.Execute', verb: 'approve', data: { requestId: 'R-AAAAAA' } },
          trigger: { x: 1 },
        }),
      },
    ],
    ['invoke with an unknown name', { body: invoke({ x: 1 }, { name: 'composeExtension/query' }) }],
    ['invoke with a task/fetch name', { body: invoke({ data: {} }, { name: 'task/fetch' }) }],
    [
      'invoke with no name',
      { body: invoke({ action: { type: 'Action.Execute', verb: 'approve' } }, { name: undefined }) },
    ],
    [
      'conversationUpdate with junk members',
      {
        body: JSON.stringify({
          ...base,
          type: 'conversationUpdate',
          from,
          membersAdded: [{ id: {} }, null, 'x'],
        }),
      },
    ],
    [
      'messageReaction',
      {
        body: JSON.stringify({ ...base, type: 'messageReaction', from, reactionsAdded: [{ type: 'like' }] }),
      },
    ],
    ['unknown activity type', { body: JSON.stringify({ ...base, type: 'x-evil', from }) }],
    ['aadObjectId "__proto__"', { body: msg({ from: { ...from, aadObjectId: '__proto__' } }) }],
    [
      'tenant id "__proto__"',
      {
        body: msg({
          conversation: { id: 'a:personal-alex', conversationType: 'personal', tenantId: '__proto__' },
          channelData: { tenant: { id: '__proto__' } },
        }),
      },
    ],
    [
      'conversation id "constructor"',
      { body: msg({ conversation: { id: 'constructor', conversationType: 'personal', tenantId: TENANT } }) },
    ],
  ];
};
const CONNECTOR_PLACEHOLDER = 'http://connector.invalid/';

describe('structural corpus: malformed bodies and wrong types', () => {
  let h: Harness;
  const logger = new RecordingLogger();
  beforeAll(async () => {
    h = await startHarness({
      env: { TIMEBOX_REQUEST_RATE_LIMIT: 'off', MicrosoftAppTenantId: TENANT },
      overrides: { logger },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(STRUCTURAL(CONNECTOR_PLACEHOLDER))(
    '%s: no 5xx, no state change, nothing polluted',
    async (_name, entry) => {
      // The activities reply through the harness's connector (known only once it runs).
      const body = entry.body.split(JSON.stringify(CONNECTOR_PLACEHOLDER).slice(1, -1)).join(h.connector.url);
      const contentType = entry.contentType;
      const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      const consoleWarn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const res = await fetch(`${h.bot.url}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': contentType ?? 'application/json' },
          body,
        });
        expect(res.status).toBeLessThan(500);
        const text = await res.text();
        expect(text).not.toMatch(/\n\s+at .*:\d+/); // never a stack trace
        await h.bot.settled();
        expect(await h.bot.store.listOpen()).toEqual([]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('polluted');
        // Nothing was learned under a key that is not an Entra id.
        const file = path.join(h.dataDir, 'data', 'timebox.json');
        const hot = (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}) as {
          personalChats?: object;
          serviceUrls?: object;
        };
        const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
        for (const key of [...Object.keys(hot.personalChats ?? {}), ...Object.keys(hot.serviceUrls ?? {})])
          expect(key).toMatch(GUID);
      } finally {
        consoleError.mockRestore();
        consoleWarn.mockRestore();
      }
    },
  );

  it('every field null, empty or of the wrong kind, for every activity type: no 5xx, no unexpected error', async () => {
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const consoleWarn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const base = h.teams.message(users.lynne, 'status');
    const keys = [
      ...Object.keys(base),
      'value',
      'name',
      'entities',
      'attachments',
      'membersAdded',
      'membersRemoved',
      'reactionsAdded',
      'reactionsRemoved',
      'action',
      'locale',
      'replyToId',
    ];
    const failures: string[] = [];
    try {
      for (const type of [
        'message',
        'invoke',
        'conversationUpdate',
        'event',
        'typing',
        'installationUpdate',
        'messageReaction',
      ]) {
        for (const key of keys) {
          for (const value of [null, [], {}, '', 0, true]) {
            const before = logger.entries.length;
            const res = await h.teams.post({
              ...base,
              type,
              name: type === 'invoke' ? 'adaptiveCard/action' : undefined,
              [key]: value,
            });
            const errors = logger.entries.slice(before).filter((e) => e.level === 'error');
            if (res.status >= 500 || errors.length)
              failures.push(
                `${type} ${key}=${JSON.stringify(value)}: ${res.status} ${errors.map((e) => String((e.obj as { err?: unknown }).err)).join('; ')}`,
              );
          }
        }
      }
    } finally {
      consoleError.mockRestore();
      consoleWarn.mockRestore();
    }
    await h.bot.settled();
    expect(failures).toEqual([]);
    expect(await h.bot.store.listOpen()).toEqual([]);
  });

  it('the bot still serves afterwards', async () => {
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
    const res = await h.teams.say(users.alex, 'request sandbox for 1h because still alive');
    expect(res.status).toBe(200);
    await h.bot.settled();
    expect(await h.bot.store.listOpen()).toHaveLength(1);
    expect(logger.entries.filter((e) => e.level === 'error')).toEqual([]);
  });
});
