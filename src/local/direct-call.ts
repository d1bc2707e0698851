/**
 * `apply` on the local context without a job: one call goes straight to the thread pool, its
 * arguments as they are (the thread port clones them). A job would add a UUID, a job record, a
 * queue message, a finaliser's claim and a release to every call, all in this thread, for
 * guarantees a single in-process call gets here directly: its promise settles once (exactly-once),
 * and a thread that dies under it is redelivered up to `maxAttempts` times, the retries on a thread
 * of their own as the host does, before the call fails with `RetriesExhaustedError` as its job
 * would have. Errors are the job's too: `TaskError` with chunk and item 0, `NotSerializableError`
 * naming the argument that cannot be cloned.
 */
import { serialize } from 'node:v8';
import type { CallOutcome } from '../engine/run-call.js';
import {
  JobCancelledError,
  NotSerializableError,
  RetriesExhaustedError,
  remoteFailure,
  serializeError,
  TaskError,
  WorkerCrashedError,
} from '../errors.js';
import { toWire } from '../handles.js';
import { refuseClassInstances } from '../plain-data.js';
import type { ThreadPool } from '../threads/pool.js';
import type { ThreadJob } from '../threads/serve-tasks.js';

/** The thread-pool tag of every direct call: no job id (a UUID) can equal it. */
const TAG = '(apply)';
const RUN = { tag: TAG };
const RETRY = { tag: TAG, exclusive: true };

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
    // An instance would lose its methods on the way (plain-data.ts).
    refuseClassInstances(wire.value as unknown[], 'Argument', 0);
    const job: ThreadJob = wire.found
      ? { op: 'call', task, args: wire.value as unknown[], handles: true }
      : { op: 'call', task, args };
    for (let attempt = 1; ; attempt++) {
      let outcome: CallOutcome;
      try {
        outcome = await this.#threads().run<CallOutcome>(job, attempt > 1 ? RETRY : RUN);
      } catch (e) {
        if (e instanceof WorkerCrashedError) {
          if (attempt >= this.#maxAttempts)
            throw new RetriesExhaustedError(id, 0, attempt, serializeError(e));
          continue;
        }
        throw this.#rename(e, id, args);
      }
      if (!outcome.ok) throw remoteFailure(outcome.error, id);
      return outcome.value;
    }
  }

  /** Stops every call in flight: each rejects with `JobCancelledError` giving `reason`. */
  cancelAll(reason: string): void {
    this.#cancelled = reason;
    this.#threads().cancel(TAG);
  }

  /** The thread pool's errors as the call's job would have reported them. */
  #rename(e: unknown, id: string, args: readonly unknown[]): unknown {
    if (e instanceof JobCancelledError) return new JobCancelledError(id, this.#cancelled);
    // The arguments could not be cloned on the way out: name the first that cannot.
    if (e instanceof NotSerializableError) {
      for (let i = 0; i < args.length; i++) {
        try {
          serialize(args[i]);
        } catch (inner) {
          return new NotSerializableError('Argument', i, inner);
        }
      }
      return new NotSerializableError('Argument', undefined, e.cause);
    }
    // The thread could not clone the result back (a function, a symbol…).
    if (e instanceof TaskError)
      return new TaskError(
        {
          name: e.remoteName,
          message: e.message.slice(e.remoteName.length + 2),
          ...(e.remoteStack === undefined ? {} : { stack: e.remoteStack }),
          ...(e.remoteCode === undefined ? {} : { code: e.remoteCode }),
          chunkIndex: 0,
          itemIndex: 0,
        },
        id,
      );
    return e;
  }
}
