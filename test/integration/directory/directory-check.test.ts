import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { runDirectoryCheck } from '../../../src/adapters/graph/check';
import type { LocalDirectoryHandle } from '../../../src/dev/local-directory/server';
import { ids, startTestDirectory } from '../../helpers/graph-local-directory';

function policyFile(groups: Record<string, string>, extra: string[] = []): string {
  const file = join(mkdtempSync(join(tmpdir(), 'timebox-check-')), 'policy.yaml');
  const lines = [
    'approverChannels:',
    '  ops: { teamId: "19:team@thread.tacv2", channelId: "19:channel@thread.tacv2" }',
    'groups:',
    ...Object.entries(groups).flatMap(([alias, groupId]) => [
      `  ${alias}:`,
      `    groupId: "${groupId}"`,
      `    displayName: "${alias}"`,
      '    approverChannel: ops',
      `    approvers: { groups: ["${ids.approvers}"] }`,
    ]),
    ...extra,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** An app-only token whose payload carries these app roles (the check reads the `roles` claim). */
function fakeCredential(roles: string[] | Error): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      if (roles instanceof Error) throw roles;
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return {
        token: `${part({ alg: 'RS256' })}.${part({ roles })}.sig`,
        expiresOnTimestamp: Date.now() + 3_600_000,
      };
    },
  };
}

describe('timebox directory check', () => {
  let server: LocalDirectoryHandle;
  beforeEach(async () => {
    server = await startTestDirectory();
  });
  afterEach(() => server.close());

  test('against the local directory: reads work, policy groups are checked, a dynamic group fails the check', async () => {
    const env = {
      GRAPH_BASE_URL: server.url,
      TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox, dyn: ids.dynamic, gone: ids.missingGroup }),
    };
    const report = await runDirectoryCheck(env);
    expect(report.ok).toBe(false);
    const text = report.lines.join('\n');
    expect(text).toContain('local directory: no token is sent');
    expect(text).toMatch(/ok {4}read users/);
    expect(text).toMatch(/ok {4}group sandbox "Sandbox"/);
    expect(text).toMatch(/FAIL {2}group dyn .*dynamic membership/);
    expect(text).toMatch(/FAIL {2}group gone .*does not exist/);
  });

  test('passes when everything is in order', async () => {
    const report = await runDirectoryCheck({
      GRAPH_BASE_URL: server.url,
      TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }),
    });
    expect(report.lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(report.ok).toBe(true);
  });

  test('a 403 on reading users names User.Read.All', async () => {
    server.faults.forbidden('GET /users');
    const report = await runDirectoryCheck({
      GRAPH_BASE_URL: server.url,
      TIMEBOX_POLICY: '/nonexistent/policy.yaml',
    });
    expect(report.ok).toBe(false);
    expect(report.lines.join('\n')).toContain('missing application permission User.Read.All');
    expect(report.lines.join('\n')).toContain('policy file /nonexistent/policy.yaml not found');
  });

  test('PIM mode checks the PIM read per group', async () => {
    server.faults.forbidden('GET /identityGovernance/**');
    const report = await runDirectoryCheck({
      GRAPH_BASE_URL: server.url,
      TIMEBOX_GRANT_MODE: 'pim',
      TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }),
    });
    expect(report.ok).toBe(false);
    expect(report.lines.join('\n')).toContain('PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup');
  });

  test('a token without GroupMember.ReadWrite.All: the missing permission is named from the token itself', async () => {
    // An https base that refuses connections: the token part is what is under test.
    const env = {
      GRAPH_BASE_URL: 'https://127.0.0.1:9/v1.0',
      TIMEBOX_POLICY: '/nonexistent/policy.yaml',
      TIMEBOX_GRANT_MODE: 'pim',
    };
    const report = await runDirectoryCheck(env, {
      credential: fakeCredential(['User.Read.All']),
      timeoutMs: 500,
    });
    const text = report.lines.join('\n');
    expect(report.ok).toBe(false);
    expect(text).toContain('token scope https://graph.microsoft.com/.default');
    expect(text).toContain('application permissions in the token: User.Read.All');
    expect(text).toContain('FAIL  missing application permission GroupMember.ReadWrite.All');
    expect(text).toContain(
      'FAIL  missing application permission PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup',
    );
    expect(text).not.toContain('missing application permission User.Read.All');
  });

  test('broader permissions than needed are flagged', async () => {
    const env = { GRAPH_BASE_URL: 'https://127.0.0.1:9/v1.0', TIMEBOX_POLICY: '/nonexistent/policy.yaml' };
    const report = await runDirectoryCheck(env, {
      credential: fakeCredential(['Directory.ReadWrite.All']),
      timeoutMs: 500,
    });
    expect(report.lines.join('\n')).toContain(
      'warn  granted more than Timebox needs: Directory.ReadWrite.All',
    );
    expect(report.lines.filter((l) => l.includes('missing application permission'))).toEqual([]);
  });

  test('a credential that cannot get a token stops the check with what to verify', async () => {
    const env = { GRAPH_BASE_URL: 'https://graph.microsoft.com/v1.0' };
    const report = await runDirectoryCheck(env, {
      credential: fakeCredential(new Error('AADSTS7000215: Invalid client secret provided.')),
    });
    expect(report.ok).toBe(false);
    expect(report.lines.join('\n')).toContain(
      'FAIL  cannot get a token: AADSTS7000215: Invalid client secret provided.',
    );
  });

  test('missing AZURE_TENANT_ID with a secret is named', async () => {
    const report = await runDirectoryCheck({ AZURE_CLIENT_ID: 'app', AZURE_CLIENT_SECRET: 's3cret' });
    expect(report.ok).toBe(false);
    expect(report.lines.join('\n')).toContain('AZURE_TENANT_ID');
    expect(report.lines.join('\n')).not.toContain('s3cret');
  });

  describe('clients whose own service principal may request a group (issue 16)', () => {
    const clients = (appId: string, onBehalfOf = false) => [
      'clients:',
      '  pipeline:',
      `    appId: "${appId}"`,
      '    may: [sandbox]',
      `    onBehalfOf: ${onBehalfOf}`,
    ];

    test('membership mode: the service principal is found in the tenant by its appId', async () => {
      const report = await runDirectoryCheck({
        GRAPH_BASE_URL: server.url,
        TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }, clients(ids.pipelineApp)),
      });
      expect(report.lines.join('\n')).toContain(
        `ok    client pipeline (appId ${ids.pipelineApp}): service principal "Deploy pipeline"`,
      );
      expect(report.ok).toBe(true);
    });

    test('an appId with no service principal in the tenant fails, saying where to look', async () => {
      const report = await runDirectoryCheck({
        GRAPH_BASE_URL: server.url,
        TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }, clients('c1000000-0000-4000-8000-0000000000ff')),
      });
      expect(report.ok).toBe(false);
      expect(report.lines.join('\n')).toMatch(
        /FAIL {2}client pipeline .*no service principal .*Enterprise applications/,
      );
    });

    test('PIM mode: a client that can only ask for itself fails; one that may ask on behalf of people is warned', async () => {
      const alone = await runDirectoryCheck({
        GRAPH_BASE_URL: server.url,
        TIMEBOX_GRANT_MODE: 'pim',
        TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }, clients(ids.pipelineApp)),
      });
      expect(alone.ok).toBe(false);
      expect(alone.lines.join('\n')).toMatch(
        /FAIL {2}client pipeline .*PIM mode cannot make its service principal a member/,
      );
      const onBehalf = await runDirectoryCheck({
        GRAPH_BASE_URL: server.url,
        TIMEBOX_GRANT_MODE: 'pim',
        TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }, clients(ids.pipelineApp, true)),
      });
      expect(onBehalf.lines.join('\n')).toMatch(
        /warn {2}client pipeline .*only its requests on behalf of a person/,
      );
      expect(onBehalf.lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    });

    test('a token without Application.Read.All is told it is needed, and why', async () => {
      const report = await runDirectoryCheck(
        {
          GRAPH_BASE_URL: 'https://127.0.0.1:9/v1.0',
          TIMEBOX_POLICY: policyFile({ sandbox: ids.sandbox }, clients(ids.pipelineApp)),
        },
        { credential: fakeCredential(['User.Read.All', 'GroupMember.ReadWrite.All']), timeoutMs: 500 },
      );
      expect(report.lines.join('\n')).toContain(
        'FAIL  missing application permission Application.Read.All (clients pipeline may request groups for their own service principal',
      );
    });
  });
});
