import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ACData from 'adaptivecards-templating';

export type TemplateName =
  | 'approval'
  | 'receipt'
  | 'notice'
  | 'status'
  | 'pending'
  | 'help'
  | 'request-form'
  | 'message'
  | 'digest'
  | 'report';

// src/cards and dist/cards both sit two levels below the project root, next to cards/.
const CARDS_DIR = join(__dirname, '..', '..', 'cards');
// A Template parses every expression once when built and can then be expanded many times.
const cache = new Map<TemplateName, ACData.Template>();

function load(name: TemplateName): ACData.Template {
  let template = cache.get(name);
  if (!template) {
    template = new ACData.Template(
      JSON.parse(readFileSync(join(CARDS_DIR, `${name}.json`), 'utf8')) as unknown,
    );
    cache.set(name, template);
  }
  return template;
}

/**
 * Fills a template from `cards/`. The data is bound as `$root` (never spliced into the
 * template's text), so `${...}` inside a value is not evaluated; values are also neutralised
 * by `plain()` beforehand. A `${` left in the output means the view model missed a field:
 * adaptivecards-templating keeps unknown expressions verbatim, and Teams would show them.
 */
export function expand(name: TemplateName, data: object): Record<string, unknown> {
  const card = load(name).expand({ $root: data }) as Record<string, unknown>;
  const text = JSON.stringify(card);
  const left = /\$\{[^}]*\}?/.exec(text);
  if (left) throw new Error(`card template "${name}" left ${left[0]} unfilled`);
  return card;
}
