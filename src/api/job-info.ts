/**
 * What a caller can learn of a job without waiting for it: `pool.inspect(jobId)`, the listing of
 * `awsJobs().list()` and `fanfold status` / `fanfold jobs` all show a {@link JobInfo}, a plain,
 * JSON-ready view of the stored job (no payloads, no leases).
 */
import type { JobError, JobRecord, JobStatus } from '../ports.js';

export type { JobStatus } from '../ports.js';

/** Why a job failed or was cancelled, as stored. */
export interface JobFailure {
  /** The error's class name (`TypeError` for a task that threw one, `JobCancelledError`, …). */
  readonly name: string;
  /** What went wrong. */
  readonly message: string;
  /** A fanfold error code when there is one (`ERR_FANFOLD_…`). */
  readonly code?: string;
  /** `task` when a task threw, `retries` when a chunk ran out of deliveries, `fanout` when sending the chunks failed for good, `expired`, `internal` (a cancel). */
  readonly reason: JobError['reason'];
  /** The chunk whose task threw, or which ran out of deliveries. */
  readonly chunkIndex?: number;
  /** The item whose task threw, within the whole job's input. */
  readonly itemIndex?: number;
  /** The stack of the error as it was thrown in the worker. */
  readonly remoteStack?: string;
  /** Deliveries of the chunk, for `retries`. */
  readonly attempts?: number;
}

/**
 * A job as it stands.
 *
 * @example
 * ```ts
 * import { aws, range } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = aws({ tasks, stack: 'Fanfold' }).Pool();
 * const result = pool.mapAsync('square', range(1000));
 * const info = await pool.inspect(result.jobId);
 * console.log(`${info.status} ${info.done}/${info.total ?? '?'} chunks`);
 * ```
 */
export interface JobInfo {
  /** The job's id. */
  readonly id: string;
  /** The kind of job. */
  readonly kind: 'map' | 'starmap' | 'mapReduce';
  /** The task mapped over the items. */
  readonly task: string;
  /** The reducer of a mapReduce job. */
  readonly reducer?: string;
  /** RUNNING → FOLDING → DONE, or FAILED / CANCELLED. */
  readonly status: JobStatus;
  /** Chunks recorded. */
  readonly done: number;
  /** Chunks in all; undefined while an `imap` job is still being fed. */
  readonly total: number | undefined;
  /** When the job was created, epoch ms. */
  readonly createdAt: number;
  /** When the job ended (DONE, FAILED, CANCELLED), epoch ms. */
  readonly endedAt: number | undefined;
  /** When the job fails as expired unless it ended, epoch ms. */
  readonly deadline: number;
  /** Why it failed or was cancelled. */
  readonly error?: JobFailure;
  /** Its caller has read and released it: its results are gone, its record stays until it expires. */
  readonly released?: true;
  /** Mean run time of the recorded chunks on their threads, ms; absent until one is recorded. */
  readonly meanChunkMs?: number;
  /** Deliveries of the recorded chunks beyond their first (retries after a worker died or a message was redelivered). */
  readonly retries: number;
  /** Straggler backups sent (a slow chunk sent again near the job's end). */
  readonly backups: number;
}

/** The public view of a stored job. @internal */
export function toJobInfo(job: JobRecord): JobInfo {
  const e = job.error;
  const error: JobFailure | undefined = e && {
    name: e.name,
    message: e.message,
    reason: e.reason,
    ...(e.code === undefined ? {} : { code: e.code }),
    ...(e.chunkIndex === undefined ? {} : { chunkIndex: e.chunkIndex }),
    ...(e.itemIndex === undefined ? {} : { itemIndex: e.itemIndex }),
    ...(e.stack === undefined ? {} : { remoteStack: e.stack }),
    ...(e.attempts === undefined ? {} : { attempts: e.attempts }),
  };
  return {
    id: job.id,
    kind: job.kind,
    task: job.task,
    ...(job.reducer === undefined ? {} : { reducer: job.reducer }),
    status: job.status,
    done: job.done,
    total: job.total,
    createdAt: job.createdAt,
    endedAt: job.endedAt,
    deadline: job.deadline,
    ...(error ? { error } : {}),
    ...(job.released ? { released: true as const } : {}),
    ...(job.meanChunkMs === undefined ? {} : { meanChunkMs: job.meanChunkMs }),
    retries: job.retries ?? 0,
    backups: job.backups ?? 0,
  };
}

/** How long a job ran and its mean rate: what `fanfold jobs`, `status` and the dashboard show. */
export interface JobRates {
  /** ms from its creation to its end, or to now while it runs. */
  readonly elapsedMs: number;
  /** Chunks recorded per second over {@link elapsedMs}, to one decimal. */
  readonly chunksPerSecond: number;
}

/**
 * How long `job` ran (to its end, or to `now`) and its rate in chunks a second.
 *
 * @example
 * ```ts
 * import type { JobInfo } from 'fanfold';
 * declare const info: JobInfo;
 * const { elapsedMs, chunksPerSecond } = jobRates(info);
 * ```
 */
export function jobRates(job: JobInfo, now = Date.now()): JobRates {
  const elapsedMs = Math.max(0, (job.endedAt ?? now) - job.createdAt);
  return { elapsedMs, chunksPerSecond: elapsedMs > 0 ? Math.round((job.done * 1e4) / elapsedMs) / 10 : 0 };
}
