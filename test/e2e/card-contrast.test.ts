import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { drawMarkdownAsTeams } from '../unit/cards/browser-render';
import { cardCatalog, type CatalogEntry } from '../unit/cards/card-catalog';
import { launchBrowser, type Browser } from './harness/browser';
import { contrastRatio, effectiveBackground, parseCssColor, requiredRatio } from './harness/contrast';
import { HOST_THEMES, type HostTheme } from './host-configs';

const ROOT = join(__dirname, '..', '..');
/** E2E_CONTRAST_SHOTS=<dir> saves every render there, to look at (never into the repo by default). */
const SHOTS_DIR = process.env.E2E_CONTRAST_SHOTS;

/**
 * A glyph of one or two symbols (✔ ● ◷ ⚡ ✖ *) is an icon: a graphical object, which WCAG 1.4.11
 * asks 3:1 of. Anything with a letter or digit is text and gets 1.4.3's 4.5:1.
 */
const ICON = /^[^\p{L}\p{N}]{1,2}$/u;
const ICON_RATIO = 3;

/**
 * Host defaults that fail on their own, exempted for icons only. None today: the hosts' own state
 * colours fail on their own container backgrounds (the playground's and Teams light's warning
 * #f8d22a is 1.18:1 on the warning container #FFE2B2; Teams dark keeps the light containers with
 * its dark-theme colours: attention #d74654 is 2.84:1 there), so icons are drawn in the default
 * colour and the container style, the glyph and the words carry the state. Each entry must still
 * match a failure, so a fixed host config drops it.
 */
const HOST_ICON_EXEMPTIONS: ReadonlyArray<{ host: string; colour: string; why: string }> = [];

/** The host config's name (`good`, `warning`…) for a computed colour, subtle shades included, to match exemptions. */
function colourNames(theme: HostTheme): Map<string, string> {
  const names = new Map<string, string>();
  const styles = theme.hostConfig.containerStyles as Record<
    string,
    { foregroundColors?: Record<string, { default?: string; subtle?: string }> }
  >;
  for (const style of Object.values(styles)) {
    for (const [name, shades] of Object.entries(style.foregroundColors ?? {})) {
      for (const shade of [shades.default, shades.subtle])
        if (shade) names.set(rgbaKey(parseHostColor(shade)), name);
    }
  }
  return names;
}

/** Host configs write #AARRGGBB (alpha first), unlike CSS. */
function parseHostColor(hex: string): ReturnType<typeof parseCssColor> {
  const m = /^#([0-9a-f]{2})([0-9a-f]{6})$/i.exec(hex);
  return m ? { ...parseCssColor(`#${m[2]}`), a: parseInt(m[1]!, 16) / 255 } : parseCssColor(hex);
}

const rgbaKey = (c: ReturnType<typeof parseCssColor>) =>
  [c.r, c.g, c.b].map(Math.round).join(',') + `/${c.a.toFixed(2)}`;

/** One piece of text as the browser paints it. */
interface PaintedText {
  text: string;
  /** Where it comes from: a text block, a button, a placeholder… */
  kind: string;
  color: string;
  /** Background colours from the text's element outwards to the card root. */
  layers: string[];
  fontSize: number;
  fontWeight: number;
}

// Runs in the page (its markdown drawn as Teams draws it): renders one card with the host config.
function renderAndCollect(args: { card: object; hostConfig: object }): { problems: string[] } {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- page globals; no DOM types in this project
  const page = globalThis as any;
  const AC = page.AdaptiveCards;
  const card = new AC.AdaptiveCard();
  card.hostConfig = new AC.HostConfig(args.hostConfig);
  card.parse(args.card, new AC.SerializationContext());
  const target = page.document.getElementById('card');
  target.innerHTML = '';
  const rendered = card.render();
  if (!rendered) return { problems: ['render returned nothing'] };
  target.appendChild(rendered);
  return { problems: [] };
}

// Runs in the page: every visible text node's element, and every empty input's placeholder.
function collectText(): PaintedText[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- page globals; no DOM types in this project
  const page = globalThis as any;
  const doc = page.document;
  const root = doc.getElementById('card');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM elements
  const layersOf = (el: any): string[] => {
    const layers: string[] = [];
    for (let e = el; e && e !== doc.documentElement; e = e.parentElement) {
      layers.push(page.getComputedStyle(e).backgroundColor);
    }
    return layers;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM elements
  const kindOf = (el: any): string => {
    if (el.closest('.ac-pushButton')) return 'button';
    if (el.closest('select')) return 'choice';
    if (el.closest('.ac-factset')) return 'fact';
    if (el.closest('.ac-richTextBlock')) return 'rich text';
    if (el.closest('label')) return 'label';
    return 'text';
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- DOM elements
  const visible = (el: any): boolean => {
    if (el.getClientRects().length === 0) return false;
    for (let e = el; e && e !== root; e = e.parentElement) {
      const style = page.getComputedStyle(e);
      if (style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0)
        return false;
    }
    return true;
  };
  const found: PaintedText[] = [];
  const walker = doc.createTreeWalker(root, 4 /* NodeFilter.SHOW_TEXT */);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = String(node.textContent).trim();
    // An <option>'s text is painted by its <select>, in the select's colours.
    const el = node.parentElement.closest('select') ?? node.parentElement;
    if (!text || !visible(el)) continue;
    const style = page.getComputedStyle(el);
    found.push({
      text: text.slice(0, 60),
      kind: kindOf(el),
      color: style.color,
      layers: layersOf(el),
      fontSize: parseFloat(style.fontSize),
      fontWeight: Number(style.fontWeight),
    });
  }
  for (const input of root.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (input.value || !input.placeholder || !visible(input)) continue;
    const style = page.getComputedStyle(input, '::placeholder');
    found.push({
      text: String(input.placeholder).slice(0, 60),
      kind: 'placeholder',
      color: style.color,
      layers: layersOf(input),
      fontSize: parseFloat(style.fontSize),
      fontWeight: Number(style.fontWeight),
    });
  }
  // Typed text (a prefilled value) in an input.
  for (const input of root.querySelectorAll('input.ac-input, textarea')) {
    if (!input.value || !visible(input) || input.type === 'checkbox' || input.type === 'radio') continue;
    const style = page.getComputedStyle(input);
    found.push({
      text: String(input.value).slice(0, 60),
      kind: 'input value',
      color: style.color,
      layers: layersOf(input),
      fontSize: parseFloat(style.fontSize),
      fontWeight: Number(style.fontWeight),
    });
  }
  return found;
}

async function openPage(browser: Browser, theme: HostTheme): Promise<Page> {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 640, height: 900 });
  const cardBackground = theme.hostConfig.containerStyles.default.backgroundColor;
  const frame = `body { margin: 0; background: ${theme.pageBackground}; font-family: 'Segoe UI', 'DejaVu Sans', sans-serif; }
.frame { display: inline-block; padding: 16px; background: ${theme.pageBackground}; }
.card { width: 560px; border-radius: 6px; overflow: hidden; }
.ac-adaptiveCard { background-color: ${cardBackground}; }
.ac-pushButton { font-size: 14px; font-weight: 600; border-radius: 4px; padding: 5px 12px; min-height: 32px; }
.mention { font-weight: 600; }`;
  await page.setContent(
    '<!doctype html><html><head><meta charset="utf-8"></head><body><div class="frame"><div class="card" id="card"></div></div></body></html>',
  );
  await page.addStyleTag({ path: join(ROOT, 'node_modules/adaptivecards/dist/adaptivecards.css') });
  await page.addStyleTag({ content: frame + theme.css }); // after the renderer's CSS, so the host's wins
  await page.addScriptTag({ path: join(ROOT, 'node_modules/adaptivecards/dist/adaptivecards.min.js') });
  await page.evaluate(drawMarkdownAsTeams);
  return page;
}

/** A failure line: card × host × text × ratio. */
interface Failure {
  card: string;
  host: string;
  kind: string;
  text: string;
  ratio: number;
  needed: number;
  colours: string;
  /** The host config's colour name, when the text uses one of them. */
  colourName?: string;
  icon: boolean;
}

async function checkCard(
  page: Page,
  theme: HostTheme,
  entry: CatalogEntry,
): Promise<{ failures: Failure[]; texts: number }> {
  const { problems } = await page.evaluate(renderAndCollect, {
    card: entry.card,
    hostConfig: theme.hostConfig,
  });
  if (problems.length > 0) throw new Error(`${entry.name} on ${theme.name}: ${problems.join('; ')}`);
  if (entry.open) {
    const button = page.locator('#card .ac-pushButton', { hasText: entry.open }).first();
    if ((await button.count()) === 0) throw new Error(`${entry.name}: no button "${entry.open}" to open`);
    await button.click();
    await page.mouse.move(0, 0); // no hover colours
  }
  if (SHOTS_DIR) {
    mkdirSync(join(SHOTS_DIR, theme.name), { recursive: true });
    await page.locator('.frame').screenshot({ path: join(SHOTS_DIR, theme.name, `${entry.name}.png`) });
  }
  const page0 = parseCssColor(theme.pageBackground);
  const names = colourNames(theme);
  const failures: Failure[] = [];
  const texts = await page.evaluate(collectText);
  for (const t of texts) {
    const background = effectiveBackground(t.layers.map(parseCssColor), page0);
    const color = parseCssColor(t.color);
    const ratio = contrastRatio(color, background);
    const icon = ICON.test(t.text);
    const needed = icon ? ICON_RATIO : requiredRatio(t.fontSize, t.fontWeight);
    if (ratio >= needed) continue;
    const bg = `rgb(${[background.r, background.g, background.b].map(Math.round).join(', ')})`;
    const colourName = names.get(rgbaKey(color));
    failures.push({
      card: entry.name,
      host: theme.name,
      kind: icon ? 'icon' : t.kind,
      text: t.text,
      ratio,
      needed,
      colours: `${t.color} on ${bg}`,
      icon,
      ...(colourName ? { colourName } : {}),
    });
  }
  return { failures, texts: texts.length };
}

describe('every card is readable in every host theme (WCAG 1.4.3, headless Chromium)', () => {
  const entries = cardCatalog();
  let browser: Browser;
  const checked = new Map<string, number>();
  const failuresByHost = new Map<string, Failure[]>();

  beforeAll(async () => {
    browser = await launchBrowser();
    for (const theme of HOST_THEMES) {
      const page = await openPage(browser, theme);
      const failures: Failure[] = [];
      let cardsWithText = 0;
      for (const entry of entries) {
        const result = await checkCard(page, theme, entry);
        failures.push(...result.failures);
        if (result.texts > 0) cardsWithText++;
      }
      failuresByHost.set(theme.name, failures);
      checked.set(theme.name, cardsWithText);
      await page.close();
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  test('the catalogue is the gallery: every card state', () => {
    expect(entries.length).toBeGreaterThanOrEqual(86);
  });

  const exempted = (f: Failure) =>
    f.icon && HOST_ICON_EXEMPTIONS.some((e) => e.host === f.host && e.colour === f.colourName);

  test.each(HOST_THEMES.map((t) => [t.name]))('%s: every text ≥ 4.5:1 (large ≥ 3:1, icons ≥ 3:1)', (host) => {
    // Every card showed some text: the walk found what it checks.
    expect(checked.get(host)).toBe(entries.length);
    const lines = (failuresByHost.get(host) ?? [])
      .filter((f) => !exempted(f))
      .map(
        (f) =>
          `${f.card} × ${f.host} × ${f.kind} "${f.text}" × ${f.ratio.toFixed(2)}:1 (needs ${f.needed}:1; ${f.colourName ?? 'colour'} ${f.colours})`,
      );
    expect(lines).toEqual([]);
  });

  test('every host exemption is still needed: each matches a failing icon', () => {
    const all = [...failuresByHost.values()].flat();
    const unused = HOST_ICON_EXEMPTIONS.filter(
      (e) => !all.some((f) => f.icon && f.host === e.host && f.colourName === e.colour),
    );
    expect(unused).toEqual([]);
  });
});
