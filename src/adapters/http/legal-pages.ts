import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The privacy statement and terms of use the Teams manifest links to (privacyUrl and
 * termsOfUseUrl default to https://<bot domain>/privacy and /terms): docs/privacy.md and
 * docs/terms.md, which ship with the build (the Containerfile copies them).
 */
export const LEGAL_PAGES = { '/privacy': 'privacy.md', '/terms': 'terms.md' } as const;

/** docs/ next to package.json: dist/adapters/http and src/adapters/http are three levels below it. */
function docsDir(): string | undefined {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'docs', 'privacy.md')))
      return path.join(dir, 'docs');
  }
  return undefined;
}

/** The page's text, or undefined when this install has no docs/ (then the route answers 404). */
export function readLegalPage(route: keyof typeof LEGAL_PAGES): string | undefined {
  const dir = docsDir();
  if (!dir) return undefined;
  try {
    return readFileSync(path.join(dir, LEGAL_PAGES[route]), 'utf8');
  } catch {
    return undefined;
  }
}
