import { z } from 'zod';
import { parseApiDuration } from '../../domain/duration';
import type { Problem } from './problem';

/** Generous caps on raw text: the domain's own rules (justification length, ticket) apply after. */
const text = (max: number) => z.string().max(max, { message: `at most ${max} characters` });

const httpsUrl = z
  .string()
  .max(500, { message: 'at most 500 characters' })
  .refine(
    (value) => {
      try {
        return new URL(value).protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'must be an https URL (it becomes a link on the approvers’ card)' },
  )
  .describe('An https link to the run; shown on the approvers’ card');

/** The workflow's own facts, shown on the card so that approvers see which run asks. */
const workflowContext = z
  .object({
    repository: text(200).min(1),
    runUrl: httpsUrl,
    commit: z.string().regex(/^[0-9a-fA-F]{7,64}$/, { message: 'a commit hash: 7 to 64 hexadecimal digits' }),
    environment: text(100).min(1),
    pipeline: text(200).min(1),
  })
  .partial()
  .strict();

export const requestBodySchema = z
  .object({
    target: text(80).min(1, { message: 'name the group or action to request' }),
    duration: text(40)
      .describe('30m, 1h30m or ISO 8601 (PT30M, P1DT2H); absent = the target’s default')
      .optional(),
    justification: text(4000),
    ticket: text(200).optional(),
    onBehalfOf: text(200).min(1).optional(),
    context: workflowContext.optional(),
  })
  .strict();

export type WorkflowContext = z.output<typeof workflowContext>;

export interface ApiRequestBody {
  target: string;
  /** Milliseconds; absent = the target's default. */
  durationMs?: number;
  justification: string;
  ticket?: string;
  onBehalfOf?: string;
  context?: WorkflowContext;
}

type Parsed = { ok: true; value: ApiRequestBody } | { ok: false; problem: Problem };

/**
 * `POST /api/v1/requests`'s body: its shape, every problem at once with its path. Policy rules
 * (unknown target, duration over the maximum, ticket form) are the service's, as for chat.
 */
export function parseRequestBody(raw: unknown): Parsed {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, problem: invalid('The body must be a JSON object.', []) };
  const result = requestBodySchema.safeParse(raw);
  if (!result.success) {
    const errors = result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(body)',
      message: issue.message,
    }));
    if (errors.some((e) => e.path === 'context.runUrl'))
      return {
        ok: false,
        problem: {
          ...invalid('context.runUrl must be an https URL.', errors),
          code: 'body.run_url_not_https',
        },
      };
    return { ok: false, problem: invalid(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors) };
  }
  const { duration, ...rest } = result.data;
  if (duration === undefined) return { ok: true, value: rest };
  try {
    return { ok: true, value: { ...rest, durationMs: parseApiDuration(duration) } };
  } catch (error) {
    return {
      ok: false,
      problem: {
        status: 400,
        code: 'body.duration_invalid',
        title: 'The duration is not one Timebox reads',
        detail: (error as Error).message,
        errors: [{ path: 'duration', message: (error as Error).message }],
      },
    };
  }
}

function invalid(detail: string, errors: Array<{ path: string; message: string }>): Problem {
  return { status: 400, code: 'body.invalid', title: 'The request body is not valid', detail, errors };
}
