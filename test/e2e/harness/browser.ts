import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium. The suite never downloads a browser (`npx playwright install` fails offline). */
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Fails fast, before anything is started, when Chromium is missing. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium was not found at ${CHROMIUM_PATH}. The e2e suite drives Debian's Chromium and never downloads a browser: ` +
        'install it with `sudo apt-get install chromium` (or point E2E_CHROMIUM at a Chromium binary).',
    );
  }
}

/** `timeZone`: the IANA zone the page runs in (its clock, and the zone the playground's chat reports). */
export async function launchBrowser(options: { timeZone?: string } = {}): Promise<Browser> {
  assertChromium();
  // playwright-core refuses a --user-data-dir argument: a persistent context on a fresh
  // directory is the same thing.
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'timebox-e2e-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
      locale: 'en-US',
      timezoneId: options.timeZone ?? 'UTC',
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
