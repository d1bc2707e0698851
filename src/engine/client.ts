/**
 * The caller's side of the job protocol: submit a job through the coordinator, wait for it to end
 * (reporting progress), collect results in input order, release it. Also streams open jobs for
 * `imap`, pulling the input lazily with a bounded number of chunks in flight (`open-job.ts`).
 * Every wait goes through one {@link JobWatch} (`job-watch.ts`). The coordinator is called
 * in-process on the local context and through Lambda on AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  JobCancelledError,
  JobConflictError,
  JobMismatchError,
  JobNotFoundError,
  JobReleasedError,
  TaskError,
  UnsupportedError,
} from '../errors.js';
import type { BlobStore, Data, JobKind, JobRecord, JobStore, ListJobsOptions } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { decodeList, decodeValue, encodeValue, spill, unspill } from './codec.js';
import type { CoordinatorRequest, CoordinatorResponse, JobInput } from './coordinator.js';
import { JobWatch, type PollBounds, type Progress } from './job-watch.js';
import { Lines } from './lines.js';
import { OpenJobFeeder } from './open-job.js';
import { OrderedResults } from './ordered-results.js';
import { checkArgLists, defaultChunksize, toSized, wireItems } from './plan.js';
import { Range } from './range.js';
import { Releases } from './releases.js';
import { type BackupSource, backupWatch, type StragglerPolicy, type StragglerWatch } from './stragglers.js';

export type { Progress } from './job-watch.js';

/** Per-call options the engine understands. */
export interface CallOptions {
  readonly chunksize?: number | undefined;
  readonly onProgress?: ((p: Progress) => void) | undefined;
  /** The job's id. @default a random UUID */
  readonly jobId?: string | undefined;
  /** The job is the run of a `Process` of this name: its one chunk gets a thread of its own. */
  readonly process?: string | undefined;
  /** The items already hold primitives' handles (a Process's arguments, made wire-ready by the caller). */
  readonly handles?: boolean | undefined;
}

/** Options of {@link JobClient.attach}. */
export interface AttachOptions {
  readonly onProgress?: ((p: Progress) => void) | undefined;
  /** The job must be of this task (and reducer, for a mapReduce job), else {@link JobMismatchError}. */
  readonly expect?: { readonly task: string; readonly reducer?: string | undefined } | undefined;
  /** Release the job once its results are read. @default true */
  readonly release?: boolean | undefined;
}

/** Options of {@link JobClient}. */
export interface ClientOptions {
  /** Sends a request to the coordinator (in-process, or a Lambda invoke). */
  readonly coordinator: (req: CoordinatorRequest) => Promise<CoordinatorResponse>;
  /** Read access to jobs and results. */
  readonly store: JobStore;
  /** Read (and, for large values, write) access to blobs. */
  readonly blobs: BlobStore;
  /** Parallel workers, for CPython's default chunksize. */
  readonly processes: number;
  /** A job that has not ended this long after it started fails as expired. */
  readonly jobTimeoutMs: number;
  /** Chunks in flight (dispatched, not yet consumed) for imap. */
  readonly window: number;
  /** Told when the caller ends a job (cancel, expiry), so running chunks stop. */
  readonly onJobEnded?: (jobId: string) => void;
  /** Told when a job's release, which runs after its call returned, failed (`releases.ts`). @default a process warning */
  readonly onError?: (error: unknown) => void;
  /** How a wait polls a store that cannot notify (see `job-watch.ts`). @default { min: 25, max: 1000 } */
  readonly poll?: PollBounds | undefined;
  /** Backups of straggling chunks (`stragglers.ts`); none when absent. */
  readonly stragglers?: StragglerPolicy | undefined;
}

/** Items per chunk from which a local map reads results while its job runs (`OrderedResults.advance`). */
const EARLY_READ_CHUNKSIZE = 1024;

/** Submits jobs and waits for them. */
export class JobClient {
  readonly #o: ClientOptions;
  readonly #active = new Set<string>();
  /**
   * The submits in flight, by job id: a cancel (terminate) rejects the call at once with
   * JobCancelledError instead of leaving it until the coordinator has sent every chunk.
   */
  readonly #submitting = new Map<string, (e: Error) => void>();
  /** Releases under way: started when a call is done with its job, never awaited by that call. */
  readonly #releases: Releases;

  constructor(options: ClientOptions) {
    this.#o = options;
    this.#releases = new Releases(options.coordinator, options.onError);
  }

  /** The store the client reads jobs from (for views of a job, such as its timeline). */
  get store(): JobStore {
    return this.#o.store;
  }

  /** Jobs submitted and not yet ended or collected, and releases still under way. */
  get active(): number {
    return this.#active.size + this.#releases.size;
  }

  /** Resolves once every release started so far has ended (whatever its outcome). */
  settled(): Promise<void> {
    return this.#releases.settled();
  }

  /** `map` / `starmap`: every result, in input order. */
  async map(
    mode: 'map' | 'starmap',
    task: string,
    input: unknown,
    opts: CallOptions = {},
  ): Promise<unknown[]> {
    if (input instanceof Lines) {
      if (mode === 'starmap')
        throw new InvalidArgumentError('Expected starmap items to be argument lists, got lines()');
      const { jobId } = await this.#submit(mode, task, input, opts, {});
      try {
        const job = await this.#wait(jobId, opts.onProgress);
        return await this.#collect(jobId, job.total ?? 0, undefined);
      } finally {
        this.#release(jobId);
      }
    }
    const sized = await toSized(input);
    if (mode === 'starmap') checkArgLists(sized);
    if (sized.length === 0) return [];
    const { items, handles } = wireItems(sized);
    const flags = handles || opts.handles ? { handles: true as const } : {};
    const { jobId, total, chunksize } = await this.#submit(mode, task, items, opts, flags);
    const read = new Map<number, Data>();
    const results = new OrderedResults(jobId, total, items.length, this.#o.store, this.#o.blobs);
    try {
      await this.#wait(
        jobId,
        opts.onProgress,
        this.#stragglers({ jobId, total, items, chunksize, ...flags }, opts, read),
        // A store that tells changes at once (in memory) is read as large chunks are recorded: the
        // copy into the caller's array overlaps the chunks still running. A polled store is read
        // once, and so are small chunks (the main thread is their bottleneck: no gain to overlap).
        this.#o.store.waitForChange && (chunksize ?? 0) >= EARLY_READ_CHUNKSIZE
          ? () => results.advance()
          : undefined,
      );
      return await results.finish(read);
    } finally {
      this.#release(jobId);
    }
  }

  /** `mapReduce`: map every item, fold chunk partials and then the partials with the reducer. */
  async mapReduce(
    task: string,
    input: unknown,
    reducer: string,
    initial: { readonly value: unknown } | undefined,
    opts: CallOptions = {},
  ): Promise<unknown> {
    // Lines are never counted here: an empty object's job folds nothing (initial, or an error).
    const sized = input instanceof Lines ? input : await toSized(input);
    if (!(sized instanceof Lines) && sized.length === 0) {
      if (initial) return initial.value;
      throw new InvalidArgumentError('mapReduce() of an empty input with no initial value');
    }
    const { items, handles } = sized instanceof Lines ? { items: sized, handles: false } : wireItems(sized);
    const jobId = opts.jobId ?? randomUUID();
    const init = initial
      ? await spill(
          encodeValue(initial.value, 'options.initial'),
          this.#o.store.maxInlineBytes,
          this.#o.blobs,
          blobKeys.initial(jobId),
        )
      : undefined;
    const { total, chunksize } = await this.#submit('mapReduce', task, items, opts, {
      jobId,
      reducer,
      ...(init ? { initial: init } : {}),
      ...(handles ? { handles } : {}),
    });
    try {
      const stragglers =
        items instanceof Lines
          ? undefined
          : this.#stragglers(
              { jobId, total, items, chunksize, ...(handles ? { handles } : {}) },
              opts,
              new Map(),
            );
      const job = await this.#wait(jobId, opts.onProgress, stragglers);
      if (!job.result)
        throw new TaskError({ name: 'Error', message: `Job ${jobId} ended without a result` }, jobId);
      return decodeValue(await unspill(job.result, this.#o.blobs));
    } finally {
      this.#release(jobId);
    }
  }

  /**
   * Waits for a job submitted earlier, by this caller or by one that has gone (its id from
   * `jobId` or `onProgress`), and returns what the original call would have: the results in input
   * order for map and starmap, the folded value for mapReduce. The job is released afterwards
   * unless `release` is false. Throws {@link JobNotFoundError} for an unknown id and
   * {@link JobMismatchError} when the job is not of the expected task.
   */
  async attach(jobId: string, opts: AttachOptions = {}): Promise<unknown> {
    const found = await this.inspect(jobId);
    if (found.released) throw new JobReleasedError(jobId);
    if (opts.expect) checkExpected(found, opts.expect);
    this.#active.add(jobId);
    try {
      const job = await this.#wait(jobId, opts.onProgress);
      if (job.kind === 'mapReduce') {
        if (!job.result)
          throw new TaskError({ name: 'Error', message: `Job ${jobId} ended without a result` }, jobId);
        return decodeValue(await unspill(job.result, this.#o.blobs));
      }
      return await this.#collect(jobId, job.total ?? 0, undefined);
    } finally {
      if (opts.release === false) this.#active.delete(jobId);
      else this.#release(jobId);
    }
  }

  /** The job as stored now; throws {@link JobNotFoundError} when there is none. */
  async inspect(jobId: string): Promise<JobRecord> {
    const found = await this.#o.store.getJob(jobId);
    if (!found) throw new JobNotFoundError(jobId);
    return found;
  }

  /** The newest jobs the store holds, newest first; throws {@link UnsupportedError} where it cannot list. */
  async list(options: ListJobsOptions): Promise<JobRecord[]> {
    const { store } = this.#o;
    if (!store.listJobs) throw new UnsupportedError('Listing jobs', 'this job store has no listing index');
    return store.listJobs(options);
  }

  /** Cancels one job (its wait rejects with JobCancelledError); its running chunks stop. */
  async cancel(jobId: string, reason: string): Promise<void> {
    await this.#cancel(jobId, reason);
  }

  /**
   * Cancels a job by id, from any caller: the job as it stands after (CANCELLED, or the state it
   * had already ended in); throws {@link JobNotFoundError} when there is no such job.
   */
  async cancelById(jobId: string, reason: string): Promise<JobRecord> {
    const res = await this.#o.coordinator({ v: 1, type: 'cancel', jobId, reason });
    this.#o.onJobEnded?.(jobId);
    if (!res.job) throw new JobNotFoundError(jobId);
    return res.job;
  }

  /** Cancels every active job: their waits reject with JobCancelledError. */
  async cancelAll(reason: string): Promise<void> {
    await Promise.all([...this.#active].map((id) => this.#cancel(id, reason)));
  }

  async #submit(
    kind: JobKind,
    task: string,
    items: Range | Lines | readonly unknown[],
    opts: CallOptions,
    extra: { jobId?: string; reducer?: string; initial?: Data; handles?: true },
  ): Promise<{ jobId: string; total: number; chunksize: number | undefined }> {
    const jobId = extra.jobId ?? opts.jobId ?? randomUUID();
    // mapReduce passes its own id in `extra`: the caller's when it gave one, else a random one.
    const fresh = opts.jobId === undefined;
    // Planned here as the coordinator would, and sent, so that a backup of a chunk is its very input.
    const chunksize =
      items instanceof Lines
        ? undefined
        : (opts.chunksize ?? defaultChunksize(items.length, this.#o.processes));
    const input: JobInput =
      items instanceof Range
        ? { kind: 'range', start: items.start, stop: items.stop, step: items.step }
        : items instanceof Lines
          ? {
              kind: 'lines',
              source: items.source,
              ...(items.chunkBytes === undefined ? {} : { chunkBytes: items.chunkBytes }),
            }
          : { kind: 'values', items, ...(fresh ? { fresh: true as const } : {}) };
    this.#active.add(jobId);
    try {
      const cancelled = new Promise<never>((_, reject) => this.#submitting.set(jobId, reject));
      // Never left unhandled: the race below handles it, or nothing rejects it.
      cancelled.catch(() => {});
      const sent = this.#o.coordinator({
        v: 1,
        type: 'submit',
        jobId,
        kind,
        task,
        input,
        workers: this.#o.processes,
        deadline: Date.now() + this.#o.jobTimeoutMs,
        ...(chunksize ? { chunksize } : {}),
        ...(extra.reducer ? { reducer: extra.reducer } : {}),
        ...(extra.initial ? { initial: extra.initial } : {}),
        ...(extra.handles ? { handles: true as const } : {}),
        ...(opts.process ? { process: opts.process } : {}),
      });
      // A cancelled call does not wait for its submit; the submit's own end is then of no interest.
      sent.catch(() => {});
      const res = await Promise.race([sent, cancelled]);
      return { jobId, total: res.total ?? 0, chunksize };
    } catch (e) {
      // The job may exist with some chunks sent: end it so hosts skip them, then clean up. A job
      // refused as released, or as another request's, is not this call's.
      if (!(e instanceof JobReleasedError) && !(e instanceof JobConflictError)) {
        await this.#cancel(jobId, 'dispatch failed').catch(() => {});
        this.#release(jobId);
      } else this.#active.delete(jobId);
      throw e;
    } finally {
      this.#submitting.delete(jobId);
    }
  }

  /** A watch over the job, reporting to `onProgress`. */
  #watch(jobId: string, onProgress?: (p: Progress) => void, deadline?: number): JobWatch {
    return new JobWatch(jobId, {
      store: this.#o.store,
      onProgress,
      expire: (id) => this.#expire(id),
      poll: this.#o.poll,
      ...(deadline === undefined ? {} : { deadline }),
    });
  }

  /**
   * Waits until the job ends; resolves with it when DONE, throws the job's error otherwise. With
   * `stragglers`, backs up the chunks that straggle near the end (`stragglers.ts`).
   */
  async #wait(
    jobId: string,
    onProgress?: (p: Progress) => void,
    stragglers?: StragglerWatch,
    onChange?: () => Promise<void>,
  ): Promise<JobRecord> {
    const watch = this.#watch(jobId, onProgress);
    for (;;) {
      const { job, changed } = await watch.next();
      if (job.status === 'DONE') return job;
      await watch.check(job);
      await stragglers?.observe(job);
      if (changed) await onChange?.();
    }
  }

  /** The straggler check of a job this client submitted with its items in hand, when the pool has one. */
  #stragglers(job: BackupSource, opts: CallOptions, read: Map<number, Data>): StragglerWatch | undefined {
    const policy = this.#o.stragglers;
    const { chunksize } = job;
    // A Process runs at most once: never a backup.
    if (!policy || opts.process !== undefined || chunksize === undefined) return undefined;
    return backupWatch({ ...job, chunksize }, { ...this.#o, policy, workers: this.#o.processes, read });
  }

  async #expire(jobId: string): Promise<void> {
    // Through the coordinator: a caller on AWS may read the table but not write it.
    await this.#o.coordinator({ v: 1, type: 'expire', jobId });
    this.#o.onJobEnded?.(jobId);
  }

  /** The results of a DONE job in input order (`n` of them, when given). */
  #collect(jobId: string, chunks: number, n: number | undefined): Promise<unknown[]> {
    return new OrderedResults(jobId, chunks, n, this.#o.store, this.#o.blobs).finish();
  }

  async #cancel(jobId: string, reason: string): Promise<void> {
    this.#submitting.get(jobId)?.(new JobCancelledError(jobId, reason));
    await this.#o.coordinator({ v: 1, type: 'cancel', jobId, reason });
    this.#o.onJobEnded?.(jobId);
  }

  /** Releases the job in the background (`releases.ts`): the call that made it returns now. */
  #release(jobId: string): void {
    this.#active.delete(jobId);
    this.#releases.start(jobId);
  }

  /**
   * `imap` / `imapUnordered`: an open job fed lazily from the input. At most `window` chunks are
   * dispatched and not yet yielded; the job is sealed once the input ends.
   */
  async *stream(
    mode: 'map' | 'starmap',
    task: string,
    input: unknown,
    opts: CallOptions & { readonly ordered: boolean },
  ): AsyncGenerator<unknown, void, undefined> {
    if (input instanceof Lines) {
      yield* this.#streamLines(mode, task, input, opts);
      return;
    }
    const { store } = this.#o;
    const id = opts.jobId ?? randomUUID();
    const deadline = Date.now() + this.#o.jobTimeoutMs;
    const feeder = new OpenJobFeeder({
      coordinator: this.#o.coordinator,
      jobId: id,
      task,
      mode,
      input,
      chunksize: opts.chunksize ?? 1,
      window: this.#o.window,
    });
    this.#active.add(id);
    let finished = false;
    try {
      await this.#o.coordinator({
        v: 1,
        type: 'submit',
        jobId: id,
        kind: mode,
        task,
        input: { kind: 'open' },
        workers: this.#o.processes,
        deadline,
      });
      const cursor = { next: 0 };
      const watch = this.#watch(id, opts.onProgress, deadline);
      for (;;) {
        await feeder.fill();
        if (feeder.drained) {
          // Results can be read before the change that counted them is seen: report the end.
          const last = await store.getJob(id);
          if (last) watch.saw(last);
          break;
        }
        const { job, changed } = await watch.next();
        // A result is recorded with the change that counts it: no change, nothing new to read.
        if (changed) yield* this.#yieldRecorded(id, feeder.pending, cursor, opts.ordered);
        await watch.check(job);
      }
      finished = true;
      if (feeder.inputError) throw feeder.inputError.error;
    } finally {
      if (!finished) {
        await this.#cancel(id, 'the consumer stopped');
        await feeder.close();
      }
      this.#release(id);
    }
  }

  /**
   * Yields the results of the chunks among `pending` that are recorded, removing them from
   * `pending`: in chunk order from `cursor.next` (stopping at the first missing one) when
   * `ordered`, else every one found.
   */
  async *#yieldRecorded(
    jobId: string,
    pending: Set<number>,
    cursor: { next: number },
    ordered: boolean,
  ): AsyncGenerator<unknown, void, undefined> {
    const { store, blobs } = this.#o;
    const found = await store.readResults(jobId, [...pending]);
    const chunks: [number, Data][] = [];
    if (ordered) for (let i = cursor.next; found.has(i); i++) chunks.push([i, found.get(i)!]);
    else chunks.push(...found);
    for (const [i, d] of chunks) {
      const list = decodeList(await unspill(d, blobs, true));
      pending.delete(i);
      if (ordered) cursor.next = i + 1;
      for (let k = 0; k < list.length; k++) yield list[k];
    }
  }

  /**
   * `imap` / `imapUnordered` over `lines()`: a sealed job of byte ranges (planned as `map` plans
   * them; `chunksize` does not apply), whose chunks' lines are yielded as the chunks are recorded:
   * in chunk order (then line order) when ordered, else as they come.
   */
  async *#streamLines(
    mode: 'map' | 'starmap',
    task: string,
    input: Lines,
    opts: CallOptions & { readonly ordered: boolean },
  ): AsyncGenerator<unknown, void, undefined> {
    if (mode === 'starmap')
      throw new InvalidArgumentError('Expected starmap items to be argument lists, got lines()');
    const { jobId, total } = await this.#submit('map', task, input, opts, {});
    let finished = false;
    try {
      const pending = new Set(Array.from({ length: total }, (_, i) => i));
      const cursor = { next: 0 };
      const watch = this.#watch(jobId, opts.onProgress);
      while (pending.size > 0) {
        const { job, changed } = await watch.next();
        if (changed) yield* this.#yieldRecorded(jobId, pending, cursor, opts.ordered);
        if (pending.size === 0) break;
        await watch.check(job);
      }
      // The job ends once its last chunk is recorded; wait for that (an error there is the job's).
      await this.#wait(jobId, undefined);
      finished = true;
    } finally {
      // A consumer that stopped early (break, an error): the job's other chunks are not wanted.
      if (!finished) await this.#cancel(jobId, 'the consumer stopped').catch(() => {});
      this.#release(jobId);
    }
  }
}

/** Throws {@link JobMismatchError} unless `job` is of `expect`'s task (and reducer, for mapReduce). */
function checkExpected(job: JobRecord, expect: NonNullable<AttachOptions['expect']>): void {
  const found = describeJob(job.kind, job.task, job.reducer);
  const wanted = expect.reducer === undefined ? ['map', 'starmap'] : ['mapReduce'];
  const sameTask =
    job.task === expect.task && (expect.reducer === undefined || job.reducer === expect.reducer);
  if (!sameTask || !wanted.includes(job.kind)) {
    const kind = expect.reducer === undefined ? 'map' : 'mapReduce';
    throw new JobMismatchError(job.id, describeJob(kind, expect.task, expect.reducer), found);
  }
}

function describeJob(kind: JobKind, task: string, reducer: string | undefined): string {
  return reducer === undefined ? `a ${kind} of ${task}` : `a ${kind} of ${task} folded by ${reducer}`;
}
