import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FaultRegistry, validateFaultSpec, type FaultControl, type FaultSpec } from './faults';
import { GraphFailure, faultFailure, graphErrorBody } from './graph-error';
import { routeGraphCall } from './graph-routes';
import { DirectoryModel, type DirectoryState } from './model';
import { readStateFile, writeStateFile } from './state-file';

export type { ActiveFault, FaultControl, FaultSpec } from './faults';
export type { DirectoryState, PimAssignment } from './model';

export interface LocalDirectorySeed {
  users: { id: string; displayName: string; userPrincipalName: string }[];
  /** `members` may hold group ids (nesting); `dynamic` groups refuse membership changes as Graph does. */
  groups: {
    id: string;
    displayName: string;
    members: string[];
    dynamic?: boolean;
    isAssignableToRole?: boolean;
  }[];
}

/** One Graph call the server answered. `path` is relative to `url` (decoded, no query): "/groups/g/members/u/$ref". */
export interface LocalDirectoryCall {
  method: string;
  path: string;
  status: number;
  at: number;
  query?: string;
  /** For a POST to `…/$ref`: the id at the end of the body's `@odata.id` (who is being added). */
  subject?: string;
}

export interface LocalDirectoryHandle {
  /** Base URL incl. /v1.0, no trailing slash: what GRAPH_BASE_URL is set to. */
  url: string;
  port: number;
  /** Direct member ids of a group (throws for an unknown group, so typos in tests fail loudly). */
  members(groupId: string): string[];
  /** Every Graph call in arrival order; status 0 = connection dropped by a fault. Cleared by reset(). */
  calls: LocalDirectoryCall[];
  faults: FaultControl;
  /** Called as each call that changed or read something is answered (the chaos run kills the bot right then). */
  onAnswered?: (call: LocalDirectoryCall) => void;
  /** A copy of the whole directory (users, groups, PIM assignments). */
  state(): DirectoryState;
  /** Back to `seed` (or the start seed), no faults, no calls. */
  reset(seed?: LocalDirectorySeed): void;
  close(): Promise<void>;
}

export interface LocalDirectoryOptions {
  seed: LocalDirectorySeed;
  /** 0 (default) = a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Persist the directory in this JSON file (loaded instead of the seed when it exists). */
  stateFile?: string;
  /** Faults active from the start (e.g. from the --faults flag). */
  faults?: FaultSpec[];
  /** Refuse PIM assignments shorter than this, as Entra does below 5 minutes (300000). Default 0, so tests can use seconds. */
  pimMinimumDurationMs?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function stateFromSeed(seed: LocalDirectorySeed): DirectoryState {
  if (!Array.isArray(seed?.users) || !Array.isArray(seed?.groups)) {
    throw new Error(
      'local directory seed needs "users" and "groups" arrays (see examples/demo.directory.json)',
    );
  }
  const ids = new Set([...seed.users.map((u) => u.id), ...seed.groups.map((g) => g.id)]);
  for (const group of seed.groups) {
    const unknown = (group.members ?? []).filter((m) => !ids.has(m));
    if (unknown.length > 0)
      throw new Error(`local directory seed: group ${group.id} has unknown member(s) ${unknown.join(', ')}`);
  }
  return {
    users: structuredClone(seed.users),
    groups: seed.groups.map((g) => ({ ...structuredClone(g), members: [...(g.members ?? [])] })),
    pimAssignments: [],
  };
}

/** Starts the local directory: Microsoft Graph's REST dialect for everything GraphDirectory calls. */
export async function startLocalDirectory(opts: LocalDirectoryOptions): Promise<LocalDirectoryHandle> {
  const host = opts.host ?? '127.0.0.1';
  let startSeed = opts.seed;
  const initial = (opts.stateFile ? readStateFile(opts.stateFile) : undefined) ?? stateFromSeed(startSeed);
  const faults = new FaultRegistry();
  for (const spec of opts.faults ?? []) faults.add(spec);
  const calls: LocalDirectoryCall[] = [];
  const timers = new Map<string, { end: string; handle: NodeJS.Timeout }>();
  let closed = false;

  // PIM expiry is real: each active assignment has a timer that removes the member at its end.
  const armTimers = (): void => {
    if (closed) return;
    const live = new Set<string>();
    for (const assignment of model.pimAssignments()) {
      live.add(assignment.id);
      const armed = timers.get(assignment.id);
      if (armed?.end === assignment.endDateTime) continue;
      if (armed) clearTimeout(armed.handle);
      const id = assignment.id;
      const delay = Math.min(Math.max(0, Date.parse(assignment.endDateTime) - Date.now()), MAX_TIMER_MS);
      const handle = setTimeout(() => {
        timers.delete(id);
        const current = model.pimAssignments().find((a) => a.id === id);
        if (!current) return;
        if (Date.parse(current.endDateTime) <= Date.now()) model.endAssignment(id);
        else armTimers();
      }, delay);
      handle.unref();
      timers.set(id, { end: assignment.endDateTime, handle });
    }
    for (const [id, armed] of timers) {
      if (!live.has(id)) {
        clearTimeout(armed.handle);
        timers.delete(id);
      }
    }
  };
  const onChange = (): void => {
    if (opts.stateFile) writeStateFile(opts.stateFile, model.snapshot());
    armTimers();
  };
  const model: DirectoryModel = new DirectoryModel(initial, onChange);
  armTimers();

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  const send = (
    res: Response,
    call: LocalDirectoryCall | undefined,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void => {
    if (call) call.status = status;
    res.status(status).set(headers);
    if (body === undefined) res.end();
    else res.json(body);
  };
  const sendFailure = (
    res: Response,
    call: LocalDirectoryCall | undefined,
    failure: GraphFailure,
    req: Request,
  ): void => {
    send(
      res,
      call,
      failure.status,
      graphErrorBody(failure.code, failure.message, req.get('client-request-id')),
      failure.headers,
    );
  };

  app.use('/_admin', express.json());
  app.get('/_admin/state', (_req, res) => {
    res.json({ ...model.snapshot(), faults: faults.list(), calls });
  });
  app.get('/_admin/calls', (_req, res) => {
    res.json(calls);
  });
  app.get('/_admin/faults', (_req, res) => {
    res.json(faults.list());
  });
  app.post('/_admin/faults', (req, res) => {
    const specs: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    try {
      const valid = specs.map(validateFaultSpec);
      res.status(201).json({ ids: valid.map((spec) => faults.add(spec)) });
    } catch (error) {
      res.status(400).json({ error: { code: 'InvalidFault', message: (error as Error).message } });
    }
  });
  app.delete('/_admin/faults', (_req, res) => {
    faults.clear();
    res.status(204).end();
  });
  app.delete('/_admin/faults/:id', (req, res) => {
    res.status(faults.remove(req.params.id) ? 204 : 404).end();
  });
  app.post('/_admin/reset', (req, res) => {
    try {
      const body = req.body as { seed?: LocalDirectorySeed } | undefined;
      handle.reset(body?.seed);
      res.status(204).end();
    } catch (error) {
      res.status(400).json({ error: { code: 'InvalidSeed', message: (error as Error).message } });
    }
  });

  app.use('/v1.0', (req, res, next) => {
    const call: LocalDirectoryCall = { method: req.method, path: req.path, status: 0, at: Date.now() };
    const queryAt = req.originalUrl.indexOf('?');
    if (queryAt >= 0) call.query = req.originalUrl.slice(queryAt + 1);
    try {
      call.path = `/${req.path.split('/').filter(Boolean).map(decodeURIComponent).join('/')}`;
    } catch {
      calls.push(call);
      sendFailure(res, call, new GraphFailure(400, 'BadRequest', 'The request URI is not valid.'), req);
      return;
    }
    calls.push(call);
    res.locals.call = call;
    next();
  });
  app.use('/v1.0', express.json({ type: ['application/json', 'application/*+json'], limit: '1mb' }));
  app.use('/v1.0', async (req, res) => {
    const call = res.locals.call as LocalDirectoryCall;
    const ref = (req.body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
    if (req.method === 'POST' && call.path.endsWith('/$ref') && typeof ref === 'string') call.subject = ref.split('/').pop();
    const outcome = faults.apply(req.method, call.path);
    if (outcome.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, outcome.latencyMs).unref());
    if (outcome.drop) {
      req.socket.destroy();
      return;
    }
    if (outcome.status !== undefined) {
      const failure = faultFailure(outcome.status, outcome.retryAfterSeconds);
      const injected = outcome.error
        ? new GraphFailure(failure.status, outcome.error.code, outcome.error.message, failure.headers)
        : failure;
      sendFailure(res, call, injected, req);
      return;
    }
    const searchParams = new URL(req.originalUrl, 'http://local').searchParams;
    try {
      const answer = routeGraphCall(
        model,
        {
          method: req.method,
          segments: call.path.split('/').filter(Boolean),
          query: Object.fromEntries(searchParams.entries()),
          body: req.body,
          baseUrl: `${req.protocol}://${req.get('host')}/v1.0`,
          pimMinimumDurationMs: opts.pimMinimumDurationMs,
        },
        new Date(),
      );
      send(res, call, answer.status, answer.body);
      handle.onAnswered?.(call);
    } catch (error) {
      if (!(error instanceof GraphFailure)) throw error;
      sendFailure(res, call, error, req);
    }
  });
  app.use((req: Request, res: Response) => {
    sendFailure(
      res,
      undefined,
      new GraphFailure(
        404,
        'NotFound',
        `No local directory route for ${req.method} ${req.path}; Graph calls go under /v1.0.`,
      ),
      req,
    );
  });
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const call = res.locals.call as LocalDirectoryCall | undefined;
    const parseFailed = (error as { type?: string }).type === 'entity.parse.failed';
    const failure = parseFailed
      ? new GraphFailure(
          400,
          'BadRequest',
          'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
        )
      : new GraphFailure(500, 'generalException', `Local directory error: ${(error as Error).message}`);
    sendFailure(res, call, failure, req);
  });

  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(opts.port ?? 0, host, (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
    listening.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  const handle: LocalDirectoryHandle = {
    url: `http://${urlHost}:${port}/v1.0`,
    port,
    members(groupId) {
      const group = model.findGroup(groupId);
      if (!group) throw new Error(`no group ${groupId} in the local directory`);
      return [...group.members];
    },
    calls,
    faults,
    state: () => model.snapshot(),
    reset(seed) {
      const next = stateFromSeed(seed ?? startSeed);
      if (seed) startSeed = seed;
      faults.clear();
      calls.length = 0;
      model.replace(next);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        closed = true;
        for (const armed of timers.values()) clearTimeout(armed.handle);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
  return handle;
}
