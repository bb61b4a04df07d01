import fc from 'fast-check';
import { PROBLEM_CODES } from '../../src/adapters/api/openapi';
import { schemaChecker, startApiHarness, TEST_OPS_APP, type ApiHarness } from '../helpers/api-harness';
import { GITHUB_RUN } from '../helpers/local-issuer';
import { RecordingLogger } from './recording-logger';
import { cardProblems } from './safe-card';

/**
 * fast-check fuzzing of the workflow API over HTTP, on the real bot: whatever body, header or
 * query a pipeline sends, the answer is a documented problem (4xx, a known code) or a request
 * that fits the document's schema — never a 5xx, never an error logged, never a polluted
 * prototype, never an unsafe approval card. `FC_SEED`/`FC_RUNS` reproduce or deepen, as in fuzz.test.ts.
 */
const RUNS = Number(process.env.FC_RUNS ?? 0) || undefined;
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number) => ({ numRuns: RUNS ?? numRuns, ...(seed !== undefined ? { seed } : {}) });

const HOSTILE = [
  '__proto__',
  'constructor',
  'prototype',
  '${user}',
  '{{DATE(x)}}',
  '<at>Megan</at>',
  '[x](https://evil.example)',
  '\u202e',
  '\u200b',
  '\u0000',
  'javascript:alert(1)',
  'https://github.com/contoso/shop/actions/runs/1',
  'deploy-prod',
  'db-read',
  'prod-admin',
  'sandbox',
  'alex@example.com',
  'PT10M',
  '10m',
  'P1Y',
  '0s',
  'INC-42',
];

const text = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ maxLength: 60 }),
  fc.string({ maxLength: 60, unit: 'binary' }),
  fc.string({ maxLength: 300, unit: 'grapheme' }),
);
const anyValue = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A body that could be filed: known targets, readable durations, hostile free text. */
const plausible = fc.record({
  target: fc.constantFrom('deploy-prod', 'db-read', 'prod-admin', 'sandbox', 'DEPLOY-PROD', '__proto__'),
  duration: maybe(fc.constantFrom('5m', 'PT10M', '1h', '9h', 'P1DT2H', '0s')),
  justification: text,
  ticket: maybe(fc.oneof(fc.constant('INC-42'), text)),
  onBehalfOf: fc.option(fc.constantFrom('alex@example.com', 'lynner@example.com', 'nobody@example.com'), {
    nil: undefined,
    freq: 2,
  }),
  context: maybe(
    fc.record(
      {
        repository: text.filter((t) => t.length > 0),
        runUrl: fc.constant(GITHUB_RUN.runUrl),
        commit: fc.constant(GITHUB_RUN.commit),
        environment: text.filter((t) => t.length > 0),
        pipeline: text.filter((t) => t.length > 0),
      },
      { requiredKeys: [] },
    ),
  ),
});

/** One field of a plausible body replaced by anything, or a key added (prototype keys included). */
const mutated = fc
  .tuple(
    plausible,
    fc.constantFrom(
      'target',
      'duration',
      'justification',
      'ticket',
      'onBehalfOf',
      'context',
      '__proto__',
      'constructor',
      'approved',
    ),
    anyValue,
  )
  .map(([b, key, value]) => ({ ...b, [key]: value }));

const body = fc.oneof(
  { weight: 4, arbitrary: plausible },
  { weight: 3, arbitrary: mutated },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 5 }) },
);

const idempotencyKey = fc.option(
  fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 220 }).filter((k) => !/[\r\n\0]/.test(k) && /^[\x00-\xff]*$/.test(k)),
  ),
  { nil: undefined },
);

describe('fuzzing the workflow API over HTTP', () => {
  let h: ApiHarness;
  let check: (schema: string, value: unknown) => string[];
  const logger = new RecordingLogger();
  const codes = new Set<string>(PROBLEM_CODES);

  beforeAll(async () => {
    h = await startApiHarness({ env: { TIMEBOX_API_RATE_LIMIT: 'off' }, overrides: { logger } });
    check = schemaChecker((await h.call('/api/v1/openapi.json', { token: '' })).body);
  });
  afterAll(async () => {
    await h.close();
  });

  const errorsLogged = () =>
    logger.entries.filter((e) => e.level === 'error' && !/^(turn failed)$/.test(e.msg ?? ''));

  it('POST /api/v1/requests: a documented problem or a request, never a 5xx', async () => {
    const ops = await h.token(TEST_OPS_APP);
    const pipeline = await h.token();
    await fc.assert(
      fc.asyncProperty(body, idempotencyKey, fc.boolean(), async (value, key, asOps) => {
        const res = await h.call('/api/v1/requests', {
          raw: JSON.stringify(value),
          headers: key === undefined ? {} : { 'idempotency-key': key },
          token: asOps ? ops : pipeline,
        });
        expect(res.status).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.type).toMatch(/^application\/problem\+json/);
          expect(codes.has(String(res.body.code))).toBe(true);
          expect(check('Problem', res.body)).toEqual([]);
        } else {
          expect(check('Request', res.body)).toEqual([]);
          // Keep the space free for the next runs (one open request per requester and target).
          if (res.status === 201)
            await h.call(`/api/v1/requests/${res.body.id}/cancel`, {
              method: 'POST',
              token: asOps ? ops : pipeline,
            });
        }
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      params(150),
    );
    expect(errorsLogged()).toEqual([]);
  });

  it('GET /api/v1/requests/{id}?wait=…: any id and query is a 200 for one’s own, else a 400/404 problem', async () => {
    const mine = await h.file({ target: 'deploy-prod', justification: 'fuzz target' });
    await h.call(`/api/v1/requests/${mine.body.id}/cancel`, { method: 'POST' });
    const segment = fc.oneof(
      fc.constant(mine.body.id!),
      fc.constant(mine.body.id!.toLowerCase()),
      fc.constant(mine.body.id!.slice(2)),
      fc.string({ minLength: 1, maxLength: 40 }),
    );
    const wait = fc.option(
      fc.oneof(fc.integer({ min: -5, max: 70 }).map(String), fc.string({ maxLength: 6 })),
      {
        nil: undefined,
      },
    );
    await fc.assert(
      fc.asyncProperty(segment, wait, async (id, w) => {
        const query = w === undefined ? '' : `?wait=${encodeURIComponent(w)}`;
        const res = await h.call(`/api/v1/requests/${encodeURIComponent(id)}${query}`);
        expect([200, 400, 404]).toContain(res.status);
        if (res.status === 200) expect(check('Request', res.body)).toEqual([]);
        else expect(codes.has(String(res.body.code))).toBe(true);
      }),
      params(150),
    );
    expect(errorsLogged()).toEqual([]);
  });

  it('every approval card the fuzzing got posted is safe', async () => {
    await h.bot.settled();
    const cards = h.connector.created
      .map((c) => c.params.activity?.attachments?.[0]?.content)
      .concat(h.connector.updates.map((u) => u.activity.attachments?.[0]?.content))
      .filter((c) => c !== undefined);
    expect(cards.length).toBeGreaterThan(0);
    for (const card of cards) expect(cardProblems(card)).toEqual([]);
  });
});
