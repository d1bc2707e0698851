/**
 * What a context offers besides `Pool`, as `multiprocessing.get_context()` does: the primitives,
 * made by `local(...)` on shared memory and by `aws(...)` on DynamoDB and SQS. The same calls work on
 * either context; see each primitive's file for its semantics.
 */
import type { StragglerOptions } from '../engine/stragglers.js';
import type { SyncHandle } from '../handles.js';
import type { Connection } from './connection.js';
import type { Manager } from './managers.js';
import type { Pool } from './pool.js';
import type { Process, ProcessOptions } from './process.js';
import type { ProcessInfo } from './process-info.js';
import type { JoinableQueue, Queue, SimpleQueue } from './queues.js';
import type { SharedArray, SharedOptions, TypeCode, Value, ValueOf } from './sharedctypes.js';
import type {
  Barrier,
  BarrierOptions,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  Semaphore,
} from './synchronize.js';
import type { ArgsOf, TaskMap, TaskRegistry } from './tasks.js';

/** The primitives of a context (everything but `Pool` and `Process`). */
export interface Primitives {
  /** A lock: `acquire`, `release`, `withLock`. Any party may release it, as in CPython. */
  Lock(): Lock;
  /** A re-entrant lock: its owner may acquire it again; only its owner may release it. */
  RLock(): RLock;
  /** @param value initial permits @default 1 */
  Semaphore(value?: number): Semaphore;
  /** @param value initial and maximum permits @default 1 */
  BoundedSemaphore(value?: number): BoundedSemaphore;
  /** An event, initially clear: `set`, `clear`, `isSet`, `wait`. */
  Event(): Event;
  /** @param lock the lock to wait on @default a new RLock */
  Condition(lock?: Lock | RLock): Condition;
  /** A barrier that releases its waiters once `parties` of them wait. */
  Barrier(parties: number, options?: BarrierOptions): Barrier;
  /** @param initial @default 0 (0n for 64-bit codes) */
  Value<C extends TypeCode>(typecode: C, initial?: ValueOf<C>, options?: SharedOptions): Value<C>;
  /** A zero-filled array of `size` elements, or a copy of `values`. */
  Array<C extends TypeCode>(
    typecode: C,
    sizeOrValues: number | readonly ValueOf<C>[],
    options?: SharedOptions,
  ): SharedArray<C>;
  /** @param maxsize 0 = unbounded @default 0 */
  Queue<T = unknown>(maxsize?: number): Queue<T>;
  /** A queue whose `join()` waits until every item put has been marked done (`taskDone()`). @param maxsize 0 = unbounded @default 0 */
  JoinableQueue<T = unknown>(maxsize?: number): JoinableQueue<T>;
  /** An unbounded queue with only `put`, `get`, `empty` and `close`. */
  SimpleQueue<T = unknown>(): SimpleQueue<T>;
  /** Two connected ends; with `duplex` false the first end only receives and the second only sends. @default true */
  Pipe<T = unknown>(duplex?: boolean): [Connection<T>, Connection<T>];
  /** A manager of shared `dict`s and `list`s; `shutdown()` (or `await using`) frees them. */
  Manager(): Manager;
}

/** `Process` as a context offers it, typed by the context's tasks. */
export interface ProcessFactory<T extends TaskMap> {
  /** A process that runs the task `target` with `args` once `start()` is called. */
  Process<K extends keyof T & string>(target: K, args: ArgsOf<T[K]>, options?: ProcessOptions): Process<T, K>;
}

/** Options of `Pool()`. The AWS context honours `processes`, `chunksize`, `jobTimeoutMs` and `stragglers`; the rest are its stack's deploy-time settings. */
export interface PoolOptions<T extends TaskMap = TaskMap> {
  /** Worker threads. @default cpuCount() */
  readonly processes?: number;
  /** Default items per chunk for calls that do not pass one. @default CPython's rule per call */
  readonly chunksize?: number;
  /** Replace a worker after it has run this many chunks (CPython `maxtasksperchild`). @default undefined (never) */
  readonly maxTasksPerChild?: number;
  /** A task run once in each worker before it takes work. @default undefined */
  readonly initializer?: keyof T & string;
  /** Arguments of the initializer. @default [] */
  readonly initargs?: readonly unknown[];
  /** A job that has not ended this long after it was submitted fails with `JobExpiredError`. @default 86_400_000 (a day) */
  readonly jobTimeoutMs?: number;
  /** Deliveries of a chunk (worker crashes) before its job fails with `RetriesExhaustedError`. @default 3 */
  readonly maxAttempts?: number;
  /**
   * Backup attempts of straggling chunks near the end of a job (MapReduce's backup tasks): once at
   * most `tail` of a job's chunks are left (and no more than it has workers) and they have been
   * outstanding `factor` times the job's mean chunk time (at least `minMs`), each gets one backup;
   * the first result is kept. `false` turns them off. Calls whose items the pool holds (`map`,
   * `starmap`, `mapReduce` over arrays and ranges) are backed up; a `Process` never is.
   * @default on the aws context `{ factor: 3, minMs: 2000, tail: 0.1 }`; off on the local context
   */
  readonly stragglers?: boolean | StragglerOptions;
}

/**
 * What every context offers, as `multiprocessing.get_context()` does: the same calls on `local(...)`
 * and `aws(...)`, so that a program moves between them by changing only the context it makes.
 */
export interface Context<T extends TaskMap> extends Primitives, ProcessFactory<T> {
  /** Which context this is. */
  readonly kind: 'local' | 'aws';
  /** The tasks module the context runs. */
  readonly tasks: TaskRegistry<T>;
  /** Creates a pool. Options are validated before any thread starts or any AWS call is made. */
  Pool(options?: PoolOptions<T>): Pool<T>;
  /** The number of CPUs a pool of this context uses by default (`os.availableParallelism()` locally). */
  cpuCount(): number;
  /** The process this code runs in: the main process, or the pool worker or `Process` running the task. */
  currentProcess(): ProcessInfo;
}

/**
 * @internal One file's worth of primitives, as a context assembles them: `make` gives the factories
 * it implements (given the context's environment), `revive` turns each of its kinds' handles back
 * into live primitives in another thread or function.
 */
export interface PrimitiveModule<E> {
  readonly make: (env: E) => Partial<Primitives>;
  readonly revive: Readonly<Record<string, (handle: SyncHandle, env: E) => unknown>>;
}
