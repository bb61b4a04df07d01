import type { Request, Response, Router } from 'express';
import type { AccessService } from '../../app/access-service';
import { requestJson } from '../../app/request-json';
import { targetKind } from '../../domain/action-rules';
import { DomainError, ErrorCodes } from '../../domain/errors';
import { normalizeId } from '../../domain/ids';
import type { Policy } from '../../domain/policy';
import { Status, type AccessRequest, type Person } from '../../domain/request';
import type { Clock } from '../../ports/clock';
import type { Directory } from '../../ports/directory';
import type { Store } from '../../ports/store';
import { authenticatedClient, noteRequestId, type AuthenticatedClient } from './api-router';
import type { ApprovalTokens } from './approval-tokens';
import { problemOf } from './domain-problems';
import { bodyHashOf, idempotencyKeyOf, lookUpKey } from './idempotency';
import { holdWhile, MAX_WAIT_SECONDS, type ChangeFeed } from './long-poll';
import { sendProblem, type Problem } from './problem';
import { parseRequestBody, type ApiRequestBody } from './request-body';

export interface RequestsRoutesDeps {
  service: Pick<AccessService, 'submit' | 'cancel' | 'release'>;
  /** Reads of the store (idempotency look-ups, the long-poll), never cached. */
  requests: Pick<Store, 'get' | 'listOpen'>;
  directory: Pick<Directory, 'findUser'>;
  policy: () => Policy;
  tokens: ApprovalTokens;
  clock: Clock;
  /** Commits, here and on other replicas: a long-poll answers at once on one. */
  changes?: ChangeFeed;
  /** A long-poll also reads the request this often (ms), whatever `changes` says. */
  pollMs?: number;
}

/**
 * `/api/v1/requests…` (PRODUCT.md §11), mounted by createApiRouter after authentication: a
 * client files requests for the targets its `may` names, and sees, waits on, cancels and
 * releases only the requests it filed itself (any other id is "not found").
 */
export function requestsRoutes(deps: RequestsRoutesDeps): (router: Router) => void {
  return (router) => {
    router.post('/requests', (req, res) => fileRequest(deps, req, res));
    router.get('/requests/:id', (req, res) => showRequest(deps, req, res));
    router.post('/requests/:id/cancel', (req, res) =>
      changeRequest(deps, req, res, (r) => deps.service.cancel(r.id, r.requester)),
    );
    router.post('/requests/:id/release', (req, res) =>
      changeRequest(deps, req, res, (r) => deps.service.release(r.id, r.requester)),
    );
  };
}

async function fileRequest(deps: RequestsRoutesDeps, req: Request, res: Response): Promise<void> {
  const who = authenticatedClient(res);
  const key = idempotencyKeyOf(req.headers['idempotency-key']);
  if (!key.ok) return sendProblem(res, key.problem);
  const parsed = parseRequestBody(req.body);
  if (!parsed.ok) return sendProblem(res, parsed.problem);
  const body = parsed.value;
  const target = allowedTarget(deps.policy(), who, body.target);
  if (typeof target !== 'string') return sendProblem(res, target);
  const requester = await requesterOf(deps, who, body);
  if (!('id' in requester)) return sendProblem(res, requester);

  const appId = who.client.appId;
  const idempotency = key.key === undefined ? undefined : { key: key.key, bodyHash: bodyHashOf(body) };
  const lookUp = (i: { key: string; bodyHash: string }) =>
    lookUpKey((id) => deps.requests.get(id), appId, i.key, i.bodyHash);
  // Each turn: where the key stands now, then one submit. Another turn only when a concurrent
  // POST took the id meanwhile (its request is then this key's, or an unrelated one's).
  for (let turn = 0; ; turn++) {
    let id: string | undefined;
    if (idempotency) {
      const found = await lookUp(idempotency);
      if (found.kind !== 'free') return answerKey(deps, res, found.kind, found.request);
      id = found.id;
    }
    const held = await heldAlready(deps, requester, target);
    if (held) return sendProblem(res, held);
    try {
      const { request, outcome } = await deps.service.submit({
        requester,
        tenantId: who.caller.tenantId,
        group: target,
        durationMs: body.durationMs,
        justification: body.justification,
        ticket: body.ticket,
        client: { appId, name: who.client.name },
        context: body.context,
        ...(id ? { id } : {}),
        ...(idempotency ? { idempotency } : {}),
      });
      return await answer(deps, res, outcome === 'created' ? 201 : 200, request, {
        Location: `/api/v1/requests/${request.id}`,
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const raced =
        error.code === ErrorCodes.REQUEST_ID_TAKEN ||
        error.code === ErrorCodes.REQUEST_DUPLICATE ||
        error.code === ErrorCodes.REQUEST_OPEN_EXISTS;
      if (idempotency && raced) {
        const found = await lookUp(idempotency);
        if (found.kind !== 'free') return answerKey(deps, res, found.kind, found.request);
        if (error.code === ErrorCodes.REQUEST_ID_TAKEN && turn < 3) continue;
      }
      return sendDomainProblem(deps, res, error, requester, target);
    }
  }
}

/** The target as policy spells it, when this client may ask for it; else the problem. */
function allowedTarget(policy: Policy, who: AuthenticatedClient, asked: string): string | Problem {
  const wanted = asked.trim().toLowerCase();
  const alias = who.client.may.find((m) => m.toLowerCase() === wanted);
  if (alias !== undefined && targetKind(policy, alias)) return alias;
  const known = Object.keys(policy.groups)
    .concat(Object.keys(policy.actions))
    .some((t) => t.toLowerCase() === wanted);
  const may = who.client.may.join(', ');
  return known
    ? {
        status: 403,
        code: 'auth.target_not_allowed',
        title: 'This application may not ask for this target',
        detail: `clients.${who.client.name}.may does not name "${clip(asked)}"; it may ask for: ${may}.`,
      }
    : {
        status: 422,
        code: 'target.unknown',
        title: 'There is no such target',
        detail: `There is no group or action "${clip(asked)}". This application may ask for: ${may}.`,
        errors: [{ path: 'target', message: 'not a group or action of the policy' }],
      };
}

/** Object ids and UPNs only: anything else is never sent to the directory. */
const PERSON_ID =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[^\s/\\?#%@]+@[^\s/\\?#%@]+)$/i;

/**
 * Who asks: the person named by `onBehalfOf` (where the client's policy allows it, found in
 * the directory), else the client's own service principal (the token's `oid`).
 */
async function requesterOf(
  deps: RequestsRoutesDeps,
  who: AuthenticatedClient,
  body: ApiRequestBody,
): Promise<Person | Problem> {
  const name = who.client.displayName ?? who.client.name;
  if (body.onBehalfOf !== undefined) {
    if (!who.client.onBehalfOf)
      return {
        status: 403,
        code: 'auth.on_behalf_of_not_allowed',
        title: 'This application may not ask on behalf of a person',
        detail: `clients.${who.client.name}.onBehalfOf is not true: leave onBehalfOf out to ask as the application itself.`,
      };
    const wanted = body.onBehalfOf.trim();
    const user = PERSON_ID.test(wanted) ? await deps.directory.findUser(wanted) : undefined;
    if (!user)
      return {
        status: 422,
        code: 'person.unknown',
        title: 'onBehalfOf names nobody in the directory',
        detail: `There is no user "${clip(wanted)}" in the directory: give a user principal name or an object id.`,
        errors: [{ path: 'onBehalfOf', message: 'not a user of the directory' }],
      };
    return { id: user.id, name: user.displayName, upn: user.userPrincipalName };
  }
  if (!who.caller.objectId)
    return {
      status: 403,
      code: 'auth.no_service_principal',
      title: 'The token names no service principal to ask as',
      detail: `An app-only token carries the application's service principal in "oid"; this one has none, so ${name} cannot be the requester.`,
    };
  return { id: who.caller.objectId, name, kind: 'service_principal' };
}

/**
 * A grant the requester holds for the target already. In chat a second ask becomes an
 * extension of it; a pipeline gets a refusal instead, which names the request — a retried
 * POST must never extend twice, and extensions are decided in Teams.
 */
async function heldAlready(
  deps: RequestsRoutesDeps,
  requester: Person,
  target: string,
): Promise<Problem | undefined> {
  const open = await deps.requests.listOpen({ requesterId: requester.id, groupAlias: target });
  const active = open.find((r) => r.status === Status.ACTIVE);
  if (!active) return undefined;
  return {
    status: 409,
    code: 'request.duplicate',
    title: 'The requester already has an open request for this target',
    detail: `${requester.name} already holds ${target} through request ${active.id}${active.expiresAt ? ` until ${new Date(active.expiresAt).toISOString()}` : ''}; release it first, or extend it in Teams.`,
    requestId: active.id,
  };
}

function answerKey(
  deps: RequestsRoutesDeps,
  res: Response,
  kind: 'replay' | 'reused',
  request: AccessRequest,
): Promise<void> | void {
  if (kind === 'replay') return answer(deps, res, 200, request, { 'Idempotent-Replayed': 'true' });
  noteRequestId(res, request.id);
  sendProblem(res, {
    status: 422,
    code: 'idempotency.key_reused',
    title: 'This Idempotency-Key was used for another request body',
    detail: `Request ${request.id} was filed under this key with a different body; use a new key for a new request.`,
    requestId: request.id,
  });
}

async function sendDomainProblem(
  deps: RequestsRoutesDeps,
  res: Response,
  error: DomainError,
  requester: Person,
  target: string,
): Promise<void> {
  const { problem, headers } = problemOf(error);
  if (problem.code === 'request.duplicate') {
    // Name the open request, so that a pipeline can wait on it or cancel it.
    const open = await deps.requests
      .listOpen({ requesterId: requester.id, groupAlias: target })
      .catch(() => []);
    if (open[0]) problem.requestId = open[0].id;
  }
  sendProblem(res, problem, headers);
}

async function showRequest(deps: RequestsRoutesDeps, req: Request, res: Response): Promise<void> {
  const wait = waitSecondsOf(req.query.wait);
  if (typeof wait !== 'number') return sendProblem(res, wait);
  const found = await ownRequest(deps, req, res);
  if (!found) return;
  const closed = new AbortController();
  res.once('close', () => closed.abort());
  const request = await holdWhile(found, {
    read: async () => (await deps.requests.get(found.id)) ?? found,
    holding: undecidedOrUngranted,
    waitMs: wait * 1000,
    feed: deps.changes,
    pollMs: deps.pollMs,
    signal: closed.signal,
  });
  if (closed.signal.aborted && !res.writable) return;
  await answer(deps, res, 200, request);
}

/**
 * What a long-poll holds (§11): a pending or scheduled request, and an approved group whose
 * membership is not added yet (moments, normally) — so that the answer is `active` with its
 * token, not an approval without one.
 */
function undecidedOrUngranted(request: AccessRequest): boolean {
  return (
    request.status === Status.PENDING ||
    request.status === Status.SCHEDULED ||
    (request.status === Status.APPROVED && request.targetKind !== 'action')
  );
}

/** `?wait=N`: absent = 0; a whole number of seconds, 0 to 60; anything else is refused. */
function waitSecondsOf(raw: unknown): number | Problem {
  if (raw === undefined) return 0;
  if (typeof raw === 'string' && /^\d{1,2}$/.test(raw) && Number(raw) <= MAX_WAIT_SECONDS) return Number(raw);
  return {
    status: 400,
    code: 'query.wait_invalid',
    title: '?wait= is not a number of seconds Timebox waits',
    detail: `Give wait as a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}, once.`,
  };
}

async function changeRequest(
  deps: RequestsRoutesDeps,
  req: Request,
  res: Response,
  change: (request: AccessRequest) => Promise<AccessRequest>,
): Promise<void> {
  const request = await ownRequest(deps, req, res);
  if (!request) return;
  try {
    await answer(deps, res, 200, await change(request));
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const { problem, headers } = problemOf(error);
    sendProblem(res, problem, headers);
  }
}

const REQUEST_ID = /^R-[A-Z2-9]{6}$/;

/**
 * The request named in the path, if this client filed it. Another's request, or none, is the
 * same 404: a client cannot learn which ids exist.
 */
async function ownRequest(
  deps: RequestsRoutesDeps,
  req: Request,
  res: Response,
): Promise<AccessRequest | undefined> {
  const { client } = authenticatedClient(res);
  const raw = String(req.params.id ?? '');
  const id = raw.length <= 20 ? normalizeId(raw) : '';
  const request = REQUEST_ID.test(id) ? await deps.requests.get(id) : undefined;
  if (request && request.client?.appId.toLowerCase() === client.appId.toLowerCase()) {
    noteRequestId(res, request.id);
    return request;
  }
  sendProblem(res, {
    status: 404,
    code: 'request.not_found',
    title: 'There is no such request',
    detail: `This application filed no request "${clip(raw)}".`,
  });
  return undefined;
}

/** The request's JSON, with an approval token while the approval holds. */
async function answer(
  deps: RequestsRoutesDeps,
  res: Response,
  status: number,
  request: AccessRequest,
  headers: Record<string, string> = {},
): Promise<void> {
  noteRequestId(res, request.id);
  const approvalToken = await approvalTokenOf(deps, request);
  res
    .status(status)
    .set({ 'Cache-Control': 'no-store', ...headers })
    .json({ ...requestJson(request), ...(approvalToken ? { approvalToken } : {}) });
}

/**
 * An approval token (§11) for an approved action or an active grant, valid until the approval
 * or the grant ends: `approvers` are the object ids whose votes approved it ([] for a rule).
 */
async function approvalTokenOf(
  deps: RequestsRoutesDeps,
  request: AccessRequest,
): Promise<string | undefined> {
  const holds = request.targetKind === 'action' ? Status.APPROVED : Status.ACTIVE;
  const now = deps.clock.now();
  if (request.status !== holds || request.expiresAt === undefined || request.expiresAt <= now)
    return undefined;
  const approvers =
    request.kind === 'standard'
      ? request.votes.filter((v) => v.decision === 'approve').map((v) => v.by.id)
      : [];
  const context = Object.fromEntries(
    Object.entries(request.context ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  return deps.tokens.sign(
    {
      requestId: request.id,
      subject: request.requester.id,
      target: request.group.alias,
      approvers,
      ...(Object.keys(context).length ? { context } : {}),
      expiresAt: request.expiresAt,
    },
    now,
  );
}

/** Hostile text, shortened, in a problem's detail (JSON-encoded on the way out, never markup). */
function clip(text: string): string {
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 80)}…` : printable;
}
