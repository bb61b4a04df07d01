import type { Router } from 'express';
import { createApiRouter } from '../../../src/adapters/api/api-router';
import { ApprovalTokens, generateSigningKey } from '../../../src/adapters/api/approval-tokens';
import { openApiDocument, PROBLEM_CODES } from '../../../src/adapters/api/openapi';
import { requestsRoutes } from '../../../src/adapters/api/requests-routes';
import { validatePolicy } from '../../../src/domain/policy';
import { systemClock } from '../../../src/ports/clock';
import { silentLogger } from '../../../src/ports/logger';
import { apiPolicy } from '../../helpers/api-harness';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string;
  slash?: boolean;
}

/** Every route the express router really serves: "METHOD /path/{param}". */
function routesOf(router: Router): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods))
          if (on && method !== '_all')
            out.push(`${method.toUpperCase()} ${prefix}${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, layer.slash || !layer.rawPath ? prefix : `${prefix}${layer.rawPath}`);
      }
    }
  };
  walk((router as unknown as { stack: Layer[] }).stack, '');
  return out.sort();
}

async function fullRouter(): Promise<Router> {
  const policy = validatePolicy(apiPolicy());
  const tokens = new ApprovalTokens([await generateSigningKey(0)], {
    issuer: 'https://t',
    retainRetiredMs: 1,
  });
  const unused = () => Promise.reject(new Error('not called'));
  return createApiRouter(
    {
      verifier: { verify: unused },
      policy: () => policy,
      tokens,
      clock: systemClock,
      logger: silentLogger,
      publicUrl: 'https://t',
      version: 'test',
    },
    requestsRoutes({
      service: { submit: unused, cancel: unused, release: unused },
      requests: { get: unused, listOpen: unused },
      directory: { findUser: unused },
      policy: () => policy,
      tokens,
      clock: systemClock,
    }),
  );
}

type Operation = { responses: Record<string, unknown>; parameters?: unknown[] };
const doc = openApiDocument('https://t', 'test') as {
  paths: Record<string, Record<string, Operation>>;
};

describe('the OpenAPI document and the real routes', () => {
  it('documents exactly the routes the router serves', async () => {
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = routesOf(await fullRouter());
    expect(served).toContain('POST /api/v1/requests');
    expect(served).toEqual(documented);
  });

  it('names every problem code in some answer, so that a reader finds where it comes from', () => {
    const descriptions = [...JSON.stringify(doc).matchAll(/"description":"([^"]*)"/g)].map((m) => m[1]!);
    const named = (code: string) =>
      descriptions.some((d) => new RegExp(`(^|[^a-z_.])${code.replace('.', '\\.')}($|[^a-z_])`).test(d));
    const unnamed = PROBLEM_CODES.filter((code) => !named(code));
    expect(unnamed).toEqual([]);
  });

  it('every authenticated operation documents 401, 403 and 429', () => {
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        if ((op as { security?: unknown[] }).security?.length === 0) continue;
        expect([path, method, Object.keys(op.responses)]).toEqual([
          path,
          method,
          expect.arrayContaining(['401', '403', '429']),
        ]);
      }
  });
});
