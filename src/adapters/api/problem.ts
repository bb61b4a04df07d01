/** An RFC 9457 problem: what the API answers on every error, with a stable `code` to branch on. */
export interface Problem {
  status: number;
  /** Stable, dotted, documented in the OpenAPI document: `body.invalid`, `auth.token_expired`, … */
  code: string;
  title: string;
  detail?: string;
  /** For a body that failed validation: each problem with its JSON path. */
  errors?: Array<{ path: string; message: string }>;
}
