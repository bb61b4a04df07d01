import type { TokenCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  HTTPMessageHandler,
  TelemetryHandler,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { RetryMiddleware, defaultRetryPolicy, type RetryEvent, type RetryPolicy } from './retry-middleware';

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';

/** Graph's own hosts (the Graph client sends tokens to these only). */
const GRAPH_HOSTS = new Set([
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
  'canary.graph.microsoft.com',
]);

export interface GraphHttpOptions {
  /** e.g. https://graph.microsoft.com/v1.0, https://graph.microsoft.us/v1.0, http://127.0.0.1:5100/v1.0 */
  baseUrl: string;
  /** Omitted: no token is sent (the local directory). */
  credential?: TokenCredential;
  /** Defaults to "{Graph origin}/.default" of the base URL (the national cloud's own Graph). */
  scopes?: string[];
  retry?: Partial<RetryPolicy>;
  /** Per attempt, headers and body. Default 15 s. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
}

/** The token scope for a Graph base URL: its own origin for Graph's hosts, the global one otherwise. */
export function graphScopeFor(baseUrl: string): string {
  const url = new URL(baseUrl);
  return GRAPH_HOSTS.has(url.hostname) ? `${url.origin}/.default` : 'https://graph.microsoft.com/.default';
}

/** Whether a base URL is a plain-http address (the local directory): no token is ever sent there. */
export function isLocalBase(baseUrl: string): boolean {
  return new URL(baseUrl).protocol === 'http:';
}

function splitBase(baseUrl: string): { host: string; version: string } {
  const url = new URL(baseUrl.replace(/\/+$/, ''));
  const parts = url.pathname.split('/').filter(Boolean);
  const version = parts.pop();
  if (!version)
    throw new Error(`GRAPH_BASE_URL ${baseUrl} has no version segment (e.g. ${DEFAULT_GRAPH_BASE_URL})`);
  return { host: `${url.origin}/${parts.map((p) => `${p}/`).join('')}`, version };
}

function anonymous(): never {
  throw new Error('no Graph credential is configured for this endpoint');
}

/**
 * The Graph client with Timebox's middleware chain: retry (outermost, so every attempt gets a
 * fresh token and fetch) → authentication → telemetry → fetch. Paths are relative to `baseUrl`.
 */
export class GraphHttp {
  readonly baseUrl: string;
  readonly scopes: string[];
  private readonly client: Client;

  constructor(options: GraphHttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const { host, version } = splitBase(this.baseUrl);
    this.scopes = options.scopes ?? [graphScopeFor(this.baseUrl)];
    const retry = new RetryMiddleware({
      policy: { ...defaultRetryPolicy, ...options.retry },
      timeoutMs: options.timeoutMs ?? 15_000,
      sleep: options.sleep,
      random: options.random,
      onRetry: options.onRetry,
    });
    const authProvider = options.credential
      ? new TokenCredentialAuthenticationProvider(options.credential, { scopes: this.scopes })
      : { getAccessToken: anonymous };
    const chain: Middleware[] = [
      retry,
      new AuthenticationHandler(authProvider),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ];
    for (let i = 0; i < chain.length - 1; i++) chain[i].setNext?.(chain[i + 1]);
    const url = new URL(this.baseUrl);
    // A token goes to Graph's own hosts, or to an https host named in GRAPH_BASE_URL (a proxy);
    // never to plain http, so the local directory never sees one.
    const customHosts =
      options.credential && url.protocol === 'https:' && !GRAPH_HOSTS.has(url.hostname)
        ? new Set([url.hostname])
        : undefined;
    this.client = Client.initWithMiddleware({
      middleware: chain[0],
      baseUrl: host,
      defaultVersion: version,
      customHosts,
    });
  }

  async get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    // The Graph client joins query values verbatim; encode them so filters with spaces or quotes survive.
    const encoded = Object.fromEntries(
      Object.entries(query).map(([key, value]) => [key, encodeURIComponent(value)]),
    );
    return (await this.client.api(path).query(encoded).get()) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.client.api(path).post(body)) as T;
  }

  async delete(path: string): Promise<void> {
    await this.client.api(path).delete();
  }

  /** All items of a collection, following @odata.nextLink; `stop` ends early (e.g. when found). */
  async collect<T>(path: string, query: Record<string, string>, stop?: (item: T) => boolean): Promise<T[]> {
    const items: T[] = [];
    let page = await this.get<{ value: T[]; '@odata.nextLink'?: string }>(path, query);
    for (;;) {
      for (const item of page.value ?? []) {
        items.push(item);
        if (stop?.(item)) return items;
      }
      const next = page['@odata.nextLink'];
      if (!next) return items;
      page = await this.get(this.relative(next));
    }
  }

  /** A nextLink made relative to our base (the Graph client only parses absolute https links). */
  private relative(link: string): string {
    if (link.startsWith(`${this.baseUrl}/`)) return link.slice(this.baseUrl.length);
    const url = new URL(link);
    const base = new URL(this.baseUrl);
    if (url.origin !== base.origin)
      throw new Error(`Graph returned a nextLink to another host: ${url.origin}`);
    return url.pathname.slice(base.pathname.length) + url.search;
  }
}
