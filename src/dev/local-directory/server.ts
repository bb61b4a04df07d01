import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FaultRegistry, validateFaultSpec, type FaultControl, type FaultSpec } from './faults';
import { GraphFailure, badRequest, faultFailure, graphErrorBody } from './graph-error';
import { routeGraphCall, type GraphAnswer } from './graph-routes';
import { DirectoryModel, readAutomaticReplies, type DirectoryState, type LocalUser } from './model';
import { readStateFile, writeStateFile } from './state-file';

export type { ActiveFault, FaultControl, FaultSpec } from './faults';
export type {
  DirectoryState,
  LocalAutomaticReplies,
  LocalServicePrincipal,
  LocalUser,
  PimAssignment,
} from './model';

export interface LocalDirectorySeed {
  /**
   * `automaticReplies` (Graph's automaticRepliesSetting: status, scheduled start and end) is
   * off when absent; `mailbox: false` is a user without an Exchange Online mailbox.
   */
  users: Pick<LocalUser, 'id' | 'displayName' | 'userPrincipalName' | 'mailbox' | 'automaticReplies'>[];
  /** `members` may hold group ids (nesting); `dynamic` groups refuse membership changes as Graph does. */
  groups: {
    id: string;
    displayName: string;
    members: string[];
    dynamic?: boolean;
    isAssignableToRole?: boolean;
  }[];
  /** Workloads' service principals (a pipeline's app): group members like users, requesters through the API. */
  servicePrincipals?: { id: string; appId: string; displayName: string }[];
}

/** One Graph call the server answered. `path` is relative to `url` (decoded, no query): "/groups/g/members/u/$ref". */
export interface LocalDirectoryCall {
  method: string;
  path: string;
  status: number;
  at: number;
  /** When it was answered (Date.now()); with `at`, the span in which it was in flight (the chaos run's overlap check). */
  answeredAt?: number;
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
  /** A copy of the whole directory (users, service principals, groups, PIM assignments). */
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
/** Graph's limit of requests in one JSON batch. */
const MAX_BATCH = 20;

/** One request of a JSON batch as Graph takes it. */
interface BatchRequest {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Graph's own refusals of a malformed batch (the whole call, 400). */
function readBatch(body: unknown): BatchRequest[] {
  const requests = (body as { requests?: unknown } | undefined)?.requests;
  if (!Array.isArray(requests) || requests.length === 0) throw badRequest('Invalid batch payload format.');
  if (requests.length > MAX_BATCH)
    throw badRequest(`Number of batch request steps exceeds the maximum of ${MAX_BATCH}.`);
  const ids = new Set<string>();
  return requests.map((r: unknown) => {
    const item = (r ?? {}) as Partial<BatchRequest>;
    if (
      typeof item.id !== 'string' ||
      !item.id ||
      typeof item.method !== 'string' ||
      typeof item.url !== 'string'
    )
      throw badRequest('Invalid batch payload format: each request needs id, method and url.');
    if (ids.has(item.id)) throw badRequest(`Batch request ids must be unique; '${item.id}' is repeated.`);
    ids.add(item.id);
    return item as BatchRequest;
  });
}

function stateFromSeed(seed: LocalDirectorySeed): DirectoryState {
  if (!Array.isArray(seed?.users) || !Array.isArray(seed?.groups)) {
    throw new Error(
      'local directory seed needs "users" and "groups" arrays (see examples/demo.directory.json)',
    );
  }
  const servicePrincipals = seed.servicePrincipals ?? [];
  if (!Array.isArray(servicePrincipals))
    throw new Error(
      'local directory seed: "servicePrincipals" must be an array of { id, appId, displayName }',
    );
  for (const sp of servicePrincipals) {
    if (typeof sp?.id !== 'string' || typeof sp.appId !== 'string' || typeof sp.displayName !== 'string')
      throw new Error(
        'local directory seed: each service principal needs id, appId and displayName (strings)',
      );
  }
  for (const user of seed.users) {
    if (user.automaticReplies === undefined) continue;
    try {
      readAutomaticReplies(user.automaticReplies);
    } catch (error) {
      throw new Error(`local directory seed: user ${user.id} automaticReplies: ${(error as Error).message}`);
    }
  }
  const ids = new Set([
    ...seed.users.map((u) => u.id),
    ...servicePrincipals.map((sp) => sp.id),
    ...seed.groups.map((g) => g.id),
  ]);
  for (const group of seed.groups) {
    const unknown = (group.members ?? []).filter((m) => !ids.has(m));
    if (unknown.length > 0)
      throw new Error(`local directory seed: group ${group.id} has unknown member(s) ${unknown.join(', ')}`);
  }
  return {
    users: structuredClone(seed.users),
    groups: seed.groups.map((g) => ({ ...structuredClone(g), members: [...(g.members ?? [])] })),
    servicePrincipals: structuredClone(servicePrincipals),
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
    if (call) {
      call.status = status;
      call.answeredAt = Date.now();
    }
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

  /** The subject of an add (`POST …/$ref`): who is being added, for the call log. */
  const noteSubject = (call: LocalDirectoryCall, body: unknown): void => {
    const ref = (body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
    if (call.method === 'POST' && call.path.endsWith('/$ref') && typeof ref === 'string')
      call.subject = ref.split('/').pop();
  };
  /** The failure a fault injects, in Graph's terms. */
  const injected = (outcome: ReturnType<FaultRegistry['apply']>): GraphFailure | undefined => {
    if (outcome.status === undefined) return undefined;
    const failure = faultFailure(outcome.status, outcome.retryAfterSeconds);
    return outcome.error
      ? new GraphFailure(failure.status, outcome.error.code, outcome.error.message, failure.headers)
      : failure;
  };
  /** Answers one call against the model (faults already applied): the same for single calls and batch items. */
  const answer = (
    call: LocalDirectoryCall,
    query: Record<string, string>,
    body: unknown,
    baseUrl: string,
  ): GraphAnswer => {
    return routeGraphCall(
      model,
      {
        method: call.method,
        segments: call.path.split('/').filter(Boolean),
        query,
        body,
        baseUrl,
        pimMinimumDurationMs: opts.pimMinimumDurationMs,
      },
      new Date(),
    );
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

  /**
   * `POST /$batch`, as Graph serves JSON batching: at most 20 requests, each answered on its
   * own inside a 200 (`{ responses: [{ id, status, headers, body }] }`), each through the same
   * routes and fault injection as the single call (so a `DELETE /groups/x/members/y/$ref` fault
   * hits that item, answered 429 with its Retry-After in the item's headers) and logged in
   * `calls` as that call. Faults on `POST /$batch` itself (or on every call) hit the batch as
   * a whole. NB: latency is applied once per batch, the longest of its items' and the batch's
   * own, since Graph runs a batch's requests side by side and answers when the slowest is
   * done (roughly; it may also run them in any order). A drop on any item drops the whole
   * connection: there is no way to lose one answer of a batch.
   */
  const serveBatch = async (req: Request, res: Response, batchCall: LocalDirectoryCall): Promise<void> => {
    const outer = faults.apply('POST', '/$batch');
    const failed = injected(outer);
    let requests: BatchRequest[];
    try {
      requests = readBatch(req.body);
    } catch (error) {
      if (!(error instanceof GraphFailure)) throw error;
      if (outer.latencyMs > 0) await sleep(outer.latencyMs);
      sendFailure(res, batchCall, error, req);
      return;
    }
    const baseUrl = `${req.protocol}://${req.get('host')}/v1.0`;
    const items = requests.map((request) => {
      const url = new URL(request.url.replace(/^\/?/, '/'), 'http://local');
      let path: string;
      try {
        path = `/${url.pathname.split('/').filter(Boolean).map(decodeURIComponent).join('/')}`;
      } catch {
        path = url.pathname;
      }
      const call: LocalDirectoryCall = {
        method: request.method.toUpperCase(),
        path,
        status: 0,
        at: Date.now(),
      };
      if (url.search) call.query = url.search.slice(1);
      noteSubject(call, request.body);
      return {
        request,
        call,
        query: Object.fromEntries(url.searchParams.entries()),
        outcome: failed ? undefined : faults.apply(call.method, path),
      };
    });
    const latency = Math.max(outer.latencyMs, ...items.map((i) => i.outcome?.latencyMs ?? 0));
    if (latency > 0) await sleep(latency);
    if (outer.drop || items.some((i) => i.outcome?.drop)) {
      calls.push(...items.map((i) => i.call));
      req.socket.destroy();
      return;
    }
    if (failed) {
      sendFailure(res, batchCall, failed, req);
      return;
    }
    const responses = items.map(({ request, call, query, outcome }) => {
      calls.push(call);
      const failure = (outcome && injected(outcome)) ?? undefined;
      const fail = (f: GraphFailure) => {
        call.status = f.status;
        call.answeredAt = Date.now();
        return {
          id: request.id,
          status: f.status,
          headers: { 'Content-Type': 'application/json', ...f.headers },
          body: graphErrorBody(f.code, f.message, req.get('client-request-id')),
        };
      };
      if (failure) return fail(failure);
      const contentType = Object.entries(request.headers ?? {}).find(
        ([k]) => k.toLowerCase() === 'content-type',
      )?.[1];
      if (request.body !== undefined && !contentType)
        return fail(
          badRequest('Content-Type header is required when a body is specified in a batch request.'),
        );
      try {
        const done = answer(call, query, request.body, baseUrl);
        call.status = done.status;
        call.answeredAt = Date.now();
        handle.onAnswered?.(call);
        return done.body === undefined
          ? { id: request.id, status: done.status, headers: {} }
          : {
              id: request.id,
              status: done.status,
              headers: { 'Content-Type': 'application/json' },
              body: done.body,
            };
      } catch (error) {
        if (!(error instanceof GraphFailure)) throw error;
        return fail(error);
      }
    });
    send(res, batchCall, 200, { responses });
  };

  app.use('/v1.0', async (req, res) => {
    const call = res.locals.call as LocalDirectoryCall;
    if (req.method === 'POST' && call.path === '/$batch') return serveBatch(req, res, call);
    noteSubject(call, req.body);
    const outcome = faults.apply(req.method, call.path);
    if (outcome.latencyMs > 0) await sleep(outcome.latencyMs);
    if (outcome.drop) {
      req.socket.destroy();
      return;
    }
    const failure = injected(outcome);
    if (failure) {
      sendFailure(res, call, failure, req);
      return;
    }
    const searchParams = new URL(req.originalUrl, 'http://local').searchParams;
    try {
      const done = answer(
        call,
        Object.fromEntries(searchParams.entries()),
        req.body,
        `${req.protocol}://${req.get('host')}/v1.0`,
      );
      send(res, call, done.status, done.body);
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
