import {
  ConfigurationBotFrameworkAuthentication,
  type Activity,
  type ConfigurationBotFrameworkAuthenticationOptions,
} from 'botbuilder';
import {
  AuthenticationConstants,
  AuthenticationError,
  GovernmentConstants,
  JwtTokenValidation,
  type AuthenticateRequestResult,
  type ClaimsIdentity,
  type ConnectorClient,
  type ServiceClientCredentialsFactory,
  type UserTokenClient,
} from 'botframework-connector';
import { KeptClients, KeptConnectorFactory } from './connector-clients';

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
const IDENTITY_KEYS = [
  'MicrosoftAppId',
  'MicrosoftAppPassword',
  'MicrosoftAppType',
  'MicrosoftAppTenantId',
  'CertificateThumbprint',
  'CertificatePrivateKey',
  'ChannelService',
  'ValidateAuthority',
];

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
  if (env.BotOpenIdMetadata?.trim() && !endpoints.ToBotFromChannelOpenIdMetadataUrl)
    endpoints.ToBotFromChannelOpenIdMetadataUrl = env.BotOpenIdMetadata.trim();
  if (Object.keys(endpoints).length > 0 && !picked.ChannelService)
    Object.assign(picked, ENDPOINT_DEFAULTS, endpoints);
  return picked;
}

/**
 * botbuilder's own JWT validation (ConfigurationBotFrameworkAuthentication), made to answer
 * every forgery with a 401 rather than a 500, so that a forged request is never mistaken for an
 * outage (and never pages anyone):
 * - a token that fails jsonwebtoken's checks (bad signature, wrong algorithm, not yet valid)
 *   surfaces from botbuilder as a plain JsonWebTokenError, which CloudAdapter turns into a 500;
 * - botbuilder reads the unverified token before checking it, and throws a TypeError on a
 *   payload that is valid JSON but not an object (e.g. `null`).
 * So the header's shape is checked first (exactly "Bearer <header>.<payload>.<signature>", both
 * JSON objects, a string issuer), and jsonwebtoken's errors become 401s. The checks themselves
 * (signature, issuer, audience, expiry, serviceUrl, endorsements) are all botbuilder's.
 *
 * NB: botbuilder's emulator check adds an issuer for the unverified `tid` claim of any token to
 * a process-wide list, which grows with every new tenant id an anonymous caller sends. With
 * MicrosoftAppTenantId set, a token naming another tenant is refused before it gets there.
 */
export class TimeboxBotAuthentication extends ConfigurationBotFrameworkAuthentication {
  private readonly appId?: string;
  private readonly tenantId?: string;
  private readonly channelIssuer: string;
  /** The clients of incoming turns, kept across turns (see KeptClients). */
  private readonly turnClients = new KeptClients<ConnectorClient>();
  private readonly userTokenClients = new KeptClients<UserTokenClient>();

  constructor(env: NodeJS.ProcessEnv, credentialsFactory?: ServiceClientCredentialsFactory) {
    const picked = pickBotEnv(env);
    super(picked as ConfigurationBotFrameworkAuthenticationOptions, credentialsFactory);
    this.appId = picked.MicrosoftAppId;
    this.tenantId = picked.MicrosoftAppTenantId;
    this.channelIssuer =
      picked.ToBotFromChannelTokenIssuer ??
      (picked.ChannelService && JwtTokenValidation.isGovernment(picked.ChannelService)
        ? GovernmentConstants.ToBotFromChannelTokenIssuer
        : AuthenticationConstants.ToBotFromChannelTokenIssuer);
  }

  override async authenticateRequest(
    activity: Activity,
    authHeader: string,
  ): Promise<AuthenticateRequestResult> {
    // Local mode (no app id) has authentication off, and botbuilder ignores the header there.
    // A header is required otherwise (botbuilder's own "no header" check says so too).
    if (this.appId) checkTokenShape(authHeader, this.tenantId, this.channelIssuer);
    let result: AuthenticateRequestResult;
    try {
      result = await super.authenticateRequest(activity, authHeader);
    } catch (error) {
      throw unauthorized(error);
    }
    const factory = result.connectorFactory;
    if (!factory) return result;
    const appId = appIdOf(result.claimsIdentity);
    return { ...result, connectorFactory: new KeptConnectorFactory(factory, this.turnClients, appId) };
  }

  /** botbuilder's, kept per app id: every turn asks for one (for sign-in prompts, which Timebox has none of). */
  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.userTokenClients.get(appIdOf(claimsIdentity), () =>
      super.createUserTokenClient(claimsIdentity),
    );
  }

  override async authenticateStreamingRequest(
    authHeader: string,
    channelIdHeader: string,
  ): Promise<AuthenticateRequestResult> {
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

/** The app id botbuilder makes a turn's clients for (ParameterizedBotFrameworkAuthentication's `getAppId`). */
function appIdOf(claims: ClaimsIdentity): string {
  return (
    claims.getClaimValue(AuthenticationConstants.AudienceClaim) ??
    claims.getClaimValue(AuthenticationConstants.AppIdClaim) ??
    ''
  );
}

/**
 * Refuses what botbuilder would refuse anyway, before its unverified parsing of the token runs.
 *
 * NB: Teams activities are always signed by the Bot Framework channel (issuer
 * `https://api.botframework.com`). botbuilder also takes emulator and skill tokens (Entra-issued),
 * and an Entra token of the bot's own — the one it sends to the Bot Connector — replayed to it got
 * as far as a 500 ("Invalid appId."). Timebox has no emulator or skill callers: only the channel's
 * issuer gets to botbuilder's checks.
 */
function checkTokenShape(authHeader: string, tenantId?: string, channelIssuer?: string): void {
  const parts = authHeader.split(' ');
  const segments = parts.length === 2 && parts[0] === 'Bearer' ? parts[1]!.split('.') : [];
  const header = segments.length === 3 ? jsonObject(segments[0]!) : undefined;
  const payload = header ? jsonObject(segments[1]!) : undefined;
  if (!payload || typeof payload.iss !== 'string') {
    throw new AuthenticationError('Unauthorized: the Authorization header is not a bearer JWT.', 401);
  }
  if (channelIssuer && payload.iss !== channelIssuer) {
    throw new AuthenticationError(
      'Unauthorized: the token was not issued by the Bot Framework channel.',
      401,
    );
  }
  if (tenantId && payload.tid !== undefined && payload.tid !== tenantId) {
    throw new AuthenticationError('Unauthorized: the token was issued for another tenant.', 401);
  }
}

function jsonObject(segment: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
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
