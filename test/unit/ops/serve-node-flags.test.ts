import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVE_NODE_FLAGS } from '../../../src/serve-node-flags';

const ROOT = path.join(__dirname, '..', '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('the bot runs with the same Node flags wherever it is started', () => {
  const flags = SERVE_NODE_FLAGS.join(' ');

  it('sets a heap limit and a small young generation', () => {
    expect(SERVE_NODE_FLAGS.some((f) => /^--max-old-space-size=\d+$/.test(f))).toBe(true);
    expect(SERVE_NODE_FLAGS.some((f) => /^--max-semi-space-size=\d+$/.test(f))).toBe(true);
  });

  it('the container image sets them as NODE_OPTIONS', () => {
    const options = /NODE_OPTIONS="([^"]*)"/.exec(read('Containerfile'));
    expect(options?.[1]).toBe(flags);
  });

  it('npm start passes them to `timebox serve`', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toBe(`node ${flags} dist/cli.js serve`);
  });

  it('Node accepts every one of them in NODE_OPTIONS', () => {
    // Node refuses a flag NODE_OPTIONS does not allow ("is not allowed in NODE_OPTIONS") at start.
    const limit = execFileSync(
      process.execPath,
      ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'],
      { env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: flags }, encoding: 'utf8' },
    );
    const oldSpaceMb = Number(/--max-old-space-size=(\d+)/.exec(flags)![1]);
    expect(Number(limit) / 2 ** 20).toBeGreaterThanOrEqual(oldSpaceMb);
    expect(Number(limit) / 2 ** 20).toBeLessThan(oldSpaceMb + 100);
  });
});
