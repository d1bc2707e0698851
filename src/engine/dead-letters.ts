/**
 * The dead-letter handler: a chunk (or finalise) message that exhausted its deliveries ends its
 * job as FAILED with the last error seen, so no caller waits forever for a chunk no one will run.
 */
import { ProtocolError } from '../errors.js';
import type { Backend, Delivery } from '../ports.js';
import { parseWorkMessage } from './protocol.js';

/** Options of {@link DeadLetterHandler}. */
export interface DeadLetterOptions {
  readonly backend: Backend;
  /** The delivery count after which the work queue dead-letters a message (reported to the caller). */
  readonly maxReceiveCount: number;
  /** Called when a job was failed, so running chunks of it can be stopped. */
  readonly onJobFailed?: (jobId: string) => void;
  /** Malformed dead letters are reported here (and then deleted: they belong to no job). */
  readonly onError?: (error: unknown) => void;
  /** @default 1000 */
  readonly waitMs?: number;
}

/** Ends the job of each dead letter. */
export class DeadLetterHandler {
  readonly #o: DeadLetterOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(options: DeadLetterOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { deadLetters } = this.#o.backend;
    while (this.#running) {
      let got: Delivery[];
      try {
        got = await deadLetters.receive({
          max: 10,
          waitMs: this.#o.waitMs ?? 1000,
          signal: this.#abort.signal,
        });
      } catch (e) {
        if (!this.#running) return;
        this.#o.onError?.(e);
        continue;
      }
      for (const d of got) {
        try {
          await this.handle(d);
        } catch (e) {
          this.#o.onError?.(e);
        }
      }
    }
  }

  /** Handles one dead letter: fails its job with the last error noted for the chunk, then deletes it. */
  async handle(d: Delivery): Promise<void> {
    const { store, deadLetters } = this.#o.backend;
    let m: ReturnType<typeof parseWorkMessage>;
    try {
      m = parseWorkMessage(d.body);
    } catch (e) {
      this.#o.onError?.(
        new ProtocolError(`Dropped a malformed dead letter ${d.messageId}: ${(e as Error).message}`),
      );
      await deadLetters.ack([d.receipt]);
      return;
    }
    const own = m.type === 'chunk' ? m.index : undefined;
    const last = own === undefined ? undefined : await store.lastChunkError(m.jobId, own);
    // A chunk handed back because its thread died while running another chunk of its group is a
    // bystander: the error noted for it names the chunk that was running, and so does the job's.
    const index = last?.chunkIndex ?? own;
    const attempts = this.#o.maxReceiveCount;
    const what = index === undefined ? 'The finalise step' : `Chunk ${index}`;
    const { changed } = await store.failJob(m.jobId, {
      reason: 'retries',
      attempts,
      name: 'RetriesExhaustedError',
      message: `${what} of job ${m.jobId} failed ${attempts} deliveries${last ? `; last error: ${last.name}: ${last.message}` : ''}`,
      ...(last ? { cause: last } : {}),
      ...(index === undefined ? {} : { chunkIndex: index }),
    });
    if (changed) this.#o.onJobFailed?.(m.jobId);
    await deadLetters.ack([d.receipt]);
  }
}
