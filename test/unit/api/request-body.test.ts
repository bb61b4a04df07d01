import { parseRequestBody } from '../../../src/adapters/api/request-body';
import { GITHUB_RUN } from '../../helpers/local-issuer';

const good = {
  target: 'deploy-prod',
  duration: 'PT30M',
  justification: 'release 2026.12.3',
  context: { ...GITHUB_RUN, environment: 'production' },
};

describe('POST /api/v1/requests: the body', () => {
  it('a good body: the duration read (ISO 8601 or the chat forms), the rest as sent', () => {
    expect(parseRequestBody(good)).toEqual({
      ok: true,
      value: { ...good, duration: undefined, durationMs: 30 * 60_000 },
    });
    const minimal = parseRequestBody({ target: 'db-read', justification: 'x' });
    expect(minimal).toEqual({ ok: true, value: { target: 'db-read', justification: 'x' } });
    expect(parseRequestBody({ ...good, duration: '1h30m' })).toMatchObject({
      value: { durationMs: 90 * 60_000 },
    });
  });

  it.each([
    ['an array', [good]],
    ['null', null],
    ['a string', 'deploy-prod'],
  ])('%s is not a body', (_what, raw) => {
    expect(parseRequestBody(raw)).toEqual({
      ok: false,
      problem: expect.objectContaining({
        status: 400,
        code: 'body.invalid',
        detail: 'The body must be a JSON object.',
      }) as unknown,
    });
  });

  it('every problem at once, each with its path; unknown keys are named', () => {
    const parsed = parseRequestBody({
      target: '',
      justification: 42,
      ticket: 'x'.repeat(201),
      approvedBy: 'me',
      context: { commit: 'not a hash', branch: 'main' },
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem.code).toBe('body.invalid');
    expect(parsed.problem.errors?.map((e) => e.path).sort()).toEqual(
      ['(body)', 'context', 'context.commit', 'justification', 'target', 'ticket'].sort(),
    );
    expect(parsed.problem.detail).toContain('approvedBy');
    expect(parsed.problem.detail).toContain('branch');
  });

  it.each(['http://github.com/contoso/shop/actions/runs/42', 'javascript:alert(1)', 'not a url'])(
    'a run link that is not https (%s) → body.run_url_not_https',
    (runUrl) => {
      const parsed = parseRequestBody({ ...good, context: { ...good.context, runUrl } });
      expect(parsed).toMatchObject({ ok: false, problem: { status: 400, code: 'body.run_url_not_https' } });
    },
  );

  it('a duration Timebox does not read → body.duration_invalid, saying what it takes', () => {
    expect(parseRequestBody({ ...good, duration: 'P1M' })).toMatchObject({
      ok: false,
      problem: { code: 'body.duration_invalid', errors: [{ path: 'duration' }] },
    });
    expect(parseRequestBody({ ...good, duration: 'soon' })).toMatchObject({
      ok: false,
      problem: {
        code: 'body.duration_invalid',
        detail: expect.stringContaining('is not a duration') as unknown,
      },
    });
  });
});
