import { randomUUID } from 'node:crypto';
import { parseApiDuration } from '../domain/duration';
import { isHttpsOrLoopback } from '../domain/urls';

/** The exit codes a pipeline branches on (product contract §11). */
export const PipelineExit = {
  APPROVED: 0,
  FAILED: 1,
  BAD_INPUT: 2,
  DENIED: 3,
  NOT_DECIDED: 4,
} as const;

/** A request as `GET /api/v1/requests/{id}` answers it (only what the client reads). */
export interface ApiRequestView {
  id: string;
  status: string;
  target: string;
  kind?: 'group' | 'action';
  approvals?: { needed: number; by: Array<{ name?: string }> };
  decidedBy?: Array<{ name?: string }> | { name?: string };
  expiresAt?: string;
  approvalToken?: string;
}

export interface PipelineAsk {
  /** Timebox's public URL, e.g. https://timebox.contoso.com. */
  url: string;
  target: string;
  duration?: string;
  justification: string;
  ticket?: string;
  onBehalfOf?: string;
  context?: Record<string, string>;
  wait: boolean;
  /** How long to wait for a decision, in ms. */
  timeoutMs: number;
}

export interface PipelineDeps {
  /** A bearer token for the API (fetched again for every call: it may expire while we wait). */
  token: () => Promise<string>;
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Progress for people (stderr). */
  say: (line: string) => void;
  /** The result for the pipeline (stdout): the approval token, or the request's JSON. */
  print: (line: string) => void;
  json: boolean;
  /** Told the request's last known state, whatever the outcome. */
  onResult?: (request: ApiRequestView) => void;
}

/** The statuses after which waiting is over, and what each means for the pipeline. */
const OUTCOMES: Record<string, number> = {
  approved: PipelineExit.APPROVED,
  active: PipelineExit.APPROVED,
  scheduled: PipelineExit.APPROVED,
  denied: PipelineExit.DENIED,
  revoked: PipelineExit.DENIED,
  timed_out: PipelineExit.NOT_DECIDED,
  cancelled: PipelineExit.NOT_DECIDED,
  expired: PipelineExit.NOT_DECIDED,
  released: PipelineExit.NOT_DECIDED,
  failed: PipelineExit.FAILED,
};
/**
 * Whether the request is still on its way: undecided, scheduled for later, or a group approved
 * whose membership is still being added (its token comes once it is active).
 */
const stillWaiting = (r: ApiRequestView): boolean =>
  r.status === 'pending' ||
  r.status === 'scheduled' ||
  (r.status === 'approved' && r.kind === 'group' && r.approvalToken === undefined);
const MAX_WAIT_S = 60;
const RETRIES = 5;

class Stop extends Error {
  constructor(
    readonly exit: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `timebox request <target> … [--wait]`: files the request (one Idempotency-Key for all of its
 * retries, so a retried POST files once), then long-polls until a decision or the timeout.
 * Returns the exit code; never throws.
 */
export async function runPipelineRequest(ask: PipelineAsk, deps: PipelineDeps): Promise<number> {
  try {
    checkAsk(ask);
    const base = ask.url.replace(/\/+$/, '');
    const body = {
      target: ask.target,
      ...(ask.duration ? { duration: ask.duration } : {}),
      justification: ask.justification,
      ...(ask.ticket ? { ticket: ask.ticket } : {}),
      ...(ask.onBehalfOf ? { onBehalfOf: ask.onBehalfOf } : {}),
      ...(ask.context && Object.keys(ask.context).length ? { context: ask.context } : {}),
    };
    const key = randomUUID();
    let request = await call<ApiRequestView>(deps, `${base}/api/v1/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    deps.say(`${request.id}: ${request.status} (${request.target})`);
    const deadline = deps.now() + ask.timeoutMs;
    while (ask.wait && stillWaiting(request)) {
      const left = deadline - deps.now();
      if (left <= 0) {
        deps.say(`${request.id}: still ${request.status} after the timeout; it stays open in Teams.`);
        return finish(deps, request, PipelineExit.NOT_DECIDED);
      }
      const waitS = Math.max(1, Math.min(MAX_WAIT_S, Math.floor(left / 1000)));
      const next = await call<ApiRequestView>(
        deps,
        `${base}/api/v1/requests/${encodeURIComponent(request.id)}?wait=${waitS}`,
        {
          method: 'GET',
        },
      );
      if (next.status !== request.status) deps.say(`${next.id}: ${next.status}`);
      request = next;
    }
    // Without --wait, filing it is the success; the pipeline asks again later.
    if (!ask.wait) return finish(deps, request, PipelineExit.APPROVED);
    return finish(deps, request, OUTCOMES[request.status] ?? PipelineExit.FAILED);
  } catch (error) {
    if (error instanceof Stop) {
      deps.say(error.message);
      return error.exit;
    }
    deps.say(`timebox request failed: ${(error as Error).message}`);
    return PipelineExit.FAILED;
  }
}

function checkAsk(ask: PipelineAsk): void {
  let url: URL | undefined;
  try {
    url = new URL(ask.url);
  } catch {
    url = undefined;
  }
  if (!url || !isHttpsOrLoopback(url))
    throw new Stop(PipelineExit.BAD_INPUT, `--url must be Timebox's https URL, not "${ask.url}"`);
  if (!ask.target.trim()) throw new Stop(PipelineExit.BAD_INPUT, 'name the group or action to request');
  if (!ask.justification.trim())
    throw new Stop(PipelineExit.BAD_INPUT, '--because: say why (approvers read it)');
  if (ask.duration) {
    try {
      parseApiDuration(ask.duration);
    } catch (error) {
      throw new Stop(PipelineExit.BAD_INPUT, `--for: ${(error as Error).message}`);
    }
  }
}

function finish(deps: PipelineDeps, request: ApiRequestView, exit: number): number {
  deps.onResult?.(request);
  if (deps.json) deps.print(JSON.stringify(request));
  else if (request.approvalToken) deps.print(request.approvalToken);
  if (exit === PipelineExit.APPROVED && request.approvalToken)
    deps.say(`${request.id}: approved${request.expiresAt ? `, valid until ${request.expiresAt}` : ''}`);
  return exit;
}

/** One API call, retried on a lost connection, 429 and 5xx (waiting Retry-After when given). */
async function call<T>(deps: PipelineDeps, url: string, init: RequestInit): Promise<T> {
  let lastError = '';
  let delayMs = 0;
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    if (delayMs > 0) await deps.sleep(delayMs);
    delayMs = Math.min(30_000, 1000 * 2 ** attempt);
    let res: Response;
    try {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${await deps.token()}`);
      headers.set('accept', 'application/json');
      res = await deps.fetch(url, { ...init, headers });
    } catch (error) {
      lastError = `cannot reach Timebox: ${(error as Error).message}`;
      continue;
    }
    const text = await res.text();
    const parsed = safeJson(text);
    if (res.ok && parsed !== undefined) return parsed as T;
    const problem = parsed as { code?: string; title?: string; detail?: string } | undefined;
    const what = `${res.status} ${problem?.code ?? ''}: ${problem?.detail ?? problem?.title ?? text.slice(0, 200)}`;
    if (res.ok || res.status === 429 || res.status >= 500) {
      lastError = what;
      const retryAfterS = Number(res.headers.get('retry-after'));
      if (retryAfterS > 0) delayMs = Math.min(60, retryAfterS) * 1000;
      continue;
    }
    if (res.status === 401 || res.status === 403)
      throw new Stop(PipelineExit.FAILED, `Timebox refused the call: ${what}`);
    throw new Stop(PipelineExit.BAD_INPUT, `Timebox refused the request: ${what}`);
  }
  throw new Stop(PipelineExit.FAILED, `gave up after ${RETRIES + 1} attempts: ${lastError}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
