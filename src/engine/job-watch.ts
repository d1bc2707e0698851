/**
 * A caller watching its job: the one wait loop of the job client. `next()` waits for the job to
 * change (at most a second at a time, never past the job's deadline), reports progress once per
 * change, and fails when the job no longer exists; `check(job)` throws the job's own error once it
 * failed or was cancelled, and expires it once past its deadline. `map`, the `imap` of an open job
 * and the `imap` over `lines()` all wait through it; each reads what it needs between the two
 * calls (results recorded so far are yielded before a failure is thrown, as CPython's `imap` does).
 *
 * How it waits depends on the store. A store that can tell a change without being asked (the
 * in-memory store: its waiters are woken by the write itself) is waited on with `waitForChange`,
 * which costs nothing. Any other store (DynamoDB) is polled with ONE schedule kept for the whole
 * watch, across `next()` calls: the next read is due `pollDelay(idle)` after the last one, where
 * `idle` is how long the job has been seen unchanged (see {@link pollDelay}). When `next()`'s
 * second ends before a read is due, it returns the job last read without reading again: the end of
 * a wait budget never restarts the schedule, so an idle job is read about once a second however
 * the caller loops, and a job whose chunks finish often is read often.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { now } from '../deadline.js';
import {
  FanoutFailedError,
  JobCancelledError,
  JobExpiredError,
  JobReleasedError,
  RetriesExhaustedError,
  remoteFailure,
} from '../errors.js';
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

/** How a watch polls a store that cannot notify, in ms: see {@link pollDelay}. */
export interface PollBounds {
  /** The delay after a change, and the shortest. */
  readonly min: number;
  /** The longest delay: an idle job is read once per `max`. */
  readonly max: number;
}

/** The polling of the AWS context unless `pollMs` says otherwise. */
export const DEFAULT_POLL: PollBounds = Object.freeze({ min: 25, max: 1000 });

/**
 * How much the delay grows with the time the job has been seen unchanged. With 0.2, an event that
 * comes `t` ms after the last change is seen on average `0.1 t` ms late (half a delay), and an idle
 * job is read about 20 times before the delay reaches `max` (5 s at the defaults), then once per
 * `max`: about 75 reads in its first minute, against 399 when each second's wait restarted at
 * `min`. Doubling the delay after each read (growth 1) would read less but see a chunk that ends
 * half a second after submit some 250 ms late.
 */
export const POLL_GROWTH = 0.2;

/**
 * The delay before the next read of a job that has been seen unchanged for `idleMs`: a fixed share
 * ({@link POLL_GROWTH}) of the time nothing changed, never below `min` nor above `max`. No jitter:
 * a watch reads its own job, so there is no collision to spread out, and an exact schedule is one a
 * test can count.
 */
export function pollDelay(idleMs: number, bounds: PollBounds): number {
  return Math.min(bounds.max, Math.max(bounds.min, idleMs * POLL_GROWTH));
}

/** The time a watch runs on: the monotonic clock and timers, or a test's. */
export interface WatchClock {
  /** Monotonic ms. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: WatchClock = { now, sleep: (ms) => sleep(ms) };

/** What a watch needs of its client. */
export interface WatchOptions {
  readonly store: JobStore;
  readonly onProgress?: ((p: Progress) => void) | undefined;
  /** Ends the job as expired (through the coordinator: a caller on AWS may read the table but not write it). */
  readonly expire: (jobId: string) => Promise<void>;
  /** The job's deadline (epoch ms) until it is first read. @default Infinity */
  readonly deadline?: number;
  /** The polling of a store without `waitForChange`. @default {@link DEFAULT_POLL} */
  readonly poll?: PollBounds | undefined;
  /** @default the monotonic clock and real timers */
  readonly clock?: WatchClock | undefined;
}

/** What one `next()` saw. */
export interface Seen {
  readonly job: JobRecord;
  /** The job changed since the previous `next()` (or `saw()`); false when the wait's second ended first. */
  readonly changed: boolean;
}

/** One caller's watch over one job; see the module comment. */
export class JobWatch {
  readonly #jobId: string;
  readonly #o: WatchOptions;
  readonly #poll: PollBounds;
  readonly #clock: WatchClock;
  #version = -1;
  #deadline: number;
  /** The job as last read (polling), returned when a wait's second ends before the next read is due. */
  #last: JobRecord | undefined;
  /** When the job was last seen to change (monotonic ms). */
  #changedAt: number;
  /** When the next read is due (monotonic ms); 0 reads at once. */
  #readAt = 0;

  constructor(jobId: string, options: WatchOptions) {
    this.#jobId = jobId;
    this.#o = options;
    this.#poll = options.poll ?? DEFAULT_POLL;
    this.#clock = options.clock ?? realClock;
    this.#deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    this.#changedAt = this.#clock.now();
  }

  /**
   * Waits for the job to change (or a second); throws {@link JobCancelledError} when it is gone and
   * {@link JobReleasedError} when another caller released it (its results are no longer there).
   */
  async next(): Promise<Seen> {
    const budget = waitBudget(this.#deadline);
    const { waitForChange } = this.#o.store;
    const job = waitForChange
      ? await waitForChange.call(this.#o.store, this.#jobId, this.#version, budget)
      : await this.#pollUntil(this.#clock.now() + budget);
    if (!job) throw new JobCancelledError(this.#jobId, 'the job no longer exists');
    if (job.released) throw new JobReleasedError(this.#jobId);
    this.#deadline = job.deadline;
    const changed = job.version > this.#version;
    this.saw(job);
    return { job, changed };
  }

  /** Reports `job`'s progress if it changed since last seen (results can be read before the change that counted them). */
  saw(job: JobRecord): void {
    if (job.version <= this.#version) return;
    this.#version = job.version;
    this.#last = job;
    this.#changedAt = this.#clock.now();
    this.#readAt = this.#changedAt + this.#poll.min;
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

  /** Reads the job when due until it changed or `until` (monotonic ms) comes. */
  async #pollUntil(until: number): Promise<JobRecord | undefined> {
    const clock = this.#clock;
    for (;;) {
      const t = clock.now();
      const last = this.#last;
      if (last && this.#readAt > until) {
        // Not due within this wait: the caller gets its second back, the schedule is kept.
        if (until > t) await clock.sleep(until - t);
        return last;
      }
      if (this.#readAt > t) await clock.sleep(this.#readAt - t);
      const job = await this.#o.store.getJob(this.#jobId);
      const read = clock.now();
      this.#last = job;
      if (!job || job.version > this.#version) return job;
      this.#readAt = read + pollDelay(read - this.#changedAt, this.#poll);
      if (read >= until) return job;
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
  if (e?.reason === 'fanout') throw new FanoutFailedError(job.id, e.message, e.attempts ?? 0, e.cause);
  throw remoteFailure(e ?? { name: 'Error', message: 'unknown failure' }, job.id);
}

/** How long to wait for a change: until the deadline, and at most a second between checks. */
function waitBudget(deadline: number): number {
  return Math.max(1, Math.min(1000, deadline - Date.now() + 1));
}
