/**
 * The {@link ChunkExecutor} of the local context (and of the worker Lambda): chunks run on a
 * {@link ThreadPool}, tagged with their job so that a failed or cancelled job's chunks can be stopped.
 */
import type { Encoded } from '../engine/codec.js';
import type { ChunkExecutor, RunChunksOptions } from '../engine/executor.js';
import type { ChunkOutcome, InlineChunk } from '../engine/run-chunk.js';
import { type GroupOutcomes, GroupRun } from './group-run.js';
import type { ThreadPool } from './pool.js';
import type { Placed, ThreadJob } from './serve-tasks.js';

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
  /** Groups running with chunks that an idle thread may take, oldest first. */
  readonly #groups = new Set<GroupRun>();

  constructor(pool: ThreadPool, options: ThreadExecutorOptions) {
    this.#pool = pool;
    this.batching = options.batching;
    this.#processThreads = options.processThreads;
    pool.whenIdle({ wanted: () => this.#groups.size > 0, offer: (threads) => this.#offer(threads) });
  }

  get parallelism(): number {
    return this.#pool.size;
  }

  run(chunks: readonly InlineChunk[], options: RunChunksOptions = {}): Promise<GroupOutcomes> {
    const process = chunks[0]?.process;
    if (process !== undefined && this.#processThreads)
      return this.#runProcess({ op: 'run', chunks }, chunks[0]!.jobId, process);
    // A group's chunks that finish while the group goes on are reported ahead (serve-tasks.ts);
    // idle threads take the chunks its thread has not started yet (group-run.ts).
    const group = new GroupRun(this.#pool, chunks, options);
    if (chunks.length > 1) {
      this.#groups.add(group);
      void group.done.catch(() => {}).finally(() => this.#groups.delete(group));
    }
    group.start();
    return group.done;
  }

  /** Threads are idle: each takes the unstarted chunks of the oldest group that has some. */
  #offer(threads: number): void {
    for (const group of this.#groups) {
      if (threads === 0) return;
      while (threads > 0 && group.offer()) threads--;
    }
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

  async #runProcess(job: ThreadJob, jobId: string, name: string): Promise<GroupOutcomes> {
    const threads = this.#processThreads!(name);
    this.#dedicated.set(jobId, threads);
    try {
      await threads.ready();
      const placed = await threads.run<Placed[]>(job, { tag: jobId });
      return placed.map((p) => p.outcome);
    } finally {
      this.#dedicated.delete(jobId);
      await threads.destroy().catch(() => {});
    }
  }
}
