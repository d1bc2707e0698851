/**
 * The in-flight messages of a `MemoryQueue`, ordered by when each becomes visible again: the
 * queue's one timer watches the earliest, and an acknowledged or re-timed message leaves or moves
 * in O(log n) because every entry knows its position.
 */

/** What the heap orders, and the position it keeps in each entry. */
export interface HeapEntry {
  /** When the entry becomes visible again (the clock's ms). */
  visibleAt: number;
  /** Tie-breaker among equal `visibleAt`: the order of delivery. */
  seq: number;
  /** Position in the heap, -1 when not in it. */
  heapIndex: number;
}

/** A binary min-heap of entries by (`visibleAt`, `seq`) that knows each entry's position, for O(log n) removal. */
export class VisibilityHeap<E extends HeapEntry> {
  readonly #items: E[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): E | undefined {
    return this.#items[0];
  }

  push(entry: E): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  pop(): E | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(entry: E): void {
    const i = entry.heapIndex;
    const last = this.#items.pop()!;
    entry.heapIndex = -1;
    if (last === entry) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.update(last);
  }

  /** Restores the order after `entry.visibleAt` changed. */
  update(entry: E): void {
    this.#up(entry.heapIndex);
    this.#down(entry.heapIndex);
  }

  clear(): void {
    for (const entry of this.#items) entry.heapIndex = -1;
    this.#items.length = 0;
  }

  #less(a: E, b: E): boolean {
    return a.visibleAt < b.visibleAt || (a.visibleAt === b.visibleAt && a.seq < b.seq);
  }

  #up(i: number): void {
    const items = this.#items;
    const entry = items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex]!;
      if (!this.#less(entry, parent)) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const entry = items[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = items[child + 1];
      if (right !== undefined && this.#less(right, items[child]!)) child++;
      const smaller = items[child]!;
      if (!this.#less(smaller, entry)) break;
      items[i] = smaller;
      smaller.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
