/**
 * The seam between the host and whatever runs chunks: a worker-thread pool on the local context
 * and inside each worker Lambda. Implemented by `src/threads/executor.ts`.
 */
import type { Encoded } from './codec.js';
import type { ChunkOutcome, InlineChunk } from './run-chunk.js';

/** Options of {@link ChunkExecutor.run}. */
export interface RunChunksOptions {
  /** Run on a thread with nothing else in flight. @default false */
  readonly exclusive?: boolean;
  /** Called with chunk `k`'s outcome as soon as it is known. @default undefined */
  readonly onOutcome?: (k: number, outcome: ChunkOutcome) => void;
}

/** Runs chunks and folds. */
export interface ChunkExecutor {
  /** Number of chunks that can usefully run at once (threads). */
  readonly parallelism: number;
  /**
   * Whether several small chunks may share one thread round trip. False when each chunk must be
   * one unit of work (for example to honour `maxTasksPerChild`).
   */
  readonly batching: boolean;
  /**
   * Runs the chunks (all of one job) and returns each chunk's outcome at its position: a task error
   * fails the job, so the chunks not started by then are not run (no outcome at their position).
   * The chunks may run on several threads at once (an idle thread takes those its busy neighbour
   * has not started), so outcomes are known in any order; the run settles at the first task error
   * without waiting for the chunks other threads still run. Rejects with `WorkerCrashedError` when
   * a thread died (the chunks not reported must be redelivered; the one that was running is the
   * first of them in order, since every thread takes its chunks in order) and with
   * `JobCancelledError` when the job was cancelled while they ran. `exclusive` runs them on a thread
   * with nothing else in flight, so that a crash is attributed to them alone. `onOutcome` receives
   * each chunk's outcome as soon as that chunk has run, before the promise settles (also when it
   * then rejects: the chunks reported are the ones that ran before a crash), and never after.
   */
  run(
    chunks: readonly InlineChunk[],
    options?: RunChunksOptions,
  ): Promise<readonly (ChunkOutcome | undefined)[]>;
  /** Folds partial results with the reducer, from `initial` when given. */
  fold(
    jobId: string,
    reducer: string,
    initial: Encoded | undefined,
    partials: readonly Encoded[],
  ): Promise<ChunkOutcome>;
  /** Stops running chunks of this job now (they reject with `JobCancelledError`). */
  cancelJob(jobId: string): void;
}
