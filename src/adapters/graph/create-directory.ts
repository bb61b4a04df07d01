import { DomainError, ErrorCodes } from '../../domain/errors';
import type { Directory } from '../../ports/directory';
import type { Logger } from '../../ports/logger';
import { credentialFromEnv } from './credentials';
import { GraphDirectory } from './graph-directory';
import { DEFAULT_GRAPH_BASE_URL, isLocalBase } from './graph-http';

/** GRAPH_BASE_URL, checked; default https://graph.microsoft.com/v1.0. */
export function graphBaseUrlFromEnv(env: NodeJS.ProcessEnv): string {
  const baseUrl = (env.GRAPH_BASE_URL?.trim() || DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new DomainError(
      ErrorCodes.DIRECTORY_INVALID,
      `GRAPH_BASE_URL "${baseUrl}" is not a URL (e.g. ${DEFAULT_GRAPH_BASE_URL}).`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DomainError(
      ErrorCodes.DIRECTORY_INVALID,
      `GRAPH_BASE_URL "${baseUrl}" must be an http(s) URL.`,
    );
  }
  if (url.pathname.split('/').filter(Boolean).length === 0) {
    throw new DomainError(
      ErrorCodes.DIRECTORY_INVALID,
      `GRAPH_BASE_URL "${baseUrl}" needs the version segment, e.g. ${url.origin}/v1.0.`,
    );
  }
  return baseUrl;
}

/**
 * The Directory from the environment: Microsoft Graph at GRAPH_BASE_URL with the credential
 * chosen by `credentialFromEnv`; a plain-http GRAPH_BASE_URL (the local directory) gets no credential.
 */
export function createDirectoryFromEnv(env: NodeJS.ProcessEnv, logger?: Logger): Directory {
  const baseUrl = graphBaseUrlFromEnv(env);
  const credential = isLocalBase(baseUrl) ? undefined : credentialFromEnv(env, baseUrl).credential;
  return new GraphDirectory({ baseUrl, credential, logger });
}
