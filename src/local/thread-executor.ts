/**
 * The {@link ChunkExecutor} of the local context (and of the worker Lambda): chunks run on a
 * {@link ThreadPool}, tagged with their job so that a failed or cancelled job's chunks can be stopped.
 */
import type { Encoded } from '../engine/codec.js';
import type { ChunkExecutor } from '../engine/executor.js';
import type { ChunkOutcome, InlineChunk } from '../engine/run-chunk.js';
import type { ThreadJob } from './thread-main.js';
import type { ThreadPool } from './thread-pool.js';

/** Runs chunks on worker threads. */
export class ThreadExecutor implements ChunkExecutor {
  readonly #pool: ThreadPool;
  readonly batching: boolean;

  constructor(pool: ThreadPool, options: { readonly batching: boolean }) {
    this.#pool = pool;
    this.batching = options.batching;
  }

  get parallelism(): number {
    return this.#pool.size;
  }

  run(
    chunks: readonly InlineChunk[],
    options: { readonly exclusive?: boolean } = {},
  ): Promise<ChunkOutcome[]> {
    const job: ThreadJob = { op: 'run', chunks };
    // Inputs are copied by structured clone, not transferred: their bytes may be views of the
    // queue's stored copy, which a redelivery needs intact.
    return this.#pool.run<ChunkOutcome[]>(job, {
      tag: chunks[0]?.jobId ?? '',
      exclusive: options.exclusive === true,
    });
  }

  fold(
    jobId: string,
    reducer: string,
    initial: Encoded | undefined,
    partials: readonly Encoded[],
  ): Promise<ChunkOutcome> {
    const job: ThreadJob = { op: 'fold', reducer, partials, ...(initial ? { initial } : {}) };
    return this.#pool.run<ChunkOutcome>(job, { tag: jobId });
  }

  cancelJob(jobId: string): void {
    this.#pool.cancel(jobId);
  }
}
