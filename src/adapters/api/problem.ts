import type { Response } from 'express';

/** An RFC 9457 problem: what the API answers on every error, with a stable `code` to branch on. */
export interface Problem {
  status: number;
  /** Stable, dotted, documented in the OpenAPI document: `body.invalid`, `auth.token_expired`, … */
  code: string;
  title: string;
  detail?: string;
  /** For a body that failed validation: each problem with its JSON path. */
  errors?: Array<{ path: string; message: string }>;
  /** The request a refusal is about (the open one a duplicate would be, the one a reused key filed). */
  requestId?: string;
}

export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  // The audit of the call records which problem it was answered with.
  res.locals.timeboxProblemCode = problem.code;
  res
    .status(problem.status)
    .set(headers)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `urn:timebox:problem:${problem.code}`, ...problem }));
}
