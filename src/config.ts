import { DomainError, ErrorCodes } from './domain/errors';
import { parseDuration } from './domain/duration';
import { DEFAULT_REQUEST_RATE_LIMIT, parseRateLimit, type RateLimit } from './app/rate-limit';
import { DEFAULT_CHECKPOINT_EVERY, parseAuditKey, type AuditKey } from './adapters/store/audit-checkpoint';
import { entraMetadataUrl, trustedUrl } from './adapters/api/access-token';
import { signingKeysFromJwks } from './adapters/api/approval-tokens';

/** The workflow API (§11), on when TIMEBOX_API_AUDIENCE is set. */
export interface ApiConfig {
  /** The audiences an API token may carry (TIMEBOX_API_AUDIENCE, comma-separated). */
  audiences: string[];
  /** The tenant whose Entra issues API tokens (MicrosoftAppTenantId). */
  tenantId: string;
  /** OpenID metadata of the issuer (TIMEBOX_API_OPENID_METADATA; default Entra's for the tenant). */
  metadataUrl: string;
  /**
   * Timebox's public URL (TIMEBOX_URL): the `iss` of approval tokens and the OpenAPI server.
   * Undefined in local mode only, where the listening URL is used.
   */
  publicUrl?: string;
  /** TIMEBOX_APPROVAL_KEYS, a JWK set of ES256 private keys (checked here); undefined = generated at start. */
  approvalKeys?: string;
  /** Calls per client application (TIMEBOX_API_RATE_LIMIT, default 120/1m; "off"); undefined = no limit. */
  callRateLimit?: RateLimit;
}

/** Enough for a pipeline that long-polls and retries, too few for a runaway loop to matter. */
export const DEFAULT_API_CALL_RATE_LIMIT: RateLimit = { max: 120, windowMs: 60_000 };

export interface Config {
  port: number;
  /** /metrics on its own port (TIMEBOX_METRICS_PORT), and then not on `port`; undefined = on `port`. */
  metricsPort?: number;
  host: string;
  dev: boolean;
  policyFile: string;
  dataDir: string;
  graphBaseUrl: string;
  grantMode: 'membership' | 'pim';
  appId: string;
  tenantId?: string;
  databaseUrl?: string;
  /** Bot Connector endpoint to use before any activity has taught us the tenant's. */
  defaultServiceUrl?: string;
  logLevel: string;
  /** New requests per person (TIMEBOX_REQUEST_RATE_LIMIT, e.g. "10/10m" or "off"); undefined = no limit. */
  requestRateLimit?: RateLimit;
  /** Time between reconciliation passes (TIMEBOX_RECONCILE_INTERVAL, default 5m; "off" = at start only). */
  reconcileIntervalMs: number;
  /** Approvers' buttons on the card everyone sees (TIMEBOX_SHARED_CARD_BUTTONS; default on in local mode, where the playground has no user-specific views). */
  sharedCardButtons: boolean;
  /** Signs the audit log's checkpoints (TIMEBOX_AUDIT_KEY, HMAC-SHA256, ≥ 32 bytes hex/base64); undefined = no checkpoints. */
  auditKey?: AuditKey;
  /** A signed checkpoint at least every this many audit records (TIMEBOX_AUDIT_CHECKPOINT_EVERY, default 100), and at shutdown. */
  auditCheckpointEvery: number;
  /** The workflow API; undefined = off (/api/v1/* answers 404). */
  api?: ApiConfig;
}

export class ConfigError extends DomainError {
  constructor(message: string) {
    super(ErrorCodes.CONFIG_INVALID, message);
    this.name = 'ConfigError';
  }
}

/**
 * Reads PRODUCT.md §6's variables; refuses what would be unsafe rather than guessing.
 * `bot: false` (tools that never serve /api/messages nor post, e.g. `reconcile --dry-run`):
 * the bot's identity is not needed and not checked.
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: { bot?: boolean } = {}): Config {
  const dev = env.TIMEBOX_DEV === '1';
  const appId = env.MicrosoftAppId?.trim() ?? '';
  const bot = options.bot !== false;
  if (bot && !appId && !dev) {
    // NB: botbuilder turns authentication off when there is no app id, which would leave
    // /api/messages open to anyone. That must never happen by accident.
    throw new ConfigError(
      'MicrosoftAppId is not set. Set MicrosoftAppId (and MicrosoftAppPassword or a certificate, MicrosoftAppType, MicrosoftAppTenantId) to run in a tenant, or TIMEBOX_DEV=1 for local mode on 127.0.0.1 with no authentication.',
    );
  }
  const appType = env.MicrosoftAppType?.trim().toLowerCase();
  if (
    bot &&
    appId &&
    (appType === 'singletenant' || appType === 'userassignedmsi') &&
    !env.MicrosoftAppTenantId?.trim()
  ) {
    // botbuilder would stop with an assertion; say what to set instead.
    throw new ConfigError(
      `MicrosoftAppType is ${env.MicrosoftAppType!.trim()}, so MicrosoftAppTenantId must be set to the tenant's id; activities from any other tenant are then refused.`,
    );
  }
  const port = Number(env.PORT ?? 3978);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT "${env.PORT}" is not a port number.`);
  const grantMode = (env.TIMEBOX_GRANT_MODE ?? 'membership').toLowerCase();
  if (grantMode !== 'membership' && grantMode !== 'pim') {
    throw new ConfigError(
      `TIMEBOX_GRANT_MODE must be "membership" or "pim", not "${env.TIMEBOX_GRANT_MODE}".`,
    );
  }
  const metricsPort = env.TIMEBOX_METRICS_PORT?.trim() ? Number(env.TIMEBOX_METRICS_PORT) : undefined;
  if (
    metricsPort !== undefined &&
    (!Number.isInteger(metricsPort) ||
      metricsPort < 0 ||
      metricsPort > 65535 ||
      (metricsPort === port && port !== 0))
  ) {
    throw new ConfigError(
      `TIMEBOX_METRICS_PORT "${env.TIMEBOX_METRICS_PORT}" is not a port number other than PORT.`,
    );
  }
  return {
    port,
    metricsPort,
    host: dev ? '127.0.0.1' : (env.HOST ?? '0.0.0.0'),
    dev,
    policyFile: env.TIMEBOX_POLICY ?? 'timebox.policy.yaml',
    dataDir: env.TIMEBOX_DATA_DIR ?? './data',
    graphBaseUrl: (env.GRAPH_BASE_URL ?? 'https://graph.microsoft.com/v1.0').replace(/\/+$/, ''),
    grantMode,
    appId,
    tenantId: env.MicrosoftAppTenantId?.trim() || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    defaultServiceUrl:
      env.TIMEBOX_SERVICE_URL || (dev ? undefined : 'https://smba.trafficmanager.net/teams/'),
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    requestRateLimit: rateLimitOf(env.TIMEBOX_REQUEST_RATE_LIMIT),
    reconcileIntervalMs: reconcileIntervalOf(env.TIMEBOX_RECONCILE_INTERVAL),
    sharedCardButtons: env.TIMEBOX_SHARED_CARD_BUTTONS ? env.TIMEBOX_SHARED_CARD_BUTTONS === '1' : dev,
    auditKey: auditKeyOf(env.TIMEBOX_AUDIT_KEY),
    auditCheckpointEvery: checkpointEveryOf(env.TIMEBOX_AUDIT_CHECKPOINT_EVERY),
    api: apiConfigOf(env, dev),
  };
}

/**
 * TIMEBOX_API_AUDIENCE turns the API on. Local mode relaxes nothing of its authentication: it
 * needs the tenant (MicrosoftAppTenantId) and a trusted issuer as in production; only the
 * public URL may default to the listening one there.
 */
function apiConfigOf(env: NodeJS.ProcessEnv, dev: boolean): ApiConfig | undefined {
  const audiences = (env.TIMEBOX_API_AUDIENCE ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (audiences.length === 0) return undefined;
  const tenantId = env.MicrosoftAppTenantId?.trim();
  if (!tenantId)
    throw new ConfigError(
      'TIMEBOX_API_AUDIENCE is set, so MicrosoftAppTenantId must be too: API tokens are accepted from that tenant only (local mode included).',
    );
  const metadataUrl =
    env.TIMEBOX_API_OPENID_METADATA?.trim() ||
    entraMetadataUrl(tenantId, env.AZURE_AUTHORITY_HOST?.trim() || undefined);
  const publicUrl = env.TIMEBOX_URL?.trim().replace(/\/+$/, '') || undefined;
  try {
    trustedUrl(metadataUrl, 'TIMEBOX_API_OPENID_METADATA');
    if (publicUrl) trustedUrl(publicUrl, 'TIMEBOX_URL');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (!publicUrl && !dev)
    throw new ConfigError(
      "TIMEBOX_API_AUDIENCE is set, so TIMEBOX_URL must be too: Timebox's public https URL, the issuer of its approval tokens (the same on every replica).",
    );
  const approvalKeys = env.TIMEBOX_APPROVAL_KEYS?.trim() || undefined;
  if (approvalKeys) {
    try {
      signingKeysFromJwks(approvalKeys, 0);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  }
  let callRateLimit: RateLimit | undefined = DEFAULT_API_CALL_RATE_LIMIT;
  if (env.TIMEBOX_API_RATE_LIMIT?.trim()) {
    try {
      callRateLimit = parseRateLimit(env.TIMEBOX_API_RATE_LIMIT);
    } catch (error) {
      throw new ConfigError(`TIMEBOX_API_RATE_LIMIT: ${(error as Error).message}`);
    }
  }
  return { audiences, tenantId, metadataUrl, publicUrl, approvalKeys, callRateLimit };
}

function auditKeyOf(value: string | undefined): AuditKey | undefined {
  if (value === undefined || !value.trim()) return undefined;
  try {
    return parseAuditKey(value);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

function checkpointEveryOf(value: string | undefined): number {
  const text = value?.trim();
  if (!text) return DEFAULT_CHECKPOINT_EVERY;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(
      `TIMEBOX_AUDIT_CHECKPOINT_EVERY must be a whole number of records, 1 or more, not "${value}".`,
    );
  }
  return Number(text);
}

function reconcileIntervalOf(value: string | undefined): number {
  const text = value?.trim().toLowerCase();
  if (!text) return 5 * 60_000;
  if (text === 'off' || text === '0') return 0;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new ConfigError(
      `TIMEBOX_RECONCILE_INTERVAL: ${(error as Error).message} ("off" runs it at start only).`,
    );
  }
}

function rateLimitOf(value: string | undefined): RateLimit | undefined {
  if (value === undefined || !value.trim()) return DEFAULT_REQUEST_RATE_LIMIT;
  try {
    return parseRateLimit(value);
  } catch (error) {
    throw new ConfigError(`TIMEBOX_REQUEST_RATE_LIMIT: ${(error as Error).message}`);
  }
}
