import type { AccessRequest } from '../../src/domain/request';
import { aRequest } from './domain-builders';
import { GROUPS } from './harness';

/**
 * R-OVERDUE1, to commit as new (version 0): Alex's sandbox grant, given two hours before `now`,
 * that ended an hour before it and is still active — what `timebox reconcile` reports as "would
 * expire".
 */
export function anOverdueGrant(now = Date.now()): AccessRequest {
  return aRequest({
    id: 'R-OVERDUE1',
    version: 0,
    status: 'active',
    group: { alias: 'sandbox', id: GROUPS.sandbox, displayName: 'Sandbox' },
    createdAt: now - 3 * 3_600_000,
    updatedAt: now - 2 * 3_600_000,
    grantedAt: now - 2 * 3_600_000,
    expiresAt: now - 3_600_000,
  });
}
