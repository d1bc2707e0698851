/**
 * `Queue`, `JoinableQueue` and `SimpleQueue` (CPython `multiprocessing.queues`). Items are any
 * structured-clone value; FIFO order is kept. A full bounded queue blocks `put` (or throws
 * {@link Full}); it never drops an item.
 */
import type { Shareable } from '../handles.js';

/** Options of `put()` and `get()`. */
export interface BlockOptions {
  /** Wait (true) or throw `Full`/`Empty` at once (false). @default true */
  readonly block?: boolean;
  /** Throw `Full`/`Empty` after this many milliseconds. @default undefined (wait forever) */
  readonly timeoutMs?: number;
}

/** A FIFO queue shared between parties. */
export interface Queue<T = unknown> extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Queue' | 'JoinableQueue';
  /** The bound given at creation; 0 means unbounded. */
  readonly maxsize: number;
  /** Appends `item`; waits while the queue is full. Throws {@link Full} when not blocking or on timeout, {@link ClosedError} after `close()`. */
  put(item: T, options?: BlockOptions): Promise<void>;
  /** Removes and resolves the oldest item; throws {@link Empty} when not blocking or on timeout. */
  get(options?: BlockOptions): Promise<T>;
  /** `put(item, { block: false })`: throws `Full` at once when the queue is full. */
  putNowait(item: T): Promise<void>;
  /** `get({ block: false })`: throws `Empty` at once when the queue is empty. */
  getNowait(): Promise<T>;
  /** The number of items (approximate while others put and get, as in CPython). */
  qsize(): Promise<number>;
  /** Whether the queue is empty (a snapshot: another party may put or get at once). */
  empty(): Promise<boolean>;
  /** Whether the queue holds `maxsize` items (a snapshot). */
  full(): Promise<boolean>;
  /**
   * No more items will be put through this handle. On the AWS context, closing the queue's creator
   * handle deletes the SQS queue (items not yet taken are gone); abandoned queues are swept.
   */
  close(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** A queue whose consumers report each item done, so that a producer can `join()` (CPython `JoinableQueue`). */
export interface JoinableQueue<T = unknown> extends Queue<T> {
  /** Tells the primitives apart at run time. */
  readonly kind: 'JoinableQueue';
  /** Marks one fetched item as processed; throws {@link OverReleaseError} if called more often than items were put. */
  taskDone(): Promise<void>;
  /** Waits until every item put has been marked done. Resolves false if `timeoutMs` ran out first. */
  join(timeoutMs?: number): Promise<boolean>;
}

/** An unbounded queue with only `put`, `get`, `empty` and `close` (CPython `SimpleQueue`). */
export interface SimpleQueue<T = unknown> extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'SimpleQueue';
  /** Adds `item`; never blocks (the queue is unbounded). */
  put(item: T): Promise<void>;
  /** Takes the oldest item, waiting until there is one. */
  get(): Promise<T>;
  /** Whether the queue is empty (a snapshot). */
  empty(): Promise<boolean>;
  /** Ends this party's use of the queue; the creator's close frees it (on AWS, deletes its SQS queue). */
  close(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
