/**
 * The host's visibility heartbeat: a host holds each message it works on for a short visibility
 * timeout (`visibilityMs`, 30 s on Lambda) and renews it every third of that while the work goes
 * on, so a host that dies loses its messages within `visibilityMs` and a long chunk is never
 * redelivered while it runs. One round renews every held receipt with ONE batched call
 * (`WorkQueue.setVisibility`: 10 receipts per SQS request), whatever the number of messages.
 *
 * One round at a time: on a slow queue service, rounds started every third of the visibility
 * without waiting for the last piled up (thousands of requests queued behind the client's
 * sockets, measured on a loaded emulator) and starved the acknowledgements and job writes.
 * The timer runs only while something is held, so an idle host (or a frozen Lambda) has none.
 */
import type { WorkQueue } from '../ports.js';

/** Options of {@link Heartbeat}. */
export interface HeartbeatOptions {
  /** The queue the held messages came from. */
  readonly queue: WorkQueue;
  /** The visibility each round gives the held messages; a round starts every third of it. */
  readonly visibilityMs: number;
  /** False once the host died: a dead host renews nothing. */
  readonly alive: () => boolean;
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Renews the visibility of the receipts it holds; see the module comment. */
export class Heartbeat {
  readonly #o: HeartbeatOptions;
  readonly #receipts = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  /** The round whose answers are still awaited. */
  #round: Promise<void> | undefined;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
  }

  /** Receipts renewed by the next rounds. */
  get size(): number {
    return this.#receipts.size;
  }

  /** Renews these receipts from the next round on, until {@link delete}. */
  add(receipts: Iterable<string>): void {
    for (const r of receipts) this.#receipts.add(r);
    if (this.#receipts.size > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#beat(), Math.max(10, this.#o.visibilityMs / 3));
      this.#timer.unref();
    }
  }

  /** Stops renewing these receipts (acknowledged, released or handed back). */
  delete(receipts: Iterable<string>): void {
    for (const r of receipts) this.#receipts.delete(r);
    if (this.#receipts.size === 0) this.#disarm();
  }

  /**
   * Resolves once no round is in flight: a visibility change made after it (a hand-back's `0`) is
   * then not overtaken by a renewal sent before it.
   */
  async settled(): Promise<void> {
    await this.#round;
  }

  /** Renews nothing more. */
  stop(): void {
    this.#receipts.clear();
    this.#disarm();
  }

  #disarm(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #beat(): void {
    if (this.#round !== undefined || this.#receipts.size === 0) return;
    if (!this.#o.alive()) {
      this.stop();
      return;
    }
    this.#round = this.#o.queue
      .setVisibility([...this.#receipts], this.#o.visibilityMs)
      .catch((e) => this.#o.onError?.(e))
      .finally(() => {
        this.#round = undefined;
      });
  }
}
