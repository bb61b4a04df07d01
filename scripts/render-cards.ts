// Renders every Timebox card in headless Chromium with the `adaptivecards` renderer and saves
// screenshots to docs/cards/<card>-<state>.png. Exits non-zero on any parse or render problem.
// Usage: npx tsx scripts/render-cards.ts [name-filter]
import { join } from 'node:path';
import { cardCatalog } from '../test/unit/cards/card-catalog';
import { renderInBrowser } from '../test/unit/cards/browser-render';

async function main(): Promise<void> {
  const filter = process.argv[2];
  const entries = cardCatalog().filter((e) => !filter || e.name.includes(filter));
  const outDir = join(__dirname, '..', 'docs', 'cards');
  const results = await renderInBrowser(entries, outDir);
  const failed = results.filter((r) => r.problems.length > 0);
  for (const r of failed) console.error(`✖ ${r.name}\n  ${r.problems.join('\n  ')}`);
  console.log(`${results.length - failed.length}/${results.length} cards rendered cleanly into ${outDir}`);
  if (failed.length > 0) process.exit(1);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
