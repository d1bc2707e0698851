/**
 * An in-memory {@link JobStore} standing in for the DynamoDB table: each method's body runs
 * synchronously (no `await` between its check and its write), which makes every method one
 * atomic conditional operation in a single thread.
 */
import { ErrorCodes, PayloadTooLargeError, ProtocolError, type SerializedError } from '../errors.js';
import type {
  ChunkResult,
  ClaimOutcome,
  CompleteOutcome,
  Data,
  JobError,
  JobRecord,
  JobSpec,
  JobStore,
  ListJobsOptions,
  RunClaim,
} from '../ports.js';
import { integer, jobSpec, nonEmptyString, nonNegative } from '../validate.js';

/** Options of {@link MemoryJobStore}. */
export interface MemoryJobStoreOptions {
  /** Largest inline `Data` (bytes) a result may carry; under DynamoDB's 400 KB item. @default 358_400 (350 KiB) */
  readonly maxInlineBytes?: number;
  /** The time source, in epoch ms. @default Date.now */
  readonly clock?: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface JobState {
  readonly record: Mutable<JobRecord>;
  /** Last fence handed out; survives the lease being cleared when the job leaves FOLDING. */
  fence: number;
  readonly results: Map<number, Data>;
  readonly errors: Map<number, SerializedError>;
  /** The owner and lease end of each claimed run, by chunk index. */
  readonly runs: Map<number, { readonly owner: string; readonly until: number }>;
  readonly waiters: Set<{ readonly since: number; readonly wake: (job: JobRecord | undefined) => void }>;
}

/** A copy of the data, so neither the caller nor a reader aliases the stored bytes. */
function copyData(data: Data): Data {
  return 'bytes' in data ? { enc: data.enc, bytes: new Uint8Array(data.bytes) } : { ...data };
}

/**
 * An in-memory job store with the semantics of the DynamoDB adapter.
 *
 * Choices where the port leaves room: a job that does not exist (never created, or deleted)
 * counts as ended: `completeChunk` returns `first: false` with status `CANCELLED`, `seal` throws a
 * {@link ProtocolError}. A finaliser whose lease ran out but was not taken over may still
 * `finishJob`. `cancelJob` keeps its reason as the job's `error` (code `ERR_FANFOLD_JOB_CANCELLED`).
 * Data is copied on the way in and on the way out.
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
  readonly #jobs = new Map<string, JobState>();

  constructor(options: MemoryJobStoreOptions = {}) {
    this.maxInlineBytes = integer(options.maxInlineBytes ?? 350 * 1024, 'options.maxInlineBytes', 0);
    this.#clock = options.clock ?? Date.now;
  }

  /** {@inheritDoc JobStore.createJob} */
  async createJob(spec: JobSpec): Promise<{ created: boolean; job: JobRecord }> {
    jobSpec(spec);
    const existing = this.#jobs.get(spec.id);
    if (existing) return { created: false, job: snapshot(existing) };
    if (spec.initial) this.#checkInline(spec.initial, 'Initial value');
    const record: Mutable<JobRecord> = {
      id: spec.id,
      kind: spec.kind,
      task: spec.task,
      deadline: spec.deadline,
      status: 'RUNNING',
      done: 0,
      version: 1,
      createdAt: this.#clock(),
    };
    if (spec.reducer !== undefined) record.reducer = spec.reducer;
    if (spec.initial !== undefined) record.initial = copyData(spec.initial);
    if (spec.total !== undefined) record.total = spec.total;
    if (spec.plan !== undefined) record.plan = spec.plan;
    const state: JobState = {
      record,
      fence: 0,
      results: new Map(),
      errors: new Map(),
      runs: new Map(),
      waiters: new Set(),
    };
    this.#jobs.set(spec.id, state);
    return { created: true, job: snapshot(state) };
  }

  /** {@inheritDoc JobStore.seal} Throws {@link ProtocolError} for an unknown job, another total, or fewer chunks than done. */
  async seal(jobId: string, total: number): Promise<JobRecord> {
    integer(total, 'total', 0);
    const state = this.#jobs.get(jobId);
    if (!state) throw new ProtocolError(`Cannot seal job ${jobId}: it does not exist`);
    const { record } = state;
    if (record.total === total) return snapshot(state);
    if (record.total !== undefined) {
      throw new ProtocolError(
        `Job ${jobId} is sealed with ${record.total} chunks; cannot seal it with ${total}`,
      );
    }
    if (total < record.done)
      throw new ProtocolError(`Job ${jobId} has ${record.done} chunks done; cannot seal it with ${total}`);
    record.total = total;
    this.#bump(state);
    return snapshot(state);
  }

  /** {@inheritDoc JobStore.completeChunk} Throws {@link ProtocolError} when the index is past a sealed total. */
  async completeChunk(jobId: string, index: number, result: Data): Promise<CompleteOutcome> {
    const [outcome] = await this.completeChunks(jobId, [{ index, result }]);
    return outcome!;
  }

  /** {@inheritDoc JobStore.completeChunks} Recorded one by one, in one synchronous step (so atomically). */
  async completeChunks(jobId: string, entries: readonly ChunkResult[]): Promise<CompleteOutcome[]> {
    // No await between the entries: the whole call is one step, as one transaction is.
    const firsts = entries.map((e) => this.#recordOne(jobId, e.index, e.result));
    const record = this.#jobs.get(jobId)?.record;
    return firsts.map((first) =>
      record
        ? { first, done: record.done, total: record.total, status: record.status }
        : { first: false, done: 0, total: undefined, status: 'CANCELLED' },
    );
  }

  /** Records one chunk; true when this call recorded it. Throws for an index past a sealed total. */
  #recordOne(jobId: string, index: number, result: Data): boolean {
    integer(index, 'index', 0);
    const state = this.#jobs.get(jobId);
    if (!state) return false;
    const { record } = state;
    if (record.status !== 'RUNNING' || state.results.has(index)) return false;
    if (record.total !== undefined && index >= record.total) {
      throw new ProtocolError(`Chunk ${index} is out of range for job ${jobId} of ${record.total} chunks`);
    }
    this.#checkInline(result, `Result of chunk ${index}`);
    state.results.set(index, copyData(result));
    record.done++;
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
    if (result) this.#checkInline(result, 'Job result');
    const { record } = state;
    record.status = 'DONE';
    record.endedAt = this.#clock();
    delete record.finaliser;
    if (result) record.result = copyData(result);
    this.#bump(state);
    return true;
  }

  /** {@inheritDoc JobStore.noteChunkError} Ignored for a job that does not exist. */
  async noteChunkError(jobId: string, index: number, error: SerializedError): Promise<void> {
    this.#jobs.get(jobId)?.errors.set(index, { ...error });
  }

  /** {@inheritDoc JobStore.lastChunkError} */
  async lastChunkError(jobId: string, index: number): Promise<SerializedError | undefined> {
    const error = this.#jobs.get(jobId)?.errors.get(index);
    return error && { ...error };
  }

  /** {@inheritDoc JobStore.getJob} */
  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const state = this.#jobs.get(jobId);
    return state && snapshot(state);
  }

  /**
   * {@inheritDoc JobStore.waitForChange} Resolves `undefined` at once for a job that does not
   * exist, and when the job is deleted while waiting.
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

  /** {@inheritDoc JobStore.deleteJob} Waiters of the job resolve with `undefined`. */
  async deleteJob(jobId: string): Promise<void> {
    const state = this.#jobs.get(jobId);
    if (!state) return;
    this.#jobs.delete(jobId);
    for (const waiter of [...state.waiters]) waiter.wake(undefined);
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

  #checkInline(data: Data, what: string): void {
    if ('bytes' in data && data.bytes.byteLength > this.maxInlineBytes) {
      throw new PayloadTooLargeError(what, data.bytes.byteLength, this.maxInlineBytes);
    }
  }

  /** Every change goes through here: a new version, and the waiters that were waiting for it. */
  #bump(state: JobState): void {
    const version = ++state.record.version;
    for (const waiter of state.waiters) if (version > waiter.since) waiter.wake(snapshot(state));
  }
}

/** A copy of the record that callers may keep: later changes do not show through it. */
function snapshot(state: JobState): JobRecord {
  const job: Mutable<JobRecord> = { ...state.record };
  if (job.initial) job.initial = copyData(job.initial);
  if (job.result) job.result = copyData(job.result);
  if (job.error) job.error = { ...job.error };
  return job;
}
