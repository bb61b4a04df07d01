import express, { type Express } from 'express';
import type { Activity, ActivityHandler } from 'botbuilder';
import { validateAndFixActivity } from 'botbuilder/lib/activityValidator';
import type { TimeboxAdapter } from '../teams/timebox-adapter';
import type { Logger } from '../../ports/logger';
import { activityProblem } from './activity-shape';
import { LEGAL_PAGES, readLegalPage } from './legal-pages';

export interface HttpDeps {
  adapter: TimeboxAdapter;
  bot: ActivityHandler;
  logger: Logger;
  /** Whether the bot can serve (store open, workers running). */
  ready: () => Promise<{ ok: boolean; detail?: Record<string, unknown> }>;
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Counts each activity by type and HTTP status. */
  onActivity?: (type: string, status: number) => void;
  /**
   * Why activities are refused now, if they are: `starting` until the store first opens,
   * `stopping` once shutdown began. Either way they get 503 (Teams retries them).
   */
  refusing?: () => 'starting' | 'stopping' | undefined;
}

const KNOWN_TYPES = new Set([
  'message',
  'invoke',
  'conversationUpdate',
  'messageReaction',
  'installationUpdate',
  'event',
  'typing',
]);

/** A label value from a known set only: hostile bodies must not grow the metric's cardinality. */
function activityType(body: unknown): string {
  const type = (body as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' && KNOWN_TYPES.has(type) ? type : 'other';
}

/** The bot's HTTP surface: /api/messages for Teams, health and readiness probes, metrics. */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Starting or shutting down: no new work. 503 + Retry-After is what Teams retries; the
  // connection is closed so that the listener can finish.
  app.use('/api/messages', (_req, res, next) => {
    const refusal = deps.refusing?.();
    if (refusal !== undefined) {
      res.status(503).set({ 'Retry-After': '5', Connection: 'close' }).json({ error: refusal });
      return;
    }
    next();
  });
  // Teams activities are small; a larger body is refused before it is parsed.
  app.use('/api/messages', express.json({ limit: '256kb' }));
  app.post('/api/messages', async (req, res) => {
    res.on('finish', () => deps.onActivity?.(activityType(req.body), res.statusCode));
    // Malformed activities (wrong types, absurd nesting) get a 400 here, not a TypeError deep in botbuilder.
    const problem = activityProblem(req.body);
    if (problem) {
      res.status(400).json({ error: 'bad request', detail: problem });
      return;
    }
    try {
      const authHeader = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
      const outcome = await deps.adapter.handle(
        validateAndFixActivity(req.body as Activity),
        authHeader,
        (context) => deps.bot.run(context),
      );
      if (outcome.body === undefined) res.status(outcome.status).end();
      else res.status(outcome.status).json(outcome.body);
    } catch (error) {
      deps.logger.error({ err: error }, 'activity failed');
      if (!res.headersSent)
        res.status(500).json({ error: 'Timebox could not handle this activity; nothing was changed.' });
    }
  });
  // What the Teams app's privacy and terms links open (manifest privacyUrl / termsOfUseUrl).
  for (const route of Object.keys(LEGAL_PAGES) as Array<keyof typeof LEGAL_PAGES>) {
    const page = readLegalPage(route);
    if (page !== undefined)
      app.get(route, (_req, res) => void res.type('text/markdown; charset=utf-8').send(page));
  }
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const state = await deps
      .ready()
      .catch((error: Error) => ({ ok: false, detail: { error: error.message } }));
    res.status(state.ok ? 200 : 503).json({ status: state.ok ? 'ready' : 'not ready', ...state.detail });
  });
  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, res) => {
      const { contentType, body } = await metrics();
      res.type(contentType).send(body);
    });
  }
  // Malformed JSON and other body errors: a 400, never a stack trace.
  app.use(
    (
      error: Error & { status?: number },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(error.status && error.status < 500 ? error.status : 400).json({ error: 'bad request' });
    },
  );
  return app;
}
