import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { describeDirectoryContract } from '../../helpers/graph-directory-contract';
import { graphDirectoryFor, startTestDirectory } from '../../helpers/graph-local-directory';

const servers: LocalDirectoryHandle[] = [];

describeDirectoryContract('GraphDirectory → local directory over HTTP', async () => {
  const server = await startTestDirectory();
  servers.push(server);
  return {
    directory: graphDirectoryFor(server),
    members: (groupId) => server.members(groupId),
    close: () => server.close(),
  };
});

test('no test of the contract ever sent a DELETE without /$ref (it deletes the user in Graph)', () => {
  const calls = servers.flatMap((s) => s.calls);
  expect(calls.filter((c) => c.method === 'DELETE').length).toBeGreaterThan(0);
  expect(calls.filter((c) => c.method === 'DELETE' && !c.path.endsWith('/$ref'))).toEqual([]);
  expect(calls.filter((c) => c.status === 405)).toEqual([]);
});
