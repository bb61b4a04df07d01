import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogEntry } from './card-catalog';
import { TEAMS_CSS, TEAMS_HOST_CONFIG } from './teams-host-config';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROOT = join(__dirname, '..', '..', '..');

export interface RenderProblem {
  name: string;
  problems: string[];
  /** With screenshots: the rendered card's text as the browser lays it out in lines (`innerText`). */
  text?: string;
}

/** Refuses to go on without a browser, naming the fix: a skipped check must never look green. */
export function assertChromium(path: string = CHROMIUM_PATH): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install it with \`apt-get install chromium\` (Debian/Ubuntu) to render the cards.`,
    );
  }
}

/**
 * Runs in the page, once the adaptivecards script is loaded (`page.evaluate(drawMarkdownAsTeams)`):
 * mentions and minimal markdown are drawn from then on the way Teams draws them, so renders and
 * screenshots show what people will see.
 */
export function drawMarkdownAsTeams(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- page globals; no DOM types in this project
  const AC = (globalThis as any).AdaptiveCards;
  AC.AdaptiveCard.onProcessMarkdown = (text: string, result: { outputHtml: string; didProcess: boolean }) => {
    const html = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    result.outputHtml = html
      .replace(/&lt;at&gt;(.*?)&lt;\/at&gt;/g, '<span class="mention">$1</span>')
      .replace(/\\([\\`*_[\]()#|~>+.-])/g, '$1');
    result.didProcess = true;
  };
}

// Runs in the page: parses and renders one card with the adaptivecards renderer and reports
// every parse event, validation failure and a missing render.
function renderInPage(args: { card: object; hostConfig: object }): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- page globals; no DOM types in this project
  const page = globalThis as any;
  const AC = page.AdaptiveCards;
  const problems: string[] = [];
  const card = new AC.AdaptiveCard();
  card.hostConfig = new AC.HostConfig(args.hostConfig);
  const context = new AC.SerializationContext();
  card.parse(args.card, context);
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`parse ${AC.ValidationPhase[e.phase]} ${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of card.validateProperties().validationEvents) {
    // Input ids repeat only across sibling ShowCards (one Extend or Deny per listed request);
    // every renderer gathers an action's inputs from its own card and its ancestors only.
    if (AC.ValidationEvent[e.event] === 'DuplicateId' && /"(reason|duration)"/.test(e.message)) continue;
    problems.push(`validate ${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  const target = page.document.getElementById('card');
  target.innerHTML = '';
  const rendered = card.render();
  if (!rendered) problems.push('render returned nothing');
  else target.appendChild(rendered);
  return problems;
}

/**
 * Renders each entry in headless Chromium with the `adaptivecards` npm renderer; returns the
 * problems per card and, with `screenshotDir`, saves `<name>.png` there.
 */
export async function renderInBrowser(
  entries: CatalogEntry[],
  screenshotDir?: string,
): Promise<RenderProblem[]> {
  assertChromium();
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  const results: RenderProblem[] = [];
  try {
    const page = await browser.newPage({
      viewport: { width: 640, height: 800 },
      deviceScaleFactor: screenshotDir ? 1.5 : 1,
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        pageErrors.push(`console ${message.type()}: ${message.text()}`);
    });
    await page.setContent(
      `<!doctype html><html><head><meta charset="utf-8"><style>${TEAMS_CSS}</style></head><body><div class="frame"><div class="card" id="card"></div></div></body></html>`,
    );
    await page.addStyleTag({ path: join(ROOT, 'node_modules/adaptivecards/dist/adaptivecards.css') });
    await page.addStyleTag({ content: TEAMS_CSS }); // after the renderer's CSS, so ours wins
    await page.addScriptTag({ path: join(ROOT, 'node_modules/adaptivecards/dist/adaptivecards.min.js') });
    await page.evaluate(drawMarkdownAsTeams);
    if (screenshotDir) mkdirSync(screenshotDir, { recursive: true });
    for (const entry of entries) {
      pageErrors.length = 0;
      const problems = await page.evaluate(renderInPage, { card: entry.card, hostConfig: TEAMS_HOST_CONFIG });
      if (entry.open) {
        const button = page.locator('#card .ac-pushButton', { hasText: entry.open }).first();
        if ((await button.count()) === 0) problems.push(`no button "${entry.open}" to open`);
        else await button.click();
        await page.mouse.move(0, 0); // no hover styling in the screenshot
      }
      problems.push(...pageErrors);
      const text = screenshotDir ? await page.locator('#card').innerText() : undefined;
      results.push({ name: entry.name, problems, ...(text !== undefined ? { text } : {}) });
      if (screenshotDir)
        await page.locator('.frame').screenshot({ path: join(screenshotDir, `${entry.name}.png`) });
    }
  } finally {
    await browser.close();
  }
  return results;
}
