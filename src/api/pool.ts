/**
 * `Pool`, as in CPython's `multiprocessing.Pool`, on any context. Every call is checked against
 * the tasks module at compile time (task names, argument and result types) and at run time.
 */

import { randomUUID } from 'node:crypto';
import type { JobClient, Progress } from '../engine/client.js';
import type { Lines } from '../engine/lines.js';
import { Range } from '../engine/range.js';
import {
  InvalidArgumentError,
  JobCancelledError,
  JobNotFoundError,
  PoolNotRunningError,
  PoolStillRunningError,
} from '../errors.js';
import {
  options as checkOptions,
  optionalFunction,
  optionalInteger,
  received,
  taskName,
} from '../validate.js';
import { readTimelineView, type TimelineView } from '../views/timeline-svg.js';
import { type Estimate, type EstimateOptions, estimateMap } from './estimate.js';

export type { TimelineView } from '../views/timeline-svg.js';

import { type AsyncCallbacks, AsyncResult } from './async-result.js';
import { type JobInfo, toJobInfo } from './job-info.js';
import { observedProgress, type PoolJobReader, poolJobReader } from './job-observer.js';
import {
  type AttachOptions,
  attachOptions,
  checkJobId,
  type JobIterator,
  type TypedAttach,
} from './pool-jobs.js';

export type { AttachOptions, JobIterator } from './pool-jobs.js';

import type { ArgOf, ArgsOf, ReducerName, ResultOf, TaskMap, UnaryTaskName } from './tasks.js';

/**
 * Anything a pool call accepts as its items: an array, any iterable (a `range()` too), an async
 * iterable, or (for a task that takes a string) the `lines()` of an object.
 */
export type Items<A> = Iterable<A> | AsyncIterable<A> | (string extends A ? Lines : never);

/** Options of `map`, `starmap`, `imap`, `imapUnordered` and their async forms. */
export interface MapOptions {
  /**
   * Items per chunk (one message, one unit of work).
   * @default CPython's rule for map: ceil(n / (4 × processes)); 1 for imap and imapUnordered
   */
  readonly chunksize?: number;
  /** Called as chunks complete, with done/total chunks. */
  readonly onProgress?: (progress: Progress) => void;
}

/** Options of `mapReduce`. */
export interface MapReduceOptions<R> extends MapOptions {
  /** The fold's initial value (required for an empty input). */
  readonly initial?: R;
}

/** Options of `imap` and `imapUnordered`. */
export interface IMapOptions extends MapOptions {}

const MAP_KEYS = ['chunksize', 'onProgress'] as const;
const ASYNC_KEYS = [...MAP_KEYS, 'callback', 'errorCallback'] as const;
/** What a context provides to run a pool. @internal */
export interface PoolRuntime {
  readonly client: JobClient;
  readonly processes: number;
  readonly taskNames: readonly string[];
  /** Pool-level default chunksize (the `chunksize` pool option). */
  readonly chunksize: number | undefined;
  /**
   * Runs one call without a job, where the context has a cheaper way that keeps a job's guarantees
   * (the local context); called once {@link ready} resolved. Absent: `apply` is a one-item job.
   */
  apply?(task: string, args: readonly unknown[]): Promise<unknown>;
  /** Resolves once the workers are up; rejects if they cannot start. */
  ready(): Promise<void>;
  /** Stops the workers: gracefully (queued work finishes) or at once. */
  shutdown(graceful: boolean): Promise<void>;
}

/** A pool's state, as CPython names it: running, closed (`close()`), or terminated. */
export type PoolState = 'RUN' | 'CLOSE' | 'TERMINATE';

/**
 * A pool of workers. Create it from a context: `mp.Pool({ processes: 4 })`.
 *
 * @example
 * ```ts
 * import { local, range } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool();
 * const squares = await pool.map('square', range(10_000)); // number[]
 * ```
 */
export class Pool<T extends TaskMap> {
  readonly #rt: PoolRuntime;
  #state: PoolState = 'RUN';
  /** The reader a dashboard gets (job-observer.ts), made at its first observed call. */
  #reader: PoolJobReader | undefined;
  readonly #pending = new Set<Promise<unknown>>();
  #stopped: Promise<void> | undefined;

  /** @internal Use a context's `Pool()`. */
  constructor(runtime: PoolRuntime) {
    this.#rt = runtime;
  }

  /** Number of worker threads (or, on AWS, parallel workers). */
  get processes(): number {
    return this.#rt.processes;
  }

  /**
   * Predicts what `map(task, items)` would cost on the AWS stack and how long it would take there,
   * before anything runs: the job planned as `map` would plan it on this pool's `processes`, each
   * item taking `taskMs`, priced at the list prices (or `prices`). Nothing is submitted; `items`
   * may be an array, a `range()` or a count. It waits for the pool to be ready (on AWS, the stack's
   * worker count). `docs/observability.md` compares it with a job's report.
   *
   * @example
   * ```ts
   * import { local, range } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * await using pool = local({ tasks }).Pool();
   * const e = await pool.estimate('square', range(100_000), { taskMs: 40 });
   * console.log(`${e.chunks} chunks, ~${e.durationSeconds.toFixed(0)} s, $${e.cost.usd.total.toFixed(4)}`);
   * ```
   */
  estimate<K extends UnaryTaskName<T>>(
    task: K,
    items: readonly ArgOf<T[K]>[] | Range | number,
    options: EstimateOptions,
  ): Promise<Estimate> {
    try {
      const predict = estimateMap(task, items, options, this.#rt.taskNames);
      return this.#rt.ready().then(() => predict(this.#rt.processes));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `RUN`, `CLOSE` or `TERMINATE`, as CPython's `Pool._state`. */
  get state(): PoolState {
    return this.#state;
  }

  /** Calls `task(...args)` in a worker and returns its result. */
  apply<K extends keyof T & string>(task: K, args: ArgsOf<T[K]>): Promise<ResultOf<T[K]>> {
    return this.#apply(task, args, randomUUID());
  }

  #apply<K extends keyof T & string>(task: K, args: ArgsOf<T[K]>, jobId: string): Promise<ResultOf<T[K]>> {
    return this.#run('apply', async (c) => {
      const name = taskName(task, 'task', this.#rt.taskNames);
      if (!Array.isArray(args))
        throw new InvalidArgumentError(`Expected args to be an array of arguments, got ${received(args)}`);
      if (this.#rt.apply) return (await this.#rt.apply(name, args)) as ResultOf<T[K]>;
      const out = await c.map('starmap', name, [args], { chunksize: 1, jobId });
      return out[0] as ResultOf<T[K]>;
    });
  }

  /**
   * {@link apply}, returning an {@link AsyncResult} whose `jobId` names the job at once (on the
   * local context an apply runs straight on a thread and makes no job: its id is then never found).
   */
  applyAsync<K extends keyof T & string>(
    task: K,
    args: ArgsOf<T[K]>,
    callbacks: AsyncCallbacks<ResultOf<T[K]>> = {},
  ): AsyncResult<ResultOf<T[K]>> {
    const jobId = randomUUID();
    return new AsyncResult(this.#apply(task, args, jobId), callbacks, jobId);
  }

  /** Applies the task to every item; results in input order. The first task error rejects and cancels the rest. */
  map<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options?: MapOptions,
  ): Promise<ResultOf<T[K]>[]> {
    return this.#run(
      'map',
      (c) => {
        const o = this.#mapOptions(options, 'options', MAP_KEYS);
        return c.map('map', taskName(task, 'task', this.#rt.taskNames), items, o) as Promise<
          ResultOf<T[K]>[]
        >;
      },
      items,
    );
  }

  /**
   * {@link map}, returning an {@link AsyncResult}, whose `jobId` names the job at once (an empty
   * input makes no job: its id is then never found).
   */
  mapAsync<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options: MapOptions & AsyncCallbacks<ResultOf<T[K]>[]> = {},
  ): AsyncResult<ResultOf<T[K]>[]> {
    const { callback, errorCallback, ...rest } = options;
    const jobId = randomUUID();
    const work = this.#run(
      'mapAsync',
      (c) => {
        this.#mapOptions(options, 'options', ASYNC_KEYS);
        return c.map('map', taskName(task, 'task', this.#rt.taskNames), items, { ...rest, jobId }) as Promise<
          ResultOf<T[K]>[]
        >;
      },
      items,
    );
    return new AsyncResult(work, this.#callbacks(callback, errorCallback), jobId);
  }

  /** Like {@link map}, but each item is an argument list: `task(...item)`. */
  starmap<K extends keyof T & string>(
    task: K,
    items: Items<ArgsOf<T[K]>>,
    options?: MapOptions,
  ): Promise<ResultOf<T[K]>[]> {
    return this.#run(
      'starmap',
      (c) => {
        const o = this.#mapOptions(options, 'options', MAP_KEYS);
        return c.map('starmap', taskName(task, 'task', this.#rt.taskNames), items, o) as Promise<
          ResultOf<T[K]>[]
        >;
      },
      items,
    );
  }

  /** {@link starmap}, returning an {@link AsyncResult} whose `jobId` names the job at once. */
  starmapAsync<K extends keyof T & string>(
    task: K,
    items: Items<ArgsOf<T[K]>>,
    options: MapOptions & AsyncCallbacks<ResultOf<T[K]>[]> = {},
  ): AsyncResult<ResultOf<T[K]>[]> {
    const { callback, errorCallback, ...rest } = options;
    const jobId = randomUUID();
    const work = this.#run(
      'starmapAsync',
      (c) => {
        this.#mapOptions(options, 'options', ASYNC_KEYS);
        return c.map('starmap', taskName(task, 'task', this.#rt.taskNames), items, {
          ...rest,
          jobId,
        }) as Promise<ResultOf<T[K]>[]>;
      },
      items,
    );
    return new AsyncResult(work, this.#callbacks(callback, errorCallback), jobId);
  }

  /**
   * Lazily maps the items, yielding results in input order as they become available. The input is
   * consumed as results are taken, with a bounded number of chunks in flight; `break` cancels the rest.
   */
  imap<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options?: IMapOptions,
  ): JobIterator<ResultOf<T[K]>> {
    return this.#iterator('imap', task, items, options, true) as JobIterator<ResultOf<T[K]>>;
  }

  /** Like {@link imap}, but yields results as they complete, in any order. */
  imapUnordered<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options?: IMapOptions,
  ): JobIterator<ResultOf<T[K]>> {
    return this.#iterator('imapUnordered', task, items, options, false) as JobIterator<ResultOf<T[K]>>;
  }

  /**
   * Maps every item and folds the results with an associative reducer task, in input order: each
   * chunk folds its own results in its worker, then the partials are folded once.
   */
  mapReduce<K extends UnaryTaskName<T>, Red extends ReducerName<T, ResultOf<T[K]>>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    reducer: Red,
    options: MapReduceOptions<ResultOf<T[K]>> = {},
  ): Promise<ResultOf<T[K]>> {
    return this.#run('mapReduce', (c) => {
      const o = this.#mapOptions(options, 'options', [...MAP_KEYS, 'initial']);
      const name = taskName(task, 'task', this.#rt.taskNames);
      const red = taskName(reducer, 'reducer', this.#rt.taskNames);
      const initial = 'initial' in options ? { value: options.initial } : undefined;
      return c.mapReduce(name, items, red, initial, o) as Promise<ResultOf<T[K]>>;
    });
  }

  /**
   * Reattaches to a job by id (an `AsyncResult`'s or an iterator's `jobId`), for example after the
   * process that submitted it was restarted: resolves with the job's results (an array for
   * map/starmap, the folded value for mapReduce), or rejects with its error. Say which task the job
   * ran (`{ task }`, and `reducer` for a mapReduce) and the result is typed by it; a job of another
   * task is refused with `JobMismatchError`, an unknown id with `JobNotFoundError`. The job is
   * released once read unless `release: false`. Most useful on the AWS context, where jobs outlive callers.
   *
   * @example
   * ```ts
   * import { aws } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * // In another process than the one that started the job, with its id (`AsyncResult.jobId`).
   * await using pool = aws({ tasks, stack: 'MyApp' }).Pool();
   * const [squaresId, totalId] = process.argv.slice(2) as [string, string];
   * const squares = await pool.attach(squaresId, { task: 'square' }); // number[]
   * const total = await pool.attach(totalId, { task: 'square', reducer: 'add' }); // number
   * ```
   */
  attach<K extends keyof T & string>(
    jobId: string,
    options: AttachOptions & {
      /** The job's task: the results are typed by it; a job of another task is refused (`JobMismatchError`). */
      readonly task: K;
      readonly reducer?: undefined;
    },
  ): Promise<ResultOf<T[K]>[]>;
  attach<K extends UnaryTaskName<T>, Red extends ReducerName<T, ResultOf<T[K]>>>(
    jobId: string,
    options: AttachOptions & {
      readonly task: K;
      /** The reducer of a mapReduce job of `task`: the result is the folded value. */
      readonly reducer: Red;
    },
  ): Promise<ResultOf<T[K]>>;
  attach(
    jobId: string,
    options?: AttachOptions & { readonly task?: undefined; readonly reducer?: undefined },
  ): Promise<unknown>;
  attach(jobId: string, options: TypedAttach = {}): Promise<unknown> {
    return this.#run('attach', (c) =>
      c.attach(checkJobId(jobId), attachOptions(options, this.#rt.taskNames)),
    );
  }

  /**
   * The job as it stands (status, chunks done and total, its error), without waiting for it; from
   * any process that reaches the job's store (on AWS, any caller of the stack). Rejects with
   * `JobNotFoundError` for an unknown id.
   *
   * @example
   * ```ts
   * import { aws, range } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * await using pool = aws({ tasks, stack: 'Fanfold' }).Pool();
   * const r = pool.mapAsync('square', range(1000));
   * const info = await pool.inspect(r.jobId); // { status: 'RUNNING', done: 3, total: 8, ... }
   * ```
   */
  inspect(jobId: string): Promise<JobInfo> {
    return this.#run('inspect', async (c) => toJobInfo(await c.inspect(checkJobId(jobId))));
  }

  /**
   * Cancels a job by id, whoever submitted it: its waiting callers reject with `JobCancelledError`
   * and its chunks not yet run are skipped. Resolves with the job as it stands after (a job that
   * had already ended keeps its state); rejects with `JobNotFoundError` for an unknown id.
   *
   * @example
   * ```ts
   * import { aws, range } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * await using pool = aws({ tasks, stack: 'Fanfold' }).Pool();
   * const r = pool.mapAsync('square', range(1_000_000));
   * await pool.cancel(r.jobId); // r.get() rejects with JobCancelledError
   * ```
   */
  cancel(jobId: string, reason = 'cancelled by request'): Promise<JobInfo> {
    return this.#run('cancel', async (c) => {
      const id = checkJobId(jobId);
      if (typeof reason !== 'string')
        throw new InvalidArgumentError(`Expected reason to be a string, got ${received(reason)}`);
      return toJobInfo(await c.cancelById(id, reason));
    });
  }

  /** Accepts no more work; running and queued work finishes, then the workers exit. */
  close(): void {
    if (this.#state !== 'RUN') return;
    this.#state = 'CLOSE';
    this.#stopped = (async () => {
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
      await this.#rt.shutdown(true);
    })();
  }

  /** Stops the workers at once; every pending call rejects with `JobCancelledError`. */
  async terminate(): Promise<void> {
    if (this.#state === 'TERMINATE') return this.#stopped;
    this.#state = 'TERMINATE';
    const prior = this.#stopped;
    this.#stopped = (async () => {
      await this.#rt.client.cancelAll('the pool was terminated');
      await this.#rt.shutdown(false);
      await prior;
    })();
    return this.#stopped;
  }

  /** Waits for the workers to exit. Call {@link close} or {@link terminate} first. */
  async join(): Promise<void> {
    if (this.#state === 'RUN') throw new PoolStillRunningError();
    await this.#stopped;
  }

  /** `await using pool = mp.Pool()`: terminates the pool, as CPython's `with Pool() as p` does. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  #callbacks<R>(callback: unknown, errorCallback: unknown): AsyncCallbacks<R> {
    const cb = optionalFunction<(r: R) => void>(callback, 'options.callback');
    const ecb = optionalFunction<(e: unknown) => void>(errorCallback, 'options.errorCallback');
    return { ...(cb ? { callback: cb } : {}), ...(ecb ? { errorCallback: ecb } : {}) };
  }

  #mapOptions(o: unknown, name: string, keys: readonly string[]) {
    const opts = checkOptions<MapOptions>(o, name, keys);
    return {
      chunksize: optionalInteger(opts.chunksize, `${name}.chunksize`, 1) ?? this.#rt.chunksize,
      // A dashboard's mark on onProgress gets this pool's reader (job-observer.ts).
      onProgress: observedProgress(
        optionalFunction<(p: Progress) => void>(opts.onProgress, `${name}.onProgress`),
        () => (this.#reader ??= poolJobReader(this.#rt.client)),
      ),
    };
  }

  /** Runs `work` once the workers are ready; `items`, when given, may let it run without them. */
  #run<R>(method: string, work: (c: JobClient) => Promise<R>, items?: unknown): Promise<R> {
    if (this.#state !== 'RUN') return Promise.reject(new PoolNotRunningError(this.#stateName(), method));
    const p = (async () => {
      // An empty input submits nothing, so it settles without waiting for the threads to start.
      const empty = (Array.isArray(items) || items instanceof Range) && items.length === 0;
      if (!empty) await this.#rt.ready();
      // terminate() may have run while this call waited for the workers to start.
      if (this.#terminated()) throw new JobCancelledError('(not submitted)', 'the pool was terminated');
      return work(this.#rt.client);
    })();
    this.#pending.add(p);
    const untrack = () => this.#pending.delete(p);
    p.then(untrack, untrack);
    return p;
  }

  /**
   * The timeline of a job this pool's context ran (by its `jobId`): every recorded chunk attempt on
   * its worker thread's row, the histogram of chunk durations and the throughput, as data and as a
   * self-contained SVG and HTML page. Reads the job's records; works while the job runs and, on
   * the local context, for its most recent jobs after they were collected.
   *
   * @example
   * ```ts
   * import { writeFileSync } from 'node:fs';
   * import { local, range } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * await using pool = local({ tasks }).Pool();
   * let jobId = '';
   * await pool.map('square', range(1000), { onProgress: (p) => (jobId = p.jobId) });
   * writeFileSync('job.html', (await pool.timeline(jobId)).html);
   * ```
   */
  timeline(jobId: string): Promise<TimelineView> {
    return this.#run('timeline', async (c) => {
      const view = await readTimelineView(c.store, checkJobId(jobId));
      if (!view) throw new JobNotFoundError(jobId);
      return view;
    });
  }

  #iterator(
    method: string,
    task: string,
    items: unknown,
    options: IMapOptions | undefined,
    ordered: boolean,
  ): JobIterator<unknown> {
    const jobId = randomUUID();
    const gen = this.#stream(method, task, items, options, ordered, jobId);
    return Object.defineProperty(gen, 'jobId', { value: jobId, enumerable: true }) as JobIterator<unknown>;
  }

  async *#stream(
    method: string,
    task: string,
    items: unknown,
    options: IMapOptions | undefined,
    ordered: boolean,
    jobId: string,
  ): AsyncGenerator<unknown, void, undefined> {
    if (this.#state !== 'RUN') throw new PoolNotRunningError(this.#stateName(), method);
    const o = this.#mapOptions(options, 'options', MAP_KEYS);
    const name = taskName(task, 'task', this.#rt.taskNames);
    let release!: () => void;
    const tracked = new Promise<void>((r) => (release = r));
    this.#pending.add(tracked);
    try {
      await this.#rt.ready();
      if (this.#terminated()) throw new JobCancelledError('(not submitted)', 'the pool was terminated');
      yield* this.#rt.client.stream('map', name, items, { ...o, ordered, jobId });
    } finally {
      this.#pending.delete(tracked);
      release();
    }
  }

  /** Read through a method: TypeScript narrows `#state` across the await otherwise. */
  #terminated(): boolean {
    return this.#state === 'TERMINATE';
  }

  #stateName(): string {
    return this.#state === 'CLOSE' ? 'closed' : 'terminated';
  }
}
