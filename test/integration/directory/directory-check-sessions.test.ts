import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { runDirectoryCheck } from '../../../src/adapters/graph/check';
import { ids } from '../../helpers/graph-local-directory';

/** A policy with the sandbox group, `revokeSessionsOnEnd` as given. */
function policyFile(revokeSessionsOnEnd?: boolean): string {
  const file = join(mkdtempSync(join(tmpdir(), 'timebox-check-')), 'policy.yaml');
  const lines = [
    'approverChannels:',
    '  ops: { teamId: "19:team@thread.tacv2", channelId: "19:channel@thread.tacv2" }',
    'groups:',
    '  sandbox:',
    `    groupId: "${ids.sandbox}"`,
    '    displayName: "Sandbox"',
    '    approverChannel: ops',
    `    approvers: { groups: ["${ids.approvers}"] }`,
    ...(revokeSessionsOnEnd === undefined ? [] : [`    revokeSessionsOnEnd: ${revokeSessionsOnEnd}`]),
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** An app-only token whose payload carries these app roles. */
function credential(roles: string[]): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      return {
        token: `${part({ alg: 'RS256' })}.${part({ roles })}.sig`,
        expiresOnTimestamp: Date.now() + 3_600_000,
      };
    },
  };
}

const BASE = ['User.Read.All', 'GroupMember.ReadWrite.All'];

async function check(revoke: boolean | undefined, roles: string[]): Promise<string[]> {
  const report = await runDirectoryCheck(
    { GRAPH_BASE_URL: 'https://127.0.0.1:9/v1.0', TIMEBOX_POLICY: policyFile(revoke) },
    { credential: credential(roles), timeoutMs: 500 },
  );
  return report.lines;
}

describe('timebox directory check: sessions and out of office', () => {
  test('a group with revokeSessionsOnEnd needs User.RevokeSessions.All, named with the group', async () => {
    const lines = await check(true, BASE);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^FAIL {2}missing application permission User\.RevokeSessions\.All \(groups sandbox have revokeSessionsOnEnd/,
      ),
    );
  });

  test('granted (or covered by User.ReadWrite.All), or no group asks for it: not named', async () => {
    for (const [revoke, roles] of [
      [true, [...BASE, 'User.RevokeSessions.All']],
      [true, [...BASE, 'User.ReadWrite.All']],
      [false, BASE],
      [undefined, BASE],
    ] as const) {
      const lines = await check(revoke, [...roles]);
      expect(lines.filter((l) => !l.startsWith('ok') && l.includes('User.RevokeSessions.All'))).toEqual([]);
    }
  });

  test('MailboxSettings.Read is optional: a warning when it is missing, never a failure', async () => {
    const without = await check(undefined, BASE);
    expect(without).toContainEqual(
      expect.stringMatching(/^warn {2}optional permission MailboxSettings\.Read not granted/),
    );
    expect(without.filter((l) => l.startsWith('FAIL') && l.includes('MailboxSettings'))).toEqual([]);
    const granted = await check(undefined, [...BASE, 'MailboxSettings.Read']);
    expect(granted.filter((l) => !l.startsWith('ok') && l.includes('MailboxSettings'))).toEqual([]);
  });
});
