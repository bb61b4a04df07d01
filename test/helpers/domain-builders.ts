import type { AccessRequest, Person } from '../../src/domain/request';
import { users } from './teams-client';

export function aPerson(name: keyof typeof users): Person {
  const u = users[name];
  return { id: u.aadObjectId, name: u.name, upn: `${name}@example.com` };
}

/** A pending request for db-read by Alex; override what a test is about. */
export function aRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  const now = Date.UTC(2026, 10, 21, 11, 0, 0);
  return {
    id: 'R-TEST01',
    version: 1,
    requester: aPerson('alex'),
    group: {
      alias: 'db-read',
      id: 'b2000000-0000-4000-8000-000000000002',
      displayName: 'Production DB (read)',
    },
    approverChannel: 'ops',
    durationMs: 3_600_000,
    justification: 'checking orders',
    kind: 'standard',
    status: 'pending',
    createdAt: now,
    updatedAt: now,
    approvalsRequired: 1,
    votes: [],
    extensions: [],
    ...overrides,
  };
}
