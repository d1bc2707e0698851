/**
 * What a context offers besides `Pool`, as `multiprocessing.get_context()` does: the primitives,
 * made by `local(...)` on shared memory and by `aws(...)` on DynamoDB and SQS. The same calls work on
 * either context; see each primitive's file for its semantics.
 */
import type { Connection } from './connection.js';
import type { SyncHandle } from './handles.js';
import type { Manager } from './managers.js';
import type { Process, ProcessOptions } from './process.js';
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
import type { ArgsOf, TaskMap } from './tasks.js';

/** The primitives of a context (everything but `Pool` and `Process`). */
export interface Primitives {
  Lock(): Lock;
  RLock(): RLock;
  /** @param value initial permits @default 1 */
  Semaphore(value?: number): Semaphore;
  /** @param value initial and maximum permits @default 1 */
  BoundedSemaphore(value?: number): BoundedSemaphore;
  Event(): Event;
  /** @param lock the lock to wait on @default a new RLock */
  Condition(lock?: Lock | RLock): Condition;
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
  JoinableQueue<T = unknown>(maxsize?: number): JoinableQueue<T>;
  SimpleQueue<T = unknown>(): SimpleQueue<T>;
  /** Two connected ends; with `duplex` false the first end only receives and the second only sends. @default true */
  Pipe<T = unknown>(duplex?: boolean): [Connection<T>, Connection<T>];
  Manager(): Manager;
}

/** `Process` as a context offers it, typed by the context's tasks. */
export interface ProcessFactory<T extends TaskMap> {
  Process<K extends keyof T & string>(target: K, args: ArgsOf<T[K]>, options?: ProcessOptions): Process<T, K>;
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
