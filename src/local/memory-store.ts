/**
 * An in-memory {@link JobStore} standing in for the DynamoDB table: each method's body runs
 * synchronously (no `await` between its check and its write), which makes every method one
 * atomic conditional operation in a single thread.
 */
import { Deque } from '../deque.js';
import { ErrorCodes, ProtocolError, type SerializedError } from '../errors.js';
import type {
  ChunkAttempt,
  ChunkResult,
  ClaimOutcome,
  CompleteOutcome,
  Data,
  JobError,
  JobRecord,
  JobRef,
  JobSpec,
  JobStore,
  ListJobsOptions,
  RunClaim,
  SealOutcome,
} from '../ports.js';
import { chunkResults, inlineData, integer, jobSpec, nonEmptyString, nonNegative } from '../validate.js';
import { copyData, type JobState, type Mutable, snapshot } from './memory-job.js';

/** Released jobs whose chunk attempts (their timelines) a store keeps, the most recent ones. */
const KEPT_TIMELINES = 16;

/** Options of {@link MemoryJobStore}. */
export interface MemoryJobStoreOptions {
  /** Largest inline `Data` (bytes) a result may carry; under DynamoDB's 400 KB item. @default 358_400 (350 KiB) */
  readonly maxInlineBytes?: number;
  /** How long a released job's tombstone is kept (its id cannot be reused meanwhile), in ms. @default 86_400_000 (a day) */
  readonly retentionMs?: number;
  /** The time source, in epoch ms. @default Date.now */
  readonly clock?: () => number;
}

/**
 * An in-memory job store with the semantics of the DynamoDB adapter. It does not shard: every job
 * has `shards: 1`, and a call finds a job complete when its last chunk is recorded.
 *
 * Choices where the port leaves room: a job that does not exist (never created, or its tombstone
 * dropped after the retention) counts as ended: `completeChunk` returns `first: false` with status
 * `CANCELLED`, `seal` throws a {@link ProtocolError}. A finaliser whose lease ran out but was not
 * taken over may still `finishJob`. `cancelJob` keeps its reason as the job's `error` (code
 * `ERR_FANFOLD_JOB_CANCELLED`). Releasing drops a job's results at once and keeps a tombstone
 * (the record without its data) for `retentionMs`. Data is copied on the way in and on the way out.
 *
 * @example
 * ```ts
 * const store = new MemoryJobStore();
 * await store.createJob({ id: 'j1', kind: 'map', task: 'square', total: 2, deadline: Date.now() + 60_000 });
 * await store.completeChunk('j1', 0, { enc: 'f64', bytes });
 * ```
 */
export class MemoryJobStore implements JobStore {
  /** {@inheritDoc JobStore.maxInlineBytes} */
  readonly maxInlineBytes: number;
  readonly #clock: () => number;
  readonly #retentionMs: number;
  readonly #jobs = new Map<string, JobState>();
  /** Released jobs in the order of release, with when each tombstone may go. */
  readonly #tombstones = new Deque<{ readonly id: string; readonly until: number }>();
  /** Released jobs whose attempts are kept, oldest first (at most {@link KEPT_TIMELINES}). */
  readonly #kept: string[] = [];

  constructor(options: MemoryJobStoreOptions = {}) {
    this.maxInlineBytes = integer(options.maxInlineBytes ?? 350 * 1024, 'options.maxInlineBytes', 0);
    this.#retentionMs = integer(options.retentionMs ?? 86_400_000, 'options.retentionMs', 0);
    this.#clock = options.clock ?? Date.now;
  }

  /** {@inheritDoc JobStore.createJob} */
  async createJob(spec: JobSpec): Promise<{ created: boolean; job: JobRecord }> {
    jobSpec(spec);
    this.#prune();
    const existing = this.#jobs.get(spec.id);
    if (existing) return { created: false, job: snapshot(existing) };
    if (spec.initial) inlineData(spec.initial, 'Initial value', this.maxInlineBytes);
    const record: Mutable<JobRecord> = {
      id: spec.id,
      kind: spec.kind,
      task: spec.task,
      deadline: spec.deadline,
      status: 'RUNNING',
      done: 0,
      version: 1,
      createdAt: this.#clock(),
      shards: 1,
    };
    if (spec.reducer !== undefined) record.reducer = spec.reducer;
    if (spec.initial !== undefined) record.initial = copyData(spec.initial);
    if (spec.total !== undefined) record.total = spec.total;
    if (spec.plan !== undefined) record.plan = spec.plan;
    const state: JobState = {
      record,
      fence: 0,
      results: new Map(),
      attempts: new Map(),
      timing: { ms: 0, timed: 0, retries: 0 },
      errors: new Map(),
      runs: new Map(),
      waiters: new Set(),
    };
    this.#jobs.set(spec.id, state);
    return { created: true, job: snapshot(state) };
  }

  /** {@inheritDoc JobStore.seal} Throws {@link ProtocolError} for an unknown job or another total. */
  async seal(jobId: string, total: number): Promise<SealOutcome> {
    integer(total, 'total', 0);
    const state = this.#jobs.get(jobId);
    if (!state) throw new ProtocolError(`Cannot seal job ${jobId}: it does not exist`);
    const { record } = state;
    if (record.total !== undefined && record.total !== total) {
      throw new ProtocolError(
        `Job ${jobId} is sealed with ${record.total} chunks; cannot seal it with ${total}`,
      );
    }
    if (total < record.done)
      this.#failWith(
        jobId,
        new ProtocolError(`Job ${jobId} has ${record.done} chunks done; cannot seal it with ${total}`),
      );
    if (record.total === undefined) {
      record.total = total;
      this.#bump(state);
    }
    return { job: snapshot(state), complete: record.status === 'RUNNING' && record.done === total };
  }

  /** {@inheritDoc JobStore.completeChunk} */
  async completeChunk(jobId: string, index: number, result: Data): Promise<CompleteOutcome> {
    const [outcome] = await this.completeChunks(jobId, [{ index, result }]);
    return outcome!;
  }

  /**
   * {@inheritDoc JobStore.completeChunks} Recorded one by one, in one synchronous step (so
   * atomically). `job` is only checked: nothing is sharded here.
   */
  async completeChunks(
    jobId: string,
    entries: readonly ChunkResult[],
    job?: JobRef,
  ): Promise<CompleteOutcome[]> {
    // No await between the entries: the whole call is one step, as one transaction is.
    chunkResults(entries, this.maxInlineBytes);
    const state = this.#jobs.get(jobId);
    const total = state?.record.total;
    const late = entries.find((e) => total !== undefined && e.index >= total);
    if (state && job && job.shards !== state.record.shards)
      this.#corrupt(jobId, `chunks of job ${jobId} came as if it had ${job.shards} shards; it has 1`);
    if (late) this.#corrupt(jobId, `chunk ${late.index} is out of range for job ${jobId} of ${total} chunks`);
    const firsts = entries.map((e) => (state ? this.#recordOne(state, e) : false));
    if (!state)
      return entries.map(() => ({ first: false, total: undefined, status: 'CANCELLED', complete: false }));
    const { record } = state;
    const complete =
      (record.status === 'RUNNING' || record.status === 'FOLDING') &&
      record.total !== undefined &&
      record.done === record.total;
    return firsts.map((first) => ({
      first,
      done: record.done,
      total: record.total,
      status: record.status,
      complete,
    }));
  }

  /**
   * Records one chunk; true when this call recorded it. A job that ended still takes a late chunk
   * (as the DynamoDB store does, whose writes do not read the job); a released one takes nothing.
   */
  #recordOne(state: JobState, e: ChunkResult): boolean {
    if (state.record.released || state.results.has(e.index)) return false;
    state.results.set(e.index, copyData(e.result));
    if (e.attempt) {
      state.attempts.set(e.index, { ...e.attempt });
      state.timing.ms += e.attempt.ms;
      state.timing.timed++;
      state.record.meanChunkMs = state.timing.ms / state.timing.timed;
      if (e.attempt.attempt > 1) {
        state.timing.retries += e.attempt.attempt - 1;
        state.record.retries = state.timing.retries;
      }
    }
    state.record.done++;
    this.#bump(state);
    return true;
  }

  /** {@inheritDoc JobStore.claimRun} The claim does not change the job's version. */
  async claimRun(jobId: string, index: number, owner: string, leaseMs: number): Promise<RunClaim> {
    integer(index, 'index', 0);
    nonEmptyString(owner, 'owner');
    integer(leaseMs, 'leaseMs', 1);
    const state = this.#jobs.get(jobId);
    if (!state) return { claimed: false, job: undefined };
    const held = state.runs.get(index);
    if (state.record.status !== 'RUNNING' || (held !== undefined && held.owner !== owner))
      return { claimed: false, job: snapshot(state), ...(held ? { leaseUntil: held.until } : {}) };
    const until = this.#clock() + leaseMs;
    state.runs.set(index, { owner, until });
    return { claimed: true, job: snapshot(state), leaseUntil: until };
  }

  /** {@inheritDoc JobStore.failJob} */
  async failJob(jobId: string, error: JobError): Promise<{ changed: boolean; job: JobRecord | undefined }> {
    return this.#end(jobId, 'FAILED', { ...error });
  }

  /** {@inheritDoc JobStore.cancelJob} The reason is kept as the job's `error`. */
  async cancelJob(jobId: string, reason: string): Promise<{ changed: boolean; job: JobRecord | undefined }> {
    const error: JobError = {
      name: 'JobCancelledError',
      message: reason,
      code: ErrorCodes.JOB_CANCELLED,
      reason: 'internal',
    };
    return this.#end(jobId, 'CANCELLED', error);
  }

  /** {@inheritDoc JobStore.claimFinaliser} The first lease has fence 1; each takeover adds 1. */
  async claimFinaliser(jobId: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    integer(leaseMs, 'leaseMs', 1);
    const state = this.#jobs.get(jobId);
    if (!state) return { claimed: false, job: undefined };
    const { record } = state;
    const now = this.#clock();
    const ready = record.status === 'RUNNING' && record.total !== undefined && record.done === record.total;
    const expired = record.status === 'FOLDING' && (record.finaliser?.leaseUntil ?? 0) <= now;
    if (!ready && !expired) {
      // The holder asking again (a retried request) gets its own lease back, unchanged.
      const lease = record.status === 'FOLDING' ? record.finaliser : undefined;
      if (lease?.owner === owner) return { claimed: true, fence: lease.fence, job: snapshot(state) };
      return { claimed: false, job: snapshot(state) };
    }
    state.fence++;
    record.status = 'FOLDING';
    record.finaliser = { owner, leaseUntil: now + leaseMs, fence: state.fence };
    this.#bump(state);
    return { claimed: true, fence: state.fence, job: snapshot(state) };
  }

  /** {@inheritDoc JobStore.finishJob} A lease that ran out still finishes while nobody has taken it over. */
  async finishJob(jobId: string, owner: string, fence: number, result?: Data): Promise<boolean> {
    const state = this.#jobs.get(jobId);
    const lease = state?.record.finaliser;
    // Only FOLDING jobs hold a lease: ending the job any other way deletes it.
    if (state === undefined || lease?.owner !== owner || lease.fence !== fence) return false;
    if (result) inlineData(result, 'Job result', this.maxInlineBytes);
    const { record } = state;
    record.status = 'DONE';
    record.endedAt = this.#clock();
    delete record.finaliser;
    if (result) record.result = copyData(result);
    this.#bump(state);
    return true;
  }

  /** {@inheritDoc JobStore.noteChunkError} Ignored for a job that does not exist or was released. */
  async noteChunkError(jobId: string, index: number, error: SerializedError): Promise<void> {
    const state = this.#jobs.get(jobId);
    if (state && !state.record.released) state.errors.set(index, { ...error });
  }

  /** {@inheritDoc JobStore.countBackups} */
  async countBackups(jobId: string, sent: number): Promise<void> {
    const state = this.#jobs.get(jobId);
    if (state && sent > 0) state.record.backups = (state.record.backups ?? 0) + sent;
  }

  /** {@inheritDoc JobStore.lastChunkError} */
  async lastChunkError(jobId: string, index: number): Promise<SerializedError | undefined> {
    const error = this.#jobs.get(jobId)?.errors.get(index);
    return error && { ...error };
  }

  /** {@inheritDoc JobStore.getJob} The counts cost nothing here: they are always exact. */
  async getJob(jobId: string, _options?: { readonly counts?: boolean }): Promise<JobRecord | undefined> {
    const state = this.#jobs.get(jobId);
    return state && snapshot(state);
  }

  /**
   * {@inheritDoc JobStore.waitForChange} Resolves `undefined` at once for a job that does not
   * exist; a release wakes the job's waiters with its tombstone.
   */
  async waitForChange(
    jobId: string,
    sinceVersion: number,
    timeoutMs: number,
  ): Promise<JobRecord | undefined> {
    nonNegative(timeoutMs, 'timeoutMs');
    const state = this.#jobs.get(jobId);
    if (!state) return undefined;
    if (state.record.version > sinceVersion || timeoutMs === 0) return snapshot(state);
    return new Promise((resolve) => {
      const waiter = {
        since: sinceVersion,
        wake: (job: JobRecord | undefined) => {
          clearTimeout(timer);
          state.waiters.delete(waiter);
          resolve(job);
        },
      };
      const timer = setTimeout(() => waiter.wake(snapshot(state)), timeoutMs);
      state.waiters.add(waiter);
    });
  }

  /** {@inheritDoc JobStore.readAttempts} */
  async readAttempts(jobId: string, indices: readonly number[]): Promise<Map<number, ChunkAttempt>> {
    const out = new Map<number, ChunkAttempt>();
    const attempts = this.#jobs.get(jobId)?.attempts;
    for (const index of indices) {
      const a = attempts?.get(index);
      if (a) out.set(index, { ...a });
    }
    return out;
  }

  /** {@inheritDoc JobStore.pendingChunks} The lowest indices not recorded. */
  async pendingChunks(jobId: string, max: number): Promise<number[]> {
    integer(max, 'max', 1);
    const state = this.#jobs.get(jobId);
    const total = state?.record.total;
    if (!state || total === undefined || state.record.released) return [];
    const out: number[] = [];
    for (let i = 0; i < total && out.length < max; i++) if (!state.results.has(i)) out.push(i);
    return out;
  }

  /** {@inheritDoc JobStore.readResults} Copies of the recorded results. */
  async readResults(jobId: string, indices: readonly number[]): Promise<Map<number, Data>> {
    const out = new Map<number, Data>();
    const results = this.#jobs.get(jobId)?.results;
    if (!results) return out;
    for (const index of indices) {
      const data = results.get(index);
      if (data) out.set(index, copyData(data));
    }
    return out;
  }

  /** {@inheritDoc JobStore.listJobs} Every job held, newest first; ties keep creation order reversed. */
  async listJobs(options: ListJobsOptions): Promise<JobRecord[]> {
    const limit = integer(options.limit, 'options.limit', 1);
    const before = options.before ?? Number.POSITIVE_INFINITY;
    const since = options.since ?? Number.NEGATIVE_INFINITY;
    return [...this.#jobs.values()]
      .reverse()
      .filter((s) => s.record.createdAt < before && s.record.createdAt >= since)
      .sort((a, b) => b.record.createdAt - a.record.createdAt)
      .slice(0, limit)
      .map(snapshot);
  }

  /**
   * {@inheritDoc JobStore.releaseJob} Drops the results, notes and run claims at once, and the
   * record's `initial` and `result`; waiters wake with the tombstone. The attempts of the 16 most
   * recently released jobs stay, for their timelines.
   */
  async releaseJob(jobId: string): Promise<void> {
    this.#prune();
    const state = this.#jobs.get(jobId);
    if (!state || state.record.released) return;
    state.results.clear();
    // The attempts (a few numbers per chunk) stay with the tombstone of the most recent released
    // jobs, as DynamoDB keeps a released job's records until their TTL: `pool.timeline(id)` draws a
    // job after its caller collected it. Older jobs' attempts go, so memory stays bounded.
    this.#kept.push(jobId);
    if (this.#kept.length > KEPT_TIMELINES) this.#jobs.get(this.#kept.shift()!)?.attempts.clear();
    state.errors.clear();
    state.runs.clear();
    delete state.record.initial;
    delete state.record.result;
    state.record.released = true;
    this.#tombstones.push({ id: jobId, until: this.#clock() + this.#retentionMs });
    this.#bump(state);
  }

  /** Forgets the tombstones whose retention has passed. */
  #prune(): void {
    const now = this.#clock();
    for (let t = this.#tombstones.peek(); t && t.until <= now; t = this.#tombstones.peek()) {
      this.#tombstones.shift();
      this.#jobs.delete(t.id);
    }
  }

  /** Resolves every pending `waitForChange` with the job's current state and clears their timers. */
  close(): void {
    for (const state of this.#jobs.values()) {
      for (const waiter of [...state.waiters]) waiter.wake(snapshot(state));
    }
  }

  #end(jobId: string, status: 'FAILED' | 'CANCELLED', error: JobError) {
    const state = this.#jobs.get(jobId);
    if (!state) return { changed: false, job: undefined };
    const { record } = state;
    if (record.status !== 'RUNNING' && record.status !== 'FOLDING')
      return { changed: false, job: snapshot(state) };
    record.status = status;
    record.error = error;
    record.endedAt = this.#clock();
    // Leaving FOLDING revokes the lease, so a late finishJob returns false.
    delete record.finaliser;
    this.#bump(state);
    return { changed: true, job: snapshot(state) };
  }

  /** Fails the job a corrupt chunk message names (its count can no longer be trusted), and throws. */
  #corrupt(jobId: string, why: string): never {
    this.#failWith(jobId, new ProtocolError(`A corrupt chunk message: ${why}`));
  }

  /** Fails the job with `error` (a wrong count: it must never complete), and throws it. */
  #failWith(jobId: string, error: ProtocolError): never {
    this.#end(jobId, 'FAILED', {
      name: error.name,
      message: error.message,
      code: error.code,
      reason: 'internal',
    });
    throw error;
  }

  /** Every change goes through here: a new version, and the waiters that were waiting for it. */
  #bump(state: JobState): void {
    const version = ++state.record.version;
    for (const waiter of state.waiters) if (version > waiter.since) waiter.wake(snapshot(state));
  }
}
