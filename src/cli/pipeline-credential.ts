import { AzurePipelinesCredential, ClientAssertionCredential, type TokenCredential } from '@azure/identity';
import { credentialFromEnv } from '../adapters/graph/credentials';
import { devIssuerToken } from './pipeline-dev-token';

/** Where the pipeline client's API token comes from, first match wins (described for logs). */
export interface PipelineToken {
  token: () => Promise<string>;
  description: string;
}

/**
 * 1. TIMEBOX_API_TOKEN: a token the caller already has;
 *    (local mode: TIMEBOX_DEV=1 with TIMEBOX_DEV_TOKEN_URL asks `npm run dev`'s local issuer);
 * 2. GitHub Actions with `permissions: id-token: write` (+ AZURE_CLIENT_ID, AZURE_TENANT_ID):
 *    GitHub's OIDC token exchanged for an Entra token (workload identity federation);
 * 3. Azure Pipelines with a workload-identity service connection (AZURESUBSCRIPTION_* and
 *    SYSTEM_ACCESSTOKEN, as the AzureCLI task sets them);
 * 4. otherwise @azure/identity's variables as for Graph (secret, certificate, AKS workload
 *    identity, managed identity).
 */
export function pipelineToken(env: NodeJS.ProcessEnv, audience: string): PipelineToken {
  const given = env.TIMEBOX_API_TOKEN?.trim();
  if (given) return { token: () => Promise.resolve(given), description: 'TIMEBOX_API_TOKEN' };
  const scope = `${audience.replace(/\/+$/, '')}/.default`;
  const devTokenUrl = env.TIMEBOX_DEV === '1' ? env.TIMEBOX_DEV_TOKEN_URL?.trim() : undefined;
  if (devTokenUrl)
    return {
      token: devIssuerToken(devTokenUrl, env.AZURE_CLIENT_ID?.trim(), env.AZURE_CLIENT_SECRET, scope),
      description: `the local issuer of npm run dev (app ${env.AZURE_CLIENT_ID?.trim() ?? '?'})`,
    };
  const { credential, description } = pickCredential(env);
  return {
    description,
    token: async () => {
      const token = await credential.getToken(scope);
      if (!token) throw new Error(`${description} returned no token for ${scope}`);
      return token.token;
    },
  };
}

function pickCredential(env: NodeJS.ProcessEnv): { credential: TokenCredential; description: string } {
  const tenantId = env.AZURE_TENANT_ID?.trim();
  const clientId = env.AZURE_CLIENT_ID?.trim();
  const ghUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const ghToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (ghUrl && ghToken && tenantId && clientId) {
    const assertion = async () => {
      const url = new URL(ghUrl);
      url.searchParams.set('audience', 'api://AzureADTokenExchange');
      const res = await fetch(url, { headers: { authorization: `Bearer ${ghToken}` } });
      if (!res.ok) throw new Error(`GitHub's OIDC endpoint answered ${res.status}`);
      return ((await res.json()) as { value: string }).value;
    };
    return {
      credential: new ClientAssertionCredential(tenantId, clientId, assertion),
      description: `GitHub Actions OIDC for app ${clientId} in tenant ${tenantId}`,
    };
  }
  const azp = {
    tenantId: env.AZURESUBSCRIPTION_TENANT_ID?.trim(),
    clientId: env.AZURESUBSCRIPTION_CLIENT_ID?.trim(),
    connection: env.AZURESUBSCRIPTION_SERVICE_CONNECTION_ID?.trim(),
    systemToken: env.SYSTEM_ACCESSTOKEN,
  };
  if (azp.tenantId && azp.clientId && azp.connection && azp.systemToken)
    return {
      credential: new AzurePipelinesCredential(azp.tenantId, azp.clientId, azp.connection, azp.systemToken),
      description: `Azure Pipelines service connection ${azp.connection} (app ${azp.clientId})`,
    };
  return credentialFromEnv(env, env.GRAPH_BASE_URL ?? 'https://graph.microsoft.com/v1.0');
}

/** The workflow's facts from the CI it runs in, for the approvers' card. */
export function contextFromCi(env: NodeJS.ProcessEnv): Record<string, string> {
  const pick = (entries: Array<[string, string | undefined]>) =>
    Object.fromEntries(entries.filter((e): e is [string, string] => !!e[1]));
  if (env.GITHUB_ACTIONS === 'true')
    return pick([
      ['repository', env.GITHUB_REPOSITORY],
      [
        'runUrl',
        env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
          ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
          : undefined,
      ],
      ['commit', env.GITHUB_SHA],
      ['pipeline', env.GITHUB_WORKFLOW],
    ]);
  if (env.TF_BUILD === 'True')
    return pick([
      ['repository', env.BUILD_REPOSITORY_NAME],
      [
        'runUrl',
        env.SYSTEM_COLLECTIONURI && env.SYSTEM_TEAMPROJECT && env.BUILD_BUILDID
          ? `${env.SYSTEM_COLLECTIONURI.replace(/\/+$/, '')}/${encodeURIComponent(env.SYSTEM_TEAMPROJECT)}/_build/results?buildId=${env.BUILD_BUILDID}`
          : undefined,
      ],
      ['commit', env.BUILD_SOURCEVERSION],
      ['pipeline', env.BUILD_DEFINITIONNAME],
      ['environment', env.ENVIRONMENT_NAME],
    ]);
  return {};
}
