/**
 * `Pool`, as in CPython's `multiprocessing.Pool`, on any context. Every call is checked against
 * the tasks module at compile time (task names, argument and result types) and at run time.
 */

import type { JobClient, Progress } from '../engine/client.js';
import type { Lines } from '../engine/lines.js';
import { Range } from '../engine/range.js';
import {
  InvalidArgumentError,
  JobCancelledError,
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
import { type AsyncCallbacks, AsyncResult } from './async-result.js';
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

type PoolState = 'RUN' | 'CLOSE' | 'TERMINATE';

/**
 * A pool of workers. Create it from a context: `mp.Pool({ processes: 4 })`.
 *
 * @example
 * ```ts
 * await using pool = local({ tasks }).Pool();
 * const squares = await pool.map('square', range(10_000)); // number[]
 * ```
 */
export class Pool<T extends TaskMap> {
  readonly #rt: PoolRuntime;
  #state: PoolState = 'RUN';
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

  /** `RUN`, `CLOSE` or `TERMINATE`, as CPython's `Pool._state`. */
  get state(): PoolState {
    return this.#state;
  }

  /** Calls `task(...args)` in a worker and returns its result. */
  apply<K extends keyof T & string>(task: K, args: ArgsOf<T[K]>): Promise<ResultOf<T[K]>> {
    return this.#run('apply', async (c) => {
      const name = taskName(task, 'task', this.#rt.taskNames);
      if (!Array.isArray(args))
        throw new InvalidArgumentError(`Expected args to be an array of arguments, got ${received(args)}`);
      if (this.#rt.apply) return (await this.#rt.apply(name, args)) as ResultOf<T[K]>;
      const out = await c.map('starmap', name, [args], { chunksize: 1 });
      return out[0] as ResultOf<T[K]>;
    });
  }

  /** {@link apply}, returning an {@link AsyncResult}. */
  applyAsync<K extends keyof T & string>(
    task: K,
    args: ArgsOf<T[K]>,
    callbacks: AsyncCallbacks<ResultOf<T[K]>> = {},
  ): AsyncResult<ResultOf<T[K]>> {
    return new AsyncResult(this.apply(task, args), callbacks);
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

  /** {@link map}, returning an {@link AsyncResult}. */
  mapAsync<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options: MapOptions & AsyncCallbacks<ResultOf<T[K]>[]> = {},
  ): AsyncResult<ResultOf<T[K]>[]> {
    const { callback, errorCallback, ...rest } = options;
    const work = this.#run(
      'mapAsync',
      (c) => {
        this.#mapOptions(options, 'options', ASYNC_KEYS);
        return c.map('map', taskName(task, 'task', this.#rt.taskNames), items, rest) as Promise<
          ResultOf<T[K]>[]
        >;
      },
      items,
    );
    return new AsyncResult(work, this.#callbacks(callback, errorCallback));
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

  /** {@link starmap}, returning an {@link AsyncResult}. */
  starmapAsync<K extends keyof T & string>(
    task: K,
    items: Items<ArgsOf<T[K]>>,
    options: MapOptions & AsyncCallbacks<ResultOf<T[K]>[]> = {},
  ): AsyncResult<ResultOf<T[K]>[]> {
    const { callback, errorCallback, ...rest } = options;
    const work = this.#run(
      'starmapAsync',
      (c) => {
        this.#mapOptions(options, 'options', ASYNC_KEYS);
        return c.map('starmap', taskName(task, 'task', this.#rt.taskNames), items, rest) as Promise<
          ResultOf<T[K]>[]
        >;
      },
      items,
    );
    return new AsyncResult(work, this.#callbacks(callback, errorCallback));
  }

  /**
   * Lazily maps the items, yielding results in input order as they become available. The input is
   * consumed as results are taken, with a bounded number of chunks in flight; `break` cancels the rest.
   */
  imap<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options?: IMapOptions,
  ): AsyncGenerator<ResultOf<T[K]>, void, undefined> {
    return this.#stream('imap', task, items, options, true) as AsyncGenerator<
      ResultOf<T[K]>,
      void,
      undefined
    >;
  }

  /** Like {@link imap}, but yields results as they complete, in any order. */
  imapUnordered<K extends UnaryTaskName<T>>(
    task: K,
    items: Items<ArgOf<T[K]>>,
    options?: IMapOptions,
  ): AsyncGenerator<ResultOf<T[K]>, void, undefined> {
    return this.#stream('imapUnordered', task, items, options, false) as AsyncGenerator<
      ResultOf<T[K]>,
      void,
      undefined
    >;
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
   * Reattaches to a job by id (from `onProgress`), for example after the process that submitted it
   * was restarted: resolves with the job's results (an array for map/starmap, the folded value for
   * mapReduce), or rejects with its error. Most useful on the AWS context, where jobs outlive callers.
   *
   * @example
   * ```ts
   * const results = (await pool.attach(savedJobId)) as number[];
   * ```
   */
  attach(jobId: string, options: Pick<MapOptions, 'onProgress'> = {}): Promise<unknown> {
    return this.#run('attach', (c) => {
      if (typeof jobId !== 'string' || jobId.length === 0) {
        throw new InvalidArgumentError(`Expected jobId to be a non-empty string, got ${received(jobId)}`);
      }
      const o = this.#mapOptions(options, 'options', ['onProgress']);
      return c.attach(jobId, { onProgress: o.onProgress });
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
      onProgress: optionalFunction<(p: Progress) => void>(opts.onProgress, `${name}.onProgress`),
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

  async *#stream(
    method: string,
    task: string,
    items: unknown,
    options: IMapOptions | undefined,
    ordered: boolean,
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
      yield* this.#rt.client.stream('map', name, items, { ...o, ordered });
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
