/**
 * What the local `Queue`, `JoinableQueue` and `SimpleQueue` share: a ring carrying the items (see
 * ring.ts) and a few words of the ring's header.
 *
 * - `SLOTS` counts items put and not yet got, including those still in a putter's feeder (CPython
 *   counts them the same way: its bounded semaphore is taken before the feeder thread writes). A
 *   bounded `put` takes a slot by compare-and-swap below `maxsize`, so the bound is exact with any
 *   number of producers; `get` gives the slot back after reading the item.
 * - `UNFINISHED` counts items put and not yet reported done (`JoinableQueue`).
 * - `MAXSIZE` is kept in shared memory so that a revived handle can be checked against it.
 */

import { deadlineOf, remaining } from '../../deadline.js';
import { ClosedError, Empty, Full, InvalidArgumentError, OverReleaseError } from '../../errors.js';
import { received } from '../../validate.js';
import { waitWord } from './futex.js';
import { Ring, TIMED_OUT, USER_WORD } from './ring.js';
import { decode } from './ring-codec.js';
import { type Feeder, feederOf } from './ring-feeder.js';

const SLOTS = USER_WORD;
const SLOT_WAITERS = USER_WORD + 1;
const UNFINISHED = USER_WORD + 2;
const JOIN_WAITERS = USER_WORD + 3;
const MAXSIZE = USER_WORD + 4;

/** Ring tags: which kind of queue a ring serves (a handle of one kind cannot revive another). */
export const QUEUE_TAGS = { Queue: 1, JoinableQueue: 2, SimpleQueue: 3 } as const;

/** The kinds of local queue. */
export type QueueKind = keyof typeof QUEUE_TAGS;

/** The plain data of a queue handle. */
export interface QueueData {
  readonly at: number;
  readonly maxsize: number;
}

/** One handle's view of a queue: its ring, its feeder in this thread, and whether it was closed. */
export class QueueCore {
  readonly kind: QueueKind;
  readonly maxsize: number;
  readonly ring: Ring;
  readonly #feeder: Feeder;
  readonly #w: Int32Array;
  #closed = false;
  /** Puts of this handle waiting for a slot, and the end of their line. */
  #waiting = 0;
  #turns: Promise<void> = Promise.resolve();

  constructor(kind: QueueKind, ring: Ring, maxsize: number) {
    this.kind = kind;
    this.ring = ring;
    this.maxsize = maxsize;
    this.#w = ring.words;
    this.#feeder = feederOf(ring);
  }

  /** A new queue of `kind` in the arena. */
  static create(kind: QueueKind, maxsize: unknown): QueueCore {
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0 || maxsize > 0x7fff_ffff) {
      throw new InvalidArgumentError(
        `Expected maxsize to be an integer from 0 to 2147483647, got ${received(maxsize)}`,
      );
    }
    const ring = Ring.create(QUEUE_TAGS[kind]);
    Atomics.store(ring.words, MAXSIZE, maxsize);
    return new QueueCore(kind, ring, maxsize);
  }

  /** Rebuilds a queue from a handle's data, checking every field against the shared state. */
  static revive(kind: QueueKind, data: Readonly<Record<string, unknown>>): QueueCore {
    if (typeof data !== 'object' || data === null) {
      throw new InvalidArgumentError(
        `Malformed ${kind} handle: expected data to be an object, got ${received(data)}`,
      );
    }
    const ring = Ring.revive(data.at, QUEUE_TAGS[kind], kind);
    const maxsize = Atomics.load(ring.words, MAXSIZE);
    if (data.maxsize !== maxsize) {
      throw new InvalidArgumentError(
        `Malformed ${kind} handle: maxsize ${received(data.maxsize)} does not match the queue's ${maxsize}`,
      );
    }
    return new QueueCore(kind, ring, maxsize);
  }

  /** The handle data. */
  data(): QueueData {
    return { at: this.ring.at, maxsize: this.maxsize };
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
  }

  /** Throws {@link ClosedError} once this handle was closed. */
  checkOpen(): void {
    if (this.#closed) throw new ClosedError(`The ${this.kind} is closed`);
  }

  /**
   * Puts an encoded item (a view of the codec's reused buffer: used before any await, or copied);
   * waits for a slot until `deadline` (then {@link Full}). Resolves once the item is counted.
   */
  put(bytes: Uint8Array, deadline: number, joinable: boolean): Promise<void> | undefined {
    this.checkOpen();
    if (this.#waiting === 0 && this.#takeSlot()) {
      this.#enqueue(bytes, joinable);
      return undefined;
    }
    // Puts of this handle that wait for a slot take turns, so that one not awaited before the next
    // still reaches the queue first (a later put must not take a slot freed for an earlier one).
    const copy = new Uint8Array(bytes);
    this.#waiting++;
    const turn = this.#turns
      .then(() => this.#waitSlot(deadline))
      .then(() => this.#enqueue(copy, joinable))
      .finally(() => {
        this.#waiting--;
      });
    this.#turns = turn.catch(() => {});
    return turn;
  }

  #enqueue(bytes: Uint8Array, joinable: boolean): void {
    if (joinable) Atomics.add(this.#w, UNFINISHED, 1);
    // Not awaited: the item is counted and will reach the ring in order (CPython's feeder).
    this.#feeder.send(bytes)?.catch(() => {});
  }

  #takeSlot(): boolean {
    if (this.maxsize === 0) {
      Atomics.add(this.#w, SLOTS, 1);
      return true;
    }
    for (;;) {
      const s = Atomics.load(this.#w, SLOTS);
      if (s >= this.maxsize) return false;
      if (Atomics.compareExchange(this.#w, SLOTS, s, s + 1) === s) return true;
    }
  }

  async #waitSlot(deadline: number): Promise<void> {
    const w = this.#w;
    for (;;) {
      const s = Atomics.load(w, SLOTS);
      if (s < this.maxsize) {
        if (this.#takeSlot()) return;
        continue;
      }
      if (remaining(deadline) === 0) throw new Full();
      Atomics.add(w, SLOT_WAITERS, 1);
      try {
        // waitAsync compares SLOTS to `s` itself, so a get between the load and the wait is not missed.
        await waitWord(w, SLOTS, s, deadline);
      } finally {
        Atomics.sub(w, SLOT_WAITERS, 1);
      }
    }
  }

  /** Resolves the oldest item; {@link Empty} if none began before `deadline`. */
  async get(deadline: number): Promise<unknown> {
    this.checkOpen();
    let item = this.ring.tryRead(decode);
    if (item === TIMED_OUT) item = await this.ring.read(decode, deadline);
    if (item === TIMED_OUT) throw new Empty();
    Atomics.sub(this.#w, SLOTS, 1);
    if (Atomics.load(this.#w, SLOT_WAITERS) > 0) Atomics.notify(this.#w, SLOTS, 1);
    return item;
  }

  qsize(): number {
    return Math.max(0, Atomics.load(this.#w, SLOTS));
  }

  /** `JoinableQueue.taskDone()`: one fewer unfinished item, never below zero. */
  taskDone(): void {
    const w = this.#w;
    for (;;) {
      const u = Atomics.load(w, UNFINISHED);
      if (u <= 0) throw new OverReleaseError('taskDone() called more times than there were items put');
      if (Atomics.compareExchange(w, UNFINISHED, u, u - 1) === u) {
        if (u === 1 && Atomics.load(w, JOIN_WAITERS) > 0) Atomics.notify(w, UNFINISHED);
        return;
      }
    }
  }

  /** `JoinableQueue.join()`: true once no item is unfinished, false at the timeout. */
  async join(timeoutMs: number | undefined): Promise<boolean> {
    const w = this.#w;
    const deadline = deadlineOf(timeoutMs);
    for (;;) {
      const u = Atomics.load(w, UNFINISHED);
      if (u === 0) return true;
      if (remaining(deadline) === 0) return false;
      Atomics.add(w, JOIN_WAITERS, 1);
      try {
        await waitWord(w, UNFINISHED, u, deadline);
      } finally {
        Atomics.sub(w, JOIN_WAITERS, 1);
      }
    }
  }
}
