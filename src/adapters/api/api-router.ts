import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { clientByAppId } from '../../domain/action-rules';
import type { Policy } from '../../domain/policy';
import type { ClientPolicy } from '../../domain/policy-workflows';
import { DomainError } from '../../domain/errors';
import type { RequestLimiter } from '../../app/rate-limit';
import type { Clock } from '../../ports/clock';
import type { Logger } from '../../ports/logger';
import { ApiAuthError, type ApiCaller } from './access-token';
import type { ApprovalTokens } from './approval-tokens';
import { openApiDocument } from './openapi';
import { sendProblem } from './problem';

/** The largest body the API reads: a request is a few hundred bytes of JSON. */
export const API_BODY_LIMIT = '32kb';

export interface ApiDeps {
  verifier: { verify(authorization: string | undefined): Promise<ApiCaller> };
  policy: () => Policy;
  tokens: ApprovalTokens;
  clock: Clock;
  logger: Logger;
  /** Timebox's public URL (the `servers` of the OpenAPI document) and its version. */
  publicUrl: string;
  version: string;
  /** Calls per client (keyed by its application id), whatever they are; none = no limit. */
  callLimiter?: RequestLimiter;
  /** Records each authenticated call once answered (the audit log), with the client that made it. */
  audit?: (call: ApiCall) => Promise<void>;
}

/** One authenticated call, as audited. */
export interface ApiCall {
  client: { appId: string; name: string };
  /** The client's own service principal, when the token named it. */
  actor?: { id: string; name: string; kind: 'service_principal' };
  method: string;
  path: string;
  status: number;
  code?: string;
  requestId?: string;
}

/** What a route tells the audit about its call: the request it was about. */
export function noteRequestId(res: Response, requestId: string): void {
  res.locals.timeboxRequestId = requestId;
}

/** Who is calling, once authenticated: the token's application and its `clients:` entry. */
export interface AuthenticatedClient {
  caller: ApiCaller;
  client: ClientPolicy & { name: string };
}

/** The client an earlier middleware authenticated (set on res.locals, never read from the request). */
export function authenticatedClient(res: Response): AuthenticatedClient {
  const found = res.locals.timeboxClient as AuthenticatedClient | undefined;
  if (!found) throw new Error('route mounted before authentication');
  return found;
}

/**
 * The workflow API's HTTP surface: `/.well-known/jwks.json` (public) and `/api/v1/*`, where
 * every call carries an Entra access token of a known client. Routes are added by `routes`,
 * after authentication; whatever they do not answer is a 404 problem.
 */
export function createApiRouter(deps: ApiDeps, routes: (router: Router) => void = () => undefined): Router {
  const router = express.Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(deps.tokens.jwks(deps.clock.now()));
  });
  const document = JSON.stringify(openApiDocument(deps.publicUrl, deps.version));
  router.get('/api/v1/openapi.json', (_req, res) => void res.type('application/json').send(document));
  const api = express.Router();
  api.use(authenticate(deps));
  api.use(requireJson);
  // Uncompressed only: a request is a few hundred bytes, and nothing is inflated for a stranger.
  api.use(express.json({ limit: API_BODY_LIMIT, strict: true, inflate: false }));
  routes(api);
  api.use((req, res) =>
    sendProblem(res, {
      status: 404,
      code: 'api.not_found',
      title: 'No such endpoint',
      detail: `${req.method} ${req.baseUrl}${req.path} is not part of the API (see /api/v1/openapi.json).`,
    }),
  );
  api.use(bodyErrors(deps.logger));
  router.use('/api/v1', api);
  return router;
}

function authenticate(deps: ApiDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    let caller: ApiCaller;
    try {
      caller = await deps.verifier.verify(req.headers.authorization);
    } catch (error) {
      if (!(error instanceof ApiAuthError)) return next(error);
      deps.logger.info({ code: error.code, path: req.path }, 'API call refused: token');
      const challenge: Record<string, string> =
        error.status === 401
          ? { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${error.code}"` }
          : {};
      return sendProblem(res, { status: error.status, code: error.code, title: error.message }, challenge);
    }
    const client = clientByAppId(deps.policy(), caller.clientId);
    // A runaway pipeline is slowed down before anything else (and such refusals are logged, not
    // audited: a flood must not become a flood of audit records).
    if (!(await withinLimit(deps, caller.clientId, req, res))) return;
    auditOnFinish(deps, req, res, caller, client);
    if (!client) {
      deps.logger.warn(
        { clientId: caller.clientId, path: req.path },
        'API call refused: the application is not in clients:',
      );
      return sendProblem(res, {
        status: 403,
        code: 'auth.unknown_client',
        title: 'This application may not call Timebox',
        detail: `Application ${caller.clientId} is not one of the policy's clients.`,
      });
    }
    res.locals.timeboxClient = { caller, client } satisfies AuthenticatedClient;
    next();
  };
}

async function withinLimit(deps: ApiDeps, clientId: string, req: Request, res: Response): Promise<boolean> {
  if (!deps.callLimiter) return true;
  try {
    await deps.callLimiter.take(clientId.toLowerCase());
    return true;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const waitMs = Number(error.details.retryAfterMs);
    const seconds = Math.max(1, Math.ceil((Number.isFinite(waitMs) ? waitMs : 60_000) / 1000));
    deps.logger.warn({ clientId, path: req.path }, 'API call refused: rate limit');
    const { max, windowMs } = deps.callLimiter.limit;
    sendProblem(
      res,
      {
        status: 429,
        code: 'api.rate_limited',
        title: 'Too many calls from this application',
        detail: `At most ${max} calls in ${Math.round(windowMs / 1000)} s per application; try again in ${seconds} s.`,
      },
      { 'Retry-After': String(seconds) },
    );
    return false;
  }
}

function auditOnFinish(
  deps: ApiDeps,
  req: Request,
  res: Response,
  caller: ApiCaller,
  client: { appId: string; name: string; displayName?: string } | undefined,
): void {
  const audit = deps.audit;
  if (!audit) return;
  // The path as called (hostile text is data: the audit stores it as a string), without the query.
  const path = (req.originalUrl.split('?')[0] ?? '').slice(0, 200);
  res.once('finish', () => {
    const name = client?.displayName ?? client?.name ?? '(not one of the policy’s clients)';
    const call: ApiCall = {
      client: { appId: caller.clientId, name: client?.name ?? name },
      ...(caller.objectId ? { actor: { id: caller.objectId, name, kind: 'service_principal' } } : {}),
      method: req.method,
      path,
      status: res.statusCode,
      ...(typeof res.locals.timeboxProblemCode === 'string' ? { code: res.locals.timeboxProblemCode } : {}),
      ...(typeof res.locals.timeboxRequestId === 'string' ? { requestId: res.locals.timeboxRequestId } : {}),
    };
    audit(call).catch((error: unknown) =>
      deps.logger.error({ err: error, call: { ...call } }, 'API call not audited'),
    );
  });
}

/** A body is JSON or nothing: a form post or text is refused before it is parsed. */
function requireJson(req: Request, res: Response, next: NextFunction): void {
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || req.is('application/json')) return next();
  sendProblem(res, {
    status: 415,
    code: 'body.unsupported_media_type',
    title: 'Send the body as application/json',
  });
}

function bodyErrors(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large')
      return sendProblem(res, {
        status: 413,
        code: 'body.too_large',
        title: `The body is larger than ${API_BODY_LIMIT}`,
      });
    if (type === 'charset.unsupported' || type === 'encoding.unsupported')
      return sendProblem(res, {
        status: 415,
        code: 'body.unsupported_media_type',
        title: 'Send the body as application/json in UTF-8, not compressed',
      });
    // Anything else body-parser refused (not JSON, a size that does not match, a body cut short).
    const status = (error as { status?: unknown }).status;
    if (type !== undefined && typeof status === 'number' && status >= 400 && status < 500)
      return sendProblem(res, { status: 400, code: 'body.not_json', title: 'The body is not valid JSON' });
    logger.error({ err: error }, 'API call failed');
    sendProblem(res, {
      status: 500,
      code: 'api.internal',
      title: 'Timebox could not handle this call; nothing was changed',
    });
  };
}
