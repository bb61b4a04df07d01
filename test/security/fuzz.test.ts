import fc from 'fast-check';
import { startHarness, CHANNEL, type Harness } from '../helpers/harness';
import { TENANT, users, personalChatOf } from '../helpers/teams-client';
import {
  parseCommand,
  normalizeText,
  splitTicket,
  MAX_COMMAND_LENGTH,
} from '../../src/adapters/teams/command-parser';
import { activityProblem } from '../../src/adapters/http/activity-shape';
import { CardVerb } from '../../src/cards/verbs';
import { DomainError } from '../../src/domain/errors';
import type { Person } from '../../src/domain/request';
import { RecordingLogger } from './recording-logger';
import { activityProblems, cardProblems } from './safe-card';

/**
 * fast-check fuzzing of the command parser and the invoke handler: whatever arrives, the answer is
 * a command or a DomainError (which the one place that maps errors turns into a sentence), never an
 * unhandled error, never a 5xx, never a change a bystander could not make by hand, never an unsafe card.
 * Seeds are fixed per run by fast-check and printed on failure; `FC_SEED`/`FC_RUNS` reproduce or deepen.
 */
const RUNS = Number(process.env.FC_RUNS ?? 0) || undefined;
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number) => ({ numRuns: RUNS ?? numRuns, ...(seed !== undefined ? { seed } : {}) });

const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/;

const WORDS = [
  'request',
  'REQUEST',
  'break-glass',
  'breakglass',
  'extend',
  'release',
  'cancel',
  'status',
  'my',
  'access',
  'pending',
  'help',
  '?',
  'for',
  'by',
  'because',
  'ticket',
  'INC-42',
  'sandbox',
  'db-read',
  'prod-admin',
  'Production',
  'DB',
  '(read)',
  '1h',
  '30m',
  '1h30m',
  '0s',
  '999999d',
  '1d2h3m4s',
  '5',
  'parsecs',
  'R-AAAAAA',
  '<at>Timebox</at>',
  '<at>',
  '</at>',
  '<b>',
  '&amp;lt;',
  '&nbsp;',
  '${x}',
  '{{DATE(x)}}',
  '[a](b)',
  '\u202e',
  '\u200b',
  '\u0000',
  '\n',
  '\t',
  '__proto__',
  'constructor',
];

/** Text that looks like commands often enough to reach every branch, and like garbage the rest of the time. */
const commandText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...WORDS), fc.string({ maxLength: 12 })), { maxLength: 14 })
      .map((w) => w.join(' ')),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 300, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...WORDS), fc.integer({ min: 0, max: 3000 }))
      .map(([w, n]) => `request sandbox for 1h because ${w.repeat(n)}`),
  },
);

describe('fuzzing the command parser', () => {
  it('returns a command or throws a DomainError, quickly, for any text', () => {
    fc.assert(
      fc.property(commandText, (text) => {
        const started = performance.now();
        try {
          const command = parseCommand(text);
          // What comes out is clean text of bounded size.
          for (const value of Object.values(command)) {
            const strings = Array.isArray(value) ? value : [value];
            for (const s of strings) if (typeof s === 'string') expect(s).not.toMatch(INVISIBLE);
          }
          if (command.name === 'request' && command.durationMs !== undefined)
            expect(Number.isSafeInteger(command.durationMs) && command.durationMs > 0).toBe(true);
          if (command.name === 'extend') expect(command.durationMs).toBeGreaterThan(0);
          expect(JSON.stringify(command).length).toBeLessThan(MAX_COMMAND_LENGTH + 500);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          expect(error.message.length).toBeLessThan(400);
          expect(error.message).not.toMatch(/\n\s+at /);
        }
        // A guard against catastrophic backtracking, not a benchmark: a GC pause or a loaded CI machine may take tens of ms.
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      params(3000),
    );
  });

  it('normalizeText leaves no controls, bidi or zero-width characters, and no doubled spaces', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 500, unit: 'binary' }), (text) => {
        const clean = normalizeText(text);
        expect(clean).not.toMatch(INVISIBLE);
        expect(clean).not.toMatch(/\s\s/);
        expect(clean).toBe(clean.trim());
      }),
      params(2000),
    );
  });

  it('splitTicket never throws and only takes a ticket that matches the pattern or follows "ticket"', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom('ticket', 'INC-1', 'INC-', 'inc-9', 'INC-12.', 'x'),
            fc.string({ maxLength: 10 }),
          ),
          { maxLength: 12 },
        ),
        (words) => {
          const { ticket, justification } = splitTicket(words, '^INC-[0-9]+$');
          expect(typeof justification).toBe('string');
          if (ticket !== undefined && !words.some((w) => w.toLowerCase() === 'ticket'))
            expect(ticket).toMatch(/^INC-[0-9]+$/);
        },
      ),
      params(2000),
    );
  });

  it('the activity gate classifies any JSON without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const problem = activityProblem(value);
        expect(problem === undefined || typeof problem === 'string').toBe(true);
      }),
      params(2000),
    );
  });
});

describe('fuzzing the bot over HTTP (invoke handler, message handler, activity gate)', () => {
  let h: Harness;
  const logger = new RecordingLogger();
  const ALEX: Person = { id: users.alex.aadObjectId, name: 'Alex Wilber', upn: 'alex@example.com' };
  let targetId = '';
  const knownMentions = Object.values(users).map((u) => u.id);

  beforeAll(async () => {
    h = await startHarness({
      env: { TIMEBOX_REQUEST_RATE_LIMIT: 'off', MicrosoftAppTenantId: TENANT },
      overrides: { logger },
    });
    targetId = (
      await h.bot.service.submit({
        requester: ALEX,
        tenantId: TENANT,
        group: 'db-read',
        durationMs: 3_600_000,
        justification: 'fuzz target',
      })
    ).request.id;
    await h.bot.settled();
  });
  afterAll(async () => {
    await h.close();
  });

  const errorsLogged = () => logger.entries.filter((e) => e.level === 'error');

  const verb = fc.oneof(
    // Every verb the cards carry, so that a verb added later is fuzzed too.
    fc.constantFrom<string>(...Object.values(CardVerb)),
    fc.string({ maxLength: 20 }),
  );
  const anyValue = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  );
  const requestId = () =>
    fc.oneof(
      fc.constant(targetId),
      fc.constant(targetId.toLowerCase()),
      fc.constant(targetId.slice(2)),
      fc.string({ maxLength: 30 }),
      anyValue,
    );
  const data = () =>
    fc.oneof(
      fc.record(
        {
          requestId: requestId(),
          reason: fc.oneof(fc.string({ maxLength: 1200 }), anyValue),
          duration: fc.oneof(
            fc.constantFrom('30m', '1h', '0s', '99999d', ''),
            fc.string({ maxLength: 25 }),
            anyValue,
          ),
          group: fc.oneof(fc.constantFrom('sandbox', 'db-read', '__proto__'), fc.string({ maxLength: 30 })),
          justification: fc.string({ maxLength: 1100 }),
          ticket: fc.string({ maxLength: 120 }),
        },
        { requiredKeys: [] },
      ),
      anyValue,
    );
  const invokeValue = () =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record(
          {
            action: fc.record(
              {
                type: fc.oneof(fc.constant('Action.Execute'), fc.string({ maxLength: 15 })),
                verb,
                data: data(),
              },
              { requiredKeys: ['type'] },
            ),
            trigger: fc.oneof(fc.constantFrom('manual', 'automatic'), anyValue),
          },
          { requiredKeys: ['action'] },
        ),
      },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    );

  it("a bystander's card actions never change anything, never 5xx, never log an unexpected error, always answer a safe card", async () => {
    const before = JSON.stringify(await h.bot.store.get(targetId));
    await fc.assert(
      fc.asyncProperty(invokeValue(), fc.constantFrom('personal', 'channel'), async (value, where) => {
        const conversation =
          where === 'personal'
            ? { id: personalChatOf(users.lynne), conversationType: 'personal', tenantId: TENANT }
            : { id: CHANNEL.channelId, conversationType: 'channel', isGroup: true, tenantId: TENANT };
        const activity = {
          ...h.teams.message(users.lynne, ''),
          type: 'invoke',
          name: 'adaptiveCard/action',
          conversation,
          value,
        };
        const res = await h.teams.post(activity);
        expect(res.status).toBeLessThan(500);
        const body = (await res.json().catch(() => ({}))) as { type?: string; value?: unknown };
        if (res.status === 200 && body.type === 'application/vnd.microsoft.card.adaptive')
          expect(cardProblems(body.value)).toEqual([]);
        expect(errorsLogged()).toEqual([]);
      }),
      params(400),
    );
    await h.bot.settled();
    expect(JSON.stringify(await h.bot.store.get(targetId))).toBe(before);
    // Only the bystander's own requests (filed through the form) can exist besides the target.
    for (const r of await h.bot.store.listOpen())
      expect([ALEX.id, users.lynne.aadObjectId]).toContain(r.requester.id);
  });

  it("an approver's fuzzed card actions never 5xx and never log an unexpected error", async () => {
    await fc.assert(
      fc.asyncProperty(invokeValue(), async (value) => {
        const activity = {
          ...h.teams.message(users.megan, ''),
          type: 'invoke',
          name: 'adaptiveCard/action',
          conversation: {
            id: CHANNEL.channelId,
            conversationType: 'channel',
            isGroup: true,
            tenantId: TENANT,
          },
          value,
        };
        const res = await h.teams.post(activity);
        expect(res.status).toBeLessThan(500);
        const body = (await res.json().catch(() => ({}))) as { type?: string; value?: unknown };
        if (body.type === 'application/vnd.microsoft.card.adaptive')
          expect(cardProblems(body.value)).toEqual([]);
        expect(errorsLogged()).toEqual([]);
      }),
      params(300),
    );
  });

  it('fuzzed chat messages never 5xx, never log an unexpected error, and every reply is safe', async () => {
    const mark = h.connector.sent.length;
    await fc.assert(
      fc.asyncProperty(commandText, async (text) => {
        const res = await h.teams.say(users.lynne, text);
        expect(res.status).toBeLessThan(500);
        expect(errorsLogged()).toEqual([]);
      }),
      params(300),
    );
    await h.bot.settled();
    const problems = h.connector.sent.slice(mark).flatMap((s) => activityProblems(s.activity, knownMentions));
    expect(problems).toEqual([]);
  });

  it('fuzzed activity bodies never 5xx', async () => {
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const consoleWarn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const base = h.teams.message(users.lynne, 'status');
      const mutated = fc.record({
        key: fc.constantFrom(
          ...Object.keys(base),
          'value',
          'name',
          'entities',
          'attachments',
          'locale',
          'membersAdded',
          'reactionsAdded',
          'replyToId',
        ),
        value: fc.jsonValue({ maxDepth: 3 }),
        type: fc.constantFrom(
          'message',
          'invoke',
          'conversationUpdate',
          'event',
          'typing',
          'installationUpdate',
          'messageReaction',
        ),
      });
      // Nested fields too: one leaf or branch of a full activity (mention, card action) replaced.
      const full = {
        ...base,
        entities: [
          {
            type: 'mention',
            mentioned: { id: '28:timebox-test-bot', name: 'Timebox' },
            text: '<at>Timebox</at>',
          },
        ],
        value: {
          action: { type: 'Action.Execute', verb: 'approve', data: { requestId: targetId } },
          trigger: 'manual',
        },
      };
      const paths = [
        'from.id',
        'from.aadObjectId',
        'from.name',
        'recipient.id',
        'conversation.id',
        'conversation.tenantId',
        'conversation.conversationType',
        'channelData.tenant',
        'channelData.tenant.id',
        'entities.0',
        'entities.0.type',
        'entities.0.mentioned',
        'entities.0.mentioned.id',
        'entities.0.text',
        'value.action',
        'value.action.type',
        'value.action.verb',
        'value.action.data',
        'value.action.data.requestId',
        'value.trigger',
      ];
      const nested = fc
        .record({
          path: fc.constantFrom(...paths),
          value: fc.jsonValue({ maxDepth: 2 }),
          type: fc.constantFrom('message', 'invoke'),
        })
        .map(({ path, value, type }) => {
          const activity = structuredClone(full) as Record<string, unknown>;
          const keys = path.split('.');
          let node = activity as Record<string, unknown>;
          for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
          node[keys.at(-1)!] = value;
          return { key: '', value: undefined as unknown, type, activity };
        });
      const topLevel = mutated.map(({ key, value, type }) => ({
        key,
        value,
        type,
        activity: undefined as Record<string, unknown> | undefined,
      }));
      await fc.assert(
        fc.asyncProperty(fc.oneof(topLevel, nested), async ({ key, value, type, activity: prepared }) => {
          const activity = prepared
            ? { ...prepared, type, name: type === 'invoke' ? 'adaptiveCard/action' : undefined }
            : { ...base, type, name: type === 'invoke' ? 'adaptiveCard/action' : undefined, [key]: value };
          const logged = logger.entries.length;
          const res = await h.teams.post(activity);
          expect(res.status).toBeLessThan(500);
          expect(logger.entries.slice(logged).filter((e) => e.level === 'error')).toEqual([]);
        }),
        params(400),
      );
    } finally {
      consoleError.mockRestore();
      consoleWarn.mockRestore();
    }
    expect(errorsLogged()).toEqual([]);
  });
});
