import {
  actionRulesFor,
  clientByAppId,
  DEFAULT_APPROVAL_VALID_FOR_MS,
  targetKind,
} from '../../../src/domain/action-rules';
import { DomainError } from '../../../src/domain/errors';
import { policyWarnings, validatePolicy, type PolicyInput } from '../../../src/domain/policy';
import { testPolicy } from '../../helpers/harness';

const APP = '0a1b2c3d-0000-4000-8000-00000000aaaa';

function withWorkflows(extra: Partial<PolicyInput>): PolicyInput {
  return testPolicy({
    actions: {
      'deploy-prod': {
        displayName: 'Deploy to production',
        approverChannel: 'ops',
        approvers: { users: ['megan@example.com'] },
        approvalValidFor: '30m',
        approvals: 2,
      },
      'db-migrate': {
        displayName: 'Run a database migration',
        approverChannel: 'ops',
        approvers: { groups: ['dba'] },
      },
    },
    clients: {
      'github-deploy': { appId: APP, may: ['deploy-prod', 'db-read'] },
    },
    webhooks: [
      {
        url: 'https://hooks.contoso.com/timebox',
        events: ['decided', 'granted', 'ended'],
        secretEnv: 'TIMEBOX_WEBHOOK_SECRET',
      },
    ],
    ...extra,
  });
}

/** The problems a policy has, as `path: message` lines. */
function problems(input: unknown): string[] {
  try {
    validatePolicy(input);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return (error.details?.problems as Array<{ path: string; message: string }>).map(
      (p) => `${p.path}: ${p.message}`,
    );
  }
  return [];
}

describe('policy: actions, clients and webhooks (§11)', () => {
  it('accepts the documented shape; an action merges defaults and gets approvalValidFor (15m unless set)', () => {
    const policy = validatePolicy(withWorkflows({}));
    expect(actionRulesFor(policy, 'deploy-prod')).toMatchObject({
      displayName: 'Deploy to production',
      approvalValidForMs: 30 * 60_000,
      approvals: 2,
      pendingTimeoutMs: 3_600_000,
      requireJustification: true,
      allowSelfApproval: false,
    });
    expect(actionRulesFor(policy, 'db-migrate')).toMatchObject({
      approvalValidForMs: DEFAULT_APPROVAL_VALID_FOR_MS,
      approvals: 1,
    });
    expect(targetKind(policy, 'deploy-prod')).toBe('action');
    expect(targetKind(policy, 'db-read')).toBe('group');
    expect(targetKind(policy, 'nothing')).toBeUndefined();
    expect(targetKind(policy, '__proto__')).toBeUndefined();
    expect(() => actionRulesFor(policy, 'constructor')).toThrow('There is no action "constructor".');
    expect(clientByAppId(policy, APP.toUpperCase())).toMatchObject({
      name: 'github-deploy',
      onBehalfOf: false,
    });
    expect(clientByAppId(policy, '0a1b2c3d-0000-4000-8000-00000000bbbb')).toBeUndefined();
  });

  it('a policy without the new keys is as valid as before', () => {
    const policy = validatePolicy(testPolicy());
    expect(policy).toMatchObject({ actions: {}, clients: {}, webhooks: [] });
    expect(policyWarnings(policy).filter((w) => ['actions', 'clients', 'webhooks'].includes(w.path))).toEqual(
      [],
    );
  });

  it('every mistake in one pass, each with its path', () => {
    const bad = withWorkflows({
      actions: {
        'db-read': { displayName: 'Clash', approverChannel: 'ops', approvers: { users: ['x'] } },
        'Deploy Prod': { displayName: 'Bad alias', approverChannel: 'nowhere', approvers: {} },
        'with-group-key': {
          displayName: 'No membership here',
          approverChannel: 'ops',
          approvers: { users: ['x'] },
          groupId: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
        } as never,
      },
      clients: {
        one: { appId: APP, may: ['deploy-prod'] },
        two: { appId: APP.toUpperCase(), may: ['nope'] },
        three: { appId: 'github-actions', may: [] },
      },
      webhooks: [
        { url: 'http://hooks.contoso.com/x', events: ['decided'], secretEnv: 'S' },
        { url: 'https://hooks.contoso.com/y', events: ['sometimes' as never], secretEnv: 'lower-case' },
      ],
    });
    expect(problems(bad).sort()).toEqual(
      [
        'actions.with-group-key: Unrecognized key: "groupId"',
        'actions.db-read: "db-read" is also a group: a target alias names one group or one action',
        'actions.Deploy Prod: an action alias is 1-40 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
        'actions.Deploy Prod.approverChannel: "nowhere" is not one of approverChannels (ops)',
        'actions.Deploy Prod.approvers: name at least one approver user or group',
        'clients.two.appId: the same application id as clients.one: one entry per application',
        'clients.two.may.0: "nope" is neither a group nor an action',
        "clients.three.appId: must be the workload's Entra application (client) id, a GUID (Entra admin center → App registrations or Enterprise applications → Application ID)",
        'clients.three.may: name at least one group or action the client may request',
        'webhooks.0.url: must be https (plain http only to this machine, for tests)',
        'webhooks.1.events.0: Invalid option: expected one of "requested"|"decided"|"granted"|"extended"|"ended"|"failed"',
        // The actions above replace the usual ones: deploy-prod is not an action here.
        'clients.one.may.0: "deploy-prod" is neither a group nor an action',
        'webhooks.1.secretEnv: the name of an environment variable (upper case, digits, _), e.g. TIMEBOX_WEBHOOK_SECRET',
      ].sort(),
    );
  });

  it('an action’s ticket example must match its pattern, as a group’s must', () => {
    const bad = withWorkflows({
      actions: {
        'deploy-prod': {
          displayName: 'Deploy',
          approverChannel: 'ops',
          approvers: { users: ['x'] },
          requireTicket: true,
          ticketPattern: '^CHG[0-9]+$',
          ticketExample: 'INC-1',
        },
      },
    });
    expect(problems(bad)).toEqual([
      'actions.deploy-prod.ticketExample: "INC-1" does not match the ticketPattern ^CHG[0-9]+$',
    ]);
  });

  it('a policy using actions, clients and webhooks draws no warning: they are served', () => {
    expect(policyWarnings(validatePolicy(withWorkflows({})))).toEqual([]);
  });
});
