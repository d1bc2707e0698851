/**
 * A caller watching its job: the one wait loop of the job client. `next()` waits for the job to
 * change (at most a second at a time, never past the job's deadline), reports progress once per
 * change, and fails when the job no longer exists; `check(job)` throws the job's own error once it
 * failed or was cancelled, and expires it once past its deadline. `map`, the `imap` of an open job
 * and the `imap` over `lines()` all wait through it; each reads what it needs between the two
 * calls (results recorded so far are yielded before a failure is thrown, as CPython's `imap` does).
 */
import { JobCancelledError, JobExpiredError, RetriesExhaustedError, TaskError } from '../errors.js';
import type { JobRecord, JobStore } from '../ports.js';

/** Progress of a job, in chunks. */
export interface Progress {
  /** The job's id (`pool.attach(jobId)` reattaches to it). */
  readonly jobId: string;
  /** Chunks done so far. */
  readonly done: number;
  /** Undefined while an open job (imap) is still being fed. */
  readonly total: number | undefined;
}

/** What a watch needs of its client. */
export interface WatchOptions {
  readonly store: JobStore;
  readonly onProgress?: ((p: Progress) => void) | undefined;
  /** Ends the job as expired (through the coordinator: a caller on AWS may read the table but not write it). */
  readonly expire: (jobId: string) => Promise<void>;
  /** The job's deadline (epoch ms) until it is first read. @default Infinity */
  readonly deadline?: number;
}

/** One caller's watch over one job; see the module comment. */
export class JobWatch {
  readonly #jobId: string;
  readonly #o: WatchOptions;
  #version = -1;
  #deadline: number;

  constructor(jobId: string, options: WatchOptions) {
    this.#jobId = jobId;
    this.#o = options;
    this.#deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  }

  /** Waits for the job to change (or a second); throws {@link JobCancelledError} when it is gone. */
  async next(): Promise<JobRecord> {
    const job = await this.#o.store.waitForChange(this.#jobId, this.#version, waitBudget(this.#deadline));
    if (!job) throw new JobCancelledError(this.#jobId, 'the job no longer exists');
    this.#deadline = job.deadline;
    this.saw(job);
    return job;
  }

  /** Reports `job`'s progress if it changed since last seen (results can be read before the change that counted them). */
  saw(job: JobRecord): void {
    if (job.version === this.#version) return;
    this.#version = job.version;
    this.#o.onProgress?.({ jobId: this.#jobId, done: job.done, total: job.total });
  }

  /** Throws the job's error once it failed or was cancelled; expires it (and throws) past its deadline. */
  async check(job: JobRecord): Promise<void> {
    throwIfEnded(job);
    if (Date.now() > job.deadline) {
      await this.#o.expire(job.id);
      throw new JobExpiredError(job.id);
    }
  }
}

/** Throws what a failed or cancelled job ended with; returns for any other status. */
export function throwIfEnded(job: JobRecord): void {
  if (job.status === 'CANCELLED') throw new JobCancelledError(job.id);
  if (job.status !== 'FAILED') return;
  const e = job.error;
  if (e?.reason === 'retries')
    throw new RetriesExhaustedError(job.id, e.chunkIndex, e.attempts ?? 0, e.cause);
  if (e?.reason === 'expired') throw new JobExpiredError(job.id);
  throw new TaskError(e ?? { name: 'Error', message: 'unknown failure' }, job.id);
}

/** How long to wait for a change: until the deadline, and at most a second between checks. */
function waitBudget(deadline: number): number {
  return Math.max(1, Math.min(1000, deadline - Date.now() + 1));
}
