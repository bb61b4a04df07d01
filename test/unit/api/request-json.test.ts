import { requestJson } from '../../../src/app/request-json';
import { aPerson, aRequest } from '../../helpers/domain-builders';

const T0 = Date.UTC(2026, 10, 21, 11, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const SP = {
  id: 'c2000000-0000-4000-8000-000000000001',
  name: 'github-deploy',
  kind: 'service_principal' as const,
};
const CLIENT = { appId: 'aaaaaaaa-0000-4000-8000-00000000000a', name: 'github-deploy' };

describe('requestJson: a request as the API and webhooks show it (§11)', () => {
  it('a pending chat request: the person, times as ISO 8601, no decision yet, nothing internal', () => {
    const json = requestJson(
      aRequest({ ticket: 'INC-1', approvalCard: { serviceUrl: 'x', conversationId: 'c', activityId: 'a' } }),
    );
    expect(json).toEqual({
      id: 'R-TEST01',
      status: 'pending',
      target: 'db-read',
      kind: 'group',
      requester: { id: aPerson('alex').id, name: 'Alex Wilber', upn: 'alex@example.com', kind: 'person' },
      duration: '1h',
      durationMs: 3_600_000,
      justification: 'checking orders',
      ticket: 'INC-1',
      approvals: { needed: 1, by: [] },
      createdAt: iso(T0),
    });
  });

  it('an approved action of a client’s own service principal: caller, context, who decided and when', () => {
    const megan = aPerson('megan');
    const json = requestJson(
      aRequest({
        requester: SP,
        client: CLIENT,
        targetKind: 'action',
        group: { alias: 'deploy-prod', id: '', displayName: 'Deploy to production' },
        context: { repository: 'contoso/shop', commit: 'abcdef1' },
        status: 'approved',
        approvalsRequired: 1,
        votes: [{ by: megan, decision: 'approve', at: T0 + 5000 }],
        grantedAt: T0 + 5000,
        expiresAt: T0 + 5000 + 900_000,
      }),
    );
    expect(json).toMatchObject({
      kind: 'action',
      target: 'deploy-prod',
      requester: { id: SP.id, kind: 'service_principal' },
      onBehalfOf: false,
      caller: CLIENT,
      context: { repository: 'contoso/shop', commit: 'abcdef1' },
      approvals: { needed: 1, by: [{ id: megan.id, name: megan.name, at: iso(T0 + 5000) }] },
      decidedBy: [{ id: megan.id, name: megan.name }],
      decidedAt: iso(T0 + 5000),
      startsAt: iso(T0 + 5000),
      expiresAt: iso(T0 + 905_000),
    });
  });

  it('on behalf of a person: onBehalfOf true; a later release keeps who decided (from the votes)', () => {
    const [megan, adele] = [aPerson('megan'), aPerson('adele')];
    const json = requestJson(
      aRequest({
        client: CLIENT,
        status: 'released',
        approvalsRequired: 2,
        votes: [
          { by: megan, decision: 'approve', at: T0 + 1000 },
          { by: adele, decision: 'approve', at: T0 + 3000 },
        ],
        resolution: { by: aPerson('alex'), at: T0 + 9000 },
      }),
    );
    expect(json).toMatchObject({
      onBehalfOf: true,
      decidedBy: [{ id: megan.id }, { id: adele.id }],
      decidedAt: iso(T0 + 3000),
    });
  });

  it('denied: the denier; auto-approved: decided by nobody at filing; cancelled: no decision', () => {
    const megan = aPerson('megan');
    expect(
      requestJson(
        aRequest({ status: 'denied', votes: [{ by: megan, decision: 'deny', at: T0 + 2000, reason: 'no' }] }),
      ),
    ).toMatchObject({
      decidedBy: [{ id: megan.id, name: megan.name }],
      decidedAt: iso(T0 + 2000),
      approvals: { by: [] },
    });
    expect(requestJson(aRequest({ status: 'active', kind: 'auto', grantedAt: T0 }))).toMatchObject({
      decidedBy: [],
      decidedAt: iso(T0),
    });
    const cancelled = requestJson(
      aRequest({ status: 'cancelled', resolution: { at: T0 + 1, by: aPerson('alex') } }),
    );
    expect(cancelled.decidedBy).toBeUndefined();
    expect(cancelled.decidedAt).toBeUndefined();
  });

  it('a failure is shown as code and message', () => {
    expect(
      requestJson(
        aRequest({
          status: 'failed',
          kind: 'auto',
          failure: { code: 'DIRECTORY.PERMISSION_MISSING', message: 'no' },
        }),
      ),
    ).toMatchObject({ failure: { code: 'DIRECTORY.PERMISSION_MISSING', message: 'no' } });
  });
});

describe('requestJson: scheduled requests', () => {
  it('a scheduled request was decided; startsAt is its start', () => {
    const megan = aPerson('megan');
    const json = requestJson(
      aRequest({
        status: 'scheduled',
        startsAt: T0 + 3_600_000,
        votes: [{ by: megan, decision: 'approve', at: T0 + 1000 }],
      }),
    );
    expect(json).toMatchObject({
      status: 'scheduled',
      startsAt: iso(T0 + 3_600_000),
      decidedBy: [{ id: megan.id }],
      decidedAt: iso(T0 + 1000),
    });
  });
});
