/** npm run package:teams — builds build/timebox-teams.zip from manifest/ and the environment. */
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildPackage, packageSettingsFromEnv } from './teams-package';

const root = path.join(__dirname, '..');
const version =
  process.env.TIMEBOX_APP_VERSION ??
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
try {
  const settings = packageSettingsFromEnv(process.env, version);
  const zip = buildPackage(settings, path.join(root, 'manifest'));
  mkdirSync(path.join(root, 'build'), { recursive: true });
  const out = path.join(root, 'build', 'timebox-teams.zip');
  writeFileSync(out, zip);
  console.log(
    `wrote ${path.relative(process.cwd(), out)} (app ${settings.teamsAppId}, bot ${settings.botAppId}, ${settings.botDomain}); upload it in Teams admin center → Manage apps → Upload.`,
  );
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
