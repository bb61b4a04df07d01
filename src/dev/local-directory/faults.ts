import { randomUUID } from 'node:crypto';

/**
 * One injected fault. `route` is "METHOD /path" relative to the /v1.0 base, in which a `*`
 * segment matches any one path segment and a `**` segment the rest (e.g. "POST /groups/X/members/$ref"
 * with X written as `*`); omitted or "*" matches every Graph call.
 */
export interface FaultSpec {
  route?: string;
  /** A route (same form as `route`) left out of `route`: e.g. "POST /$batch" with route "*" hits each request of a batch, never the batch as a whole. */
  except?: string;
  /** Answer with this status and Graph's error body for it (429, 503, 504, 403, 500, ...). */
  status?: number;
  /** Sent as the Retry-After header (seconds) with `status`. */
  retryAfterSeconds?: number;
  /** Waits this long before answering (alone: the real answer, late). */
  latencyMs?: number;
  /** Closes the connection without an answer (a network error for the client). */
  drop?: boolean;
  /** Overrides the error body's code and message for `status`. */
  error?: { code: string; message: string };
  /** Only the next N matching calls; afterwards the fault is gone. Omitted: until cleared. */
  times?: number;
  /** Each matching call is hit with this probability (0..1). Omitted: always. */
  probability?: number;
}

export interface ActiveFault extends FaultSpec {
  id: string;
  /** How many calls this fault has hit so far. */
  hits: number;
}

/** What the request pipeline does for one call once the matching faults are applied. */
export interface FaultOutcome {
  latencyMs: number;
  drop: boolean;
  status?: number;
  retryAfterSeconds?: number;
  error?: { code: string; message: string };
}

/** The fault API of the local directory (also driven over HTTP at /_admin/faults). */
export interface FaultControl {
  /** Adds a fault; returns its id. */
  add(spec: FaultSpec): string;
  /** Next `times` calls on `route` get 429 with Retry-After. */
  throttle(route: string, times: number, retryAfterSeconds?: number): string;
  /** Next `times` calls on `route` get 503. */
  unavailable(route: string, times: number, retryAfterSeconds?: number): string;
  /** Next `times` calls on `route` get 403 Authorization_RequestDenied (until cleared when times is omitted). */
  forbidden(route: string, times?: number): string;
  /** Next `times` calls on `route` are answered `latencyMs` late (until cleared when times is omitted). */
  latency(route: string, latencyMs: number, times?: number): string;
  remove(id: string): boolean;
  clear(): void;
  list(): ActiveFault[];
}

export function validateFaultSpec(value: unknown): FaultSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('a fault must be a JSON object');
  const spec = value as Record<string, unknown>;
  const known = [
    'route',
    'except',
    'status',
    'retryAfterSeconds',
    'latencyMs',
    'drop',
    'error',
    'times',
    'probability',
  ];
  const unknown = Object.keys(spec).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw new Error(`unknown fault field(s): ${unknown.join(', ')} (known: ${known.join(', ')})`);
  const isNum = (k: string, min: number, max = Number.POSITIVE_INFINITY) =>
    spec[k] === undefined ||
    (typeof spec[k] === 'number' && (spec[k] as number) >= min && (spec[k] as number) <= max);
  if (spec.route !== undefined && typeof spec.route !== 'string')
    throw new Error('route must be a string like "POST /groups/*/members/$ref"');
  if (spec.except !== undefined && typeof spec.except !== 'string')
    throw new Error('except must be a route string like "POST /$batch"');
  if (!isNum('status', 100, 599)) throw new Error('status must be an HTTP status');
  if (!isNum('retryAfterSeconds', 0) || !isNum('latencyMs', 0) || !isNum('times', 1)) {
    throw new Error('retryAfterSeconds and latencyMs must be >= 0, times >= 1');
  }
  if (!isNum('probability', 0, 1)) throw new Error('probability must be between 0 and 1');
  if (spec.drop !== undefined && typeof spec.drop !== 'boolean') throw new Error('drop must be a boolean');
  if (spec.status === undefined && spec.latencyMs === undefined && spec.drop !== true) {
    throw new Error('a fault needs status, latencyMs or drop');
  }
  return spec as FaultSpec;
}

function routeMatches(route: string | undefined, method: string, path: string): boolean {
  if (route === undefined || route.trim() === '*') return true;
  const [m, p] = route.trim().split(/\s+/, 2);
  if (m !== '*' && m.toUpperCase() !== method.toUpperCase()) return false;
  if (p === undefined || p === '**') return true;
  const want = p.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '**') return true;
    if (i >= have.length) return false;
    if (want[i] !== '*' && want[i].toLowerCase() !== have[i].toLowerCase()) return false;
  }
  return want.length === have.length;
}

export class FaultRegistry implements FaultControl {
  private faults: ActiveFault[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  add(spec: FaultSpec): string {
    const fault: ActiveFault = { ...validateFaultSpec(spec), id: randomUUID(), hits: 0 };
    this.faults.push(fault);
    return fault.id;
  }

  throttle(route: string, times: number, retryAfterSeconds = 1): string {
    return this.add({ route, status: 429, retryAfterSeconds, times });
  }

  unavailable(route: string, times: number, retryAfterSeconds?: number): string {
    return this.add({ route, status: 503, retryAfterSeconds, times });
  }

  forbidden(route: string, times?: number): string {
    return this.add({ route, status: 403, times });
  }

  latency(route: string, latencyMs: number, times?: number): string {
    return this.add({ route, latencyMs, times });
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Applies the faults matching one call: latencies add up, the first status or drop decides. */
  apply(method: string, path: string): FaultOutcome {
    const outcome: FaultOutcome = { latencyMs: 0, drop: false };
    let decided = false;
    for (const fault of [...this.faults]) {
      if (!routeMatches(fault.route, method, path)) continue;
      if (fault.except !== undefined && routeMatches(fault.except, method, path)) continue;
      if (fault.probability !== undefined && this.random() >= fault.probability) continue;
      const answers = fault.status !== undefined || fault.drop === true;
      // A second answering fault waits for its own call, so "3 × 429 then 2 × 503" queue up.
      if (answers && decided) continue;
      fault.hits += 1;
      if (fault.times !== undefined && fault.hits >= fault.times) this.remove(fault.id);
      outcome.latencyMs += fault.latencyMs ?? 0;
      if (!answers) continue;
      decided = true;
      outcome.drop = fault.drop === true;
      outcome.status = fault.status;
      outcome.retryAfterSeconds = fault.retryAfterSeconds;
      outcome.error = fault.error;
    }
    return outcome;
  }
}
