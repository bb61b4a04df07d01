import {
  startLocalDirectory,
  type LocalDirectoryHandle,
  type LocalDirectorySeed,
} from '../../src/dev/local-directory/server';
import { GraphDirectory, type GraphDirectoryOptions } from '../../src/adapters/graph/graph-directory';

/** Ids of the test directory, named for what they are. */
export const ids = {
  alex: 'a1000000-0000-4000-8000-000000000001',
  megan: 'a1000000-0000-4000-8000-000000000002',
  adele: 'a1000000-0000-4000-8000-000000000003',
  ghost: 'a1000000-0000-4000-8000-0000000000ff',
  sandbox: 'b2000000-0000-4000-8000-000000000001',
  dbRead: 'b2000000-0000-4000-8000-000000000002',
  approvers: 'b2000000-0000-4000-8000-000000000011',
  /** Contains the approvers group: Megan and Adele are members through it. */
  allStaff: 'b2000000-0000-4000-8000-000000000012',
  dynamic: 'b2000000-0000-4000-8000-000000000021',
  roleAssignable: 'b2000000-0000-4000-8000-000000000031',
  missingGroup: 'b2000000-0000-4000-8000-0000000000ff',
  /** A pipeline's service principal (object id) and its application id, as in the demo tenant. */
  pipeline: 'c2000000-0000-4000-8000-000000000001',
  pipelineApp: 'c1000000-0000-4000-8000-000000000001',
} as const;

/** Users, a pipeline's service principal, a nested group, a dynamic and a role-assignable group. */
export function testSeed(): LocalDirectorySeed {
  return {
    users: [
      { id: ids.alex, displayName: 'Alex Wilber', userPrincipalName: 'alex@example.com' },
      { id: ids.megan, displayName: 'Megan Bowen', userPrincipalName: 'meganb@example.com' },
      { id: ids.adele, displayName: 'Adele Vance', userPrincipalName: 'adelev@example.com' },
    ],
    groups: [
      { id: ids.sandbox, displayName: 'Sandbox', members: [] },
      { id: ids.dbRead, displayName: 'Production DB (read)', members: [ids.adele] },
      { id: ids.approvers, displayName: 'Approvers', members: [ids.megan, ids.adele] },
      { id: ids.allStaff, displayName: 'All staff', members: [ids.approvers] },
      { id: ids.dynamic, displayName: 'Dynamic (rule-based)', members: [ids.alex], dynamic: true },
      { id: ids.roleAssignable, displayName: 'Helpdesk admins', members: [], isAssignableToRole: true },
    ],
    servicePrincipals: [{ id: ids.pipeline, appId: ids.pipelineApp, displayName: 'Deploy pipeline' }],
  };
}

/** The local directory on a free port, seeded with `testSeed()`. */
export function startTestDirectory(seed: LocalDirectorySeed = testSeed()): Promise<LocalDirectoryHandle> {
  return startLocalDirectory({ seed, port: 0 });
}

/** A GraphDirectory on the local directory, with short retry waits unless told otherwise. */
export function graphDirectoryFor(
  server: LocalDirectoryHandle,
  options: Partial<GraphDirectoryOptions> = {},
): GraphDirectory {
  return new GraphDirectory({
    baseUrl: server.url,
    retry: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 5_000 },
    timeoutMs: 2_000,
    ...options,
  });
}
