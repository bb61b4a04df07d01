import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv-draft-04';
import { unzipSync } from 'fflate';
import { buildManifest, buildPackage, packageSettingsFromEnv } from '../../../scripts/teams-package';

const root = path.join(__dirname, '../../..');
const manifestDir = path.join(root, 'manifest');
const schemaFile = path.join(root, '../shared/schemas/teams-manifest-v1.22.schema.json');
const env = {
  MicrosoftAppId: '11111111-2222-4333-8444-555555555555',
  TIMEBOX_BOT_DOMAIN: 'timebox.contoso.com',
};
const settings = packageSettingsFromEnv(env, '1.2.3');

type Manifest = {
  id: string;
  version: string;
  name: { short: string; full?: string };
  description: { short: string; full: string };
  bots: Array<{
    botId: string;
    scopes: string[];
    commandLists: Array<{ scopes: string[]; commands: Array<{ title: string; description: string }> }>;
  }>;
  validDomains: string[];
  developer: { websiteUrl: string; privacyUrl: string; termsOfUseUrl: string };
  webApplicationInfo?: unknown;
};

function pngSize(buf: Uint8Array): { width: number; height: number; colorType: number } {
  const b = Buffer.from(buf);
  expect(b.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), colorType: b[25]! };
}

describe('Teams app package', () => {
  const manifest = buildManifest(settings, manifestDir) as unknown as Manifest;

  // Microsoft's schema lives beside the project on developers' machines and in CI, never in it.
  if (!existsSync(schemaFile)) {
    it("has Microsoft's manifest schema beside the project whenever it runs in CI", () => {
      expect(process.env.CI).not.toBe('true');
    });
  }
  const whenSchema = existsSync(schemaFile) ? it : () => undefined;
  whenSchema("validates against Microsoft's manifest schema v1.22", () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
    const ok = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('fills ids from the environment and keeps the rules Teams relies on', () => {
    const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    expect(manifest.id).toMatch(guid);
    expect(manifest.bots[0]!.botId).toBe(env.MicrosoftAppId);
    // No SSO: no webApplicationInfo (it would ask admins to consent to an app that is never used).
    expect(manifest.webApplicationInfo).toBeUndefined();
    // The privacy and terms links open the pages the bot serves (docs/privacy.md, docs/terms.md).
    expect(manifest.developer.privacyUrl).toBe('https://timebox.contoso.com/privacy');
    expect(manifest.developer.termsOfUseUrl).toBe('https://timebox.contoso.com/terms');
    expect(manifest.validDomains).toEqual(['timebox.contoso.com']);
    expect(manifest.version).toBe('1.2.3');
    expect(manifest.name.short.length).toBeLessThanOrEqual(30);
    expect(manifest.description.short.length).toBeLessThanOrEqual(80);
    expect(manifest.description.full.length).toBeLessThanOrEqual(4000);
    expect(manifest.bots[0]!.scopes.sort()).toEqual(['groupChat', 'personal', 'team']);
    for (const list of manifest.bots[0]!.commandLists) {
      expect(list.commands.length).toBeLessThanOrEqual(10);
      for (const command of list.commands) {
        expect(command.title.length).toBeLessThanOrEqual(32);
        expect(command.description.length).toBeGreaterThan(0);
        expect(command.description.length).toBeLessThanOrEqual(128);
      }
    }
    expect(JSON.stringify(manifest)).not.toContain('${');
  });

  it('zips manifest.json and the icons at the top level, with the right icon sizes', () => {
    const files = unzipSync(buildPackage(settings, manifestDir));
    expect(Object.keys(files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(pngSize(files['color.png']!)).toMatchObject({ width: 192, height: 192 });
    const outline = pngSize(files['outline.png']!);
    expect(outline).toMatchObject({ width: 32, height: 32, colorType: 6 }); // RGBA: transparent background
  });

  it('names every missing or malformed setting', () => {
    expect(() =>
      packageSettingsFromEnv({ MicrosoftAppId: 'not-a-guid', TIMEBOX_BOT_DOMAIN: 'http://x' }, '1.0'),
    ).toThrow(/MicrosoftAppId must be[\s\S]*TIMEBOX_BOT_DOMAIN must be[\s\S]*version must be x\.y\.z/);
  });

  it('cannot be bent by a setting value (values are JSON-escaped)', () => {
    const sneaky = packageSettingsFromEnv({ ...env, TIMEBOX_DEVELOPER_NAME: 'a", "evil": "1' }, '1.0.0');
    const m = buildManifest(sneaky, manifestDir) as { developer: { name: string }; evil?: string };
    expect(m.developer.name).toBe('a", "evil": "1');
    expect(m.evil).toBeUndefined();
  });
});
