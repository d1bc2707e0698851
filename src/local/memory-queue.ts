/**
 * An in-memory {@link WorkQueue} with SQS's semantics, for the local pool and for engine tests.
 * Messages are copied (see message-copy.ts) so sender and receiver never share references.
 *
 * Performance: the local pool sends every chunk through this queue, so nothing here is O(n) per
 * message. Visible messages wait in a FIFO deque (`src/deque.ts`); in-flight ones sit in an
 * indexed min-heap keyed by `visibleAt` (`visibility-heap.ts`), watched by ONE unref'd timer for
 * the earliest expiry.
 */

import { Deque } from '../deque.js';
import { PayloadTooLargeError, PoolNotRunningError } from '../errors.js';
import type { Delivery, ReceiveOptions, WorkMessage, WorkQueue } from '../ports.js';
import { integer, nonNegative, receiveOptions } from '../validate.js';
import { load, type StoredMessage, store } from './message-copy.js';
import { type HeapEntry, VisibilityHeap } from './visibility-heap.js';

/** Options of {@link MemoryQueue}. */
export interface MemoryQueueOptions {
  /** Visibility timeout of a received message when `receive` names none. @default 30_000 */
  readonly visibilityMs?: number;
  /** Deliveries of a message before it moves to `deadLetter` (only with one). @default 5 */
  readonly maxReceiveCount?: number;
  /** Where a message goes instead of its `maxReceiveCount + 1`-th delivery. @default none */
  readonly deadLetter?: MemoryQueue;
  /** Largest message, as `v8.serialize` bytes (SQS: 1 MiB). @default 1_048_576 */
  readonly maxMessageBytes?: number;
  /** Reported as {@link WorkQueue.maxPayloadBytes}. @default 3/4 of maxMessageBytes (768 KiB) */
  readonly maxPayloadBytes?: number;
  /** The time source, in epoch ms. @default Date.now */
  readonly clock?: () => number;
}

interface Waiter {
  readonly max: number;
  readonly visibilityMs: number;
  readonly finish: (deliveries: Delivery[]) => void;
}

/**
 * An in-memory work queue with SQS semantics: copies on send, visibility timeouts, redelivery,
 * receive counts, long polls, and a move to the dead-letter queue.
 *
 * Choices where SQS leaves room: a dead-lettered message keeps its `messageId` and its receive
 * count (as SQS does), so its first delivery from the dead-letter queue has `receiveCount`
 * `maxReceiveCount + 1`. A receipt stays valid until the message is delivered again, so an `ack`
 * just after the timeout still deletes a message nobody has received since (as SQS does).
 *
 * @example
 * ```ts
 * const dlq = new MemoryQueue();
 * const queue = new MemoryQueue({ deadLetter: dlq, maxReceiveCount: 3 });
 * await queue.send([message]);
 * const [d] = await queue.receive({ max: 1, waitMs: 1000 });
 * if (d) await queue.ack([d.receipt]);
 * ```
 */
export class MemoryQueue implements WorkQueue {
  /** {@inheritDoc WorkQueue.maxPayloadBytes} */
  readonly maxPayloadBytes: number;
  /** Largest serialized message accepted by `send`. */
  readonly maxMessageBytes: number;
  readonly #visibilityMs: number;
  readonly #maxReceiveCount: number;
  readonly #deadLetter: MemoryQueue | undefined;
  readonly #clock: () => number;
  // A per-queue prefix keeps receipts and ids of different queues apart.
  readonly #prefix = Math.random().toString(36).slice(2, 10);
  #ids = 0;
  #deliveries = 0;
  #duplicates = 0;
  #closed = false;
  /** Visible entries in the order they became visible; may hold deleted entries (skipped). */
  readonly #ready = new Deque<QueueEntry>();
  /** Live entries in `#ready`. */
  #visible = 0;
  readonly #inFlight = new VisibilityHeap<QueueEntry>();
  /** Current receipt → entry, until the entry is delivered again, deleted or moved. */
  readonly #receipts = new Map<string, QueueEntry>();
  #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  constructor(options: MemoryQueueOptions = {}) {
    const visibilityMs = nonNegative(options.visibilityMs ?? 30_000, 'options.visibilityMs');
    const maxReceiveCount = integer(options.maxReceiveCount ?? 5, 'options.maxReceiveCount', 1);
    const maxMessageBytes = integer(options.maxMessageBytes ?? 1_048_576, 'options.maxMessageBytes', 1);
    // Below the message size, as SQS's payload is (its base64 and envelope take the rest).
    const maxPayloadBytes = integer(
      options.maxPayloadBytes ?? Math.floor((maxMessageBytes * 3) / 4),
      'options.maxPayloadBytes',
      0,
      maxMessageBytes - 1,
    );
    this.#visibilityMs = visibilityMs;
    this.#maxReceiveCount = maxReceiveCount;
    this.#deadLetter = options.deadLetter;
    this.maxMessageBytes = maxMessageBytes;
    this.maxPayloadBytes = maxPayloadBytes;
    this.#clock = options.clock ?? Date.now;
  }

  /** {@inheritDoc WorkQueue.send} Throws {@link PayloadTooLargeError} (sending none) if one is too large. */
  async send(messages: readonly WorkMessage[]): Promise<void> {
    if (this.#closed) throw new PoolNotRunningError('closed', 'MemoryQueue.send');
    // Serialize all first: an oversized message must leave the whole call unsent.
    const encoded: StoredMessage[] = [];
    for (let i = 0; i < messages.length; i++) {
      const { stored, size } = store(messages[i]);
      if (size > this.maxMessageBytes) {
        throw new PayloadTooLargeError(`Message ${i} of ${messages.length}`, size, this.maxMessageBytes);
      }
      encoded.push(stored);
    }
    for (const bytes of encoded) {
      const messageId = `${this.#prefix}-m${++this.#ids}`;
      this.#enqueue(messageId, bytes, 0);
      if (this.#duplicates > 0) {
        // SQS's at-least-once: the same message (same id) stored twice.
        this.#duplicates--;
        this.#enqueue(messageId, bytes, 0);
      }
    }
    this.#drain();
  }

  /** {@inheritDoc WorkQueue.receive} */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const { max, waitMs, signal } = options;
    const visibilityMs = options.visibilityMs ?? this.#visibilityMs;
    receiveOptions({ ...options, visibilityMs });
    if (this.#closed || signal?.aborted) return [];
    this.#promote();
    const got = this.#take(max, visibilityMs);
    if (got.length > 0 || waitMs === 0) return got;
    return new Promise<Delivery[]>((resolve) => {
      const waiter: Waiter = {
        max,
        visibilityMs,
        finish: (deliveries) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', giveUp);
          resolve(deliveries);
        },
      };
      const giveUp = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        waiter.finish([]);
      };
      // A receiver waiting for messages never keeps the process alive (the local host polls for
      // ever, and an idle pool must let a program that forgot terminate() exit): whatever would
      // send a message keeps the process alive itself, and a send wakes the waiter at once.
      const timer = setTimeout(giveUp, waitMs).unref();
      signal?.addEventListener('abort', giveUp, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** {@inheritDoc WorkQueue.ack} */
  async ack(receipts: readonly string[]): Promise<void> {
    for (const receipt of receipts) {
      const entry = this.#receipts.get(receipt);
      if (entry === undefined) continue;
      this.#receipts.delete(receipt);
      if (entry.state === 'inFlight') this.#inFlight.remove(entry);
      else if (entry.state === 'ready') this.#visible--; // its slot in the deque is skipped later
      entry.state = 'gone';
    }
  }

  /**
   * {@inheritDoc WorkQueue.setVisibility} A stale receipt, or one whose message has already become
   * visible again, is ignored (SQS answers the latter with MessageNotInflight).
   */
  async setVisibility(receipts: readonly string[], ms: number): Promise<void> {
    nonNegative(ms, 'ms');
    // Expire first, so a timeout that has passed counts as passed whether or not the timer ran yet.
    this.#promote();
    const visibleAt = this.#clock() + ms;
    let shown = false;
    for (const receipt of receipts) {
      const entry = this.#receipts.get(receipt);
      if (entry === undefined || entry.state !== 'inFlight') continue;
      if (ms === 0) {
        this.#inFlight.remove(entry);
        this.#makeVisible(entry);
        shown = true;
        continue;
      }
      entry.visibleAt = visibleAt;
      this.#inFlight.update(entry);
    }
    if (shown) this.#drain();
    this.#schedule();
  }

  /** Test helper: the next `n` messages sent are each stored twice, with the same `messageId`. */
  duplicateNext(n = 1): void {
    integer(n, 'n', 0);
    this.#duplicates += n;
  }

  /** Messages waiting to be received, and messages received but neither acknowledged nor expired. */
  depth(): { visible: number; inFlight: number } {
    this.#promote();
    this.#drain();
    return { visible: this.#visible, inFlight: this.#inFlight.size };
  }

  /** Test helper for an injected clock: re-reads it, making expired messages visible to waiting receives. */
  tick(): void {
    this.#promote();
    this.#drain();
    this.#schedule();
  }

  /** Resolves pending receives with `[]`, clears the timer and drops every message. Later sends throw. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiters.splice(0)) waiter.finish([]);
    this.#ready.clear();
    this.#inFlight.clear();
    this.#receipts.clear();
    this.#visible = 0;
  }

  #enqueue(messageId: string, bytes: StoredMessage, receiveCount: number): void {
    const entry: QueueEntry = {
      messageId,
      bytes,
      receiveCount,
      receipt: undefined,
      visibleAt: 0,
      seq: 0,
      heapIndex: -1,
      state: 'ready',
    };
    this.#makeVisible(entry);
  }

  #makeVisible(entry: QueueEntry): void {
    entry.state = 'ready';
    this.#ready.push(entry);
    this.#visible++;
  }

  /** Delivers up to `max` visible messages, moving those past `maxReceiveCount` to the dead-letter queue. */
  #take(max: number, visibilityMs: number): Delivery[] {
    const out: Delivery[] = [];
    if (this.#visible === 0) return out;
    const visibleAt = this.#clock() + visibilityMs;
    while (out.length < max && this.#visible > 0) {
      const entry = this.#ready.shift();
      if (entry === undefined) break;
      if (entry.state !== 'ready') continue; // acked while visible
      this.#visible--;
      // The previous delivery's receipt becomes stale only now, when the message is delivered again.
      if (entry.receipt !== undefined) this.#receipts.delete(entry.receipt);
      if (this.#deadLetter !== undefined && entry.receiveCount >= this.#maxReceiveCount) {
        entry.state = 'gone';
        this.#deadLetter.#adopt(entry);
        continue;
      }
      entry.receiveCount++;
      entry.receipt = `${this.#prefix}-r${++this.#deliveries}`;
      entry.visibleAt = visibleAt;
      entry.seq = this.#deliveries;
      entry.state = 'inFlight';
      this.#receipts.set(entry.receipt, entry);
      this.#inFlight.push(entry);
      out.push({
        body: load(entry.bytes),
        messageId: entry.messageId,
        receipt: entry.receipt,
        receiveCount: entry.receiveCount,
      });
    }
    if (out.length > 0) this.#schedule();
    return out;
  }

  #adopt(entry: QueueEntry): void {
    if (this.#closed) return;
    this.#enqueue(entry.messageId, entry.bytes, entry.receiveCount);
    this.#drain();
  }

  /** Hands visible messages to waiting receives, oldest waiter first. */
  #drain(): void {
    while (this.#waiters.length > 0 && this.#visible > 0) {
      const waiter = this.#waiters[0]!;
      const got = this.#take(waiter.max, waiter.visibilityMs);
      if (got.length === 0) break; // everything visible went to the dead-letter queue
      this.#waiters.shift();
      waiter.finish(got);
    }
  }

  /** Makes every in-flight message whose timeout has passed visible again. */
  #promote(): void {
    const now = this.#clock();
    for (
      let top = this.#inFlight.peek();
      top !== undefined && top.visibleAt <= now;
      top = this.#inFlight.peek()
    ) {
      this.#inFlight.pop();
      this.#makeVisible(top);
    }
  }

  /** Keeps the one timer due at (or before) the earliest expiry. */
  #schedule(): void {
    const top = this.#inFlight.peek();
    if (top === undefined || this.#closed || (this.#timer !== undefined && this.#timerAt <= top.visibleAt))
      return;
    clearTimeout(this.#timer);
    this.#timerAt = top.visibleAt;
    // At least 1 ms: timers may fire a little before Date.now() reaches the target, and a frozen
    // test clock must not turn this into a busy loop.
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(1, top.visibleAt - this.#clock()));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#promote();
    this.#drain();
    this.#schedule();
  }
}

interface QueueEntry extends HeapEntry {
  readonly messageId: string;
  /** The stored copy; every delivery gets a fresh copy of it (see message-copy.ts). */
  readonly bytes: StoredMessage;
  receiveCount: number;
  /** The latest delivery's receipt. */
  receipt: string | undefined;
  state: 'ready' | 'inFlight' | 'gone';
}
