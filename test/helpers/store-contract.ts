import { placeEffect } from '../../src/app/effects';
import { DomainError, ErrorCodes, type ErrorCode } from '../../src/domain/errors';
import * as lifecycle from '../../src/domain/request';
import type { AccessRequest, RequestEvent } from '../../src/domain/request';
import type { AuditRecord, EffectKind, Store, StoredSigningKey } from '../../src/ports/store';
import { GENESIS_HASH, hashRecord } from '../../src/adapters/store/audit-log';
import type { Delegation } from '../../src/domain/delegation';
import { aPerson, aRequest } from './domain-builders';
import { insightRecordOf, type InsightRecord } from '../../src/domain/insights';

/**
 * What every Store promises (ports/store.ts), run against each implementation. `make` gives a
 * fresh, unopened store and, for stores with files, `reopen` (a new instance on the same files,
 * as after a crash: the old one is dropped without close).
 */
export interface StoreUnderTest {
  store: Store;
  reopen?: () => Store;
  cleanup?: () => void;
  /** A read-only store on the same data (the CLI's view next to the running bot), for stores that have one. */
  readOnly?: () => Store;
  /** The store signs audit checkpoints (configured with a key): some must be read back. */
  signs?: boolean;
}

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const megan = aPerson('megan');
const alex = aPerson('alex');
const ben = { id: 'c3000000-0000-4000-8000-0000000000be', name: 'Ben Bell', upn: 'ben@example.com' };

async function codeOf(attempt: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await attempt;
    return 'ok';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

export function describeStoreContract(name: string, make: () => StoreUnderTest): void {
  describe(`Store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    beforeEach(async () => {
      subject = make();
      store = subject.store;
      await store.open();
    });
    afterEach(async () => {
      await store.close();
      subject.cleanup?.();
    });

    const event = (requestId: string, type: RequestEvent['type'] = 'submitted', at = T0): RequestEvent => ({
      type,
      requestId,
      at,
    });
    const effectsOf = (request: AccessRequest, ...kinds: EffectKind[]) =>
      kinds.map((kind) => placeEffect({ kind }, request));

    async function create(
      id: string,
      overrides: Partial<AccessRequest> = {},
      kinds: EffectKind[] = ['card.post'],
      dueAt?: number | null,
    ): Promise<AccessRequest> {
      const request = aRequest({ id, version: 0, createdAt: T0, updatedAt: T0, ...overrides });
      return store.commit({
        request,
        expectedVersion: null,
        events: [event(id)],
        effects: effectsOf(request, ...kinds),
        ...(dueAt !== undefined ? { dueAt } : {}),
      });
    }
    async function deny(request: AccessRequest): Promise<AccessRequest> {
      const denied = lifecycle.castVote(request, megan, 'deny', T0 + 1, 'no');
      return store.commit({
        request: denied.request,
        expectedVersion: request.version,
        events: denied.events,
      });
    }
    async function audit(): Promise<AuditRecord[]> {
      const out: AuditRecord[] = [];
      for await (const r of store.readAudit()) out.push(r);
      return out;
    }

    describe('conditional commit', () => {
      it('stores version 1 on create and increments it; a stale or duplicate write is REQUEST_CONFLICT and changes nothing', async () => {
        const created = await create('R-AAAA01');
        expect(created.version).toBe(1);
        const changed = await store.commit({
          request: { ...created, justification: 'new' },
          expectedVersion: 1,
          events: [],
        });
        expect(changed.version).toBe(2);
        expect(
          await codeOf(
            store.commit({
              request: { ...created, justification: 'stale' },
              expectedVersion: 1,
              events: [event('R-AAAA01', 'voted')],
            }),
          ),
        ).toBe(ErrorCodes.REQUEST_CONFLICT);
        expect(await codeOf(create('R-AAAA01', { requester: ben }))).toBe(ErrorCodes.REQUEST_CONFLICT);
        expect(await store.get('R-AAAA01')).toMatchObject({ version: 2, justification: 'new' });
        expect((await audit()).map((r) => r.type)).toEqual(['submitted']);
      });

      it('hands out requests frozen: changing one it returned throws and changes nothing stored; what was committed is copied in', async () => {
        const mine = aRequest({ id: 'R-AAAA01', version: 0, createdAt: T0, updatedAt: T0, votes: [] });
        const created = await store.commit({ request: mine, expectedVersion: null, events: [] });
        mine.justification = 'changed after the commit';
        mine.votes.push({ approver: { id: 'x', name: 'X' }, at: 1, decision: 'approve' } as never);
        expect(() => ((created as { justification: string }).justification = 'mutated')).toThrow(TypeError);
        const read = (await store.get('R-AAAA01'))!;
        expect(() => ((read as { justification: string }).justification = 'mutated too')).toThrow(TypeError);
        expect(() => ((read.requester as { name: string }).name = 'someone else')).toThrow(TypeError);
        const listed = await store.listOpen({ requesterId: read.requester.id });
        expect(() => ((listed[0] as { status: string }).status = 'denied')).toThrow(TypeError);
        expect((await store.get('R-AAAA01'))!.justification).toBe('checking orders');
        expect((await store.get('R-AAAA01'))!.votes).toEqual([]);
      });

      it('of two racing commits on one version, exactly one wins', async () => {
        const created = await create('R-AAAA01');
        const results = await Promise.all(
          ['a', 'b', 'c'].map((j) =>
            codeOf(
              store.commit({ request: { ...created, justification: j }, expectedVersion: 1, events: [] }),
            ),
          ),
        );
        expect(results.filter((r) => r === 'ok')).toHaveLength(1);
        expect(results.filter((r) => r === ErrorCodes.REQUEST_CONFLICT)).toHaveLength(2);
      });
    });

    describe('atomicity with effects and audit', () => {
      it('a refused commit writes neither its effects nor its events', async () => {
        const created = await create('R-AAAA01');
        await codeOf(
          store.commit({
            request: created,
            expectedVersion: 7,
            events: [event('R-AAAA01', 'approved')],
            effects: effectsOf(created, 'directory.add'),
          }),
        );
        expect((await store.listEffects('R-AAAA01')).map((e) => e.kind)).toEqual(['card.post']);
        expect((await audit()).map((r) => r.type)).toEqual(['submitted']);
      });

      it('completing effects in a commit removes them with the change; a lease that is not held refuses the whole commit', async () => {
        const created = await create('R-AAAA01', {}, ['card.post', 'person.notify']);
        const [post] = await store.claim('w1', T0, 60_000, 10);
        expect(post!.kind).toBe('card.post');
        expect(
          await codeOf(
            store.commit({
              request: { ...created, justification: 'x' },
              expectedVersion: 1,
              events: [],
              completedEffects: [{ id: post!.id, token: 'not-the-token' }],
            }),
          ),
        ).toBe(ErrorCodes.STORE_LEASE_LOST);
        expect(await store.get('R-AAAA01')).toMatchObject({ version: 1 });
        await store.commit({
          request: { ...created, justification: 'x' },
          expectedVersion: 1,
          events: [],
          completedEffects: [{ id: post!.id, token: post!.lease.token }],
        });
        expect((await store.listEffects('R-AAAA01')).map((e) => e.kind)).toEqual(['person.notify']);
      });

      it('a closed request keeps its effects, is found by id, and is listed among recent closed', async () => {
        const created = await create('R-AAAA01');
        const closed = await deny(created);
        expect(closed.status).toBe('denied');
        expect(await store.get('R-AAAA01')).toMatchObject({ status: 'denied', version: 2 });
        expect(await store.listOpen()).toEqual([]);
        expect((await store.listRecentClosed(alex.id, 5)).map((r) => r.id)).toEqual(['R-AAAA01']);
        expect((await store.listEffects('R-AAAA01')).map((e) => e.kind)).toEqual(['card.post']);
        const patched = await store.commit({
          request: { ...closed, justification: 'after' },
          expectedVersion: 2,
          events: [],
        });
        expect(patched.version).toBe(3);
        expect(await store.get('R-AAAA01')).toMatchObject({ version: 3, justification: 'after' });
      });
    });

    describe('queue heads, claims and leases', () => {
      it('one head per queue: a later effect of a queue waits for the one before', async () => {
        await create('R-AAAA01', {}, ['card.post', 'card.update']);
        const first = await store.claim('w1', T0, 60_000, 10);
        expect(first.map((e) => e.kind)).toEqual(['card.post']);
        await store.completeEffect(first[0]!.id, first[0]!.lease.token);
        expect((await store.claim('w1', T0, 60_000, 10)).map((e) => e.kind)).toEqual(['card.update']);
      });

      it('membership changes of one person and group share a queue across requests', async () => {
        const a = await create('R-AAAA01', {}, ['directory.add']);
        await deny(a);
        await create('R-AAAA02', {}, ['directory.remove']);
        const claimed = await store.claim('w1', T0, 60_000, 10, ['directory']);
        expect(claimed.map((e) => `${e.requestId}:${e.kind}`)).toEqual(['R-AAAA01:directory.add']);
      });

      it('order: removals first, then other directory work, then Teams work; oldest first within each; only due ones', async () => {
        await create('R-AAAA01', { updatedAt: T0 + 3 }, ['card.post']);
        await create('R-AAAA02', { requester: ben, updatedAt: T0 + 2 }, ['directory.add']);
        await create(
          'R-AAAA03',
          {
            group: { alias: 'sandbox', id: 'b2000000-0000-4000-8000-000000000009', displayName: 'S' },
            updatedAt: T0 + 4,
          },
          ['directory.remove'],
        );
        await create(
          'R-AAAA04',
          {
            requester: ben,
            group: { alias: 'sandbox', id: 'b2000000-0000-4000-8000-000000000009', displayName: 'S' },
            updatedAt: T0 + 1,
          },
          ['directory.remove'],
        );
        await create(
          'R-AAAA05',
          {
            requester: ben,
            group: { alias: 'x', id: 'b2000000-0000-4000-8000-00000000000a', displayName: 'X' },
            updatedAt: T0 + 100,
          },
          ['directory.remove'],
        );
        expect((await store.claim('w1', T0 + 10, 60_000, 10)).map((e) => e.requestId)).toEqual([
          'R-AAAA04',
          'R-AAAA03',
          'R-AAAA02',
          'R-AAAA01',
        ]);
        expect((await store.claim('w2', T0 + 10, 60_000, 10)).map((e) => e.requestId)).toEqual([]);
        expect((await store.claim('w2', T0 + 100, 60_000, 1)).map((e) => e.requestId)).toEqual(['R-AAAA05']);
      });

      it('two owners never get the same effect; an expired lease goes to another owner, and the old token stops working', async () => {
        await create('R-AAAA01', {}, ['card.post']);
        await create('R-AAAA02', { requester: ben }, ['card.post']);
        const [a, b] = await Promise.all([store.claim('w1', T0, 1000, 1), store.claim('w2', T0, 1000, 1)]);
        expect(a).toHaveLength(1);
        expect(b).toHaveLength(1);
        expect(a![0]!.id).not.toBe(b![0]!.id);
        const renewed = await store.claim('w2', T0 + 500, 1000, 10);
        expect(renewed.map((e) => [e.id, e.lease.token, e.lease.until])).toEqual([
          [b![0]!.id, b![0]!.lease.token, T0 + 1500],
        ]);
        const taken = await store.claim('w2', T0 + 1501, 1000, 10);
        expect(taken.map((e) => e.id).sort()).toEqual([a![0]!.id, b![0]!.id].sort());
        expect(await codeOf(store.completeEffect(a![0]!.id, a![0]!.lease.token))).toBe(
          ErrorCodes.STORE_LEASE_LOST,
        );
        expect(await codeOf(store.retryEffect(a![0]!.id, a![0]!.lease.token, T0 + 5000, 'x'))).toBe(
          ErrorCodes.STORE_LEASE_LOST,
        );
        expect(await codeOf(store.renewLease(a![0]!.id, a![0]!.lease.token, T0 + 9000))).toBe(
          ErrorCodes.STORE_LEASE_LOST,
        );
        const mine = taken.find((e) => e.id === a![0]!.id)!;
        await store.completeEffect(mine.id, mine.lease.token);
        expect(await codeOf(store.completeEffect(mine.id, mine.lease.token))).toBe(
          ErrorCodes.STORE_LEASE_LOST,
        );
      });

      it('a renewed lease is not taken; a lease past its end still holds until someone else claims', async () => {
        await create('R-AAAA01', {}, ['card.post']);
        const [e] = await store.claim('w1', T0, 1000, 1);
        await store.renewLease(e!.id, e!.lease.token, T0 + 5000);
        expect(await store.claim('w2', T0 + 2000, 1000, 1)).toEqual([]);
        await store.retryEffect(e!.id, e!.lease.token, T0 + 6000, 'boom');
        expect(await store.claim('w2', T0 + 5500, 1000, 1)).toEqual([]);
        const [again] = await store.claim('w2', T0 + 6000, 1000, 1);
        expect(again).toMatchObject({ id: e!.id, attempts: 1, lastError: 'boom', notBefore: T0 + 6000 });
        expect(await store.nextEffectAt()).toBe(T0 + 7000);
      });

      it('nextEffectAt: when the next head becomes claimable; undefined when the outbox is empty', async () => {
        expect(await store.nextEffectAt()).toBeUndefined();
        await create('R-AAAA01', { updatedAt: T0 + 50 }, ['card.post', 'card.update']);
        expect(await store.nextEffectAt()).toBe(T0 + 50);
      });
    });

    describe('listHolding', () => {
      it('open and closed requests of one person and group that may still hold the membership, ids case-insensitive', async () => {
        const a = await create('R-AAAA01', {
          status: 'active',
          grantedAt: T0,
          expiresAt: T0 + 3_600_000,
          standingMember: false,
        });
        const ended = lifecycle.expire(a, T0 + 3_600_000);
        await store.commit({ request: ended.request, expectedVersion: a.version, events: ended.events });
        await create('R-AAAA02', {
          status: 'active',
          grantedAt: T0,
          expiresAt: T0 + 3_600_000,
          standingMember: false,
        });
        await create('R-AAAA03', {
          requester: ben,
          status: 'active',
          grantedAt: T0,
          expiresAt: T0 + 1,
          standingMember: false,
        });
        const held = await store.listHolding(alex.id.toUpperCase(), aRequest().group.id.toUpperCase());
        expect(held.map((r) => r.id).sort()).toEqual(['R-AAAA01', 'R-AAAA02']);
        const removed = (await store.get('R-AAAA01'))!;
        await store.commit({
          request: { ...removed, membershipRemovedAt: T0 + 3_600_001 },
          expectedVersion: removed.version,
          events: [],
        });
        expect((await store.listHolding(alex.id, aRequest().group.id)).map((r) => r.id)).toEqual([
          'R-AAAA02',
        ]);
      });
    });

    describe('listCreatedBetween', () => {
      it('every request created in [since, until), open or closed, newest version, oldest first; limit takes the oldest', async () => {
        const h = 3_600_000;
        await create('R-CRE001', {
          requester: aPerson('adele'),
          createdAt: T0 - 2 * h,
          updatedAt: T0 - 2 * h,
        }); // before
        const a = await create('R-CRE002', { createdAt: T0, updatedAt: T0 }); // at since: in
        await deny(a); // closed (archived)
        await create('R-CRE003', { requester: ben, createdAt: T0 + 2 * h, updatedAt: T0 + 2 * h }); // open
        const c = await create('R-CRE004', { requester: megan, createdAt: T0 + h, updatedAt: T0 + h });
        await deny(c);
        await create('R-CRE005', {
          requester: aPerson('patti'),
          createdAt: T0 + 3 * h,
          updatedAt: T0 + 3 * h,
        }); // at until: out
        const read = async (s: Store, since: number, until: number, limit?: number) =>
          (await s.listCreatedBetween(since, until, limit)).map((r) => `${r.id}:${r.status}:${r.version}`);
        const expected = ['R-CRE002:denied:2', 'R-CRE004:denied:2', 'R-CRE003:pending:1'];
        expect(await read(store, T0, T0 + 3 * h)).toEqual(expected);
        expect(await read(store, T0, T0 + 3 * h, 2)).toEqual(expected.slice(0, 2));
        expect(await read(store, T0, T0 + 3 * h, 1000)).toEqual(expected);
        expect(await read(store, T0, T0 + 3 * h, 0)).toEqual([]);
        expect(await read(store, 0, Number.MAX_SAFE_INTEGER, 1)).toEqual(['R-CRE001:pending:1']);
        expect(await read(store, T0 + 10 * h, T0 + 20 * h)).toEqual([]);
        const full = await store.listCreatedBetween(T0, T0 + h);
        expect(full).toEqual([await store.get('R-CRE002')]);
        // The same requests as insight records, in batches, in any order, each once: each the
        // projection of the request's newest version (scanInsights).
        const scanned = async (s: Store, since: number, until: number) => {
          const out: string[] = [];
          for await (const batch of s.scanInsights(since, until)) {
            for (const record of batch) {
              expect(record).toEqual(insightRecordOf((await s.get(record.id))!));
              out.push(`${record.id}:${record.status}`);
            }
          }
          return out.sort();
        };
        const ofRecords = (list: string[]) => list.map((e) => e.replace(/:\d+$/, '')).sort();
        expect(await scanned(store, T0, T0 + 3 * h)).toEqual(ofRecords(expected));
        expect(await scanned(store, T0 + 10 * h, T0 + 20 * h)).toEqual([]);
        if (subject.reopen) {
          // From the files alone (the history's index, read at open).
          await store.close();
          store = subject.reopen();
          await store.open();
          expect(await read(store, T0, T0 + 3 * h)).toEqual(expected);
          expect(await scanned(store, 0, Number.MAX_SAFE_INTEGER)).toEqual(
            ofRecords(['R-CRE001:pending:1', 'R-CRE005:pending:1', ...expected]),
          );
          expect(await read(store, T0, T0 + 3 * h, 1)).toEqual(expected.slice(0, 1));
          expect(await read(store, T0, T0 + 3 * h, 2)).toEqual(expected.slice(0, 2));
          expect(await read(store, 0, Number.MAX_SAFE_INTEGER, 2)).toEqual([
            'R-CRE001:pending:1',
            expected[0],
          ]);
        }
      });
    });

    describe('scanInsights', () => {
      it('each record the projection of the newest version, with every field the figures read, from the files too', async () => {
        const h = 3_600_000;
        const rich = await create(
          'R-INS001',
          { kind: 'break_glass', remindedAt: T0 + 1, escalatedAt: T0 + 2 },
          [],
        );
        const closed: AccessRequest = {
          ...rich,
          status: 'expired',
          updatedAt: T0 + h,
          votes: [{ by: megan, decision: 'approve', at: T0 + 5 }],
          grantedAt: T0 + 10,
          expiresAt: T0 + h,
          acknowledgedBy: megan,
          acknowledgedAt: T0 + 60_000,
          resolution: { at: T0 + h, reason: 'The time was up.' },
          extensions: [{ by: megan, at: T0 + 100, addedMs: h / 2 }],
        };
        await store.commit({ request: closed, expectedVersion: rich.version, events: [] });
        await create('R-INS002', { requester: ben, remindedAt: T0 + 3, escalatedAt: T0 + 4 }, []);
        const records = async (s: Store) => {
          const out: InsightRecord[] = [];
          for await (const batch of s.scanInsights(T0, T0 + 1)) out.push(...batch);
          return out.sort((a, b) => (a.id < b.id ? -1 : 1));
        };
        const expected = [
          insightRecordOf((await store.get('R-INS001'))!),
          insightRecordOf((await store.get('R-INS002'))!),
        ];
        expect(expected[0]).toMatchObject({
          status: 'expired',
          acknowledgedBy: { id: megan.id },
          acknowledgedAt: T0 + 60_000,
          extensions: [{}],
          votes: [{ by: { id: megan.id, name: megan.name }, at: T0 + 5 }],
          resolution: { at: T0 + h },
          remindedAt: T0 + 1,
          escalatedAt: T0 + 2,
        });
        expect(await records(store)).toEqual(expected);
        if (subject.reopen) {
          await store.close();
          store = subject.reopen();
          await store.open();
          expect(await records(store)).toEqual(expected);
        }
      });
    });

    describe('lastRequestedByGroup', () => {
      it('the newest createdAt before until per Entra group (lower-case id), open or closed, from the files too', async () => {
        const h = 3_600_000;
        const other = { alias: 'web-admin', id: 'B2000000-0000-4000-8000-0000000000AB', displayName: 'W' };
        const a = aRequest().group.id.toLowerCase();
        const b = other.id.toLowerCase();
        await deny(await create('R-LRG001', { createdAt: T0 - h, updatedAt: T0 - h })); // archived
        await create('R-LRG002', { requester: ben, createdAt: T0 + h, updatedAt: T0 + h }); // open
        await deny(await create('R-LRG003', { group: other, createdAt: T0, updatedAt: T0 }));
        await create('R-LRG004', {
          group: other,
          requester: ben,
          createdAt: T0 + 5 * h,
          updatedAt: T0 + 5 * h,
        });
        const read = async (s: Store, until: number) =>
          Object.fromEntries(await s.lastRequestedByGroup(until));
        expect(await read(store, T0 + 5 * h)).toEqual({ [a]: T0 + h, [b]: T0 });
        expect(await read(store, T0)).toEqual({ [a]: T0 - h });
        expect(await read(store, T0 - h)).toEqual({});
        if (subject.reopen) {
          await store.close();
          store = subject.reopen();
          await store.open();
          expect(await read(store, T0 + 5 * h)).toEqual({ [a]: T0 + h, [b]: T0 });
          expect(await read(store, Number.MAX_SAFE_INTEGER)).toEqual({ [a]: T0 + h, [b]: T0 + 5 * h });
        }
      });
    });

    describe('due times', () => {
      it('listDue returns open requests due by now, earliest first; nextDueAt the earliest; closing or null clears it', async () => {
        await create('R-AAAA01', {}, [], T0 + 300);
        await create('R-AAAA02', { requester: ben }, [], T0 + 100);
        await create('R-AAAA03', { requester: megan }, [], null);
        expect(await store.nextDueAt()).toBe(T0 + 100);
        expect(await store.listDue(T0 + 1000, 10)).toEqual([
          { requestId: 'R-AAAA02', dueAt: T0 + 100 },
          { requestId: 'R-AAAA01', dueAt: T0 + 300 },
        ]);
        expect(await store.listDue(T0 + 200, 10)).toEqual([{ requestId: 'R-AAAA02', dueAt: T0 + 100 }]);
        expect(await store.listDue(T0 + 1000, 1)).toHaveLength(1);
        const b = (await store.get('R-AAAA02'))!;
        await store.commit({
          request: { ...b, justification: 'no due change' },
          expectedVersion: b.version,
          events: [],
        });
        expect(await store.nextDueAt()).toBe(T0 + 100);
        await deny((await store.get('R-AAAA02'))!);
        expect(await store.nextDueAt()).toBe(T0 + 300);
        await store.setDueAt('R-AAAA03', T0 + 50);
        await store.setDueAt('R-AAAA02', T0 + 1); // closed: left alone
        expect(await store.listDue(T0 + 1000, 10)).toEqual([
          { requestId: 'R-AAAA03', dueAt: T0 + 50 },
          { requestId: 'R-AAAA01', dueAt: T0 + 300 },
        ]);
        const a = (await store.get('R-AAAA01'))!;
        await store.commit({ request: a, expectedVersion: a.version, events: [], dueAt: null });
        await store.setDueAt('R-AAAA03', null);
        expect(await store.nextDueAt()).toBeUndefined();
      });
    });

    describe('audit', () => {
      it('records are numbered in commit order and hash-chained, refusals included', async () => {
        const a = await create('R-AAAA01');
        await store.appendAudit([
          { type: 'refused', requestId: '', at: T0 + 1, reason: 'no' } as unknown as RequestEvent,
        ]);
        await deny(a);
        const records = await audit();
        expect(records.map((r) => [r.seq, r.type])).toEqual([
          [1, 'submitted'],
          [2, 'refused'],
          [3, 'denied'],
        ]);
        let prev = GENESIS_HASH;
        for (const r of records) {
          expect(r.prevHash).toBe(prev);
          const { hash, ...rest } = r;
          expect(hashRecord(rest)).toBe(hash);
          prev = hash;
        }
      });

      it('concurrent commits keep one chain without gaps', async () => {
        await Promise.all(
          ['R-AAAA01', 'R-AAAA02', 'R-AAAA03', 'R-AAAA04'].map((id, i) =>
            create(id, { requester: { ...ben, id: `c3000000-0000-4000-8000-00000000000${i}` } }),
          ),
        );
        expect((await audit()).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      });
    });

    describe('one open request per person and group', () => {
      it('a second open request of one requester (case-insensitive) and group alias is REQUEST_OPEN_EXISTS (not a conflict); a closed one frees the slot', async () => {
        const a = await create('R-AAAA01');
        const upper = { ...alex, id: alex.id.toUpperCase() };
        expect(await codeOf(create('R-AAAA02', { requester: upper }))).toBe(ErrorCodes.REQUEST_OPEN_EXISTS);
        // Another alias of the same Entra group is another policy group: allowed.
        expect(
          await create('R-AAAA03', { group: { ...aRequest().group, alias: 'db-read-oncall' } }),
        ).toMatchObject({ version: 1 });
        expect(await create('R-AAAA04', { requester: ben })).toMatchObject({ version: 1 });
        await deny(a);
        expect(await create('R-AAAA05')).toMatchObject({ version: 1 });
      });

      it('of two racing creates for one person and group, one wins and the other is REQUEST_OPEN_EXISTS', async () => {
        const results = await Promise.all([codeOf(create('R-AAAA01')), codeOf(create('R-AAAA02'))]);
        expect(results.sort()).toEqual(['REQUEST.OPEN_EXISTS', 'ok'].sort());
        expect(await store.listOpen()).toHaveLength(1);
      });
    });

    describe('baselines and the reconcile lease', () => {
      it('baselines are versioned: create once, replace at the version read, STORE_CONFLICT otherwise', async () => {
        const base = { groupId: 'G-1', firstSeenAt: T0, members: ['a'], reported: {} };
        const saved = await store.saveBaseline(base, null);
        expect(saved.version).toBe(1);
        expect(await codeOf(store.saveBaseline(base, null))).toBe(ErrorCodes.STORE_CONFLICT);
        await store.saveBaseline({ ...saved, reported: { x: T0 } }, 1);
        expect(await codeOf(store.saveBaseline({ ...saved, reported: { y: T0 } }, 1))).toBe(
          ErrorCodes.STORE_CONFLICT,
        );
        expect(await store.getBaseline('g-1')).toMatchObject({ version: 2, reported: { x: T0 } });
      });

      it('a named lease has one owner at a time, until it expires or is released', async () => {
        expect(await store.acquireLease('reconcile', 'p1', T0, 1000)).toBe(true);
        expect(await store.acquireLease('reconcile', 'p2', T0 + 10, 1000)).toBe(false);
        expect(await store.acquireLease('reconcile', 'p1', T0 + 20, 1000)).toBe(true);
        expect(await store.acquireLease('reconcile', 'p2', T0 + 1021, 1000)).toBe(true);
        await store.releaseLease('reconcile', 'p1'); // not p1's any more: nothing
        expect(await store.acquireLease('reconcile', 'p1', T0 + 1100, 1000)).toBe(false);
        await store.releaseLease('reconcile', 'p2');
        expect(await store.acquireLease('reconcile', 'p1', T0 + 1100, 1000)).toBe(true);
      });
    });

    describe('chats, service URLs, close', () => {
      it('remembers chats and service URLs; "__proto__" finds nothing', async () => {
        await store.savePersonalChat('u1', {
          conversationId: 'c1',
          serviceUrl: 'https://s',
          tenantId: 't',
        } as never);
        await store.saveServiceUrl('t', 'https://s');
        expect(await store.getPersonalChat('u1')).toMatchObject({ conversationId: 'c1' });
        expect(await store.getPersonalChat('__proto__')).toBeUndefined();
        expect(await store.getServiceUrl('t')).toBe('https://s');
        expect(await store.getServiceUrl('__proto__')).toBeUndefined();
      });

      it('after close, writes fail with STORE_WRITE_FAILED', async () => {
        await store.close();
        expect(await codeOf(create('R-AAAA01'))).toBe(ErrorCodes.STORE_WRITE_FAILED);
      });
    });

    describe('welcome records', () => {
      it('true only the first time for each key, also when asked at once; "__proto__" is a key like any other', async () => {
        const both = await Promise.all([
          store.markWelcomed('person:u1', T0),
          store.markWelcomed('person:u1', T0),
        ]);
        expect(both.sort()).toEqual([false, true]);
        expect(await store.markWelcomed('person:u1', T0 + 1)).toBe(false);
        expect(await store.markWelcomed('team:19:t@thread.tacv2', T0)).toBe(true);
        expect(await store.markWelcomed('__proto__', T0)).toBe(true);
        expect(await store.markWelcomed('__proto__', T0)).toBe(false);
        if (!subject.reopen) return;
        await store.close();
        store = subject.reopen();
        await store.open();
        expect(await store.markWelcomed('person:u1', T0 + 2)).toBe(false);
        expect(await store.markWelcomed('__proto__', T0 + 2)).toBe(false);
        expect(await store.markWelcomed('person:u2', T0 + 2)).toBe(true);
      });
    });

    describe('approval-token signing keys', () => {
      const key = (kid: string, at = T0): StoredSigningKey => ({
        kid,
        privateJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, d: `d-${kid}`, alg: 'ES256' },
        createdAt: at,
        activatesAt: at,
      });

      it('none at first; saved once (null), then replaced at the version read; STORE_CONFLICT otherwise', async () => {
        expect(await store.getSigningKeys()).toBeUndefined();
        const first = await store.saveSigningKeys([key('k1')], null);
        expect(first).toEqual({ keys: [key('k1')], version: 1 });
        expect(await codeOf(store.saveSigningKeys([key('k9')], null))).toBe(ErrorCodes.STORE_CONFLICT);
        const second = await store.saveSigningKeys([key('k2', T0 + 5), key('k1')], 1);
        expect(second.version).toBe(2);
        expect(await codeOf(store.saveSigningKeys([key('k3')], 1))).toBe(ErrorCodes.STORE_CONFLICT);
        expect(await codeOf(store.saveSigningKeys([key('k3')], 7))).toBe(ErrorCodes.STORE_CONFLICT);
        expect(await store.getSigningKeys()).toEqual({ keys: [key('k2', T0 + 5), key('k1')], version: 2 });
      });

      it('of two saves at one version (two replicas creating, or rotating, at once), exactly one wins', async () => {
        const created = await Promise.all([
          codeOf(store.saveSigningKeys([key('a')], null)),
          codeOf(store.saveSigningKeys([key('b')], null)),
        ]);
        expect(created.sort()).toEqual([ErrorCodes.STORE_CONFLICT, 'ok'].sort());
        const winner = (await store.getSigningKeys())!;
        expect(winner.version).toBe(1);
        const rotated = await Promise.all([
          codeOf(store.saveSigningKeys([key('c'), ...winner.keys], 1)),
          codeOf(store.saveSigningKeys([key('d'), ...winner.keys], 1)),
        ]);
        expect(rotated.sort()).toEqual([ErrorCodes.STORE_CONFLICT, 'ok'].sort());
        const after = (await store.getSigningKeys())!;
        expect(after.version).toBe(2);
        expect(after.keys).toHaveLength(2);
      });

      it('hands out copies: changing what was given or read changes nothing stored', async () => {
        const given = [key('k1')];
        const saved = await store.saveSigningKeys(given, null);
        given[0]!.privateJwk.d = 'changed';
        saved.keys[0]!.kid = 'changed';
        const read = (await store.getSigningKeys())!;
        read.keys.push(key('k2'));
        expect(await store.getSigningKeys()).toEqual({ keys: [key('k1')], version: 1 });
      });

      it('are durable: a reopened store (another replica) reads the same keys at the same version', async () => {
        await store.saveSigningKeys([key('k1')], null);
        await store.saveSigningKeys([key('k2', T0 + 1), key('k1')], 1);
        if (!subject.reopen) return;
        const again = subject.reopen();
        await again.open();
        store = again; // no close of the first: as after a crash
        expect(await again.getSigningKeys()).toEqual({ keys: [key('k2', T0 + 1), key('k1')], version: 2 });
        expect((await again.saveSigningKeys([key('k1')], 2)).version).toBe(3);
      });

      it('a read-only store reads them and cannot save them', async () => {
        if (!subject.readOnly) return;
        await store.saveSigningKeys([key('k1')], null);
        const reader = subject.readOnly();
        await reader.open();
        try {
          expect(await reader.getSigningKeys()).toEqual({ keys: [key('k1')], version: 1 });
          expect(await codeOf(reader.saveSigningKeys([key('k2')], 1))).toBe(ErrorCodes.STORE_WRITE_FAILED);
        } finally {
          await reader.close();
        }
        expect((await store.getSigningKeys())!.version).toBe(1);
      });
    });

    describe('delegations', () => {
      const delegation = (id: string, from = alex, to = megan, until = T0 + 3_600_000): Delegation => ({
        id,
        from,
        to,
        since: T0,
        until,
        createdAt: T0,
      });

      it('none at first; saved once (null), then replaced at the version read; STORE_CONFLICT otherwise', async () => {
        expect(await store.getDelegations()).toBeUndefined();
        expect(await store.saveDelegations([delegation('D-1')], null)).toEqual({
          delegations: [delegation('D-1')],
          version: 1,
        });
        expect(await codeOf(store.saveDelegations([delegation('D-9')], null))).toBe(
          ErrorCodes.STORE_CONFLICT,
        );
        const second = await store.saveDelegations([delegation('D-1'), delegation('D-2', ben, alex)], 1);
        expect(second.version).toBe(2);
        expect(await codeOf(store.saveDelegations([], 1))).toBe(ErrorCodes.STORE_CONFLICT);
        expect(await codeOf(store.saveDelegations([], 7))).toBe(ErrorCodes.STORE_CONFLICT);
        expect(await store.getDelegations()).toEqual({
          delegations: [delegation('D-1'), delegation('D-2', ben, alex)],
          version: 2,
        });
        // An empty list (every delegation ended) is a list like any other.
        expect(await store.saveDelegations([], 2)).toEqual({ delegations: [], version: 3 });
        expect(await store.getDelegations()).toEqual({ delegations: [], version: 3 });
      });

      it('of two saves at one version (two replicas at once), exactly one wins', async () => {
        const created = await Promise.all([
          codeOf(store.saveDelegations([delegation('D-a')], null)),
          codeOf(store.saveDelegations([delegation('D-b')], null)),
        ]);
        expect(created.sort()).toEqual([ErrorCodes.STORE_CONFLICT, 'ok'].sort());
        const changed = await Promise.all([
          codeOf(store.saveDelegations([delegation('D-c')], 1)),
          codeOf(store.saveDelegations([delegation('D-d')], 1)),
        ]);
        expect(changed.sort()).toEqual([ErrorCodes.STORE_CONFLICT, 'ok'].sort());
        const after = (await store.getDelegations())!;
        expect(after.version).toBe(2);
        expect(after.delegations).toHaveLength(1);
      });

      it('hands out copies: changing what was given or read changes nothing stored', async () => {
        const given = [structuredClone(delegation('D-1'))];
        const saved = await store.saveDelegations(given, null);
        given[0]!.to.name = 'changed';
        saved.delegations[0]!.until = 0;
        const read = (await store.getDelegations())!;
        read.delegations.push(delegation('D-2'));
        expect(await store.getDelegations()).toEqual({ delegations: [delegation('D-1')], version: 1 });
      });

      it('are durable: a reopened store (another replica) reads the same list at the same version', async () => {
        await store.saveDelegations([delegation('D-1')], null);
        await store.saveDelegations([delegation('D-2', ben, alex)], 1);
        if (!subject.reopen) return;
        const again = subject.reopen();
        await again.open();
        store = again; // no close of the first: as after a crash
        expect(await again.getDelegations()).toEqual({
          delegations: [delegation('D-2', ben, alex)],
          version: 2,
        });
        expect((await again.saveDelegations([], 2)).version).toBe(3);
      });

      it('a read-only store reads them and cannot save them', async () => {
        if (!subject.readOnly) return;
        await store.saveDelegations([delegation('D-1')], null);
        const reader = subject.readOnly();
        await reader.open();
        try {
          expect(await reader.getDelegations()).toEqual({ delegations: [delegation('D-1')], version: 1 });
          expect(await codeOf(reader.saveDelegations([], 1))).toBe(ErrorCodes.STORE_WRITE_FAILED);
        } finally {
          await reader.close();
        }
        expect((await store.getDelegations())!.version).toBe(1);
      });
    });

    describe('crash and reopen (stores with files)', () => {
      it('a reopened store sees every acknowledged commit, its effects, due times, leases freed, audit intact', async () => {
        if (!subject.reopen) return expect(subject.reopen).toBeUndefined();
        const a = await create('R-AAAA01', {}, ['card.post', 'directory.add'], T0 + 100);
        await create('R-AAAA02', { requester: ben }, ['card.post'], T0 + 200);
        await deny(a);
        const [claimed] = await store.claim('w1', T0, 60_000, 1, ['teams']);
        await store.retryEffect(claimed!.id, claimed!.lease.token, T0 + 10, 'later');
        await store.saveBaseline({ groupId: 'G-1', firstSeenAt: T0, members: [], reported: {} }, null);
        // No close: as after a crash.
        const again = subject.reopen();
        await again.open();
        store = again; // the crashed instance is dropped, never closed
        {
          expect(await again.get('R-AAAA01')).toMatchObject({ status: 'denied', version: 2 });
          expect((await again.listOpen()).map((r) => r.id)).toEqual(['R-AAAA02']);
          expect(await again.listDue(T0 + 1000, 10)).toEqual([{ requestId: 'R-AAAA02', dueAt: T0 + 200 }]);
          expect((await again.listEffects()).find((e) => e.id === claimed!.id)).toMatchObject({
            attempts: 1,
            notBefore: T0 + 10,
          });
          expect((await again.claim('w2', T0 + 10, 1000, 10)).length).toBeGreaterThan(0);
          expect(await again.getBaseline('G-1')).toMatchObject({ version: 1 });
          const records: string[] = [];
          for await (const r of again.readAudit()) records.push(r.type);
          expect(records).toEqual(['submitted', 'submitted', 'denied']);
          expect(await codeOf(create('R-AAAA01'))).toBe(ErrorCodes.REQUEST_CONFLICT);
        }
      });
    });

    describe('signed audit checkpoints', () => {
      it('readAuditCheckpoints: in the order written, each naming a record the log holds with that hash; none from a store that signs nothing', async () => {
        // NB: optional on the port only until store-core.ts declares it; every Store has it.
        expect(typeof store.readAuditCheckpoints).toBe('function');
        const a = await create('R-AAAA01');
        await create('R-AAAA02', { requester: ben });
        await deny(a);
        await store.appendAudit([
          { type: 'refused', requestId: '', at: T0 + 2, reason: 'no' } as unknown as RequestEvent,
        ]);
        const checkpoints = [];
        for await (const c of store.readAuditCheckpoints!()) checkpoints.push(c);
        const hashes = new Map((await audit()).map((r) => [r.seq, r.hash]));
        let previous = 0;
        for (const c of checkpoints) {
          expect({ seq: c.seq, hash: hashes.get(c.seq) }).toEqual({ seq: c.seq, hash: c.hash });
          expect(c.seq).toBeGreaterThanOrEqual(previous);
          previous = c.seq;
        }
        if (subject.signs) expect(checkpoints.length).toBeGreaterThan(0);
        else expect(checkpoints).toEqual([]);
      });
    });

    describe('read-only (stores that have it: the CLI next to a running bot)', () => {
      it('sees every acknowledged write while the writer is still open; every write it is asked for is STORE_WRITE_FAILED and changes nothing', async () => {
        if (!subject.readOnly) return expect(subject.readOnly).toBeUndefined();
        const a = await create('R-AAAA01', {}, ['card.post', 'directory.add'], T0 + 100);
        await create('R-AAAA02', { requester: ben }, ['card.post'], T0 + 200);
        await deny(a);
        await store.saveBaseline({ groupId: 'G-1', firstSeenAt: T0, members: ['m1'], reported: {} }, null);
        // The writer stays open (not compacted, not closed): what a running bot leaves on disk.
        const reader = subject.readOnly();
        await reader.open();
        const read = async (s: Store) => {
          const records: AuditRecord[] = [];
          for await (const r of s.readAudit()) records.push(r);
          return {
            open: await s.listOpen(),
            a: await s.get('R-AAAA01'),
            effects: await s.listEffects(),
            due: await s.listDue(T0 + 1000, 10),
            baseline: await s.getBaseline('G-1'),
            records,
          };
        };
        try {
          const seen = await read(reader);
          expect(seen).toEqual(await read(store));
          expect(seen.a).toMatchObject({ status: 'denied', version: 2 });
          const b = seen.open[0]!;
          const writes: Array<[string, () => Promise<unknown>]> = [
            [
              'commit',
              () =>
                reader.commit({
                  request: { ...b, justification: 'changed' },
                  expectedVersion: b.version,
                  events: [event(b.id, 'voted')],
                }),
            ],
            [
              'create',
              () =>
                reader.commit({
                  request: aRequest({
                    id: 'R-AAAA03',
                    version: 0,
                    requester: alex,
                    group: { ...b.group, alias: 'other' },
                  }),
                  expectedVersion: null,
                  events: [],
                }),
            ],
            [
              'appendAudit',
              () =>
                reader.appendAudit([
                  { type: 'refused', requestId: '', at: T0, reason: 'no' } as unknown as RequestEvent,
                ]),
            ],
            [
              'saveBaseline',
              () => reader.saveBaseline({ groupId: 'G-2', firstSeenAt: T0, members: [], reported: {} }, null),
            ],
            ['setDueAt', () => reader.setDueAt(b.id, T0 + 5)],
            [
              'savePersonalChat',
              () =>
                reader.savePersonalChat('u-1', {
                  serviceUrl: 'https://smba.test/',
                  conversationId: 'a:1',
                  userId: '29:1',
                  botId: '28:bot',
                }),
            ],
          ];
          for (const [name, write] of writes)
            expect({ name, code: await codeOf(write()) }).toEqual({
              name,
              code: ErrorCodes.STORE_WRITE_FAILED,
            });
          const [claimed] = await reader.claim('cli', T0, 60_000, 1);
          expect({ code: await codeOf(reader.completeEffect(claimed!.id, claimed!.lease.token)) }).toEqual({
            code: ErrorCodes.STORE_WRITE_FAILED,
          });
          expect(await read(reader)).toEqual(seen);
        } finally {
          await reader.close();
        }
        // The writer went on as if nothing had happened, and reopens to the same data.
        expect(await read(store)).toMatchObject({ a: { status: 'denied', version: 2 } });
        await store.commit({
          request: { ...(await store.get('R-AAAA02'))!, justification: 'after the reader' },
          expectedVersion: 1,
          events: [],
        });
        const again = subject.readOnly();
        await again.open();
        try {
          expect(await again.get('R-AAAA02')).toMatchObject({
            version: 2,
            justification: 'after the reader',
          });
          expect(await again.getPersonalChat('u-1')).toBeUndefined();
        } finally {
          await again.close();
        }
      });
    });
  });
}
