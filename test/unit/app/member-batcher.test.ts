import { MemberBatcher } from '../../../src/app/member-batcher';
import { DomainError, ErrorCodes } from '../../../src/domain/errors';
import type { MemberChange, MemberChangeResult } from '../../../src/ports/directory';
import { DIR, FakeDirectory, demoSeed } from '../../helpers/fake-directory';

/** A FakeDirectory that also batches, recording each batch it was handed. */
class BatchingDirectory extends FakeDirectory {
  readonly batches: MemberChange[][] = [];
  refuse?: (change: MemberChange) => Error | undefined;
  async changeMembers(changes: MemberChange[]): Promise<MemberChangeResult[]> {
    this.batches.push(changes);
    return Promise.all(
      changes.map(async (change): Promise<MemberChangeResult> => {
        const refused = this.refuse?.(change);
        if (refused) return { ok: false, error: refused };
        if (change.op === 'add')
          return { ok: true, outcome: await this.addMember(change.groupId, change.userId) };
        await this.removeMember(change.groupId, change.userId);
        return { ok: true };
      }),
    );
  }
}

const users = (n: number) =>
  Array.from({ length: n }, (_, i) => `c1000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

describe('MemberBatcher: membership changes due together go as batches of 20', () => {
  it('45 removals asked in the same turn go as 20 + 20 + 5, and each caller learns its own outcome', async () => {
    const directory = new BatchingDirectory(demoSeed());
    const ids = users(45);
    for (const id of ids) directory.addExternally(DIR.groups.sandbox, id);
    directory.refuse = (c) =>
      c.userId === ids[7] ? new DomainError(ErrorCodes.DIRECTORY_PERMISSION, 'no') : undefined;
    const batcher = new MemberBatcher(directory);
    const outcomes = await Promise.allSettled(ids.map((id) => batcher.remove(DIR.groups.sandbox, id)));
    expect(directory.batches.map((b) => b.length)).toEqual([20, 20, 5]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect((outcomes[7] as PromiseRejectedResult).reason).toMatchObject({
      code: ErrorCodes.DIRECTORY_PERMISSION,
    });
    expect(directory.members(DIR.groups.sandbox)).toEqual([ids[7]]);
    expect(directory.count('removeMember')).toBe(44);
  });

  it('adds and removals share batches; an add of a member is already-member', async () => {
    const directory = new BatchingDirectory(demoSeed());
    const [a, b] = users(2);
    directory.addExternally(DIR.groups.sandbox, a);
    const batcher = new MemberBatcher(directory);
    const [added, again, removed] = await Promise.all([
      batcher.add(DIR.groups.sandbox, b),
      batcher.add(DIR.groups.sandbox, a),
      batcher.remove(DIR.groups.sandbox, a),
    ]);
    expect([added, again, removed]).toEqual(['added', 'already-member', undefined]);
    expect(directory.batches).toHaveLength(1);
  });

  it('at most maxInFlight batches are under way; the rest wait for one to finish', async () => {
    const directory = new BatchingDirectory(demoSeed());
    let running = 0;
    let most = 0;
    const inner = directory.changeMembers.bind(directory);
    directory.changeMembers = async (changes) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return inner(changes);
    };
    const batcher = new MemberBatcher(directory, { maxBatch: 2, maxInFlight: 3 });
    await Promise.all(users(20).map((id) => batcher.remove(DIR.groups.sandbox, id)));
    expect(directory.batches).toHaveLength(10);
    expect(most).toBe(3);
  });

  it('a directory without changeMembers gets the single calls, at once', async () => {
    const directory = new FakeDirectory(demoSeed());
    const batcher = new MemberBatcher(directory);
    await Promise.all(users(3).map((id) => batcher.add(DIR.groups.sandbox, id)));
    expect(directory.count('addMember')).toBe(3);
  });

  it('a batch call that throws fails every change it carried', async () => {
    const directory = new BatchingDirectory(demoSeed());
    directory.changeMembers = () => Promise.reject(new DomainError(ErrorCodes.DIRECTORY_UNAVAILABLE, 'down'));
    const batcher = new MemberBatcher(directory);
    const outcomes = await Promise.allSettled(users(3).map((id) => batcher.remove(DIR.groups.sandbox, id)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });
});
