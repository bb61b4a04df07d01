import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { FakeDirectory } from '../../helpers/fake-directory';
import {
  describeDirectoryContract,
  describeServicePrincipalContract,
  type DirectoryContractSubject,
} from '../../helpers/graph-directory-contract';
import { graphDirectoryFor, startTestDirectory, testSeed } from '../../helpers/graph-local-directory';

const servers: LocalDirectoryHandle[] = [];

async function onLocalDirectory(): Promise<DirectoryContractSubject> {
  const server = await startTestDirectory();
  servers.push(server);
  return {
    directory: graphDirectoryFor(server),
    members: (groupId) => server.members(groupId),
    close: () => server.close(),
  };
}

describeDirectoryContract('GraphDirectory → local directory over HTTP', onLocalDirectory);
describeServicePrincipalContract('GraphDirectory → local directory over HTTP', onLocalDirectory);
// The in-memory stand-in the app's tests use must agree with Graph on machine requesters too.
describeServicePrincipalContract('FakeDirectory (tests)', async () => {
  const directory = new FakeDirectory(testSeed());
  return { directory, members: (groupId) => directory.members(groupId), close: async () => undefined };
});

test('no test of the contract ever sent a DELETE without /$ref (it deletes the user in Graph)', () => {
  const calls = servers.flatMap((s) => s.calls);
  expect(calls.filter((c) => c.method === 'DELETE').length).toBeGreaterThan(0);
  expect(calls.filter((c) => c.method === 'DELETE' && !c.path.endsWith('/$ref'))).toEqual([]);
  expect(calls.filter((c) => c.status === 405)).toEqual([]);
});
