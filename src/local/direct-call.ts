/**
 * `apply` on the local context without a job: one call is one chunk of one item, sent straight to
 * the thread pool. A job would add a UUID, a job record, a queue message, a finaliser's claim and a
 * release to every call, all in this thread, for guarantees a single in-process call gets here
 * directly: its promise settles once (exactly-once), and a thread that dies under it is redelivered
 * up to `maxAttempts` times, the retries on a thread of their own as the host does, before the call
 * fails with `RetriesExhaustedError` as its job would have.
 */
import { decodeList, encodeItems } from '../engine/codec.js';
import type { ChunkOutcome, InlineChunk } from '../engine/run-chunk.js';
import {
  JobCancelledError,
  RetriesExhaustedError,
  serializeError,
  TaskError,
  WorkerCrashedError,
} from '../errors.js';
import { toWire } from '../handles.js';
import type { ThreadPool } from '../threads/pool.js';
import type { ThreadJob } from '../threads/serve-tasks.js';

/** The thread-pool tag of every direct call: no job id (a UUID) can equal it. */
const TAG = '(apply)';

/** Runs single calls on a {@link ThreadPool}. */
export class DirectCalls {
  readonly #threads: () => ThreadPool;
  readonly #maxAttempts: number;
  #next = 0;
  #cancelled: string | undefined;

  /** `threads` is read at each call: the pool exists once the runtime is ready. */
  constructor(threads: () => ThreadPool, maxAttempts: number) {
    this.#threads = threads;
    this.#maxAttempts = maxAttempts;
  }

  /** `task(...args)` on a thread: its result, or the error its one-item job would have failed with. */
  async call(task: string, args: readonly unknown[]): Promise<unknown> {
    const id = `apply-${this.#next++}`;
    const wire = toWire(args);
    const chunk: InlineChunk = {
      jobId: id,
      index: 0,
      task,
      mode: 'starmap',
      input: { kind: 'items', offset: 0, count: 1, data: encodeItems([wire.value], 0, false) },
      ...(wire.found ? { handles: true as const } : {}),
    };
    const job: ThreadJob = { op: 'run', chunks: [chunk] };
    for (let attempt = 1; ; attempt++) {
      let outcome: ChunkOutcome;
      try {
        const out = await this.#threads().run<ChunkOutcome[]>(job, { tag: TAG, exclusive: attempt > 1 });
        outcome = out[0]!;
      } catch (e) {
        if (e instanceof JobCancelledError) throw new JobCancelledError(id, this.#cancelled);
        if (!(e instanceof WorkerCrashedError)) throw e;
        if (attempt >= this.#maxAttempts) throw new RetriesExhaustedError(id, 0, attempt, serializeError(e));
        continue;
      }
      if (!outcome.ok) throw new TaskError(outcome.error, id);
      return decodeList(outcome.result)[0];
    }
  }

  /** Stops every call in flight: each rejects with `JobCancelledError` giving `reason`. */
  cancelAll(reason: string): void {
    this.#cancelled = reason;
    this.#threads().cancel(TAG);
  }
}
