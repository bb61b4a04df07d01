import { DIR } from '../../helpers/fake-directory';
import type { Person } from '../../../src/domain/request';
import { HOUR, MINUTE, people, refusal, rigPolicy, startRig, type Rig } from './rig';

const client = { appId: DIR.servicePrincipals.pipeline.appId, name: 'github-deploy' };
const pipeline: Person = {
  id: DIR.servicePrincipals.pipeline.id,
  name: 'GitHub deploy',
  kind: 'service_principal',
};

/** The rig's groups plus two action gates: deploy-prod (SRE approve, 15m) and db-migrate (2 approvals, 5m). */
const policy = rigPolicy({
  actions: {
    'deploy-prod': {
      displayName: 'Deploy to production',
      approverChannel: 'ops',
      approvers: { groups: [DIR.groups.sre] },
    },
    'db-migrate': {
      displayName: 'Run a database migration',
      approverChannel: 'ops',
      approvers: { users: ['meganb@example.com', DIR.users.adele] },
      approvals: 2,
      approvalValidFor: '5m',
      requireTicket: true,
      ticketPattern: '^CHG[0-9]+$',
    },
  },
});

describe('action gates: approval with no membership', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig({ policy })));
  afterEach(() => rig.close());

  it('is asked in chat like a group; approval is the grant, valid for approvalValidFor, then it expires', async () => {
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'Deploy to production',
      justification: 'release 4.2',
    });
    expect(request).toMatchObject({
      targetKind: 'action',
      group: { alias: 'deploy-prod', id: '' },
      durationMs: 15 * MINUTE,
      status: 'pending',
    });
    await rig.settle();
    await rig.advance(MINUTE);
    const approved = await rig.service.decide(request.id, people.megan, 'approve');
    expect(approved).toMatchObject({
      status: 'approved',
      grantedAt: rig.clock.now(),
      expiresAt: rig.clock.now() + 15 * MINUTE,
    });
    await rig.settle();
    expect(await rig.repliesFor(request.id)).toEqual(['approved']);
    expect(rig.toldTo('alex')).toContain('approved');
    await rig.advance(15 * MINUTE - 1000);
    expect((await rig.get(request.id)).status).toBe('approved');
    await rig.advance(1000);
    const ended = await rig.get(request.id);
    expect(ended).toMatchObject({
      status: 'expired',
      resolution: { reason: 'The approval is no longer valid.' },
    });
    expect(await rig.repliesFor(request.id)).toEqual(['approved', 'expired']);
    // Never a directory call: an action has no membership.
    expect((await rig.store.listEffects(request.id)).map((e) => e.kind)).not.toContain('directory.add');
    expect(rig.directory.calls.filter((c) => /Member|TimeBound/.test(c.op) && c.op !== 'isMember')).toEqual(
      [],
    );
    expect(await rig.auditOf(request.id)).toEqual(['submitted', 'approved', 'expired']);
  });

  it('takes a shorter validity, never a longer one, and no extension', async () => {
    const tooLong = await refusal(
      rig.service.submit({
        requester: people.alex,
        group: 'deploy-prod',
        durationMs: HOUR,
        justification: 'x',
      }),
    );
    expect(tooLong).toMatchObject({ code: 'DURATION.TOO_LONG', message: expect.stringMatching(/15m/) });
    const { request } = await rig.service.submit({
      requester: people.alex,
      group: 'deploy-prod',
      durationMs: 5 * MINUTE,
      justification: 'x',
    });
    await rig.service.decide(request.id, people.megan, 'approve');
    expect((await rig.get(request.id)).expiresAt).toBe(rig.clock.now() + 5 * MINUTE);
    const more = await refusal(
      rig.service.extend({ requestId: request.id, actor: people.alex, addedMs: MINUTE }),
    );
    expect(more).toMatchObject({
      code: 'EXTENSION.NOT_ALLOWED',
      message: expect.stringMatching(/not extended/),
    });
  });

  it('keeps the group rules that make sense: N of M, ticket, self-approval, one open request', async () => {
    const noTicket = await refusal(
      rig.service.submit({ requester: people.alex, group: 'db-migrate', justification: 'x' }),
    );
    expect(noTicket.code).toBe('TICKET.REQUIRED');
    const { request } = await rig.service.submit({
      requester: people.megan,
      group: 'db-migrate',
      justification: 'schema 42',
      ticket: 'CHG1',
    });
    expect((await refusal(rig.service.decide(request.id, people.megan, 'approve'))).code).toBe(
      'AUTH.SELF_APPROVAL',
    );
    const dup = await refusal(
      rig.service.submit({
        requester: people.megan,
        group: 'db-migrate',
        justification: 'again',
        ticket: 'CHG2',
      }),
    );
    expect(dup).toMatchObject({ code: 'REQUEST.DUPLICATE', message: expect.stringContaining(request.id) });
    await rig.service.decide(request.id, people.adele, 'approve');
    expect((await rig.get(request.id)).status).toBe('pending');
  });

  it('release ends an approval early (the step is done); revoke ends it with a reason', async () => {
    const first = await rig.service.submit({
      requester: people.alex,
      group: 'deploy-prod',
      justification: 'x',
    });
    await rig.service.decide(first.request.id, people.megan, 'approve');
    await rig.advance(2 * MINUTE);
    expect(await rig.service.release(first.request.id, people.alex)).toMatchObject({
      status: 'released',
      expiresAt: rig.clock.now(),
    });
    const second = await rig.service.submit({
      requester: people.alex,
      group: 'deploy-prod',
      justification: 'y',
    });
    await rig.service.decide(second.request.id, people.megan, 'approve');
    expect(await rig.service.revoke(second.request.id, people.adele, 'wrong commit')).toMatchObject({
      status: 'revoked',
    });
    await rig.settle();
    expect(await rig.repliesFor(second.request.id)).toEqual(['approved', 'revoked']);
  });
});

describe('machine requesters', () => {
  let rig: Rig;
  beforeEach(async () => (rig = await startRig({ policy })));
  afterEach(() => rig.close());

  it("a client's service principal is added to and removed from a group; nobody is told in Teams", async () => {
    const { request } = await rig.service.submit({
      requester: pipeline,
      client,
      group: 'billing',
      durationMs: 30 * MINUTE,
      justification: 'nightly export',
      context: { repository: 'contoso/shop', runUrl: 'https://github.com/contoso/shop/actions/runs/1' },
    });
    // billing's `eligible` names people; the client's `may` (checked by the API) is what lets it ask.
    expect(request).toMatchObject({ client, context: { repository: 'contoso/shop' } });
    await rig.service.decide(request.id, people.megan, 'approve');
    await rig.settle();
    expect(rig.directory.members(DIR.groups.billing)).toContain(pipeline.id.toLowerCase());
    await rig.advance(30 * MINUTE);
    expect((await rig.get(request.id)).status).toBe('expired');
    expect(rig.directory.members(DIR.groups.billing)).not.toContain(pipeline.id.toLowerCase());
    const kinds = (await rig.store.listEffects(request.id)).map((e) => e.kind);
    expect(kinds).not.toContain('person.notify');
    expect(await rig.repliesFor(request.id)).toEqual(['granted', 'expired']);
  });

  it('a service principal asks through the API only; a person asked for on behalf of must be eligible', async () => {
    const noClient = await refusal(
      rig.service.submit({ requester: pipeline, group: 'sandbox', justification: 'x' }),
    );
    expect(noClient.code).toBe('AUTH.NOT_ELIGIBLE');
    const onBehalf = await refusal(
      rig.service.submit({ requester: people.alex, client, group: 'billing', justification: 'x' }),
    );
    expect(onBehalf.code).toBe('AUTH.NOT_ELIGIBLE');
  });

  it('a caller-chosen id is used as is; taken, nothing is filed and REQUEST_ID_TAKEN says so', async () => {
    const ask = { requester: pipeline, client, group: 'deploy-prod', justification: 'x', id: 'R-IDEM01' };
    const { request } = await rig.service.submit({ ...ask, idempotency: { key: 'k1', bodyHash: 'h1' } });
    expect(request).toMatchObject({ id: 'R-IDEM01', idempotency: { key: 'k1', bodyHash: 'h1' } });
    await rig.service.cancel(request.id, pipeline);
    const again = await refusal(rig.service.submit(ask));
    expect(again).toMatchObject({ code: 'REQUEST.ID_TAKEN' });
    expect((await rig.store.listOpen({ requesterId: pipeline.id })).length).toBe(0);
  });

  it('every API call can be audited with its client', async () => {
    await rig.service.auditApiCall({ client, method: 'GET', path: '/api/v1/requests/R-1', status: 404 });
    const last = (await rig.audit()).at(-1)!;
    expect(last).toMatchObject({
      type: 'api_called',
      actor: { id: client.appId },
      detail: { client: 'github-deploy', method: 'GET', status: 404 },
    });
  });
});
