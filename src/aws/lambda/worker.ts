/**
 * The worker Lambda: an SQS event source mapping hands it batches of chunk messages; it runs them
 * with the engine's {@link Host} (the same steps as the local context: run on worker threads,
 * record once, finalise, acknowledge) and answers with a partial batch response.
 *
 * Per container, created on the first invocation and reused: the environment, the AWS clients and
 * adapters, a {@link ThreadPool} of `FANFOLD_THREADS` threads running `script`, and one host. The
 * bundle doubles as the thread script: `functions/worker.ts` serves the tasks when it is loaded in a
 * thread (`!isMainThread`) and passes its own `import.meta.url` as `script`.
 */
import { randomUUID } from 'node:crypto';
import { Host } from '../../engine/host.js';
import type { Backend, Delivery } from '../../ports.js';
import { ThreadExecutor } from '../../threads/executor.js';
import { ThreadPool } from '../../threads/pool.js';
import { type ContainerOptions, containerBackend } from './container.js';
import { EsmBatchQueue, logError, parseSqsEvent, type SqsBatchResponse } from './events.js';
import { threadSync } from './thread-sync.js';

/** Options of {@link createWorkerHandler}. */
export interface WorkerHandlerOptions extends ContainerOptions {
  /** The thread script (a `file:` URL or absolute path) that serves the tasks; in the bundle, its own `import.meta.url`. */
  readonly script: string | URL;
  /** Told about errors that are not a job's (malformed messages, adapter failures). @default a JSON log line on stderr */
  readonly onError?: (error: unknown) => void;
  /**
   * How often a running batch re-reads its jobs, so that the chunks of a job that ended meanwhile
   * (cancelled by its caller, failed by another worker) stop at once: one read per job each time.
   * @default 2000
   */
  readonly watchMs?: number;
}

/** A worker Lambda handler; `close()` stops the container's threads (tests; Lambda never calls it). */
export type WorkerHandler = ((event: unknown) => Promise<SqsBatchResponse>) & {
  close(): Promise<void>;
};

interface Container {
  readonly host: Host;
  readonly batch: EsmBatchQueue;
  readonly store: Backend['store'];
  readonly threads: ThreadPool;
}

/**
 * Makes the worker handler. An invocation whose event is not an SQS batch throws (the whole batch
 * is retried); otherwise it never throws: each record is acknowledged (the ESM deletes it) or
 * listed in `batchItemFailures` (it comes back, and after `maxReceiveCount` deliveries goes to the
 * dead-letter queue).
 *
 * @example
 * ```ts
 * // functions/worker.ts
 * import { isMainThread } from 'node:worker_threads';
 * import tasks from '@fanfold/tasks';
 * if (!isMainThread) serveTasks(tasks);
 * export const handler = createWorkerHandler({ script: import.meta.url });
 * ```
 */
export function createWorkerHandler(options: WorkerHandlerOptions): WorkerHandler {
  const onError = options.onError ?? logError('fanfold.worker');
  let container: Promise<Container> | undefined;

  const start = async (): Promise<Container> => {
    const { env, backend } = containerBackend(options);
    // Every thread revives primitives' handles on the function's resources (see thread-sync.ts).
    const data = { sync: threadSync(env) };
    const threads = new ThreadPool({ size: env.threads, script: options.script, data });
    try {
      await threads.ready();
    } catch (e) {
      await threads.destroy();
      throw e;
    }
    const batch = new EsmBatchQueue(backend.queue);
    const host = new Host({
      backend: { ...backend, queue: batch },
      executor: new ThreadExecutor(threads, {
        batching: true,
        // A Process's chunk gets a thread of its own, named as the process (destroyed after it).
        processThreads: (name) =>
          new ThreadPool({ size: 1, script: options.script, data, name, numbered: false }),
      }),
      // Only the host's own receive loop uses it; the ESM sets visibility for its batches.
      visibilityMs: env.leaseMs,
      leaseMs: env.leaseMs,
      owner: `worker-${randomUUID()}`,
      onError,
    });
    return { host, batch, store: backend.store, threads };
  };

  const handler = async (event: unknown): Promise<SqsBatchResponse> => {
    const deliveries = parseSqsEvent(event);
    if (!container) {
      container = start();
      // A failed start (a missing variable, a tasks module that throws) is retried next time.
      container.catch(() => (container = undefined));
    }
    const c = await container;
    const jobs = jobIds(deliveries);
    await checkEnded(c, jobs, onError);
    let checking = false;
    const watch = setInterval(() => {
      if (checking) return;
      checking = true;
      void checkEnded(c, jobs, onError).finally(() => (checking = false));
    }, options.watchMs ?? 2000);
    try {
      await c.host.processBatch(deliveries);
    } finally {
      clearInterval(watch);
    }
    return c.batch.settle(deliveries);
  };
  return Object.assign(handler, {
    async close(): Promise<void> {
      const c = await container?.catch(() => undefined);
      container = undefined;
      await c?.threads.close();
    },
  });
}

/** The job ids the batch's bodies name (validated later, by the host). */
function jobIds(deliveries: readonly Delivery[]): string[] {
  const jobs = new Set<string>();
  for (const d of deliveries) {
    const jobId = (d.body as { jobId?: unknown } | null)?.jobId;
    if (typeof jobId === 'string' && jobId.length > 0 && jobId.length <= 128) jobs.add(jobId);
  }
  return [...jobs];
}

/**
 * Tells the host about the batch's jobs that have ended (done, failed, cancelled, or deleted by
 * their caller), one read per job: their queued chunks are then acknowledged without running
 * (step H3) and their running ones stopped. The local host learns this within its own process; a
 * Lambda container would otherwise run every chunk of a cancelled job before `completeChunk` told it.
 */
async function checkEnded(c: Container, jobs: readonly string[], onError: (e: unknown) => void) {
  await Promise.all(
    jobs.map(async (jobId) => {
      try {
        // The status only: the job item alone, not its shard counters.
        const job = await c.store.getJob(jobId, { counts: false });
        if (!job || job.status === 'FAILED' || job.status === 'CANCELLED' || job.status === 'DONE')
          c.host.jobEnded(jobId);
      } catch (e) {
        // Only an optimisation: the host finds out when it records the chunk.
        onError(e);
      }
    }),
  );
}
