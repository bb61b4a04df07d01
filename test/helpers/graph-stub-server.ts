import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/** One canned answer: status, JSON body (or none) and headers. */
export interface StubAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StubGraph {
  /** Base URL incl. /v1.0. */
  url: string;
  calls: { method: string; path: string; body: unknown }[];
  /** Answers `method path` (path relative to /v1.0, decoded) with these answers in turn; the last one repeats. */
  on(method: string, path: string, ...answers: StubAnswer[]): void;
  close(): Promise<void>;
}

/**
 * A Graph stand-in that replays recorded answers, for testing the adapter's mapping of real
 * Graph payloads. Unconfigured calls get 501, which no mapping treats as success.
 */
export async function startStubGraph(): Promise<StubGraph> {
  const routes = new Map<string, StubAnswer[]>();
  const calls: StubGraph['calls'] = [];
  const app = express();
  app.use(express.json({ type: () => true }));
  app.use('/v1.0', (req, res) => {
    const path = `/${req.path.split('/').filter(Boolean).map(decodeURIComponent).join('/')}`;
    calls.push({ method: req.method, path, body: req.body });
    const answers = routes.get(`${req.method} ${path}`);
    if (!answers || answers.length === 0) {
      res.status(501).json({
        error: { code: 'StubNotConfigured', message: `no stubbed answer for ${req.method} ${path}` },
      });
      return;
    }
    const answer = answers.length > 1 ? (answers.shift() as StubAnswer) : answers[0];
    res.status(answer.status).set(answer.headers ?? {});
    if (answer.body === undefined) res.end();
    else res.json(answer.body);
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1.0`,
    calls,
    on(method, path, ...answers) {
      routes.set(`${method} ${path}`, [...answers]);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
