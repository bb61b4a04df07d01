import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { DomainError, ErrorCodes } from '../../domain/errors';

export interface SelectedCredential {
  credential: TokenCredential;
  /** For logs and `directory check`: which credential, for which app and tenant (never the secret). */
  description: string;
}

/** The Entra sign-in host that matches a national cloud's Graph, unless AZURE_AUTHORITY_HOST says otherwise. */
export function authorityHostFor(graphBaseUrl: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.AZURE_AUTHORITY_HOST) return env.AZURE_AUTHORITY_HOST;
  const host = new URL(graphBaseUrl).hostname;
  if (host === 'graph.microsoft.us' || host === 'dod-graph.microsoft.us')
    return 'https://login.microsoftonline.us';
  if (host === 'microsoftgraph.chinacloudapi.cn') return 'https://login.chinacloudapi.cn';
  return undefined;
}

function missing(names: string[], what: string): DomainError {
  return new DomainError(
    ErrorCodes.DIRECTORY_AUTH,
    `${what} needs ${names.join(' and ')} to be set as well.`,
    { missing: names },
  );
}

/**
 * Picks the Graph credential from @azure/identity's own variables, first match wins:
 * 1. AZURE_CLIENT_SECRET (+ AZURE_TENANT_ID, AZURE_CLIENT_ID): client secret;
 * 2. AZURE_CLIENT_CERTIFICATE_PATH (+ AZURE_TENANT_ID, AZURE_CLIENT_ID; AZURE_CLIENT_CERTIFICATE_PASSWORD,
 *    AZURE_CLIENT_SEND_CERTIFICATE_CHAIN optional): client certificate (PEM, or PFX with a password);
 * 3. AZURE_FEDERATED_TOKEN_FILE (+ AZURE_TENANT_ID, AZURE_CLIENT_ID): workload identity (AKS);
 * 4. otherwise managed identity: user-assigned when AZURE_CLIENT_ID is set, else system-assigned.
 * Unlike DefaultAzureCredential it never falls through to developer logins (Azure CLI, VS Code),
 * so a server never runs as whoever last signed in on the machine.
 */
export function credentialFromEnv(env: NodeJS.ProcessEnv, graphBaseUrl: string): SelectedCredential {
  const tenantId = env.AZURE_TENANT_ID?.trim();
  const clientId = env.AZURE_CLIENT_ID?.trim();
  const secret = env.AZURE_CLIENT_SECRET;
  const certificatePath = env.AZURE_CLIENT_CERTIFICATE_PATH?.trim();
  const authorityHost = authorityHostFor(graphBaseUrl, env);
  const app = `app ${clientId} in tenant ${tenantId}`;
  const need = (what: string) => {
    const absent = [!tenantId && 'AZURE_TENANT_ID', !clientId && 'AZURE_CLIENT_ID'].filter((n): n is string =>
      Boolean(n),
    );
    if (absent.length > 0) throw missing(absent, what);
  };

  if (secret && certificatePath) {
    throw new DomainError(
      ErrorCodes.DIRECTORY_AUTH,
      'Both AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH are set: keep one, so that it is clear which credential Timebox uses.',
    );
  }
  if (secret) {
    need('AZURE_CLIENT_SECRET');
    return {
      credential: new ClientSecretCredential(tenantId!, clientId!, secret, { authorityHost }),
      description: `client secret for ${app}`,
    };
  }
  if (certificatePath) {
    need('AZURE_CLIENT_CERTIFICATE_PATH');
    const credential = new ClientCertificateCredential(
      tenantId!,
      clientId!,
      { certificatePath, certificatePassword: env.AZURE_CLIENT_CERTIFICATE_PASSWORD || undefined },
      {
        authorityHost,
        sendCertificateChain:
          env.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN === 'true' ||
          env.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN === '1',
      },
    );
    return { credential, description: `client certificate ${certificatePath} for ${app}` };
  }
  if (env.AZURE_FEDERATED_TOKEN_FILE) {
    need('AZURE_FEDERATED_TOKEN_FILE');
    const credential = new WorkloadIdentityCredential({
      tenantId,
      clientId,
      tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE,
      authorityHost,
    });
    return {
      credential,
      description: `workload identity (federated token ${env.AZURE_FEDERATED_TOKEN_FILE}) for ${app}`,
    };
  }
  if (clientId) {
    return {
      credential: new ManagedIdentityCredential({ clientId }),
      description: `user-assigned managed identity ${clientId}`,
    };
  }
  return { credential: new ManagedIdentityCredential(), description: 'system-assigned managed identity' };
}
