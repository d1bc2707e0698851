/**
 * What the Lambda handlers say about their work: structured JSON log lines (Powertools for AWS
 * Lambda's Logger) and metrics in CloudWatch's embedded metric format (Powertools' Metrics), one
 * logger and one metrics buffer per container, flushed at the end of each invocation.
 *
 * The per-chunk facts come from the job store the engine already calls (`completeChunks`,
 * `noteChunkError`, `failJob`): {@link observedStore} wraps it, so no request is added and the
 * engine knows nothing of logging. Quiet by default: at the construct's default level (`WARN`) a
 * worker writes one EMF line per invocation and lines only for what went wrong; `INFO` adds one
 * summary line per invocation, `DEBUG` one line per chunk recorded.
 *
 * Both read their settings from the function's environment, as the construct sets it:
 * `POWERTOOLS_LOG_LEVEL`, `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { serializeError } from '../../errors.js';
import type {
  ChunkResult,
  CompleteOutcome,
  Delivery,
  JobError,
  JobRef,
  JobStore,
  ReceiveOptions,
  WorkQueue,
} from '../../ports.js';
import { LOG_LEVELS, type LogLevel, POWERTOOLS_ENV } from './env.js';

/** The defaults, when the environment says nothing (the construct's defaults too). */
export const OBSERVE_DEFAULTS = Object.freeze({
  /** Quiet on the hot path: what went wrong, and the metrics. */
  logLevel: 'WARN' as LogLevel,
  /** The `service` of the lines and the metrics' dimension (the construct sets the stack's name). */
  serviceName: 'fanfold',
  /** The metrics' CloudWatch namespace. */
  namespace: 'fanfold',
});

/** The metric names, one place for the handlers, the docs and the tests. */
export const METRICS = Object.freeze({
  /** Chunks recorded for the first time (a duplicate delivery's result is not counted). */
  chunksDone: 'ChunksDone',
  /** Chunks whose task threw (the job fails) or that exhausted their deliveries (the dead-letter function). */
  chunksFailed: 'ChunksFailed',
  /** Chunk attempts given back for another delivery: the thread crashed, or the invocation ran out of time. */
  chunksRetried: 'ChunksRetried',
  /** How long each recorded chunk ran on its thread, ms (one value per chunk). */
  chunkDuration: 'ChunkDuration',
  /** Messages in the worker invocation's batch (an event source mapping's), or received by a drain. */
  batchSize: 'BatchSize',
});

/** The part of Lambda's context the handlers read; every field is optional (tests call handlers without one). */
export interface LambdaContextInfo {
  /** Milliseconds left before Lambda ends the invocation. */
  getRemainingTimeInMillis(): number;
  /** The invocation's request id: `function_request_id` on every line. */
  readonly awsRequestId?: string;
  /** The function's name (`function_name`). */
  readonly functionName?: string;
  /** The function's version (`function_version`). */
  readonly functionVersion?: string;
  /** The function's ARN (`function_arn`). */
  readonly invokedFunctionArn?: string;
  /** The function's memory, MB (`function_memory_size`). */
  readonly memoryLimitInMB?: string | number;
}

/** A container's logger and metrics. */
export interface Observer {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Starts an invocation: its request id (and the function's name, memory, cold start) on every line. */
  begin(context: LambdaContextInfo | undefined): void;
  /** Ends it: writes the invocation's metrics (one EMF line; none when nothing was counted). */
  end(): void;
  /** Reports an error that is not a job's, as an ERROR line. */
  error(message: string, error: unknown): void;
  /** Notes the chunks these deliveries carry and their receive counts: the attempt each line names. */
  delivered(deliveries: readonly Delivery[]): void;
  /** The attempt (receive count) of the delivery of chunk `index` of `jobId` in this invocation, if known. */
  attempt(jobId: string, index: number): number | undefined;
}

/** Reads the settings from `env` (a handler's `options.env`, else `process.env`) and makes the pair. */
export function observer(env: NodeJS.ProcessEnv): Observer {
  const serviceName = env[POWERTOOLS_ENV.serviceName] || OBSERVE_DEFAULTS.serviceName;
  const level = env[POWERTOOLS_ENV.logLevel]?.toUpperCase();
  const logger = new Logger({
    serviceName,
    logLevel: (LOG_LEVELS as readonly string[]).includes(level ?? '')
      ? (level as LogLevel)
      : OBSERVE_DEFAULTS.logLevel,
  });
  const metrics = new Metrics({
    serviceName,
    namespace: env[POWERTOOLS_ENV.namespace] || OBSERVE_DEFAULTS.namespace,
  });
  // The chunks of this invocation's deliveries: `jobId/index` → receive count.
  const attempts = new Map<string, number>();
  return {
    logger,
    metrics,
    begin(context) {
      attempts.clear();
      logger.resetKeys();
      if (context?.awsRequestId === undefined) return;
      logger.addContext({
        awsRequestId: context.awsRequestId,
        functionName: context.functionName ?? '',
        functionVersion: context.functionVersion ?? '',
        invokedFunctionArn: context.invokedFunctionArn ?? '',
        memoryLimitInMB: Number(context.memoryLimitInMB ?? 0),
        coldStart: false,
      } as Parameters<Logger['addContext']>[0]);
    },
    end() {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
    error(message, error) {
      const e = serializeError(error);
      const chunk = (error as { chunkIndex?: unknown } | null)?.chunkIndex;
      const jobId = (error as { jobId?: unknown } | null)?.jobId;
      logger.error(message, {
        error: e,
        ...(typeof jobId === 'string' ? { jobId } : {}),
        ...(typeof chunk === 'number' ? { chunk } : {}),
      });
    },
    delivered(deliveries) {
      for (const d of deliveries) {
        const body = d.body as { jobId?: unknown; index?: unknown } | null;
        if (typeof body?.jobId === 'string' && typeof body.index === 'number')
          attempts.set(`${body.jobId}/${body.index}`, d.receiveCount);
      }
    },
    attempt(jobId, index) {
      return attempts.get(`${jobId}/${index}`);
    },
  };
}

/**
 * The job store with each chunk's fate logged and counted: a recorded chunk (`ChunksDone`,
 * `ChunkDuration`, a DEBUG line), an attempt given back (`ChunksRetried`, a WARN line), a chunk
 * that failed its job (`ChunksFailed`, an ERROR line). Every line names the job, the chunk and the
 * attempt. Nothing else changes: each call is passed on as made, and its result or error returned.
 */
export function observedStore(store: JobStore, o: Observer): JobStore {
  const { logger, metrics } = o;
  const observed: Partial<JobStore> = {
    async completeChunks(
      jobId: string,
      entries: readonly ChunkResult[],
      job?: JobRef,
    ): Promise<CompleteOutcome[]> {
      const outcomes = await store.completeChunks(jobId, entries, job);
      entries.forEach((entry, k) => {
        const first = outcomes[k]?.first === true;
        const a = entry.attempt;
        if (first) {
          metrics.addMetric(METRICS.chunksDone, MetricUnit.Count, 1);
          if (a) metrics.addMetric(METRICS.chunkDuration, MetricUnit.Milliseconds, a.ms);
        }
        logger.debug(first ? 'chunk recorded' : 'chunk already recorded', {
          jobId,
          chunk: entry.index,
          ...(a
            ? { attempt: a.attempt, ms: a.ms, thread: a.thread, ...(a.backup ? { backup: true } : {}) }
            : {}),
        });
      });
      return outcomes;
    },
    async noteChunkError(jobId, index, error) {
      await store.noteChunkError(jobId, index, error);
      metrics.addMetric(METRICS.chunksRetried, MetricUnit.Count, 1);
      logger.warn('chunk attempt given back for another delivery', {
        jobId,
        chunk: index,
        ...attemptOf(o.attempt(jobId, index)),
        error: { name: error.name, message: error.message, ...(error.code ? { code: error.code } : {}) },
      });
    },
    async failJob(jobId: string, error: JobError) {
      const out = await store.failJob(jobId, error);
      if (error.reason === 'task' || error.reason === 'retries') {
        metrics.addMetric(METRICS.chunksFailed, MetricUnit.Count, 1);
      }
      logger.error('job failed', {
        jobId,
        ...(error.chunkIndex === undefined ? {} : { chunk: error.chunkIndex }),
        ...attemptOf(
          error.attempts ?? (error.chunkIndex === undefined ? undefined : o.attempt(jobId, error.chunkIndex)),
        ),
        reason: error.reason,
        first: out.changed,
        error: { name: error.name, message: error.message, ...(error.code ? { code: error.code } : {}) },
      });
      return out;
    },
  };
  // Every other member (and maxInlineBytes) is the store's own, bound to it.
  return new Proxy(store, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key in observed) return observed[key as keyof JobStore];
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** `{ attempt }` when it is known. */
function attemptOf(attempt: number | undefined): { attempt?: number } {
  return attempt === undefined ? {} : { attempt };
}

/**
 * The work queue with the deliveries it hands over noted (a draining worker receives its own; an
 * event source mapping's batch is noted by the handler).
 */
export function observedQueue(queue: WorkQueue, o: Observer): WorkQueue {
  return new Proxy(queue, {
    get(target, key, receiver) {
      if (key === 'receive')
        return async (options: ReceiveOptions) => {
          const got = await target.receive(options);
          o.delivered(got);
          return got;
        };
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
