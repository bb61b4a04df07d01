import { InMemoryStore } from '../../../src/adapters/store/in-memory-store';
import { Authorizer } from '../../../src/app/authorization';
import { DelegationService, type DelegationDeps } from '../../../src/app/delegations';
import { actionAsTargetRules } from '../../../src/domain/action-rules';
import { delegate, type Delegation } from '../../../src/domain/delegation';
import { DomainError } from '../../../src/domain/errors';
import { rulesFor, validatePolicy, type Policy, type PolicyInput } from '../../../src/domain/policy';
import type { AccessRequest, Person } from '../../../src/domain/request';
import type { AuditRecord, Store } from '../../../src/ports/store';
import { aRequest } from '../../helpers/domain-builders';
import { FakeClock } from '../../helpers/fake-clock';
import { FakeDirectory } from '../../helpers/fake-directory';
import { HOUR, people, rigPolicy } from './rig';

// Friday 2026-11-20 12:00 UTC (13:00 in Berlin).
const NOW = Date.UTC(2026, 10, 20, 12, 0);
const { alex, megan, adele, isaiah, lynne } = people;

async function codeOf(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
    return 'ok';
  } catch (error) {
    if (error instanceof DomainError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

function setUp(policyInput: PolicyInput = rigPolicy(), extra: Partial<DelegationDeps> = {}) {
  const store = new InMemoryStore();
  const clock = new FakeClock(NOW);
  const directory = new FakeDirectory();
  const policy = validatePolicy(policyInput);
  const authorizer = new Authorizer(policy, directory);
  let n = 0;
  const service = new DelegationService({
    store,
    directory,
    authorizer,
    clock,
    newId: () => `D-${++n}`,
    ...extra,
  });
  const audit = async (): Promise<AuditRecord[]> => {
    const out: AuditRecord[] = [];
    for await (const r of store.readAudit()) out.push(r);
    return out;
  };
  return { store, clock, directory, policy, authorizer, service, audit, open: () => store.open() };
}

describe('DelegationService', () => {
  it('an approver delegates to a UPN until a time read in their zone; stored and audited', async () => {
    const rig = setUp();
    await rig.open();
    const { delegation, replaced, notDelegable } = await rig.service.delegate(
      alex,
      'MEGANB@example.com',
      'tomorrow 09:00',
      'Europe/Berlin',
    );
    expect(replaced).toBeUndefined();
    expect(notDelegable).toEqual([]);
    expect(delegation).toEqual({
      id: 'D-1',
      from: alex,
      to: megan,
      since: NOW,
      until: Date.UTC(2026, 10, 21, 8, 0), // 09:00 CET
      createdAt: NOW,
    });
    expect(await rig.store.getDelegations()).toEqual({ delegations: [delegation], version: 1 });
    const [record] = await rig.audit();
    expect(record).toMatchObject({
      type: 'delegated',
      actor: { id: alex.id, name: alex.name },
      detail: {
        delegationId: 'D-1',
        to: { id: megan.id, name: megan.name, upn: megan.upn },
        until: '2026-11-21T08:00:00.000Z',
      },
    });
    expect(record!.requestId).toBeUndefined();
    expect(await rig.service.list(megan)).toEqual({ received: [delegation] });
    expect(await rig.service.list(alex)).toEqual({ given: delegation, received: [] });
  });

  it('a new delegation replaces the old one, and both changes are audited', async () => {
    const rig = setUp();
    await rig.open();
    await rig.service.delegate(alex, megan.upn!, '18:00');
    await rig.clock.advance(HOUR);
    const { delegation, replaced } = await rig.service.delegate(alex, isaiah.id, 'Mon 09:00');
    expect(replaced).toMatchObject({ id: 'D-1', to: megan });
    expect(delegation).toMatchObject({ id: 'D-2', to: isaiah, until: Date.UTC(2026, 10, 23, 9, 0) });
    expect((await rig.store.getDelegations())!.delegations.map((d) => d.id)).toEqual(['D-2']);
    expect((await rig.audit()).map((r) => [r.type, r.detail?.delegationId])).toEqual([
      ['delegated', 'D-1'],
      ['delegation_ended', 'D-1'],
      ['delegated', 'D-2'],
    ]);
  });

  it('only approvers may delegate', async () => {
    const rig = setUp();
    await rig.open();
    expect(await codeOf(rig.service.delegate(lynne, megan.upn!, '18:00'))).toMatch(
      /^AUTH\.NOT_APPROVER: Only approvers can delegate/,
    );
    expect(await rig.store.getDelegations()).toBeUndefined();
  });

  it('allowDelegation: false forbids it there; what is left is delegated, and said', async () => {
    const base = rigPolicy();
    const input = rigPolicy({
      groups: {
        ...base.groups,
        sandbox: { ...base.groups!.sandbox!, allowDelegation: false },
        'prod-admin': { ...base.groups!['prod-admin']!, allowDelegation: false },
      },
    });
    const rig = setUp(input);
    await rig.open();
    // Alex approves only the sandbox: nothing to hand over.
    expect(await codeOf(rig.service.delegate(alex, megan.upn!, '18:00'))).toMatch(
      /^COMMAND\.INVALID: The policy of what you approve \(sandbox\) does not allow delegation/,
    );
    // Megan approves db-read (SRE), prod-admin (by UPN) and billing (Leads holds SRE).
    const { notDelegable } = await rig.service.delegate(megan, lynne.upn!, '18:00');
    expect(notDelegable).toEqual(['prod-admin']);
  });

  it('the defaults may forbid it everywhere, and a group may allow it again', async () => {
    const base = rigPolicy();
    const rig = setUp(
      rigPolicy({
        defaults: { ...base.defaults, allowDelegation: false },
        groups: { ...base.groups, 'db-read': { ...base.groups!['db-read']!, allowDelegation: true } },
      }),
    );
    expect(rulesFor(rig.policy, 'sandbox').allowDelegation).toBe(false);
    expect(rulesFor(rig.policy, 'db-read').allowDelegation).toBe(true);
    await rig.open();
    expect(await codeOf(rig.service.delegate(alex, megan.upn!, '18:00'))).toMatch(
      /does not allow delegation/,
    );
    expect((await rig.service.delegate(megan, lynne.upn!, '18:00')).notDelegable).toEqual([
      'prod-admin',
      'billing',
    ]);
  });

  it('the domain rules hold: not to oneself, one level, at most 30 days, a time it reads', async () => {
    const rig = setUp();
    await rig.open();
    expect(await codeOf(rig.service.delegate(alex, alex.upn!, '18:00'))).toMatch(
      /cannot delegate to yourself/,
    );
    expect(await codeOf(rig.service.delegate(alex, megan.upn!, 'whenever'))).toMatch(
      /^COMMAND\.INVALID: Until when\? "whenever" is not a time I read/,
    );
    expect(await codeOf(rig.service.delegate(alex, megan.upn!, '2027-01-01T00:00Z'))).toMatch(
      /at most 30 days/,
    );
    await rig.service.delegate(alex, megan.upn!, '18:00');
    expect(await codeOf(rig.service.delegate(megan, adele.upn!, '18:00'))).toMatch(/a delegate cannot hand/);
    expect(await codeOf(rig.service.delegate(adele, alex.upn!, '18:00'))).toMatch(
      /Alex Wilber has handed their own approvals to Megan Bowen/,
    );
  });

  it('finds the delegate by object id, UPN or (where the directory can search) display name', async () => {
    const rig = setUp();
    await rig.open();
    expect(await codeOf(rig.service.delegate(alex, 'Megan Bowen', '18:00'))).toMatch(
      /^DIRECTORY\.USER_NOT_FOUND: I could not find "Megan Bowen" in the directory; give their UPN/,
    );
    expect(await codeOf(rig.service.delegate(alex, '   ', '18:00'))).toMatch(/To whom\?/);
    const named: Record<string, Person[]> = { 'megan bowen': [megan], bowen: [megan, { ...megan, id: 'x' }] };
    const withSearch = setUp(rigPolicy(), {
      directory: Object.assign(new FakeDirectory(), {
        async findUsersByName(name: string) {
          return (named[name.toLowerCase()] ?? []).map((p) => ({
            id: p.id,
            displayName: p.name,
            userPrincipalName: p.upn!,
          }));
        },
      }),
    });
    await withSearch.open();
    expect((await withSearch.service.delegate(alex, '@Megan Bowen', '18:00')).delegation.to).toEqual(megan);
    expect(await codeOf(withSearch.service.delegate(alex, 'Bowen', '18:00'))).toMatch(
      /Several people are called "Bowen"/,
    );
  });

  it('delegate off ends it now, audited; with none, it says so and changes nothing', async () => {
    const rig = setUp();
    await rig.open();
    await rig.service.delegate(alex, megan.upn!, '18:00');
    await rig.clock.advance(10 * 60_000);
    const ended = await rig.service.off(alex);
    expect(ended).toMatchObject({ id: 'D-1', to: megan });
    expect(await rig.service.list(megan)).toEqual({ received: [] });
    expect(await rig.service.off(alex)).toBeUndefined();
    const records = await rig.audit();
    expect(records.map((r) => r.type)).toEqual(['delegated', 'delegation_ended']);
    expect(records[1]).toMatchObject({ reason: 'delegate off', detail: { delegationId: 'D-1' } });
    expect((await rig.store.getDelegations())!.version).toBe(2);
  });

  it('an ended delegation is gone on its own: not listed, not active, pruned at the next save', async () => {
    const rig = setUp();
    await rig.open();
    await rig.service.delegate(alex, megan.upn!, '13:00'); // an hour from now
    await rig.clock.advance(HOUR);
    expect(await rig.service.active()).toEqual([]);
    expect(await rig.service.list(alex)).toEqual({ received: [] });
    await rig.service.delegate(adele, isaiah.upn!, '18:00');
    expect((await rig.store.getDelegations())!.delegations.map((d) => d.from.id)).toEqual([adele.id]);
  });

  it('a save that lost a race is redone on a fresh read: both delegations are kept', async () => {
    const rig = setUp();
    await rig.open();
    let raced = false;
    const racing: Store = Object.create(rig.store, {
      saveDelegations: {
        value: async (list: Delegation[], version: number | null) => {
          if (!raced) {
            raced = true; // another replica saves first
            await rig.store.saveDelegations(delegate([], adele, isaiah, NOW + HOUR, NOW, 'D-other'), null);
          }
          return rig.store.saveDelegations(list, version);
        },
      },
    });
    const service = new DelegationService({
      store: racing,
      directory: rig.directory,
      authorizer: rig.authorizer,
      clock: rig.clock,
      newId: () => 'D-mine',
    });
    await service.delegate(alex, megan.upn!, '18:00');
    expect((await rig.store.getDelegations())!).toMatchObject({
      version: 2,
      delegations: [{ id: 'D-other' }, { id: 'D-mine' }],
    });
  });
});

describe('Authorizer.standsInFor', () => {
  const policy: Policy = validatePolicy(rigPolicy());
  const authorizer = new Authorizer(policy, new FakeDirectory());
  const dbRead = rulesFor(policy, 'db-read'); // approvers: SRE (Megan, Adele)
  const request = (requester: Person, overrides: Partial<AccessRequest> = {}) =>
    aRequest({ requester, ...overrides });
  // Megan hands her approvals to Lynne (no approver herself) until an hour from now.
  const toLynne = delegate([], megan, lynne, NOW + HOUR, NOW, 'D-1');

  it('a delegate decides for the approver who delegated to them', async () => {
    expect(await authorizer.standsInFor(lynne, dbRead, request(alex), toLynne, NOW)).toEqual(megan);
  });

  it('only while the delegation holds', async () => {
    expect(await authorizer.standsInFor(lynne, dbRead, request(alex), toLynne, NOW + HOUR)).toBeUndefined();
    expect(await authorizer.standsInFor(lynne, dbRead, request(alex), toLynne, NOW - 1)).toBeUndefined();
  });

  it("never on the delegate's own request, nor for the requester themselves", async () => {
    expect(await authorizer.standsInFor(lynne, dbRead, request(lynne), toLynne, NOW)).toBeUndefined();
    expect(await authorizer.standsInFor(lynne, dbRead, request(megan), toLynne, NOW)).toBeUndefined();
  });

  it('not where the policy forbids it', async () => {
    const forbidding = { ...dbRead, allowDelegation: false };
    expect(await authorizer.standsInFor(lynne, forbidding, request(alex), toLynne, NOW)).toBeUndefined();
  });

  it("only for an approver of these rules (the sandbox is Alex's), actions too", async () => {
    expect(
      await authorizer.standsInFor(lynne, rulesFor(policy, 'sandbox'), request(isaiah), toLynne, NOW),
    ).toBeUndefined();
    const withAction = validatePolicy(
      rigPolicy({
        actions: {
          'deploy-prod': {
            displayName: 'Deploy',
            approverChannel: 'ops',
            approvers: { users: ['meganb@example.com'] },
          },
        },
      }),
    );
    const gate = actionAsTargetRules(withAction, 'deploy-prod');
    expect(gate.allowDelegation).toBe(true);
    expect(
      await new Authorizer(withAction, new FakeDirectory()).standsInFor(
        lynne,
        gate,
        request(alex),
        toLynne,
        NOW,
      ),
    ).toEqual(megan);
  });

  it('of several it stands in for, one who has not voted yet comes first', async () => {
    const both = delegate(toLynne, adele, lynne, NOW + HOUR, NOW, 'D-2');
    const voted = request(alex, { votes: [{ by: megan, decision: 'approve', at: NOW }] });
    expect(await authorizer.standsInFor(lynne, dbRead, voted, both, NOW)).toEqual(adele);
    expect(await authorizer.standsInFor(lynne, dbRead, request(alex), both, NOW)).toEqual(megan);
  });
});
