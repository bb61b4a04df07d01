/**
 * An array kept sorted by `compare`, with binary-search insert and remove: what the stores'
 * indexes (queue heads by due time, requests by due time) use. Removal finds the item by
 * identity among those that compare equal, so the key fields of an item must not change while
 * it is in the list (remove it, change it, insert it again).
 */
export class SortedList<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  insert(item: T): void {
    this.items.splice(this.upperBound(item), 0, item);
  }

  remove(item: T): boolean {
    for (
      let i = this.lowerBound(item);
      i < this.items.length && this.compare(this.items[i]!, item) === 0;
      i++
    ) {
      if (this.items[i] === item) {
        this.items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  first(): T | undefined {
    return this.items[0];
  }

  /** In order; stop by returning false. */
  *values(): IterableIterator<T> {
    yield* this.items;
  }

  clear(): void {
    this.items.length = 0;
  }

  private lowerBound(item: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid]!, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private upperBound(item: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
