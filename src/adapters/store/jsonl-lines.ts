import { createReadStream } from 'node:fs';

/**
 * The lines of a JSONL file, split on "\n" only (a "\r" before it is dropped), as readline
 * yielded them: blank lines included, a last line without its newline too.
 *
 * NB: not node:readline. Since Node 22 it also ends a line at U+2028 and U+2029, which
 * JSON.stringify leaves unescaped inside strings: a justification holding one split its record
 * in two, and the audit log failed verification on Node 24 only (found by CI's second run).
 */
export async function* readJsonlLines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file, 'utf8');
  let rest = '';
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const part of parts) yield part.endsWith('\r') ? part.slice(0, -1) : part;
    }
    if (rest) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
  } finally {
    input.destroy();
  }
}
