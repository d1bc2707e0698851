/**
 * The caller's side of the job protocol: create a job, fan its chunks out on the work queue, wait
 * for the job to end (reporting progress), collect results in input order, clean up. Also streams
 * open jobs for `imap`, pulling the input lazily with a bounded number of chunks in flight.
 */
import { randomUUID } from 'node:crypto';
import {
  InvalidArgumentError,
  JobCancelledError,
  JobExpiredError,
  RetriesExhaustedError,
  TaskError,
} from '../errors.js';
import type { Backend, CallMode, ChunkInput, JobKind, JobRecord, WorkMessage } from '../ports.js';
import { decodeList, decodeValue, encodeValue, spill, unspill } from './codec.js';
import { blobKeys } from './host.js';
import { ChunkPlanner, checkArgLists, defaultChunksize, type SizedInput, toSized } from './plan.js';
import { Range } from './range.js';

/** Progress of a job, in chunks. */
export interface Progress {
  readonly jobId: string;
  readonly done: number;
  /** Undefined while an open job (imap) is still being fed. */
  readonly total: number | undefined;
}

/** Per-call options the engine understands. */
export interface CallOptions {
  readonly chunksize?: number | undefined;
  readonly onProgress?: ((p: Progress) => void) | undefined;
}

/** Options of {@link JobClient}. */
export interface ClientOptions {
  readonly backend: Backend;
  /** Workers, for CPython's default chunksize. */
  readonly processes: number;
  /** A job that has not ended this long after it started fails as expired. */
  readonly jobTimeoutMs: number;
  /** Chunks in flight (dispatched, not yet consumed) for imap. */
  readonly window: number;
  /** Told when the caller ends a job (cancel, expiry), so running chunks stop. */
  readonly onJobEnded?: (jobId: string) => void;
}

const SEND_BATCH = 500;

/** Submits jobs and waits for them. */
export class JobClient {
  readonly #o: ClientOptions;
  readonly #active = new Set<string>();

  constructor(options: ClientOptions) {
    this.#o = options;
  }

  /** Jobs submitted and not yet ended or collected. */
  get active(): number {
    return this.#active.size;
  }

  /** `map` / `starmap`: every result, in input order. */
  async map(
    mode: 'map' | 'starmap',
    task: string,
    input: unknown,
    opts: CallOptions = {},
  ): Promise<unknown[]> {
    const items = await toSized(input);
    if (mode === 'starmap') checkArgLists(items);
    if (items.length === 0) return [];
    const planner = new ChunkPlanner(
      items,
      opts.chunksize ?? defaultChunksize(items.length, this.#o.processes),
    );
    const jobId = await this.#submit(mode, task, planner, {});
    try {
      await this.#wait(jobId, opts.onProgress);
      return await this.#collect(jobId, planner, items.length);
    } finally {
      await this.#cleanup(jobId);
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
    const items = await toSized(input);
    if (items.length === 0) {
      if (initial) return initial.value;
      throw new InvalidArgumentError('mapReduce() of an empty input with no initial value');
    }
    const planner = new ChunkPlanner(
      items,
      opts.chunksize ?? defaultChunksize(items.length, this.#o.processes),
    );
    const init = initial ? encodeValue(initial.value, 'options.initial') : undefined;
    const jobId = await this.#submit('mapReduce', task, planner, { reducer, init });
    try {
      const job = await this.#wait(jobId, opts.onProgress);
      if (!job.result)
        throw new TaskError({ name: 'Error', message: `Job ${jobId} ended without a result` }, jobId);
      return decodeValue(await unspill(job.result, this.#o.backend.blobs));
    } finally {
      await this.#cleanup(jobId);
    }
  }

  /** Cancels every active job: their waits reject with JobCancelledError. */
  async cancelAll(reason: string): Promise<void> {
    await Promise.all([...this.#active].map((id) => this.#cancel(id, reason)));
  }

  async #submit(
    kind: JobKind,
    task: string,
    planner: ChunkPlanner,
    extra: { reducer?: string; init?: ReturnType<typeof encodeValue> | undefined },
  ): Promise<string> {
    const { store, queue, blobs } = this.#o.backend;
    const id = randomUUID();
    const initial = extra.init
      ? await spill(extra.init, store.maxInlineBytes, blobs, blobKeys.initial(id))
      : undefined;
    await store.createJob({
      id,
      kind,
      task,
      total: planner.count,
      deadline: Date.now() + this.#o.jobTimeoutMs,
      ...(extra.reducer ? { reducer: extra.reducer } : {}),
      ...(initial ? { initial } : {}),
    });
    this.#active.add(id);
    const mode: CallMode = kind === 'mapReduce' ? 'reduce' : kind;
    try {
      for (let i = 0; i < planner.count; i += SEND_BATCH) {
        const batch: WorkMessage[] = [];
        for (let k = i; k < Math.min(planner.count, i + SEND_BATCH); k++) {
          const input = await planner.input(k, queue.maxPayloadBytes, blobs, blobKeys.input(id, k));
          batch.push(chunkMessage(id, k, task, mode, extra.reducer, input));
        }
        await queue.send(batch);
      }
    } catch (e) {
      await this.#cancel(id, 'dispatch failed');
      await this.#cleanup(id);
      throw e;
    }
    return id;
  }

  /** Waits until the job ends; resolves with it when DONE, throws the job's error otherwise. */
  async #wait(jobId: string, onProgress?: (p: Progress) => void): Promise<JobRecord> {
    const { store } = this.#o.backend;
    let version = -1;
    let deadline = Number.POSITIVE_INFINITY;
    for (;;) {
      const job = await store.waitForChange(jobId, version, waitBudget(deadline));
      if (!job) throw new JobCancelledError(jobId, 'the job no longer exists');
      deadline = job.deadline;
      if (job.version !== version) {
        version = job.version;
        onProgress?.({ jobId, done: job.done, total: job.total });
      }
      if (job.status === 'DONE') return job;
      this.#throwIfEnded(job);
      if (Date.now() > job.deadline) await this.#expire(job);
    }
  }

  #throwIfEnded(job: JobRecord): void {
    if (job.status === 'CANCELLED') throw new JobCancelledError(job.id);
    if (job.status !== 'FAILED') return;
    const e = job.error;
    if (e?.reason === 'retries') throw new RetriesExhaustedError(job.id, e.chunkIndex, e.attempts ?? 0, e);
    if (e?.reason === 'expired') throw new JobExpiredError(job.id);
    throw new TaskError(e ?? { name: 'Error', message: 'unknown failure' }, job.id);
  }

  async #expire(job: JobRecord): Promise<never> {
    await this.#o.backend.store.failJob(job.id, {
      reason: 'expired',
      name: 'JobExpiredError',
      message: 'deadline passed',
    });
    this.#o.onJobEnded?.(job.id);
    throw new JobExpiredError(job.id);
  }

  async #collect(jobId: string, planner: ChunkPlanner, n: number): Promise<unknown[]> {
    const { store, blobs } = this.#o.backend;
    const indices = Array.from({ length: planner.count }, (_, i) => i);
    const found = await store.readResults(jobId, indices);
    const out = new Array<unknown>(n);
    let at = 0;
    for (const i of indices) {
      const d = found.get(i);
      if (!d)
        throw new TaskError(
          { name: 'Error', message: `Job ${jobId} is DONE but chunk ${i} has no result` },
          jobId,
        );
      const list = decodeList(await unspill(d, blobs));
      for (let k = 0; k < list.length; k++) out[at++] = list[k];
    }
    return out;
  }

  async #cancel(jobId: string, reason: string): Promise<void> {
    await this.#o.backend.store.cancelJob(jobId, reason);
    this.#o.onJobEnded?.(jobId);
  }

  async #cleanup(jobId: string): Promise<void> {
    this.#active.delete(jobId);
    const { store, blobs } = this.#o.backend;
    await store.deleteJob(jobId);
    await blobs.deletePrefix(blobKeys.job(jobId));
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
    const { store, queue, blobs } = this.#o.backend;
    const chunksize = opts.chunksize ?? 1;
    const source = iterate(input);
    const id = randomUUID();
    await store.createJob({ id, kind: mode, task, deadline: Date.now() + this.#o.jobTimeoutMs });

    this.#active.add(id);
    const pending = new Set<number>();
    let dispatched = 0;
    let offset = 0;
    let nextToYield = 0;
    let exhausted = false;
    let sealed = false;
    let version = -1;
    let finished = false;
    const deadline = Date.now() + this.#o.jobTimeoutMs;
    try {
      for (;;) {
        const batch: WorkMessage[] = [];
        while (!exhausted && pending.size < this.#o.window) {
          const items = await take(source, chunksize);
          if (items.length === 0) {
            exhausted = true;
            break;
          }
          const sized: SizedInput = items;
          if (mode === 'starmap') checkArgLists(sized);
          const planner = new ChunkPlanner(sized, items.length);
          const ci = await planner.input(0, queue.maxPayloadBytes, blobs, blobKeys.input(id, dispatched));
          batch.push(chunkMessage(id, dispatched, task, mode, undefined, { ...ci, offset }));
          pending.add(dispatched++);
          offset += items.length;
        }
        if (batch.length > 0) await queue.send(batch);
        if (exhausted && !sealed) {
          const job = await store.seal(id, dispatched);
          // If the last chunk was recorded before the seal, no host saw done === total: finalise.
          if (job.status === 'RUNNING' && job.done === dispatched) {
            await queue.send([{ v: 1, type: 'finalise', jobId: id }]);
          }
          sealed = true;
        }
        if (exhausted && pending.size === 0) break;
        const job = await store.waitForChange(id, version, waitBudget(deadline));
        if (!job) throw new JobCancelledError(id, 'the job no longer exists');
        version = job.version;
        opts.onProgress?.({ jobId: id, done: job.done, total: job.total });
        const found = await store.readResults(id, [...pending]);
        if (opts.ordered) {
          while (found.has(nextToYield)) {
            const list = decodeList(await unspill(found.get(nextToYield)!, blobs));
            pending.delete(nextToYield++);
            for (let k = 0; k < list.length; k++) yield list[k];
          }
        } else {
          for (const [i, d] of found) {
            const list = decodeList(await unspill(d, blobs));
            pending.delete(i);
            for (let k = 0; k < list.length; k++) yield list[k];
          }
        }
        if (job.status !== 'RUNNING' && job.status !== 'DONE' && job.status !== 'FOLDING')
          this.#throwIfEnded(job);
        if (Date.now() > job.deadline) await this.#expire(job);
      }
      finished = true;
    } finally {
      if (!finished) await this.#cancel(id, 'the consumer stopped');
      await this.#cleanup(id);
    }
  }
}

function chunkMessage(
  jobId: string,
  index: number,
  task: string,
  mode: CallMode,
  reducer: string | undefined,
  input: ChunkInput,
): WorkMessage {
  return { v: 1, type: 'chunk', jobId, index, task, mode, input, ...(reducer ? { reducer } : {}) };
}

/** How long to wait for a change: until the deadline, and at most a second between checks. */
function waitBudget(deadline: number): number {
  return Math.max(1, Math.min(1000, deadline - Date.now() + 1));
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

function iterate(input: unknown): AnyIterator {
  if (input instanceof Range) return input[Symbol.iterator]();
  if (input !== null && typeof input === 'object') {
    if (Symbol.asyncIterator in input) return (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    if (Symbol.iterator in input) return (input as Iterable<unknown>)[Symbol.iterator]();
  }
  throw new InvalidArgumentError(
    `Expected items to be an array, an iterable, an async iterable or a range(), got ${typeof input}`,
  );
}

async function take(it: AnyIterator, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}
