import path from 'node:path';
import { assertChromium, launchBrowser, type Browser } from './browser';
import { DirectoryClient } from './directory-client';
import { RESULTS_DIR, startE2EStack, type E2EStack, type E2EStackOptions } from './e2e-stack';
import { PlaygroundPage } from './playground-page';

export {
  Card,
  PlaygroundPage,
  answerText,
  type ActivityLogEntry,
  type InvokeResult,
  type PlaygroundConfig,
  type RecordedMessage,
} from './playground-page';
export { DirectoryClient } from './directory-client';
export { DOCS_SCREENSHOTS_DIR, Evidence, writingDocsScreenshots, type CaptureOptions } from './evidence';
export { CHROMIUM_PATH, assertChromium, launchBrowser } from './browser';
export { RESULTS_DIR, ROOT, startE2EStack, type E2EStack } from './e2e-stack';
export { ReadmeTryout, runNpmCommand, type NpmRun } from './readme';
export { devAs, requestIdIn } from './dev-as';

/** Ids of examples/demo.directory.json and .m365agentsplayground.yml, for assertions. */
export const DEMO = {
  users: {
    alex: { teamsId: '29:alex', objectId: 'a1000000-0000-4000-8000-000000000001' },
    megan: { teamsId: '29:megan', objectId: 'a1000000-0000-4000-8000-000000000002' },
    adele: { teamsId: '29:adele', objectId: 'a1000000-0000-4000-8000-000000000003' },
    isaiah: { teamsId: '29:isaiah', objectId: 'a1000000-0000-4000-8000-000000000004' },
    patti: { teamsId: '29:patti', objectId: 'a1000000-0000-4000-8000-000000000005' },
    lynne: { teamsId: '29:lynne', objectId: 'a1000000-0000-4000-8000-000000000006' },
  },
  groups: {
    sandbox: 'b2000000-0000-4000-8000-000000000001',
    dbRead: 'b2000000-0000-4000-8000-000000000002',
    prodAdmin: 'b2000000-0000-4000-8000-000000000003',
    sre: 'b2000000-0000-4000-8000-000000000011',
  },
  approverChannel: 'ops-approvals',
} as const;

export interface E2E {
  readonly stack: E2EStack;
  readonly directory: DirectoryClient;
  readonly playground: PlaygroundPage;
  readonly browser: Browser;
}

const START_TIMEOUT_MS = 180_000;

/**
 * Starts the directory, the bot, the playground and Chromium before the file's tests and
 * stops them after (also when a test or the start-up fails). Use at the top of a test file:
 *
 *   const e2e = useE2E({ label: 'smoke' });
 *   test('...', async () => { await e2e.playground.openPersonalChat(); ... });
 */
export function useE2E(
  options: Partial<E2EStackOptions> & { showLogPanel?: boolean; holdableUpdates?: boolean } = {},
): E2E {
  const label = options.label ?? path.basename(expect.getState().testPath ?? 'e2e', '.test.ts');
  let stack: E2EStack | undefined;
  let browser: Browser | undefined;
  let playground: PlaygroundPage | undefined;

  beforeAll(async () => {
    assertChromium();
    stack = await startE2EStack({ ...options, label });
    browser = await launchBrowser({ timeZone: options.timeZone });
    playground = await PlaygroundPage.open(browser.context, stack.playgroundUrl, {
      showLogPanel: options.showLogPanel,
      holdableUpdates: options.holdableUpdates,
      activityLogFile: path.join(RESULTS_DIR, 'logs', `${label}.activities.jsonl`),
    });
  }, START_TIMEOUT_MS);

  // The page as each test left it (also, and above all, when it failed):
  // test-results/e2e/logs/<label>.<n>.end.png.
  let tests = 0;
  afterEach(async () => {
    tests += 1;
    await playground?.page
      .screenshot({ path: path.join(RESULTS_DIR, 'logs', `${label}.${tests}.end.png`) })
      .catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.dispose();
  }, 60_000);

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(
        `${what} is not running: the e2e start-up failed (see the beforeAll error; logs in test-results/e2e/logs/)`,
      );
    return value;
  };
  return {
    get stack() {
      return need(stack, 'the stack');
    },
    get directory() {
      return need(stack, 'the local directory').directory;
    },
    get playground() {
      return need(playground, 'the playground page');
    },
    get browser() {
      return need(browser, 'Chromium');
    },
  };
}
