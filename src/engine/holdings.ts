/**
 * What a worker host holds: the deliveries whose work is in progress, kept invisible by the
 * visibility heartbeat (`heartbeat.ts`) until they are settled, and handed back all at once when
 * the host must stop early (a Lambda nearing its timeout). `host.ts` runs the work; this file keeps
 * the book of who holds which message, so that a delivery is settled once: after a hand-back the
 * message is someone else's, and nothing more is acknowledged or released for it here.
 *
 * Two kinds of deliveries: those of the host's own receive loop (acknowledging deletes them, so
 * their renewal stops) and those of a batch handed in (an SQS event source mapping's, which deletes
 * the acknowledged ones only when the batch ends: renewed till then).
 */
import { ChunkTimeLimitError, serializeError } from '../errors.js';
import type { Backend, Delivery } from '../ports.js';
import type { ChunkMessage } from './chunk-input.js';
import type { ChunkExecutor } from './executor.js';
import { Heartbeat } from './heartbeat.js';

/** A delivery whose work is in progress. */
export interface Held {
  readonly d: Delivery;
  /** Its chunk, once parsed (undefined for a finalise message). */
  readonly m: ChunkMessage | undefined;
  /** Its chunk was handed to the executor (a hand-back notes the time limit for it). */
  running: boolean;
}

/** Options of {@link Holdings}. */
export interface HoldingsOptions {
  readonly backend: Backend;
  readonly executor: ChunkExecutor;
  /** How long a held message stays invisible; renewed every third of it. */
  readonly visibilityMs: number;
  /** False once the host died: a dead host renews nothing. */
  readonly alive: () => boolean;
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** The deliveries a host holds; see the module comment. */
export class Holdings {
  readonly #o: HoldingsOptions;
  readonly #heartbeat: Heartbeat;
  /** Deliveries whose work is in progress, by receipt. */
  readonly #held = new Map<string, Held>();
  /** Receipts of batches handed in and not yet ended. */
  readonly #batch = new Set<string>();
  /** Receipts handed back while their work went on. */
  readonly #handedBack = new Set<string>();

  constructor(options: HoldingsOptions) {
    this.#o = options;
    this.#heartbeat = new Heartbeat({
      queue: options.backend.queue,
      visibilityMs: options.visibilityMs,
      alive: options.alive,
      onError: options.onError,
    });
  }

  /** Deliveries whose work is in progress (those handed back included, until their work ends). */
  get size(): number {
    return this.#held.size;
  }

  /** Some work is in progress that was not handed back. */
  busy(): boolean {
    for (const r of this.#held.keys()) if (!this.#handedBack.has(r)) return true;
    return false;
  }

  /** The jobs of the chunks in progress. */
  jobs(): string[] {
    return [...new Set([...this.#held.values()].flatMap((h) => (h.m ? [h.m.jobId] : [])))];
  }

  /**
   * A batch handed in: its messages are held for `visibilityMs` from now, with one batched call,
   * and renewed until {@link endBatch}. Resolves when the call is answered (never rejects).
   */
  async beginBatch(receipts: readonly string[]): Promise<void> {
    for (const r of receipts) this.#batch.add(r);
    this.#heartbeat.add(receipts);
    await this.#o.backend.queue
      .setVisibility(receipts, this.#o.visibilityMs)
      .catch((e) => this.#o.onError?.(e));
  }

  /** The batch ended: its messages are deleted or released by whoever handed it in. */
  endBatch(receipts: readonly string[]): void {
    for (const r of receipts) this.#batch.delete(r);
    this.#heartbeat.delete(receipts);
  }

  /** Work on these deliveries begins. */
  take(taken: readonly { readonly d: Delivery; readonly m: ChunkMessage | undefined }[]): void {
    for (const { d, m } of taken) this.#held.set(d.receipt, { d, m, running: false });
    this.#heartbeat.add(taken.map((t) => t.d.receipt));
  }

  /** The chunks of these deliveries were handed to the executor. */
  running(ds: readonly Delivery[]): void {
    for (const d of ds) {
      const held = this.#held.get(d.receipt);
      if (held) held.running = true;
    }
  }

  /** Work on these deliveries ended, settled or not. */
  done(ds: readonly Delivery[]): void {
    const ended: string[] = [];
    for (const d of ds) {
      this.#held.delete(d.receipt);
      this.#handedBack.delete(d.receipt);
      // A batch's acknowledged messages are deleted only when the batch ends: renewed till then.
      if (!this.#batch.has(d.receipt)) ended.push(d.receipt);
    }
    this.#heartbeat.delete(ended);
  }

  /** True once any of these deliveries was handed back: their work is abandoned. */
  abandoned(ds: readonly Delivery[]): boolean {
    return ds.some((d) => this.#handedBack.has(d.receipt));
  }

  /** Acknowledges deliveries (not those handed back: they are someone else's now). */
  async ack(ds: readonly Delivery[]): Promise<void> {
    const receipts = this.#settling(ds);
    this.#heartbeat.delete(receipts.filter((r) => !this.#batch.has(r)));
    if (receipts.length > 0) await this.#o.backend.queue.ack(receipts);
  }

  /** Makes deliveries visible again after `ms` (0: at once), and stops renewing them. */
  async release(ds: readonly Delivery[], ms: number): Promise<void> {
    const receipts = this.#settling(ds);
    this.#heartbeat.delete(receipts);
    if (receipts.length > 0) await this.#o.backend.queue.setVisibility(receipts, ms);
  }

  /**
   * Hands back every delivery held and not handed back yet: stops the threads running their
   * chunks, notes a {@link ChunkTimeLimitError} for each chunk that was running (its last error,
   * should it reach the dead-letter queue), and makes them visible again with one batched call.
   * Resolves with them; never rejects (errors go to `onError`).
   */
  async handBack(limitMs: number | undefined): Promise<Delivery[]> {
    const held = [...this.#held.values()].filter((h) => !this.#handedBack.has(h.d.receipt));
    if (held.length === 0) return [];
    const receipts = held.map((h) => h.d.receipt);
    for (const r of receipts) this.#handedBack.add(r);
    this.#heartbeat.delete(receipts);
    const { executor, backend, onError } = this.#o;
    // Each job's threads here: they run only held chunks, and every held chunk is handed back.
    for (const jobId of new Set(held.flatMap((h) => (h.m ? [h.m.jobId] : [])))) executor.cancelJob(jobId);
    // A renewal already sent must not overtake the `0`.
    await this.#heartbeat.settled();
    const report = (e: unknown) => onError?.(e);
    const note = ({ d, m }: Held) =>
      backend.store
        .noteChunkError(m!.jobId, m!.index, {
          ...serializeError(new ChunkTimeLimitError(m!.jobId, m!.index, limitMs)),
          attempt: d.receiveCount,
        })
        .catch(report);
    await Promise.all([
      backend.queue.setVisibility(receipts, 0).catch(report),
      ...held.filter((h) => h.m && h.running).map(note),
    ]);
    return held.map((h) => h.d);
  }

  /** Renews nothing more (the host died). */
  stop(): void {
    this.#heartbeat.stop();
  }

  #settling(ds: readonly Delivery[]): string[] {
    return ds.map((d) => d.receipt).filter((r) => !this.#handedBack.has(r));
  }
}
