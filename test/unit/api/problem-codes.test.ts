import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROBLEM_CODES } from '../../../src/adapters/api/openapi';

const API_DIR = path.join(__dirname, '../../../src/adapters/api');

describe('problem codes', () => {
  it('every code the API’s sources can answer with is listed in the OpenAPI document, and no other', () => {
    const used = new Set<string>();
    for (const file of readdirSync(API_DIR).filter((f) => f.endsWith('.ts') && f !== 'openapi.ts'))
      for (const match of readFileSync(path.join(API_DIR, file), 'utf8').matchAll(
        /'((?:auth|body|api|request|idempotency|query|target|person|duration|justification|ticket)\.[a-z_]+)'/g,
      ))
        used.add(match[1]!);
    expect([...used].sort()).toEqual([...PROBLEM_CODES].sort());
  });
});
