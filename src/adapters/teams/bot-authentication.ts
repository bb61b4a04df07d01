import { ConfigurationBotFrameworkAuthentication, type Activity, type ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import {
  AuthenticationConstants,
  AuthenticationError,
  type AuthenticateRequestResult,
  type ClaimsIdentity,
  type ServiceClientCredentialsFactory,
} from 'botframework-connector';

/** botbuilder's endpoint keys; setting any one makes botbuilder read all of them (ParameterizedBotFrameworkAuthentication). */
const ENDPOINT_DEFAULTS: Record<string, string> = {
  ToChannelFromBotLoginUrl: AuthenticationConstants.ToChannelFromBotLoginUrl,
  ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
  ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
  OAuthUrl: AuthenticationConstants.OAuthUrl,
  ToBotFromChannelOpenIdMetadataUrl: AuthenticationConstants.ToBotFromChannelOpenIdMetadataUrl,
  ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
  CallerId: 'urn:botframework:azure',
};
const IDENTITY_KEYS = ['MicrosoftAppId', 'MicrosoftAppPassword', 'MicrosoftAppType', 'MicrosoftAppTenantId', 'CertificateThumbprint', 'CertificatePrivateKey', 'ChannelService', 'ValidateAuthority'];

/**
 * botbuilder reads its own variable names; pass only those, and no empty strings.
 *
 * NB: as soon as one endpoint key is set (e.g. BotOpenIdMetadata alone), botbuilder stops using
 * its public-cloud constants and takes *every* endpoint from the configuration — the token
 * issuer and the outbound login URL become undefined, and every activity is refused. So when
 * any is set, the others default to the public cloud's values here.
 */
export function pickBotEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of IDENTITY_KEYS) if (env[key]?.trim()) picked[key] = env[key]!.trim();
  const endpoints: Record<string, string> = {};
  for (const key of Object.keys(ENDPOINT_DEFAULTS)) if (env[key]?.trim()) endpoints[key] = env[key]!.trim();
  if (env.BotOpenIdMetadata?.trim() && !endpoints.ToBotFromChannelOpenIdMetadataUrl) endpoints.ToBotFromChannelOpenIdMetadataUrl = env.BotOpenIdMetadata.trim();
  if (Object.keys(endpoints).length > 0 && !picked.ChannelService) Object.assign(picked, ENDPOINT_DEFAULTS, endpoints);
  return picked;
}

/**
 * botbuilder's own JWT validation (ConfigurationBotFrameworkAuthentication), with one fix: a
 * token that fails jsonwebtoken's checks (bad signature, malformed, wrong algorithm, not yet
 * valid) surfaces from botbuilder as a plain JsonWebTokenError, which CloudAdapter turns into a
 * 500. Anything that fails authentication is a 401 here, so that a forged request is never
 * mistaken for an outage (and never pages anyone).
 */
export class TimeboxBotAuthentication extends ConfigurationBotFrameworkAuthentication {
  constructor(env: NodeJS.ProcessEnv, credentialsFactory?: ServiceClientCredentialsFactory) {
    super(pickBotEnv(env) as ConfigurationBotFrameworkAuthenticationOptions, credentialsFactory);
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (error) {
      throw unauthorized(error);
    }
  }

  override async authenticateStreamingRequest(authHeader: string, channelIdHeader: string): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateStreamingRequest(authHeader, channelIdHeader);
    } catch (error) {
      throw unauthorized(error);
    }
  }

  override async authenticateChannelRequest(authHeader: string): Promise<ClaimsIdentity> {
    try {
      return await super.authenticateChannelRequest(authHeader);
    } catch (error) {
      throw unauthorized(error);
    }
  }
}

/** jsonwebtoken's verification errors: the token is bad, not the service. */
const TOKEN_ERRORS = ['JsonWebTokenError', 'NotBeforeError', 'TokenExpiredError'];

function unauthorized(error: unknown): unknown {
  if (error instanceof AuthenticationError) return error;
  const name = (error as Error | undefined)?.name ?? '';
  // Anything else (the OpenID metadata cannot be fetched, a bug) stays a 500: an outage, not a forgery.
  return TOKEN_ERRORS.includes(name) ? new AuthenticationError(`Unauthorized: ${name}`, 401) : error;
}
