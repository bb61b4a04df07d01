import { readFileSync } from 'node:fs';
import path from 'node:path';

/** package.json's version: dist/*.js and src/*.ts sit one level below it (a test bundle two). */
export function packageVersion(): string {
  for (let dir = __dirname, i = 0; i < 3; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'timebox' && pkg.version) return pkg.version;
    } catch {
      // not here: one level up
    }
  }
  return 'unknown';
}
