import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './e2e-stack';

/**
 * The README's "Try it locally" section as a reader follows it: the commands are read from the
 * README itself, so that a test walking them fails when the README and the product part ways.
 */
export class ReadmeTryout {
  private constructor(readonly section: string) {}

  static read(file = path.join(ROOT, 'README.md')): ReadmeTryout {
    const readme = readFileSync(file, 'utf8');
    const start = readme.indexOf('\n## Try it locally');
    if (start < 0) throw new Error(`${file} has no "## Try it locally" section`);
    const end = readme.indexOf('\n## ', start + 1);
    return new ReadmeTryout(readme.slice(start, end < 0 ? undefined : end));
  }

  /**
   * Every line of the section's fenced code blocks, without its trailing "(comment)": e.g.
   * "npm run dev:as -- megan approve R-XXXXXX     (second terminal: 1 of 2)".
   */
  codeLines(): string[] {
    const lines: string[] = [];
    for (const block of this.section.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm))
      for (const line of block[1]!.split('\n'))
        if (line.trim()) lines.push(line.replace(/\s{2,}\(.*\)\s*$/, '').trim());
    return lines;
  }

  /** The one code line (or inline `code`) that starts with `prefix`; throws when there is none or several. */
  command(prefix: string): string {
    const inline = [...this.section.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!.trim());
    const found = [...new Set([...this.codeLines(), ...inline].filter((line) => line.startsWith(prefix)))];
    if (found.length !== 1)
      throw new Error(
        `the README's try-out has ${found.length} commands starting with "${prefix}"${found.length ? `: ${found.join(' | ')}` : ''}`,
      );
    return found[0]!;
  }
}

export interface NpmRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an `npm run …` command line as a reader types it in a second terminal (words split on
 * spaces; no shell), in the project root. `env` points it at the test's stack instead of the
 * defaults of `npm run dev`.
 */
export function runNpmCommand(commandLine: string, env: NodeJS.ProcessEnv): Promise<NpmRun> {
  const [npm, ...args] = commandLine.split(/\s+/);
  if (npm !== 'npm') throw new Error(`not an npm command: ${commandLine}`);
  // jest sets NODE_ENV=test, which switches the store's presets; a reader's shell has none.
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_ENV;
  return new Promise((resolve) => {
    execFile('npm', args, { cwd: ROOT, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
