import type { AccessToken, TokenCredential } from '@azure/identity';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { PoolConfig } from 'pg';
import { credentialFromEnv } from '../../graph/credentials';

/**
 * Entra sign-in to Azure Database for PostgreSQL: a DATABASE_URL without a password means
 * "sign in as Timebox's own identity". The password node-postgres sends is then an Entra access
 * token for the server's resource, asked of @azure/identity when the server asks for a password
 * (a server that trusts the connection never causes a token request) and kept until shortly
 * before it expires, so each new pooled connection gets a valid one without a request each time.
 * The identity is the one Graph uses (credentials.ts: managed identity unless AZURE_CLIENT_* say
 * otherwise); its PostgreSQL role has the identity's name, which is the URL's user.
 */

/** The resource a token for Azure Database for PostgreSQL is for, per cloud, and Graph's URL there (for the sign-in host). */
const CLOUDS = [
  {
    hostSuffix: '.postgres.database.usgovcloudapi.net',
    scope: 'https://ossrdbms-aad.database.usgovcloudapi.net/.default',
    graphBaseUrl: 'https://graph.microsoft.us/v1.0',
  },
  {
    hostSuffix: '.postgres.database.chinacloudapi.cn',
    scope: 'https://ossrdbms-aad.database.chinacloudapi.cn/.default',
    graphBaseUrl: 'https://microsoftgraph.chinacloudapi.cn/v1.0',
  },
];
const PUBLIC_CLOUD = {
  scope: 'https://ossrdbms-aad.database.windows.net/.default',
  graphBaseUrl: 'https://graph.microsoft.com/v1.0',
};

/** A token is renewed this long before it expires: a connection opened with it must not outlive it mid-handshake. */
export const TOKEN_RENEW_BEFORE_MS = 5 * 60_000;

/**
 * An error getting the token. Its `code` makes the store treat it as "the database cannot be
 * reached now" (STORE_UNAVAILABLE, retried, /readyz 503): a managed identity endpoint that is
 * not up yet answers later, and a misconfigured identity says why in every retry's log line.
 */
export class EntraLoginError extends Error {
  readonly code = 'TIMEBOX_ENTRA_LOGIN';
}

export interface EntraLoginOptions {
  /** The identity; by default the one the environment selects (credentialFromEnv), chosen at the first token. */
  credential?: () => TokenCredential;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/**
 * node-postgres configuration for DATABASE_URL: the URL as it is when it holds a password (or
 * nothing to sign in as), else the URL's parts with an Entra token as the password.
 */
export function postgresConnection(url: string, options: EntraLoginOptions = {}): PoolConfig {
  const parsed = safeUrl(url);
  if (!parsed || parsed.password !== '') return { connectionString: url };
  // NB: not { connectionString, password }: node-postgres lets the URL's empty password win over ours.
  const config = parseIntoClientConfig(url) as PoolConfig;
  const cloud = CLOUDS.find((c) => parsed.hostname.endsWith(c.hostSuffix)) ?? PUBLIC_CLOUD;
  const env = options.env ?? process.env;
  const credential = options.credential ?? (() => credentialFromEnv(env, cloud.graphBaseUrl).credential);
  return { ...config, password: entraTokenPassword(credential, cloud.scope, options.now) };
}

/**
 * The password function: one token shared by every connection until TOKEN_RENEW_BEFORE_MS
 * before its expiry; callers arriving while a token is being fetched wait for that one.
 */
export function entraTokenPassword(
  credentialOf: () => TokenCredential,
  scope: string,
  now: () => number = Date.now,
): () => Promise<string> {
  let credential: TokenCredential | undefined;
  let current: AccessToken | undefined;
  let fetching: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    let token: AccessToken | null;
    try {
      credential ??= credentialOf();
      token = await credential.getToken(scope);
    } catch (error) {
      throw new EntraLoginError(
        `DATABASE_URL has no password, so Timebox signs in to PostgreSQL with its Entra identity, and getting a token for ${scope} failed: ${(error as Error).message}`,
      );
    }
    if (!token)
      throw new EntraLoginError(
        `DATABASE_URL has no password, so Timebox signs in to PostgreSQL with its Entra identity, and its credential returned no token for ${scope}.`,
      );
    current = token;
    return token.token;
  };
  return () => {
    if (current && current.expiresOnTimestamp - TOKEN_RENEW_BEFORE_MS > now())
      return Promise.resolve(current.token);
    fetching ??= fetchToken().finally(() => {
      fetching = undefined;
    });
    return fetching;
  };
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
