/** Where one version of a closed request is in history.jsonl, and what lookups need without reading it. */
export interface HistoryEntry {
  offset: number;
  length: number;
  requesterId: string;
  groupId: string;
  /** `mayHoldMembership` of this version. */
  holds: boolean;
}

const FIRST_CAPACITY = 1024;

/**
 * The history's in-memory index: per closed request (a slot), where its newest line is and the
 * few fields lookups need, kept in typed columns. NB: an object per request (and the property
 * array its rest-spread gave it) was two thirds of the index: 17 MB of the heap for 100,000
 * closed requests, all of it old-generation memory the heap grew by. Columns take 17 bytes a
 * request; with the id (the key) and its slot, ~90 bytes in all.
 */
export class HistoryIndex {
  private readonly slots = new Map<string, number>();
  private offsets = new Float64Array(FIRST_CAPACITY);
  private lengths = new Uint32Array(FIRST_CAPACITY);
  private groups = new Uint32Array(FIRST_CAPACITY);
  private holding = new Uint8Array(FIRST_CAPACITY);
  /** Slots per requester, in closing order (a re-closed id keeps its first place). */
  private readonly byRequester = new Map<number, number[]>();
  /**
   * One copy of each requester and group id, by number: 100,000 closed requests name a few
   * thousand people and a few dozen groups.
   */
  private readonly names: string[] = [];
  private readonly nameNumbers = new Map<string, number>();

  get size(): number {
    return this.slots.size;
  }

  slotOf(id: string): number | undefined {
    return this.slots.get(id);
  }

  /** Records where the newest version of `id` is; returns its slot. */
  put(id: string, entry: HistoryEntry): number {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot === this.offsets.length) this.grow();
      this.slots.set(id, slot);
      const requester = this.numberOf(entry.requesterId);
      let mine = this.byRequester.get(requester);
      if (!mine) this.byRequester.set(requester, (mine = []));
      mine.push(slot);
    }
    this.offsets[slot] = entry.offset;
    this.lengths[slot] = entry.length;
    this.groups[slot] = this.numberOf(entry.groupId);
    this.holding[slot] = entry.holds ? 1 : 0;
    return slot;
  }

  /** Where the slot's line is: offset and length in the file. */
  placeOf(slot: number): { offset: number; length: number } {
    return { offset: this.offsets[slot]!, length: this.lengths[slot]! };
  }

  /** The slots of one requester (ids lower-case), oldest closed first. */
  slotsOf(requesterId: string): readonly number[] {
    const requester = this.nameNumbers.get(requesterId);
    return (requester !== undefined && this.byRequester.get(requester)) || [];
  }

  /** Whether the slot's version may still hold the membership of `groupId` (lower-case). */
  holds(slot: number, groupId: string): boolean {
    return this.holding[slot] === 1 && this.names[this.groups[slot]!] === groupId;
  }

  private numberOf(name: string): number {
    let n = this.nameNumbers.get(name);
    if (n === undefined) {
      n = this.names.length;
      this.names.push(name);
      this.nameNumbers.set(name, n);
    }
    return n;
  }

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
    this.lengths = bigger(Uint32Array, this.lengths);
    this.groups = bigger(Uint32Array, this.groups);
    this.holding = bigger(Uint8Array, this.holding);
  }
}
