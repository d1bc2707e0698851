/**
 * A host's own receive loop (the local context's host, and a worker Lambda draining the queue):
 * long-polls the work queue while there is room, gathers what is already waiting so small chunks
 * share thread round trips, and hands what it got to the host. It also tells when the queue has
 * gone quiet: `idle(n)` resolves after `n` receives in a row found nothing while nothing was in
 * flight (a draining worker ends there).
 *
 * Every receive asks for a full batch ({@link RECEIVE_MAX}, SQS's most): it waits until the host
 * has room for one (or holds nothing), rather than asking for the one or two messages a nearly
 * full host has room for. A receive, its delete and its shard-counter write then carry ten chunks,
 * not one. What the threads cannot start at once waits in the host, held like the rest: renewed by
 * the host's visibility heartbeat, handed back with the rest at a deadline.
 */
import type { Delivery, WorkQueue } from '../ports.js';

/** Options of {@link ReceiveLoop}. */
export interface ReceiveLoopOptions {
  readonly queue: WorkQueue;
  /** Visibility asked for on receive. */
  readonly visibilityMs: number;
  /** Long-poll wait of each receive. */
  readonly waitMs: number;
  /** Messages in flight at most. */
  readonly capacity: number;
  /** Deliveries in progress in the host. */
  readonly held: () => number;
  /** Starts the work of what was received. */
  readonly dispatch: (got: Delivery[]) => void;
  /** True once the host died: what it received then is left alone. */
  readonly dead: () => boolean;
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Messages gathered per dispatch when they are already waiting. */
const GATHER_MAX = 256;

/** The most messages one receive returns (SQS's limit): what every receive asks for. */
export const RECEIVE_MAX = 10;

/** The loop; see the module comment. */
export class ReceiveLoop {
  readonly #o: ReceiveLoopOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  /** Wakes the loop when it waits for room. */
  #wake: (() => void) | undefined;
  /** Receives in a row that found the queue empty with nothing in flight. */
  #emptyPolls = 0;
  #idleWaiters: { readonly polls: number; readonly resolve: () => void }[] = [];
  #received = 0;

  constructor(options: ReceiveLoopOptions) {
    this.#o = options;
  }

  /** Deliveries received so far, over every start. */
  get received(): number {
    return this.#received;
  }

  /** Starts receiving (again, after {@link halt}); the idle count starts afresh. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#emptyPolls = 0;
    this.#idleWaiters = [];
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Stops receiving at once (a long poll in progress is given up); {@link ended} resolves after. */
  halt(): void {
    this.#running = false;
    this.#abort.abort();
    this.roomFreed();
  }

  /** Resolves once the loop has stopped. */
  async ended(): Promise<void> {
    await this.#loop;
  }

  /** The host finished some work: the loop may receive again. */
  roomFreed(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Resolves once `polls` receives in a row found the queue empty while nothing was in flight. */
  idle(polls: number): Promise<void> {
    if (this.#emptyPolls >= polls) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push({ polls, resolve }));
  }

  async #run(): Promise<void> {
    const { queue, capacity, visibilityMs } = this.#o;
    const signal = this.#abort.signal;
    while (this.#running) {
      const held = this.#o.held();
      const room = capacity - held;
      // Refill in bulk, not one message per completion: room for a full receive (and a quarter of
      // the capacity, for a large one) keeps a receive, its delete and its counter write carrying
      // ten chunks, and small chunks grouped into few thread round trips.
      const full = Math.min(RECEIVE_MAX, capacity);
      if (room <= 0 || (held > 0 && room < Math.max(full, capacity / 4))) {
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      let got: Delivery[];
      try {
        got = await queue.receive({
          max: Math.min(RECEIVE_MAX, room),
          waitMs: this.#o.waitMs,
          visibilityMs,
          signal,
        });
        // Gather what is already waiting (while the room left takes a full receive) without
        // waiting, so small chunks share thread round trips: one receive returns at most 10
        // messages, as on SQS.
        while (got.length > 0 && room - got.length >= full && got.length < GATHER_MAX && this.#running) {
          const more = await queue.receive({
            max: Math.min(RECEIVE_MAX, room - got.length),
            waitMs: 0,
            visibilityMs,
          });
          if (more.length === 0) break;
          got = got.concat(more);
        }
      } catch (e) {
        if (!this.#running) break;
        this.#o.onError?.(e);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (this.#o.dead()) return;
      if (!this.#running) {
        // Stopped while receiving: hand the messages back at once rather than sitting on them.
        if (got.length > 0) {
          const receipts = got.map((d) => d.receipt);
          await queue.setVisibility(receipts, 0).catch((e) => this.#o.onError?.(e));
        }
        return;
      }
      this.#received += got.length;
      this.#countPoll(got.length);
      this.#o.dispatch(got);
    }
  }

  /** Counts empty receives toward the idle signal; any message, or work in flight, resets it. */
  #countPoll(received: number): void {
    this.#emptyPolls = received === 0 && this.#o.held() === 0 ? this.#emptyPolls + 1 : 0;
    for (let i = this.#idleWaiters.length - 1; i >= 0; i--) {
      const w = this.#idleWaiters[i]!;
      if (this.#emptyPolls < w.polls) continue;
      this.#idleWaiters.splice(i, 1);
      w.resolve();
    }
  }
}
