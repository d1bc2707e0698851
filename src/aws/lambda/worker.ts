/**
 * The worker Lambda. Two kinds of invocation: an SQS event source mapping hands it batches of chunk
 * messages, which it runs with the engine's {@link Host} (the same steps as the local context: run
 * on worker threads, record once, finalise, acknowledge) and answers with a partial batch response;
 * and a direct, asynchronous invocation with a drain event (`drain.ts`), which runs the host's own
 * receive loop on the queue until it stays empty. Either way each message is held for the short
 * visibility (`FANFOLD_VISIBILITY_MS`, renewed while its chunk runs), and a timer armed at the
 * invocation's end less the hand-back margin (`FANFOLD_HANDBACK_MARGIN_MS`) hands every unfinished
 * message back before Lambda ends the invocation: visible at once, and listed in
 * `batchItemFailures`, while the finished ones are acknowledged.
 *
 * Per container, created on the first invocation and reused: the environment, the AWS clients and
 * adapters, a {@link ThreadPool} of `FANFOLD_THREADS` threads running `script`, and two hosts on
 * it (one for mapping batches, one for drains; Lambda runs one invocation at a time). The bundle
 * doubles as the thread script: `functions/worker.ts` serves the tasks when it is loaded in a
 * thread (`!isMainThread`) and passes its own `import.meta.url` as `script`.
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { Host } from '../../engine/host.js';
import type { Backend, Delivery, DrainEvent } from '../../ports.js';
import { ThreadExecutor } from '../../threads/executor.js';
import { ThreadPool } from '../../threads/pool.js';
import { type ContainerOptions, containerBackend } from './container.js';
import {
  DRAIN_WAIT_MS,
  type DrainReport,
  drainCapacity,
  drainQueue,
  isDrainEvent,
  parseDrainEvent,
} from './drain.js';
import { defaultHandBackMargin, type FanfoldEnv } from './env.js';
import { EsmBatchQueue, parseSqsEvent, type SqsBatchResponse, type SqsEvent } from './events.js';
import {
  type LambdaContextInfo,
  METRICS,
  type Observer,
  observedQueue,
  observedStore,
  observer,
} from './observe.js';
import { threadSync } from './thread-sync.js';

/** Options of {@link createWorkerHandler}. */
export interface WorkerHandlerOptions extends ContainerOptions {
  /** The thread script (a `file:` URL or absolute path) that serves the tasks; in the bundle, its own `import.meta.url`. */
  readonly script: string | URL;
  /** Told about errors that are not a job's (malformed messages, adapter failures). @default an ERROR line of the function's logger */
  readonly onError?: (error: unknown) => void;
  /**
   * How often a running batch re-reads its jobs, so that the chunks of a job that ended meanwhile
   * (cancelled by its caller, failed by another worker) stop at once: one read per job each time.
   * @default 2000
   */
  readonly watchMs?: number;
}

/** The part of Lambda's context object the worker reads: the time left, and the request id its log lines carry. */
export type WorkerContext = LambdaContextInfo;

/**
 * A worker Lambda handler: an SQS batch gets a partial batch response, a drain event a report.
 * `close()` stops the container's threads (tests; Lambda never calls it).
 */
export interface WorkerHandler {
  (event: SqsEvent, context?: WorkerContext): Promise<SqsBatchResponse>;
  (event: DrainEvent, context?: WorkerContext): Promise<DrainReport>;
  (event: unknown, context?: WorkerContext): Promise<SqsBatchResponse | DrainReport>;
  close(): Promise<void>;
}

interface Container {
  /** Runs the mapping's batches, settled through `batch`. */
  readonly batchHost: Host;
  readonly batch: EsmBatchQueue;
  /** Drains the real queue with its own receive loop. */
  readonly drainHost: Host;
  readonly store: Backend['store'];
  readonly threads: ThreadPool;
}

/**
 * Makes the worker handler. An invocation whose event is neither an SQS batch nor a drain event
 * throws (the whole batch is retried); otherwise it never throws: each record of a batch is
 * acknowledged (the ESM deletes it) or listed in `batchItemFailures` (it comes back, and after
 * `maxReceiveCount` deliveries goes to the dead-letter queue), and a drain answers with what it did.
 * Without a Lambda context (a test calling the handler) there is no deadline.
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
  // The container's logger and metrics (observe.ts), made with the rest on the first invocation.
  let obs: Observer | undefined;
  const observe = () => (obs ??= observer(options.env ?? process.env));
  const onError = options.onError ?? ((e: unknown) => observe().error('worker error', e));
  let base: { readonly env: FanfoldEnv; readonly backend: Backend } | undefined;
  let container: Promise<Container> | undefined;

  const start = async (env: FanfoldEnv, backend: Backend): Promise<Container> => {
    // Every thread revives primitives' handles on the function's resources (see thread-sync.ts).
    const data = { sync: threadSync(env) };
    const threads = new ThreadPool({ size: env.threads, script: options.script, data });
    try {
      await threads.ready();
    } catch (e) {
      await threads.destroy();
      throw e;
    }
    const executor = new ThreadExecutor(threads, {
      batching: true,
      // A Process's chunk gets a thread of its own, named as the process (destroyed after it).
      processThreads: (name) =>
        new ThreadPool({ size: 1, script: options.script, data, name, numbered: false }),
    });
    const host = (queue: Backend['queue'], capacity?: number) =>
      new Host({
        backend: { ...backend, queue },
        executor,
        visibilityMs: env.visibilityMs,
        leaseMs: env.leaseMs,
        waitMs: DRAIN_WAIT_MS,
        ...(capacity === undefined ? {} : { capacity }),
        owner: `worker-${randomUUID()}`,
        onError,
      });
    const batch = new EsmBatchQueue(backend.queue);
    return {
      batchHost: host(batch),
      batch,
      drainHost: host(backend.queue, drainCapacity(env.threads)),
      store: backend.store,
      threads,
    };
  };

  const handler = async (
    event: unknown,
    context?: WorkerContext,
  ): Promise<SqsBatchResponse | DrainReport> => {
    const drain = isDrainEvent(event) ? parseDrainEvent(event) : undefined;
    const deliveries = drain ? [] : parseSqsEvent(event);
    const o = observe();
    base ??= observedBackend(containerBackend(options), o);
    const { env, backend } = base;
    o.begin(context);
    o.delivered(deliveries);
    const limitMs = context?.getRemainingTimeInMillis();
    const deadline =
      limitMs === undefined
        ? undefined
        : Date.now() + limitMs - (env.handBackMarginMs ?? defaultHandBackMargin(limitMs));
    if (!container) {
      container = start(env, backend);
      // A failed start (a missing variable, a tasks module that throws) is retried next time.
      container.catch(() => (container = undefined));
    }
    let c: Container;
    try {
      c = await container;
    } catch (e) {
      // The batch comes back after the short visibility, not the queue's (6 × the timeout).
      const receipts = deliveries.map((d) => d.receipt);
      if (receipts.length > 0) await backend.queue.setVisibility(receipts, env.visibilityMs).catch(onError);
      throw e;
    }
    const host = drain ? c.drainHost : c.batchHost;
    const timing = {
      ...(deadline === undefined ? {} : { deadline }),
      ...(limitMs === undefined ? {} : { limitMs }),
    };
    const stopWatching = watchJobs(
      c,
      host,
      drain ? [] : jobIds(deliveries),
      options.watchMs ?? 2000,
      onError,
    );
    const started = Date.now();
    try {
      if (drain) {
        const report = await drainQueue(host, timing);
        o.metrics.addMetric(METRICS.batchSize, MetricUnit.Count, report.received);
        o.logger.info('drain ended', { ...report, ms: Date.now() - started });
        return report;
      }
      o.metrics.addMetric(METRICS.batchSize, MetricUnit.Count, deliveries.length);
      await checkEnded(c, host, jobIds(deliveries), onError);
      await host.processBatch(deliveries, timing);
      const response = c.batch.settle(deliveries);
      o.logger.info('batch settled', {
        jobIds: jobIds(deliveries),
        messages: deliveries.length,
        batchItemFailures: response.batchItemFailures.length,
        ms: Date.now() - started,
      });
      return response;
    } finally {
      stopWatching();
      o.end();
    }
  };
  // One function serves both overloads: what it returns follows the event it was given.
  return Object.assign(handler as WorkerHandler, {
    async close(): Promise<void> {
      const c = await container?.catch(() => undefined);
      container = undefined;
      await c?.threads.close();
    },
  });
}

/** The backend with its store and queue observed (observe.ts): each chunk's fate logged and counted. */
function observedBackend(
  base: { readonly env: FanfoldEnv; readonly backend: Backend },
  o: Observer,
): { readonly env: FanfoldEnv; readonly backend: Backend } {
  const { backend } = base;
  return {
    env: base.env,
    backend: { ...backend, store: observedStore(backend.store, o), queue: observedQueue(backend.queue, o) },
  };
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
 * Re-reads the jobs in progress every `ms` (the batch's, and whatever the host holds), one read
 * per job and one round at a time; returns the function that stops it.
 */
function watchJobs(
  c: Container,
  host: Host,
  batchJobs: readonly string[],
  ms: number,
  onError: (e: unknown) => void,
): () => void {
  let checking = false;
  const watch = setInterval(() => {
    if (checking) return;
    checking = true;
    const jobs = [...new Set([...batchJobs, ...host.heldJobs()])];
    void checkEnded(c, host, jobs, onError).finally(() => (checking = false));
  }, ms);
  return () => clearInterval(watch);
}

/**
 * Tells the host about the jobs that have ended (done, failed, cancelled, or deleted by their
 * caller), one read per job: their queued chunks are then acknowledged without running (step H3)
 * and their running ones stopped. The local host learns this within its own process; a Lambda
 * container would otherwise run every chunk of a cancelled job before `completeChunk` told it.
 */
async function checkEnded(c: Container, host: Host, jobs: readonly string[], onError: (e: unknown) => void) {
  await Promise.all(
    jobs.map(async (jobId) => {
      try {
        // The status only: the job item alone, not its shard counters.
        const job = await c.store.getJob(jobId, { counts: false });
        if (!job || job.status === 'FAILED' || job.status === 'CANCELLED' || job.status === 'DONE')
          host.jobEnded(jobId);
      } catch (e) {
        // Only an optimisation: the host finds out when it records the chunk.
        onError(e);
      }
    }),
  );
}
