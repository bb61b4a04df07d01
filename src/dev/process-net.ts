import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** Thrown when a port needed on 127.0.0.1 is already taken. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly purpose: string,
    readonly envName?: string,
  ) {
    super(
      `Port ${port} (${purpose}) is already in use on ${LOOPBACK}. ` +
        `Stop whatever listens there (see: ss -ltnp 'sport = :${port}')` +
        (envName ? ` or choose another port with ${envName}=<port>.` : '.'),
    );
    this.name = 'PortInUseError';
  }
}

/** Resolves true when `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function assertPortFree(port: number, purpose: string, envName?: string): Promise<void> {
  if (!(await isPortFree(port))) throw new PortInUseError(port, purpose, envName);
}

/** A port the OS considers free on 127.0.0.1 (free when asked; bind it soon). */
function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: LOOPBACK }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Ports below this are left alone: many are the defaults of well-known services. */
const LOWEST_PORT = 10_000;

/** Where the kernel's ephemeral ports start (Linux), or undefined where it cannot tell. */
function ephemeralRangeStart(): number | undefined {
  try {
    const start = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(start) && start > LOWEST_PORT + 1000 ? start : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Several distinct ports free on 127.0.0.1, for servers started next. Taken below the ephemeral
 * range where possible: a port from listen(0) is ephemeral, and on a busy machine an outgoing
 * connection can get it as its local port before the server meant to listen there binds it.
 */
export async function freePorts(count: number): Promise<number[]> {
  const below = ephemeralRangeStart();
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries += 1) {
    if (below === undefined || tries > 100) {
      ports.add(await ephemeralPort());
      continue;
    }
    const port = LOWEST_PORT + Math.floor(Math.random() * (below - LOWEST_PORT));
    if (!ports.has(port) && (await isPortFree(port))) ports.add(port);
  }
  return [...ports];
}

export function parsePort(value: string | undefined, fallback: number, envName: string): number {
  if (value === undefined || value.trim() === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${envName}="${value}" is not a port number (1-65535).`);
  }
  return port;
}

/**
 * Polls `url` until `accept(status, body)` holds. Resolves with the body; rejects after
 * `timeoutMs` with the last status or connection error in the message.
 */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  accept: (status: number, body: string) => boolean = (status) => status === 200,
  signal?: AbortSignal,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (signal?.aborted) throw new Error(`stopped waiting for ${url}`);
    try {
      const timeout = AbortSignal.timeout(2000);
      const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      const body = await response.text();
      if (accept(response.status, body)) return body;
      last = `HTTP ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      last = cause?.code ?? (error as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${url} did not answer as expected within ${Math.round(timeoutMs / 1000)} s (last: ${last})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}
