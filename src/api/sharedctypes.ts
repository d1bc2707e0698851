/**
 * Shared memory values (CPython `multiprocessing.sharedctypes`): `Value(type, initial)` and
 * `Array(type, sizeOrValues)`. Type codes are those of Python's `array` module; 64-bit integer
 * codes hold `bigint`s.
 */
import type { Shareable } from '../handles.js';
import type { Lock, RLock } from './synchronize.js';

/** Type codes as in Python's `array` / `ctypes`: b B h H i I (numbers, wrapped like C), f d (floats), q Q l L (64-bit, bigint). */
export type TypeCode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';

/** The JavaScript type a type code holds. */
export type ValueOf<C extends TypeCode> = C extends 'q' | 'Q' | 'l' | 'L' ? bigint : number;

/** Options of `Value()` and `Array()`. */
export interface SharedOptions {
  /**
   * The lock that `getLock()` returns and `withLock()` holds: true makes a new `RLock` (as CPython),
   * false makes none (CPython `RawValue`: `getLock`/`withLock` throw), or pass your own.
   * @default true
   */
  readonly lock?: boolean | Lock | RLock;
}

/**
 * A single shared number. `add` is atomic without the lock; use `withLock` for other
 * read-modify-write sequences.
 *
 * @example
 * ```ts
 * import { local } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * const mp = local({ tasks });
 * const hits = mp.Value('i', 0);
 * await hits.add(1);
 * await hits.withLock(async () => hits.set((await hits.get()) * 2));
 * ```
 */
export interface Value<C extends TypeCode = TypeCode> extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Value';
  /** The type code, as in CPython's `array` module. */
  readonly typecode: C;
  /** The current value. */
  get(): Promise<ValueOf<C>>;
  /** Sets the value (not atomic with a `get` before it: hold the lock, or use `add`). */
  set(value: ValueOf<C>): Promise<void>;
  /** Adds `delta` atomically; resolves the new value. */
  add(delta: ValueOf<C>): Promise<ValueOf<C>>;
  /** The lock guarding this value. Throws `InvalidArgumentError` if made with `lock: false`. */
  getLock(): Lock | RLock;
  /**
   * Holds the value's lock while `fn` runs. On the AWS context writes made by the holder inside
   * `fn` are fenced: if the lease was lost to another party they throw {@link LeaseLostError}.
   */
  withLock<R>(fn: () => R | Promise<R>): Promise<R>;
}

/** A fixed-length shared array of numbers. */
export interface SharedArray<C extends TypeCode = TypeCode> extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Array';
  /** The type code, as in CPython's `array` module. */
  readonly typecode: C;
  /** The number of elements (fixed at creation). */
  readonly length: number;
  /** The element at `index`; throws `RangeError` outside the array. */
  get(index: number): Promise<ValueOf<C>>;
  /** Sets the element at `index`; throws `RangeError` outside the array. */
  set(index: number, value: ValueOf<C>): Promise<void>;
  /** Adds `delta` to one element atomically; resolves the new value. */
  add(index: number, delta: ValueOf<C>): Promise<ValueOf<C>>;
  /** A copy of elements `start` … `end - 1` (like `arr[start:end]`). @default the whole array */
  slice(start?: number, end?: number): Promise<ValueOf<C>[]>;
  /** Writes `values` from `start` on (like `arr[start:start+len] = values`). */
  setSlice(start: number, values: readonly ValueOf<C>[]): Promise<void>;
  /** The lock that guards the array (`options.lock`, or its own). */
  getLock(): Lock | RLock;
  /** Runs `fn` holding the array's lock, and releases it however `fn` ends. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R>;
}
