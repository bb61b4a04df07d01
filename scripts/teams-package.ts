import { readFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';

export interface PackageSettings {
  botAppId: string;
  teamsAppId: string;
  botDomain: string;
  version: string;
  developerName: string;
  websiteUrl: string;
  privacyUrl: string;
  termsOfUseUrl: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(\*\.)?([a-z0-9-]+\.)+[a-z]{2,}$/i;
const SEMVER = /^\d+\.\d+\.\d+$/;

/** Reads the package's settings from the environment; each missing or malformed one is named. */
export function packageSettingsFromEnv(env: NodeJS.ProcessEnv, version: string): PackageSettings {
  const problems: string[] = [];
  const botAppId = env.MicrosoftAppId ?? '';
  if (!GUID.test(botAppId))
    problems.push(`MicrosoftAppId must be the bot's app registration id (a GUID), got "${botAppId}"`);
  const teamsAppId = env.TEAMS_APP_ID ?? botAppId;
  if (!GUID.test(teamsAppId))
    problems.push(`TEAMS_APP_ID must be a GUID (defaults to MicrosoftAppId), got "${teamsAppId}"`);
  const botDomain = env.TIMEBOX_BOT_DOMAIN ?? '';
  if (!DOMAIN.test(botDomain))
    problems.push(
      `TIMEBOX_BOT_DOMAIN must be the host name the bot is served on (e.g. timebox.contoso.com), got "${botDomain}"`,
    );
  const websiteUrl = env.TIMEBOX_WEBSITE_URL ?? `https://${botDomain}`;
  for (const [name, url] of [
    ['TIMEBOX_WEBSITE_URL', websiteUrl],
    ['TIMEBOX_PRIVACY_URL', env.TIMEBOX_PRIVACY_URL ?? `${websiteUrl}/privacy`],
    ['TIMEBOX_TERMS_URL', env.TIMEBOX_TERMS_URL ?? `${websiteUrl}/terms`],
  ] as const) {
    if (!/^https:\/\/\S+$/.test(url)) problems.push(`${name} must be an https URL, got "${url}"`);
  }
  if (!SEMVER.test(version)) problems.push(`the app version must be x.y.z, got "${version}"`);
  const developerName = env.TIMEBOX_DEVELOPER_NAME ?? 'Timebox';
  if (developerName.length > 32) problems.push('TIMEBOX_DEVELOPER_NAME must be at most 32 characters');
  if (problems.length)
    throw new Error(`Cannot build the Teams app package:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return {
    botAppId,
    teamsAppId,
    botDomain,
    version,
    developerName,
    websiteUrl,
    privacyUrl: env.TIMEBOX_PRIVACY_URL ?? `${websiteUrl}/privacy`,
    termsOfUseUrl: env.TIMEBOX_TERMS_URL ?? `${websiteUrl}/terms`,
  };
}

/** Fills the manifest template; values are JSON-escaped, so no setting can change its shape. */
export function buildManifest(settings: PackageSettings, manifestDir: string): Record<string, unknown> {
  const template = readFileSync(path.join(manifestDir, 'manifest.template.json'), 'utf8');
  const filled = template.replace(/\$\{(\w+)\}/g, (_, key: string) => {
    const value = settings[key as keyof PackageSettings];
    if (value === undefined) throw new Error(`manifest template uses \${${key}}, which has no setting`);
    return JSON.stringify(value).slice(1, -1);
  });
  return JSON.parse(filled) as Record<string, unknown>;
}

/** The zip Teams takes: manifest.json and the two icons at the top level. */
export function buildPackage(settings: PackageSettings, manifestDir: string): Uint8Array {
  const manifest = buildManifest(settings, manifestDir);
  return zipSync({
    'manifest.json': Buffer.from(JSON.stringify(manifest, null, 2)),
    'color.png': readFileSync(path.join(manifestDir, 'color.png')),
    'outline.png': readFileSync(path.join(manifestDir, 'outline.png')),
  });
}
