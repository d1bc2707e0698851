/**
 * The synchronisation primitives of `multiprocessing.synchronize`: `Lock`, `RLock`, `Semaphore`,
 * `BoundedSemaphore`, `Event`, `Condition` and `Barrier`. These are the public types; the local
 * context implements them on shared memory and Atomics (`src/local/sync/`), the AWS context on
 * DynamoDB conditional writes with leases and fencing tokens (`src/aws/sync/`).
 *
 * Every method that may wait is async, on both contexts, so code moves between them unchanged.
 * Timeouts are in milliseconds; each timeout ends the way CPython's does: `acquire` and `wait`
 * resolve `false`, `Barrier.wait` throws {@link BrokenBarrierError}.
 *
 * Every primitive can be passed to a task as an argument (anywhere in its arguments, up to 4 levels
 * deep in arrays and plain objects): the task receives a live primitive on the same state.
 */
import type { Shareable } from '../handles.js';

/** Options of `acquire()`. */
export interface AcquireOptions {
  /** Wait for the lock (true) or return false at once if it is taken (false). @default true */
  readonly block?: boolean;
  /** Give up after this many milliseconds and resolve false. @default undefined (wait forever) */
  readonly timeoutMs?: number;
}

/** Shared by every lock-like primitive. */
export interface Acquirable extends Shareable {
  /**
   * Acquires; resolves true, or false if `block` is false and it is taken, or when `timeoutMs` ran out.
   * @example
   * ```ts
   * import { local } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * const lock = local({ tasks }).Lock();
   * if (await lock.acquire({ timeoutMs: 500 })) {
   *   try {
   *     // …the work the lock guards
   *   } finally {
   *     await lock.release();
   *   }
   * }
   * ```
   */
  acquire(options?: AcquireOptions): Promise<boolean>;
  /** Releases. See each primitive for who may release and what over-release does. */
  release(): Promise<void>;
  /** Acquires, runs `fn`, releases (also when `fn` throws): `with lock:` in Python. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R>;
}

/**
 * A non-recursive lock (CPython `multiprocessing.Lock`). As in CPython any party may release it,
 * not only the one that acquired it; releasing an unlocked lock throws {@link OverReleaseError}.
 * On the AWS context the holder's lease is renewed while held and lost when the holder dies; a
 * release by a holder whose lease was taken over throws {@link LeaseLostError}.
 */
export interface Lock extends Acquirable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Lock';
  /** Whether the lock is held by anyone right now. */
  locked(): Promise<boolean>;
}

/** Who holds a recursive lock and how often. */
export interface RLockState {
  /**
   * The holder, or undefined when free. Each context reports its own owner: the AWS context the
   * holder's `currentProcess().ident`; the local context the holding thread as `thread:<threadId>`
   * (async flows of one thread are one owner, as CPython counts per thread).
   */
  readonly owner: string | undefined;
  /** How many times the holder has acquired it. */
  readonly count: number;
}

/**
 * A recursive lock (CPython `multiprocessing.RLock`): its holder may acquire it again and must
 * release it as often; release by any other party throws {@link NotOwnerError}.
 */
export interface RLock extends Acquirable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'RLock';
  /** The holder and its recursion count. */
  state(): Promise<RLockState>;
}

/**
 * A counting semaphore (CPython `multiprocessing.Semaphore`): `release()` adds a permit even past the
 * initial value.
 */
export interface Semaphore extends Acquirable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Semaphore' | 'BoundedSemaphore';
  /** The permits available now (CPython `get_value()`). */
  getValue(): Promise<number>;
}

/** A semaphore that throws {@link OverReleaseError} when released past its initial value. */
export interface BoundedSemaphore extends Semaphore {
  /** Tells the primitives apart at run time. */
  readonly kind: 'BoundedSemaphore';
}

/** A flag that parties wait on (CPython `multiprocessing.Event`). */
export interface Event extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Event';
  /** Whether the event is set. */
  isSet(): Promise<boolean>;
  /** Sets the event and wakes every waiter. */
  set(): Promise<void>;
  /** Clears the event: later waiters wait until it is set again. */
  clear(): Promise<void>;
  /** Resolves true once the flag is set, or false when `timeoutMs` ran out first. */
  wait(timeoutMs?: number): Promise<boolean>;
}

/**
 * A condition variable over a lock (CPython `multiprocessing.Condition`; an `RLock` by default).
 * `wait`, `notify` and `notifyAll` require the caller to hold the lock ({@link NotOwnerError}
 * otherwise where the lock records its owner).
 */
export interface Condition extends Acquirable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Condition';
  /** Releases the lock, waits for a notify (or the timeout), re-acquires; resolves false on timeout. */
  wait(timeoutMs?: number): Promise<boolean>;
  /**
   * Waits until `predicate()` is truthy (re-checked after each notify); resolves the last value of
   * the predicate, falsy if the timeout ran out.
   */
  waitFor<R>(predicate: () => R | Promise<R>, timeoutMs?: number): Promise<R>;
  /** Wakes up to `n` waiters. @default 1 */
  notify(n?: number): Promise<void>;
  /** Wakes every waiter (the caller must hold the lock). */
  notifyAll(): Promise<void>;
}

/**
 * A barrier for a fixed number of parties (CPython `multiprocessing.Barrier`). The `action`
 * argument of CPython is not offered: code never travels between parties.
 */
export interface Barrier extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Barrier';
  /** The number of parties that must wait for the barrier to release them. */
  readonly parties: number;
  /**
   * Waits until `parties` parties have called `wait`; resolves this party's arrival index
   * (0 … parties-1). Throws {@link BrokenBarrierError} if the barrier is or becomes broken, and
   * breaks it when the timeout (or the barrier's default timeout) runs out.
   */
  wait(timeoutMs?: number): Promise<number>;
  /** Puts the barrier into the broken state; current and future waiters throw. */
  abort(): Promise<void>;
  /** Returns the barrier to its empty, unbroken state; current waiters throw {@link BrokenBarrierError}. */
  reset(): Promise<void>;
  /** Parties waiting now. */
  nWaiting(): Promise<number>;
  /** Whether the barrier is broken (aborted, or a wait timed out) until `reset()`. */
  broken(): Promise<boolean>;
}

/** Options of `Barrier()`. */
export interface BarrierOptions {
  /** Default timeout of `wait()`. @default undefined (wait forever) */
  readonly timeoutMs?: number;
}
