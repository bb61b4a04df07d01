import { DomainError, ErrorCodes } from '../../src/domain/errors';
import type { Directory } from '../../src/ports/directory';
import { ids } from './graph-local-directory';

/** What the contract needs from an implementation seeded with `testSeed()`. */
export interface DirectoryContractSubject {
  directory: Directory;
  /** The group's direct members as the backend holds them, read without the directory under test. */
  members(groupId: string): Promise<string[]> | string[];
  close(): Promise<void>;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) return undefined;
  if (!(error instanceof DomainError)) throw error;
  return error.code;
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - started;
}

/** The Directory port's contract: any implementation seeded with `testSeed()` must pass it. */
export function describeDirectoryContract(
  name: string,
  start: () => Promise<DirectoryContractSubject>,
): void {
  describe(`Directory contract: ${name}`, () => {
    let subject: DirectoryContractSubject;
    let directory: Directory;
    beforeEach(async () => {
      subject = await start();
      directory = subject.directory;
    });
    afterEach(() => subject.close());

    test('findUser by object id and by UPN in any case; display name and UPN for cards', async () => {
      const byId = await directory.findUser(ids.alex);
      expect(byId).toEqual({
        id: ids.alex,
        displayName: 'Alex Wilber',
        userPrincipalName: 'alex@example.com',
      });
      expect(await directory.findUser('ALEX@example.com')).toEqual(byId);
    });

    test('findUser of nobody is undefined, not an error', async () => {
      expect(await directory.findUser('nobody@example.com')).toBeUndefined();
      expect(await directory.findUser(ids.ghost)).toBeUndefined();
    });

    test('addMember adds; adding again is success ("already a member") and still one membership', async () => {
      expect(await directory.addMember(ids.sandbox, ids.alex)).toBe('added');
      expect(await directory.addMember(ids.sandbox, ids.alex)).toBe('already-member');
      expect(await subject.members(ids.sandbox)).toEqual([ids.alex]);
      expect(await directory.isMember(ids.sandbox, ids.alex)).toBe(true);
    });

    test('removeMember removes; removing a non-member is success', async () => {
      await directory.removeMember(ids.dbRead, ids.adele);
      expect(await subject.members(ids.dbRead)).toEqual([]);
      await expect(directory.removeMember(ids.dbRead, ids.adele)).resolves.toBeUndefined();
      await expect(directory.removeMember(ids.sandbox, ids.megan)).resolves.toBeUndefined();
    });

    test('removeMember leaves the other members alone', async () => {
      await directory.removeMember(ids.approvers, ids.megan);
      expect(await subject.members(ids.approvers)).toEqual([ids.adele]);
    });

    test('isMember is direct membership only', async () => {
      expect(await directory.isMember(ids.approvers, ids.megan)).toBe(true);
      expect(await directory.isMember(ids.allStaff, ids.megan)).toBe(false); // only through the nested approvers group
      expect(await directory.isMember(ids.sandbox, ids.megan)).toBe(false);
    });

    test('memberGroups is transitive and answers only for the ids asked', async () => {
      expect(await directory.memberGroups(ids.megan, [ids.allStaff, ids.sandbox, ids.approvers])).toEqual([
        ids.allStaff,
        ids.approvers,
      ]);
      expect(await directory.memberGroups(ids.alex, [ids.approvers, ids.allStaff])).toEqual([]);
      expect(await directory.memberGroups(ids.alex, [])).toEqual([]);
    });

    test('memberGroups takes any number of ids (more than the 20 of one Graph call)', async () => {
      const filler = Array.from(
        { length: 41 },
        (_, i) => `c3000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );
      const asked = [...filler.slice(0, 22), ids.approvers, ...filler.slice(22), ids.allStaff];
      expect(await directory.memberGroups(ids.adele, asked)).toEqual([ids.approvers, ids.allStaff]);
    });

    test('listMembers gives the direct member ids (users and nested groups)', async () => {
      expect((await directory.listMembers(ids.approvers)).sort()).toEqual([ids.megan, ids.adele].sort());
      expect(await directory.listMembers(ids.allStaff)).toEqual([ids.approvers]);
      expect(await directory.listMembers(ids.sandbox)).toEqual([]);
    });

    test('an unknown group is DIRECTORY_GROUP_NOT_FOUND for add, remove, isMember and listMembers', async () => {
      expect(await codeOf(directory.addMember(ids.missingGroup, ids.alex))).toBe(
        ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
      );
      expect(await codeOf(directory.removeMember(ids.missingGroup, ids.alex))).toBe(
        ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
      );
      expect(await codeOf(directory.isMember(ids.missingGroup, ids.alex))).toBe(
        ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
      );
      expect(await codeOf(directory.listMembers(ids.missingGroup))).toBe(
        ErrorCodes.DIRECTORY_GROUP_NOT_FOUND,
      );
    });

    test('adding an unknown user is DIRECTORY_USER_NOT_FOUND; memberGroups of one too', async () => {
      expect(await codeOf(directory.addMember(ids.sandbox, ids.ghost))).toBe(
        ErrorCodes.DIRECTORY_USER_NOT_FOUND,
      );
      expect(await codeOf(directory.memberGroups(ids.ghost, [ids.sandbox]))).toBe(
        ErrorCodes.DIRECTORY_USER_NOT_FOUND,
      );
      expect(await subject.members(ids.sandbox)).toEqual([]);
    });

    test('a dynamic group cannot be changed: DIRECTORY_DYNAMIC_GROUP, members untouched', async () => {
      expect(await codeOf(directory.addMember(ids.dynamic, ids.megan))).toBe(
        ErrorCodes.DIRECTORY_DYNAMIC_GROUP,
      );
      expect(await codeOf(directory.removeMember(ids.dynamic, ids.alex))).toBe(
        ErrorCodes.DIRECTORY_DYNAMIC_GROUP,
      );
      expect(await subject.members(ids.dynamic)).toEqual([ids.alex]);
    });

    test('PIM: an assignment makes a member, and its end removes the member without anyone calling', async () => {
      await directory.assignTimeBound({
        groupId: ids.sandbox,
        userId: ids.alex,
        start: Date.now(),
        durationMs: 1_000,
        justification: 'contract',
      });
      expect(await subject.members(ids.sandbox)).toEqual([ids.alex]);
      const waited = await eventually(
        async () => !(await subject.members(ids.sandbox)).includes(ids.alex),
        5_000,
      );
      expect(waited).toBeGreaterThan(500);
    });

    test('PIM: assign twice is success; remove ends it; remove again is success', async () => {
      const assignment = {
        groupId: ids.sandbox,
        userId: ids.megan,
        start: Date.now(),
        durationMs: 60_000,
        justification: 'contract',
      };
      await directory.assignTimeBound(assignment);
      await directory.assignTimeBound(assignment);
      expect(await subject.members(ids.sandbox)).toEqual([ids.megan]);
      await directory.removeTimeBound(ids.sandbox, ids.megan, 'released');
      expect(await subject.members(ids.sandbox)).toEqual([]);
      await expect(directory.removeTimeBound(ids.sandbox, ids.megan, 'released')).resolves.toBeUndefined();
    });

    test('PIM: extend moves the end later', async () => {
      const start = Date.now();
      await directory.assignTimeBound({
        groupId: ids.sandbox,
        userId: ids.alex,
        start,
        durationMs: 1_000,
        justification: 'contract',
      });
      await directory.extendTimeBound({
        groupId: ids.sandbox,
        userId: ids.alex,
        start,
        durationMs: 60_000,
        justification: 'more time',
      });
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      expect(await subject.members(ids.sandbox)).toEqual([ids.alex]);
      await directory.removeTimeBound(ids.sandbox, ids.alex, 'done');
    });

    test('PIM on a dynamic group is DIRECTORY_DYNAMIC_GROUP', async () => {
      const code = await codeOf(
        directory.assignTimeBound({
          groupId: ids.dynamic,
          userId: ids.megan,
          start: Date.now(),
          durationMs: 60_000,
          justification: 'x',
        }),
      );
      expect(code).toBe(ErrorCodes.DIRECTORY_DYNAMIC_GROUP);
    });
  });
}

/**
 * The port's promises for a machine requester: a client's own service principal is a member
 * like a user (added, checked, listed, removed, in batches too), found by object id or
 * application id, never taken for a user, and refused by PIM mode before anything is sent.
 * Run against every Directory seeded with `testSeed()`'s `ids.pipeline` (also the in-memory one).
 */
export function describeServicePrincipalContract(
  name: string,
  start: () => Promise<DirectoryContractSubject>,
): void {
  describe(`Directory contract, service principals: ${name}`, () => {
    let subject: DirectoryContractSubject;
    let directory: Directory;
    beforeEach(async () => {
      subject = await start();
      directory = subject.directory;
    });
    afterEach(() => subject.close());

    const pipeline = { id: ids.pipeline, appId: ids.pipelineApp, displayName: 'Deploy pipeline' };

    test('findServicePrincipal by object id and by application id, in any case; a user or nobody is undefined', async () => {
      expect(await directory.findServicePrincipal(ids.pipeline)).toEqual(pipeline);
      expect(await directory.findServicePrincipal(ids.pipelineApp.toUpperCase(), 'appId')).toEqual(pipeline);
      expect(await directory.findServicePrincipal(ids.pipelineApp)).toBeUndefined(); // an appId is not an object id
      expect(await directory.findServicePrincipal(ids.alex)).toBeUndefined();
      expect(await directory.findServicePrincipal(ids.ghost, 'appId')).toBeUndefined();
      expect(await directory.findUser(ids.pipeline)).toBeUndefined();
    });

    test('a service principal is added, found a member, listed, and removed like a user; again is success', async () => {
      expect(await directory.addMember(ids.sandbox, ids.pipeline)).toBe('added');
      expect(await directory.addMember(ids.sandbox, ids.pipeline)).toBe('already-member');
      expect(await subject.members(ids.sandbox)).toEqual([ids.pipeline]);
      expect(await directory.isMember(ids.sandbox, ids.pipeline)).toBe(true);
      expect(await directory.listMembers(ids.sandbox)).toEqual([ids.pipeline]);
      await directory.removeMember(ids.sandbox, ids.pipeline);
      expect(await subject.members(ids.sandbox)).toEqual([]);
      expect(await directory.isMember(ids.sandbox, ids.pipeline)).toBe(false);
      await expect(directory.removeMember(ids.sandbox, ids.pipeline)).resolves.toBeUndefined();
    });

    test('listMembers lists a service principal next to users (nothing filters to users)', async () => {
      await directory.addMember(ids.approvers, ids.pipeline);
      expect((await directory.listMembers(ids.approvers)).sort()).toEqual(
        [ids.megan, ids.adele, ids.pipeline].sort(),
      );
    });

    test('memberGroups answers for a service principal, transitively (what eligibility and auto-approve ask)', async () => {
      expect(await directory.memberGroups(ids.pipeline, [ids.allStaff, ids.approvers, ids.sandbox])).toEqual(
        [],
      );
      await directory.addMember(ids.approvers, ids.pipeline);
      expect(await directory.memberGroups(ids.pipeline, [ids.sandbox, ids.allStaff, ids.approvers])).toEqual([
        ids.allStaff,
        ids.approvers,
      ]);
    });

    test('batched changes of a service principal are judged as the single calls', async () => {
      if (!directory.changeMembers) return;
      const results = await directory.changeMembers([
        { op: 'add', groupId: ids.sandbox, userId: ids.pipeline },
        { op: 'add', groupId: ids.dbRead, userId: ids.pipeline },
        { op: 'remove', groupId: ids.approvers, userId: ids.pipeline },
      ]);
      expect(results).toEqual([{ ok: true, outcome: 'added' }, { ok: true, outcome: 'added' }, { ok: true }]);
      expect(await subject.members(ids.dbRead)).toEqual([ids.adele, ids.pipeline]);
      const again = await directory.changeMembers([
        { op: 'add', groupId: ids.sandbox, userId: ids.pipeline },
        { op: 'remove', groupId: ids.dbRead, userId: ids.pipeline },
      ]);
      expect(again).toEqual([{ ok: true, outcome: 'already-member' }, { ok: true }]);
      expect(await subject.members(ids.dbRead)).toEqual([ids.adele]);
    });

    test('PIM mode refuses a service principal with DIRECTORY_INVALID, saying what to do, and changes nothing', async () => {
      const assignment = {
        groupId: ids.sandbox,
        userId: ids.pipeline,
        principalKind: 'service_principal' as const,
        start: Date.now(),
        durationMs: 60_000,
        justification: 'deploy',
      };
      for (const attempt of [directory.assignTimeBound(assignment), directory.extendTimeBound(assignment)]) {
        const error = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({
          code: ErrorCodes.DIRECTORY_INVALID,
          message: expect.stringContaining('service principal'),
        });
      }
      expect(await subject.members(ids.sandbox)).toEqual([]);
    });
  });
}
