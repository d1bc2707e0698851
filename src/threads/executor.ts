/**
 * The {@link ChunkExecutor} of the local context (and of the worker Lambda): chunks run on a
 * {@link ThreadPool}, tagged with their job so that a failed or cancelled job's chunks can be stopped.
 */
import { transferableInputs } from '../engine/chunk-input.js';
import type { Encoded } from '../engine/codec.js';
import type { ChunkExecutor, RunChunksOptions } from '../engine/executor.js';
import type { ChunkOutcome, InlineChunk } from '../engine/run-chunk.js';
import type { ThreadPool } from './pool.js';
import type { ThreadJob } from './serve-tasks.js';

/** Options of {@link ThreadExecutor}. */
export interface ThreadExecutorOptions {
  /** Whether small chunks may share a thread round trip. */
  readonly batching: boolean;
  /**
   * Makes the one-thread pool a `Process` chunk runs on, its thread named as the process. Such a
   * chunk never waits behind others in the shared pool, so two processes that wait on each other
   * in one container cannot deadlock. @default undefined (process chunks run on the shared pool)
   */
  readonly processThreads?: (name: string) => ThreadPool;
}

/** Runs chunks on worker threads. */
export class ThreadExecutor implements ChunkExecutor {
  readonly #pool: ThreadPool;
  readonly batching: boolean;
  readonly #processThreads: ((name: string) => ThreadPool) | undefined;
  /** The dedicated pools of running process chunks, by job id (cancelJob ends them). */
  readonly #dedicated = new Map<string, ThreadPool>();

  constructor(pool: ThreadPool, options: ThreadExecutorOptions) {
    this.#pool = pool;
    this.batching = options.batching;
    this.#processThreads = options.processThreads;
  }

  get parallelism(): number {
    return this.#pool.size;
  }

  async run(chunks: readonly InlineChunk[], options: RunChunksOptions = {}): Promise<ChunkOutcome[]> {
    const job: ThreadJob = { op: 'run', chunks };
    const process = chunks[0]?.process;
    if (process !== undefined && this.#processThreads)
      return this.#runProcess(job, chunks[0]!.jobId, process);
    // A group's chunks that finish while the group goes on are reported ahead (serve-tasks.ts);
    // the answer holds the rest. One chunk alone is answered as before, with no report.
    const { onOutcome } = options;
    const ahead: ChunkOutcome[] = [];
    const onProgress = (part: unknown) => {
      const outcome = part as ChunkOutcome;
      onOutcome?.(ahead.length, outcome);
      ahead.push(outcome);
    };
    // Inputs read from the blob store are this host's own and move to the thread (a 1 MB chunk's
    // copy was ~3 ms of the main thread); bytes that came in the message are copied by structured
    // clone: they may be views of the queue's stored copy, which a redelivery needs intact.
    const transfer = transferableInputs(chunks);
    const rest = await this.#pool.run<ChunkOutcome[]>(job, {
      tag: chunks[0]?.jobId ?? '',
      ...(transfer.length > 0 ? { transfer } : {}),
      exclusive: options.exclusive === true,
      onProgress,
    });
    for (const outcome of rest) onProgress(outcome);
    return ahead;
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
    // Rejects the run with JobCancelledError (the host acknowledges it); the pool then ends.
    this.#dedicated.get(jobId)?.cancel(jobId);
  }

  async #runProcess(job: ThreadJob, jobId: string, name: string): Promise<ChunkOutcome[]> {
    const threads = this.#processThreads!(name);
    this.#dedicated.set(jobId, threads);
    try {
      await threads.ready();
      return await threads.run<ChunkOutcome[]>(job, { tag: jobId });
    } finally {
      this.#dedicated.delete(jobId);
      await threads.destroy().catch(() => {});
    }
  }
}
