import { HistoryIndex, type HistoryEntry } from '../../../src/adapters/store/history-index';

const entryOf = (n: number, overrides: Partial<HistoryEntry> = {}): HistoryEntry => ({
  offset: n * 1000,
  length: 900 + (n % 7),
  requesterId: `person-${n % 3}`,
  groupId: `group-${n % 2}`,
  holds: n % 2 === 0,
  createdAt: 1_700_000_000_000 + n,
  head: 120,
  insight: 60,
  ...overrides,
});

describe('HistoryIndex', () => {
  it('keeps every field of 3,000 rows across the columns growing (past 1,024 and 2,048)', () => {
    const index = new HistoryIndex();
    for (let n = 0; n < 3000; n++) expect(index.put(`R-${n}`, entryOf(n))).toBe(n);
    expect(index.size).toBe(3000);
    for (const n of [0, 1023, 1024, 2047, 2048, 2999]) {
      const row = index.rowOf(`R-${n}`)!;
      const e = entryOf(n);
      expect(index.line(row)).toEqual({ row, offset: e.offset, length: e.length, head: 120, insight: 60 });
      expect([index.createdAt(row), index.groupOf(row), index.holds(row)]).toEqual([
        e.createdAt,
        e.groupId,
        e.holds,
      ]);
    }
    expect(index.rowOf('R-3000')).toBeUndefined();
    expect(index.rowsOf('person-1').slice(0, 3)).toEqual([1, 4, 7]);
    expect(index.rowsOf('nobody')).toEqual([]);
  });

  it('a later version overwrites its row and keeps its place in its requester list and in row order', () => {
    const index = new HistoryIndex();
    index.put('R-a', entryOf(0));
    index.put('R-b', entryOf(3));
    const row = index.put(
      'R-a',
      entryOf(0, { offset: 2 ** 33, groupId: 'group-9', holds: false, createdAt: 5 }),
    );
    expect(row).toBe(0);
    expect(index.size).toBe(2);
    expect(index.line(0).offset).toBe(2 ** 33); // beyond 2^31: a Float64 column
    expect([index.groupOf(0), index.holds(0), index.createdAt(0)]).toEqual(['group-9', false, 5]);
    expect(index.rowsOf('person-0')).toEqual([0, 1]);
    expect([...index.ids()]).toEqual([
      ['R-a', 0],
      ['R-b', 1],
    ]);
  });
});
