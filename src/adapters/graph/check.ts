import { existsSync } from 'node:fs';
import type { TokenCredential } from '@azure/identity';
import type { Policy } from '../../domain/policy';
import { loadPolicyFile } from '../../policy-file';
import { graphBaseUrlFromEnv } from './create-directory';
import { credentialFromEnv } from './credentials';
import { Permissions, describeGraphError, type GraphFailureInfo } from './graph-errors';
import { GraphHttp, graphScopeFor, isLocalBase } from './graph-http';

export interface DirectoryCheckReport {
  ok: boolean;
  lines: string[];
}

export interface DirectoryCheckOptions {
  /** Instead of the one chosen from the environment (tests). */
  credential?: TokenCredential;
  /** Per Graph call. Default 10 s. */
  timeoutMs?: number;
}

/** Application permissions that include each one Timebox needs (the least privileged first). */
const SATISFIED_BY: Record<string, string[]> = {
  [Permissions.readUsers]: [
    Permissions.readUsers,
    'User.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  [Permissions.groupMembers]: [Permissions.groupMembers, 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  [Permissions.roleAssignable]: [Permissions.roleAssignable],
  [Permissions.pim]: [Permissions.pim],
  [Permissions.readApplications]: [
    Permissions.readApplications,
    'Application.ReadWrite.All',
    'Directory.Read.All',
    'Directory.ReadWrite.All',
  ],
  [Permissions.revokeSessions]: [Permissions.revokeSessions, 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
  [Permissions.mailboxSettings]: [Permissions.mailboxSettings, 'MailboxSettings.ReadWrite'],
};
/** Granted permissions that can do more than Timebox needs (least privilege). */
const BROADER = [
  'Directory.ReadWrite.All',
  'User.ReadWrite.All',
  'Group.ReadWrite.All',
  'Application.ReadWrite.All',
];

const ok = (text: string) => `ok    ${text}`;
const fail = (text: string) => `FAIL  ${text}`;
const warn = (text: string) => `warn  ${text}`;
const consent =
  'add it in Entra admin center → App registrations → Timebox → API permissions → Microsoft Graph → Application permissions, then "Grant admin consent" (for a managed identity: assign the app role to its service principal)';

/** The app roles in an app-only Graph token (the `roles` claim); undefined when it is not a JWT with them. */
export function tokenRoles(token: string): string[] | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { roles?: unknown };
    return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    // Not a JWT we can read (an opaque token): the Graph reads below still tell what is missing.
    return undefined;
  }
}

function failureText(info: GraphFailureInfo): string {
  return info.status > 0 ? `HTTP ${info.status} ${info.code}: ${info.message}` : info.message;
}

/**
 * `timebox directory check`: gets a token, tries the reads Timebox relies on, and says which
 * permission or setting is missing. Never changes anything in the directory.
 */
export async function runDirectoryCheck(
  env: NodeJS.ProcessEnv,
  options: DirectoryCheckOptions = {},
): Promise<DirectoryCheckReport> {
  const lines: string[] = [];
  let baseUrl: string;
  try {
    baseUrl = graphBaseUrlFromEnv(env);
  } catch (error) {
    return { ok: false, lines: [fail((error as Error).message)] };
  }
  const mode = (env.TIMEBOX_GRANT_MODE ?? 'membership').toLowerCase() === 'pim' ? 'pim' : 'membership';
  const local = isLocalBase(baseUrl);
  const policyFile = env.TIMEBOX_POLICY ?? 'timebox.policy.yaml';
  const loaded = await readPolicy(policyFile);
  const machines = loaded.policy ? machineClients(loaded.policy) : [];
  const revoking = loaded.policy
    ? Object.entries(loaded.policy.groups)
        .filter(([, group]) => group.revokeSessionsOnEnd === true)
        .map(([alias]) => alias)
    : [];
  let credential = options.credential;
  let roles: string[] | undefined;

  if (local) {
    lines.push(ok(`endpoint ${baseUrl} (local directory: no token is sent)`));
  } else {
    lines.push(ok(`endpoint ${baseUrl}, token scope ${graphScopeFor(baseUrl)}`));
    if (!credential) {
      try {
        const selected = credentialFromEnv(env, baseUrl);
        credential = selected.credential;
        lines.push(ok(`credential: ${selected.description}`));
      } catch (error) {
        return { ok: false, lines: [...lines, fail((error as Error).message)] };
      }
    }
    try {
      const token = await credential.getToken(graphScopeFor(baseUrl));
      if (!token) throw new Error('the credential returned no token');
      lines.push(ok('token acquired'));
      roles = tokenRoles(token.token);
    } catch (error) {
      const message = (error as Error).message.split('\n')[0];
      lines.push(fail(`cannot get a token: ${message}`));
      lines.push(
        '      check that this host can reach the sign-in endpoint, AZURE_TENANT_ID and AZURE_CLIENT_ID, that the secret has not expired or the certificate matches the one uploaded to the app registration; for a managed identity, that it is enabled on this host (and AZURE_CLIENT_ID names it when user-assigned); in a national cloud set AZURE_AUTHORITY_HOST',
      );
      return { ok: false, lines };
    }
    if (roles !== undefined) {
      lines.push(
        roles.length > 0
          ? ok(`application permissions in the token: ${roles.join(', ')}`)
          : fail(`the token carries no application permissions: ${consent}`),
      );
      const needed: string[] = [
        Permissions.readUsers,
        Permissions.groupMembers,
        ...(mode === 'pim' ? [Permissions.pim] : []),
        ...(machines.length > 0 ? [Permissions.readApplications] : []),
        ...(revoking.length > 0 ? [Permissions.revokeSessions] : []),
      ];
      const why: Record<string, string> = {
        [Permissions.readApplications]: ` (clients ${machines.map((m) => m.name).join(', ')} may request groups for their own service principal: reading it and its group memberships needs it)`,
        [Permissions.revokeSessions]: ` (groups ${revoking.join(', ')} have revokeSessionsOnEnd: ending the person's sign-in sessions after a removal needs it)`,
      };
      for (const permission of needed) {
        if (!SATISFIED_BY[permission].some((r) => roles!.includes(r)))
          lines.push(
            fail(`missing application permission ${permission}${why[permission] ?? ''}: ${consent}`),
          );
      }
      if (!SATISFIED_BY[Permissions.mailboxSettings].some((r) => roles!.includes(r)))
        lines.push(
          warn(
            `optional permission ${Permissions.mailboxSettings} not granted: approvers' automatic replies (out of office) cannot be read, so nobody counts as away (${consent})`,
          ),
        );
      const broader = roles.filter((r) => BROADER.includes(r));
      if (broader.length > 0) {
        lines.push(
          warn(
            `granted more than Timebox needs: ${broader.join(', ')} (least privilege: ${Permissions.readUsers} and ${Permissions.groupMembers})`,
          ),
        );
      }
    }
  }

  const http = new GraphHttp({
    baseUrl,
    credential: local ? undefined : credential,
    retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 5_000 },
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const read = async (
    label: string,
    path: string,
    query: Record<string, string>,
    permission: string,
  ): Promise<boolean> => {
    try {
      await http.get(path, query);
      lines.push(ok(label));
      return true;
    } catch (error) {
      const info = describeGraphError(error);
      lines.push(fail(`${label}: ${failureText(info)}`));
      if (info.status === 403) lines.push(`      missing application permission ${permission}: ${consent}`);
      return false;
    }
  };
  await read('read users', '/users', { $top: '1', $select: 'id' }, Permissions.readUsers);
  await read('read groups', '/groups', { $top: '1', $select: 'id' }, Permissions.readGroups);

  if (loaded.missing) {
    lines.push(
      warn(`policy file ${policyFile} not found (set TIMEBOX_POLICY): the groups it names were not checked`),
    );
  } else if (loaded.problem) {
    lines.push(fail(`policy file ${policyFile}: ${loaded.problem}`));
  } else if (loaded.policy) {
    for (const [alias, group] of Object.entries(loaded.policy.groups)) {
      await checkGroup(http, alias, group.groupId, mode, roles, lines);
    }
    if (machines.length > 0) await checkMachineClients(http, machines, mode, lines);
  }
  lines.push(
    `mode: ${mode}${mode === 'pim' ? ' (PIM for Groups: Entra ends each assignment itself)' : ' (Timebox adds and removes members)'}`,
  );
  return { ok: !lines.some((l) => l.startsWith('FAIL')), lines };
}

async function checkGroup(
  http: GraphHttp,
  alias: string,
  groupId: string,
  mode: string,
  roles: string[] | undefined,
  lines: string[],
): Promise<void> {
  let group: {
    displayName?: string;
    groupTypes?: string[];
    isAssignableToRole?: boolean | null;
    onPremisesSyncEnabled?: boolean | null;
    mailEnabled?: boolean;
    securityEnabled?: boolean;
  };
  try {
    group = await http.get(`/groups/${encodeURIComponent(groupId)}`, {
      $select:
        'id,displayName,groupTypes,isAssignableToRole,onPremisesSyncEnabled,mailEnabled,securityEnabled',
    });
  } catch (error) {
    const info = describeGraphError(error);
    lines.push(
      fail(
        `group ${alias} (${groupId}): ${info.status === 404 ? 'does not exist in Entra ID: fix its groupId in the policy' : failureText(info)}`,
      ),
    );
    return;
  }
  const name = `group ${alias} "${group.displayName ?? groupId}"`;
  const problems: string[] = [];
  if ((group.groupTypes ?? []).includes('DynamicMembership'))
    problems.push('has dynamic membership: its members cannot be changed');
  if (group.onPremisesSyncEnabled)
    problems.push('is synced from on-premises AD: its members cannot be changed in the cloud');
  if (group.mailEnabled && group.securityEnabled)
    problems.push('is a mail-enabled security group: its members are managed in Exchange');
  if (
    group.isAssignableToRole &&
    mode === 'membership' &&
    roles &&
    !roles.includes(Permissions.roleAssignable)
  ) {
    problems.push(`is role-assignable: Timebox also needs ${Permissions.roleAssignable}`);
  }
  if (problems.length > 0) {
    for (const problem of problems) lines.push(fail(`${name} ${problem}`));
    return;
  }
  if (mode === 'pim') {
    try {
      await http.get('/identityGovernance/privilegedAccess/group/assignmentSchedules', {
        $filter: `groupId eq '${groupId}'`,
        $top: '1',
      });
    } catch (error) {
      const info = describeGraphError(error);
      lines.push(fail(`${name}: cannot read its PIM assignments (${failureText(info)})`));
      if (info.status === 403) {
        lines.push(
          `      needs ${Permissions.pim} (or its Read variant for this check) and Microsoft Entra ID P2 / ID Governance licences`,
        );
      }
      return;
    }
  }
  lines.push(ok(`${name}${group.isAssignableToRole ? ' (role-assignable)' : ''}`));
}

async function readPolicy(file: string): Promise<{ policy?: Policy; missing?: boolean; problem?: string }> {
  if (!existsSync(file)) return { missing: true };
  try {
    return { policy: await loadPolicyFile(file) };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/** A policy client that may request a group: its own service principal becomes a member. */
interface MachineClient {
  name: string;
  appId: string;
  groups: string[];
  onBehalfOf: boolean;
}

function machineClients(policy: Policy): MachineClient[] {
  return Object.entries(policy.clients ?? {}).flatMap(([name, client]) => {
    const groups = client.may.filter((target) => Object.hasOwn(policy.groups, target));
    return groups.length > 0 ? [{ name, appId: client.appId, groups, onBehalfOf: client.onBehalfOf }] : [];
  });
}

/**
 * Each client that may request a group for itself: its service principal exists in the tenant
 * (the one its tokens' `oid` names), and the grant mode can give it a membership at all.
 */
async function checkMachineClients(
  http: GraphHttp,
  machines: MachineClient[],
  mode: string,
  lines: string[],
): Promise<void> {
  for (const client of machines) {
    const name = `client ${client.name} (appId ${client.appId})`;
    if (mode === 'pim') {
      // NB: PIM for Groups assigns users; GraphDirectory refuses a service principal.
      const what = `may request ${client.groups.join(', ')}, but PIM mode cannot make its service principal a member`;
      lines.push(
        client.onBehalfOf
          ? warn(`${name} ${what}: only its requests on behalf of a person can be granted`)
          : fail(`${name} ${what}: let it ask on behalf of a person (onBehalfOf), or use membership mode`),
      );
    }
    try {
      const sp = await http.get<{ displayName?: string }>(
        `/servicePrincipals(appId='${encodeURIComponent(client.appId)}')`,
        { $select: 'id,appId,displayName' },
      );
      lines.push(ok(`${name}: service principal "${sp.displayName ?? client.appId}"`));
    } catch (error) {
      const info = describeGraphError(error);
      if (info.status === 404) {
        lines.push(
          fail(
            `${name}: no service principal for this application in the tenant: check the appId in the policy (Entra admin center → Enterprise applications)`,
          ),
        );
      } else {
        lines.push(fail(`${name}: ${failureText(info)}`));
        if (info.status === 403)
          lines.push(`      missing application permission ${Permissions.readApplications}: ${consent}`);
      }
    }
  }
}
