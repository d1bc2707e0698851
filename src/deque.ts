/**
 * A FIFO ring buffer: O(1) push, shift and peek, where `Array#shift` costs O(n) on a long queue.
 * The thread pool's task queue and the memory work queue's visible messages both use it.
 */

/** A first-in, first-out queue on a ring buffer that doubles when full. */
export class Deque<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  #length = 0;

  /** The number of items queued. */
  get length(): number {
    return this.#length;
  }

  /** Adds `value` at the back. */
  push(value: T): void {
    if (this.#length === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#length) & (this.#buf.length - 1)] = value;
    this.#length++;
  }

  /** The front item, left in place; `undefined` when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#buf[this.#head];
  }

  /** Removes and returns the front item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const value = this.#buf[this.#head];
    // Cleared so that a consumed item can be collected.
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#length--;
    return value;
  }

  /** Removes and returns, in order, the items matching `pred` (O(n): for rare cancellations). */
  removeWhere(pred: (value: T) => boolean): T[] {
    const removed: T[] = [];
    const n = this.#length;
    for (let i = 0; i < n; i++) {
      const value = this.shift()!;
      if (pred(value)) removed.push(value);
      else this.push(value);
    }
    return removed;
  }

  /** Drops every item, and the memory a long queue grew to. */
  clear(): void {
    this.#buf = new Array(16);
    this.#head = 0;
    this.#length = 0;
  }

  #grow(): void {
    const old = this.#buf;
    const next: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = next;
    this.#head = 0;
  }
}
