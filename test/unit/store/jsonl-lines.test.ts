import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readJsonlLines } from '../../../src/adapters/store/jsonl-lines';

describe('readJsonlLines', () => {
  it('splits on newlines only: U+2028 and U+2029 inside a record (JSON.stringify leaves them raw) keep it whole, on every Node', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'timebox-jsonl-'));
    try {
      const file = path.join(dir, 'a.jsonl');
      const records = [{ reason: 'one\u2028two' }, { reason: 'three\u2029four' }, { reason: 'plain' }];
      writeFileSync(
        file,
        `${records.map((r) => JSON.stringify(r)).join('\n')}\n\r\n${JSON.stringify({ last: true })}`,
      );
      const lines: string[] = [];
      for await (const line of readJsonlLines(file)) lines.push(line);
      expect(lines).toEqual([...records.map((r) => JSON.stringify(r)), '', JSON.stringify({ last: true })]);
      expect(JSON.parse(lines[0]!)).toEqual(records[0]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
