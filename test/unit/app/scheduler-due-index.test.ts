import { AccessService } from '../../../src/app/access-service';
import { Scheduler } from '../../../src/app/scheduler';
import { InMemoryStore } from '../../../src/adapters/store/in-memory-store';
import { validatePolicy } from '../../../src/domain/policy';
import { Status, type AccessRequest } from '../../../src/domain/request';
import { silentLogger } from '../../../src/ports/logger';
import type { RequestQuery, Store } from '../../../src/ports/store';
import { aRequest } from '../../helpers/domain-builders';
import { FakeClock, flushAsync } from '../../helpers/fake-clock';
import { DIR, FakeDirectory } from '../../helpers/fake-directory';
import { HOUR, MINUTE, rigPolicy } from './rig';

/** The store, counting the calls that list every open request (no requester named). */
function counting(store: Store): { store: Store; listAll: () => number } {
  let listAll = 0;
  const wrapped = new Proxy(store, {
    get(target, property) {
      if (property === 'listOpen')
        return (query?: RequestQuery) => {
          if (!query?.requesterId) listAll++;
          return target.listOpen(query);
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, listAll: () => listAll };
}

function activeGrant(i: number, expiresAt: number): AccessRequest {
  return aRequest({
    id: `R-D${String(i).padStart(5, '0')}`,
    requester: {
      id: `d1000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `Person ${i}`,
      upn: `p${i}@example.com`,
    },
    group: { alias: 'sandbox', id: DIR.groups.sandbox, displayName: 'Sandbox' },
    status: Status.ACTIVE,
    createdAt: expiresAt - 2 * HOUR,
    grantedAt: expiresAt - 5 * MINUTE, // shorter than the warning: no warning planned
    expiresAt,
    standingMember: false,
  });
}

describe("the scheduler reads due times from the store's index", () => {
  let clock: FakeClock;
  let raw: InMemoryStore;
  let scheduler: Scheduler | undefined;

  beforeEach(async () => {
    clock = new FakeClock();
    raw = new InMemoryStore();
    await raw.open();
  });
  afterEach(async () => {
    await scheduler?.stop();
    await raw.close();
  });

  function start(store: Store) {
    const loops: { scheduler?: Scheduler } = {};
    const service = new AccessService({
      store,
      directory: new FakeDirectory(),
      policy: validatePolicy(rigPolicy()),
      clock,
      onCommit: () => loops.scheduler?.poke(),
    });
    scheduler = loops.scheduler = new Scheduler({ store, service, clock, logger: silentLogger });
    clock.settle = async () => {
      await flushAsync(2);
      await scheduler!.settled();
    };
    return service;
  }

  it('1,000 grants ending together: all expired at their end, and every open request is listed once (the start-up rebuild), not per commit', async () => {
    const end = clock.now() + HOUR;
    // Written as a store from before due times existed would hold them: no dueAt stored.
    for (let i = 0; i < 1000; i++)
      await raw.commit({ request: activeGrant(i, end + (i % 10)), expectedVersion: null, events: [] });
    const { store, listAll } = counting(raw);
    start(store);
    scheduler!.poke();
    await clock.advance(0);
    expect(listAll()).toBe(1);
    await clock.advance(HOUR + 1000);
    const open = await raw.listOpen();
    expect(open).toEqual([]);
    const expired = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => raw.get(`R-D${String(i).padStart(5, '0')}`)),
    );
    expect(expired.every((r) => r?.status === Status.EXPIRED && r.resolution!.at <= end + 1000)).toBe(true);
    expect(listAll()).toBe(1);
  });

  it('a commit with a due time wakes it: a grant committed while it sleeps expires at its end', async () => {
    const service = start(raw);
    scheduler!.poke();
    await clock.advance(0);
    const grant = activeGrant(1, clock.now() + 10 * MINUTE);
    await service.commitTransition({ request: grant, events: [] }, null);
    expect(await raw.nextDueAt()).toBe(grant.expiresAt);
    await clock.advance(10 * MINUTE - 1);
    expect((await raw.get(grant.id))?.status).toBe(Status.ACTIVE);
    await clock.advance(1);
    expect((await raw.get(grant.id))?.status).toBe(Status.EXPIRED);
  });

  it('at start the stored due times are rebuilt from the policy: a shorter pending timeout set while down applies', async () => {
    const pending = aRequest({
      id: 'R-P00001',
      group: { alias: 'sandbox', id: DIR.groups.sandbox, displayName: 'Sandbox' },
      createdAt: clock.now(),
      remindedAt: clock.now(),
    });
    await raw.commit({ request: pending, expectedVersion: null, events: [], dueAt: clock.now() + 10 * HOUR });
    start(raw); // rigPolicy: pendingTimeout 1h
    scheduler!.poke();
    await clock.advance(HOUR);
    expect((await raw.get(pending.id))?.status).toBe(Status.TIMED_OUT);
  });
});
