import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { RESULTS_DIR, ROOT } from './e2e-stack';
import type { PlaygroundPage } from './playground-page';

/** Where `npm run docs:screenshots` puts the README's pictures. */
export const DOCS_SCREENSHOTS_DIR = path.join(ROOT, 'docs/screenshots');

/** Set by `npm run docs:screenshots`: the steps marked `docs` are also written to docs/screenshots/. */
export function writingDocsScreenshots(): boolean {
  return process.env.E2E_DOCS_SCREENSHOTS === '1';
}

export interface CaptureOptions {
  /**
   * The part of the page the step is about (a channel thread, a chat message): saved as a
   * second, cropped picture `<nn>-<name>.focus.png`. Several locators: their union.
   */
  focus?: Locator | Locator[];
  /** Also write the picture (the focus, else the whole page) to docs/screenshots/<docs>.png when asked to. */
  docs?: string;
}

/**
 * Screenshots of one scenario, in step order: test-results/e2e/<scenario>/<nn>-<name>.png (the
 * whole page as the person sees it) and, with a focus, <nn>-<name>.focus.png.
 */
export class Evidence {
  private step = 0;
  readonly dir: string;

  constructor(
    private readonly playground: PlaygroundPage,
    readonly scenario: string,
  ) {
    this.dir = path.join(RESULTS_DIR, scenario);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  async capture(name: string, options: CaptureOptions = {}): Promise<string> {
    const page = this.playground.page;
    const base = path.join(this.dir, `${String(++this.step).padStart(2, '0')}-${name}`);
    await settle(page);
    const whole = `${base}.png`;
    await page.screenshot({ path: whole });
    let picture = whole;
    if (options.focus) {
      picture = `${base}.focus.png`;
      await captureRegion(page, Array.isArray(options.focus) ? options.focus : [options.focus], picture);
    }
    if (options.docs && writingDocsScreenshots()) {
      mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
      copyFileSync(picture, path.join(DOCS_SCREENSHOTS_DIR, `${options.docs}.png`));
    }
    return picture;
  }
}

async function boxesOf(
  targets: Locator[],
): Promise<{ x: number; y: number; width: number; height: number }[]> {
  const boxes = (await Promise.all(targets.map((t) => t.boundingBox()))).filter(
    (b): b is NonNullable<typeof b> => b !== null,
  );
  if (boxes.length === 0) throw new Error('nothing to capture: the focus elements are not visible');
  return boxes;
}

/** Scrolls the conversation so that the middle of `targets` is in the middle of its view. */
async function centre(page: Page, targets: Locator[]): Promise<void> {
  const boxes = await boxesOf(targets);
  const middle = (Math.min(...boxes.map((b) => b.y)) + Math.max(...boxes.map((b) => b.y + b.height))) / 2;
  await targets[0]!.evaluate((element, y) => {
    const view = element.ownerDocument.defaultView!;
    let box = element.parentElement;
    while (
      box &&
      !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(view.getComputedStyle(box).overflowY))
    )
      box = box.parentElement;
    if (!box) return;
    const rect = box.getBoundingClientRect();
    box.scrollTop += y - (rect.top + rect.bottom) / 2;
  }, middle);
  await settle(page);
}

/** Two animation frames: the renderer has drawn what the last DOM change asked for. */
async function settle(page: Page): Promise<void> {
  // A string: the project's TypeScript has no DOM library.
  await page.evaluate(
    'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
  );
}

/** Widest a focused element is drawn (px). */
const FOCUS_WIDTH = 640;

/**
 * A picture of the union of `targets` with a margin. The conversation is a scroll container:
 * what is outside its visible part is not painted, so a region taller than the view is taken
 * with a taller viewport (put back afterwards; the page keeps its state).
 */
async function captureRegion(page: Page, targets: Locator[], file: string, margin = 12): Promise<void> {
  const original = page.viewportSize() ?? { width: 1400, height: 1000 };
  let resized = false;
  try {
    // A channel thread is as wide as the view, its cards are not: narrower while it is taken.
    // (A narrower viewport would not do: the playground's layout changes with the width.)
    for (const target of targets)
      await target.evaluate((element, width) => {
        if (element.getBoundingClientRect().width > width) {
          element.dataset.e2eMaxWidth = element.style.maxWidth;
          element.style.maxWidth = `${width}px`;
        }
      }, FOCUS_WIDTH);
    for (let attempt = 0; ; attempt++) {
      // Centred when it fits: the view's header and compose box stay out of the picture.
      await centre(page, targets);
      let boxes = await boxesOf(targets);
      const viewport = page.viewportSize() ?? original;
      const height = Math.max(...boxes.map((b) => b.y + b.height)) - Math.min(...boxes.map((b) => b.y));
      if (height + 2 * margin > viewport.height - 160 && attempt < 3) {
        await page.setViewportSize({ width: viewport.width, height: Math.ceil(height + 2 * margin + 240) });
        resized = true;
        continue;
      }
      if (Math.min(...boxes.map((b) => b.y)) - margin < 0) {
        await targets[0]!.evaluate((element) => element.scrollIntoView({ block: 'start' }));
        await settle(page);
        boxes = await boxesOf(targets);
      }
      const top = Math.max(0, Math.min(...boxes.map((b) => b.y)) - margin);
      const bottom = Math.min(viewport.height, Math.max(...boxes.map((b) => b.y + b.height)) + margin);
      const left = Math.max(0, Math.min(...boxes.map((b) => b.x)) - margin);
      const right = Math.min(viewport.width, Math.max(...boxes.map((b) => b.x + b.width)) + margin);
      await page.screenshot({
        path: file,
        clip: { x: left, y: top, width: right - left, height: bottom - top },
      });
      return;
    }
  } finally {
    for (const target of targets)
      await target
        .evaluate((element) => {
          if (element.dataset.e2eMaxWidth === undefined) return;
          element.style.maxWidth = element.dataset.e2eMaxWidth;
          delete element.dataset.e2eMaxWidth;
        })
        .catch(() => undefined);
    if (resized) {
      await page.setViewportSize(original);
    }
    await settle(page);
  }
}
