/** What the history records for one version of a closed request (the last one put for an id wins). */
export interface HistoryEntry {
  /** Where the line starts in the file (bytes; may exceed 2^31). */
  offset: number;
  /** The line's length in bytes, without its newline. */
  length: number;
  requesterId: string;
  groupId: string;
  /** `mayHoldMembership` of this version. */
  holds: boolean;
  /** The request's `createdAt` (the same in every version): `createdBetween` reads only its period. */
  createdAt: number;
  /** Bytes of the header before the request's JSON (which ends one byte before the line); 0 = no header. */
  head: number;
  /** Where the insight record's JSON starts in the line (it ends before `,"request":`); 0 = none. */
  insight: number;
}

/** Where one row's line is, copied out of the columns: what a read needs (see `HistoryIndex.line`). */
export interface HistoryLine {
  row: number;
  offset: number;
  length: number;
  head: number;
  insight: number;
}

const FIRST_CAPACITY = 1024;

/**
 * The history's in-memory index, one row per closed request id, the fields of its newest
 * version in typed columns. NB: an object per request (with the property array a spread gave
 * it, and a heap number per offset and date) was ~16 MB of the heap for 100,000 closed
 * requests; the columns take 33 bytes a row, outside the heap, and the rest is the id (which
 * lookups need), its Map slot and the row in its requester's list.
 *
 * Rows are numbered in the order ids were first put and never move: a later version of an id
 * overwrites its row, as `Map.set` keeps a key's first place. So walking rows 0…size-1 is the
 * order an id → entry Map iterated in, which `History` relied on.
 */
export class HistoryIndex {
  private readonly rows = new Map<string, number>();
  private offsets = new Float64Array(FIRST_CAPACITY);
  private createdAts = new Float64Array(FIRST_CAPACITY);
  private lengths = new Uint32Array(FIRST_CAPACITY);
  private heads = new Uint32Array(FIRST_CAPACITY);
  private insights = new Uint32Array(FIRST_CAPACITY);
  /** Numbers into `groupNames`: 100,000 closed requests name a few dozen groups. */
  private groups = new Uint32Array(FIRST_CAPACITY);
  private holding = new Uint8Array(FIRST_CAPACITY);
  private readonly groupNames: string[] = [];
  private readonly groupNumbers = new Map<string, number>();
  /**
   * Each requester's rows in the order their ids were first put (closing order). No requester
   * column: the requester only says which list a new row joins (a later version keeps its
   * place), and the key is one string per person, however many requests they made.
   */
  private readonly byRequester = new Map<string, number[]>();

  get size(): number {
    return this.rows.size;
  }

  rowOf(id: string): number | undefined {
    return this.rows.get(id);
  }

  /** Ids and their rows, in row order. */
  ids(): IterableIterator<[string, number]> {
    return this.rows.entries();
  }

  /** Records the newest version of `id`: overwrites its row, or takes the next one. Returns the row. */
  put(id: string, entry: HistoryEntry): number {
    let row = this.rows.get(id);
    if (row === undefined) {
      row = this.rows.size;
      if (row === this.offsets.length) this.grow();
      this.rows.set(id, row);
      const mine = this.byRequester.get(entry.requesterId);
      if (mine) mine.push(row);
      else this.byRequester.set(entry.requesterId, [row]);
    }
    this.offsets[row] = entry.offset;
    this.lengths[row] = entry.length;
    this.createdAts[row] = entry.createdAt;
    this.heads[row] = entry.head;
    this.insights[row] = entry.insight;
    this.groups[row] = this.groupNumber(entry.groupId);
    this.holding[row] = entry.holds ? 1 : 0;
    return row;
  }

  /**
   * The rows of one requester (as put: lower-case), oldest closed first. The list itself, not a
   * copy: rows put while a caller walks it are seen, as they were when it held ids.
   */
  rowsOf(requesterId: string): readonly number[] {
    return this.byRequester.get(requesterId) ?? [];
  }

  createdAt(row: number): number {
    return this.createdAts[row]!;
  }

  groupOf(row: number): string {
    return this.groupNames[this.groups[row]!]!;
  }

  holds(row: number): boolean {
    return this.holding[row] === 1;
  }

  /**
   * Where the row's line is now, as a copy: a read under way (an await later) must not follow
   * the row to a newer version put meanwhile, as it did not when it held that version's entry.
   */
  line(row: number): HistoryLine {
    return {
      row,
      offset: this.offsets[row]!,
      length: this.lengths[row]!,
      head: this.heads[row]!,
      insight: this.insights[row]!,
    };
  }

  private groupNumber(name: string): number {
    let n = this.groupNumbers.get(name);
    if (n === undefined) {
      n = this.groupNames.length;
      this.groupNames.push(name);
      this.groupNumbers.set(name, n);
    }
    return n;
  }

  /** Doubles every column (amortised O(1) a put; at most half of the columns unused). */
  private grow(): void {
    const capacity = this.offsets.length * 2;
    const bigger = <A extends Float64Array | Uint32Array | Uint8Array>(
      make: new (n: number) => A,
      from: A,
    ): A => {
      const to = new make(capacity);
      to.set(from);
      return to;
    };
    this.offsets = bigger(Float64Array, this.offsets);
    this.createdAts = bigger(Float64Array, this.createdAts);
    this.lengths = bigger(Uint32Array, this.lengths);
    this.heads = bigger(Uint32Array, this.heads);
    this.insights = bigger(Uint32Array, this.insights);
    this.groups = bigger(Uint32Array, this.groups);
    this.holding = bigger(Uint8Array, this.holding);
  }
}
