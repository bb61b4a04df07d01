import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { clientByAppId } from '../../domain/action-rules';
import type { Policy } from '../../domain/policy';
import type { ClientPolicy } from '../../domain/policy-workflows';
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
  api.use(express.json({ limit: API_BODY_LIMIT, strict: true }));
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
    if (type === 'entity.parse.failed')
      return sendProblem(res, { status: 400, code: 'body.not_json', title: 'The body is not valid JSON' });
    logger.error({ err: error }, 'API call failed');
    sendProblem(res, {
      status: 500,
      code: 'api.internal',
      title: 'Timebox could not handle this call; nothing was changed',
    });
  };
}
