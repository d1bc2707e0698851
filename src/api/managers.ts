/**
 * `Manager()` with `dict` and `list` proxies (CPython `multiprocessing.managers.SyncManager`). Each
 * single proxy operation is atomic; a sequence of them is not (use a `Lock`). Keys of a dict are
 * strings; values are any structured-clone value, and may hold other managed dicts and lists (of
 * any manager of the same context), which come back as proxies of the same objects, as CPython
 * nests proxies. Values are compared by deep equality (`count`, `index`, `remove`), as CPython
 * compares with `==`.
 */
import type { Shareable } from '../handles.js';

/** A shared dictionary. */
export interface DictProxy<V = unknown> extends Shareable {
  /** Tells the proxies apart at run time. */
  readonly kind: 'DictProxy';
  /** The value at `key`, or `undefined`. */
  get(key: string): Promise<V | undefined>;
  /** Sets `key` to `value`. */
  set(key: string, value: V): Promise<void>;
  /** Deletes `key`; resolves whether it was there. */
  delete(key: string): Promise<boolean>;
  /** Whether `key` is set. */
  has(key: string): Promise<boolean>;
  /** Removes `key` and resolves its value (or `fallback` when absent). */
  pop(key: string, fallback?: V): Promise<V | undefined>;
  /** Sets `key` to `value` unless present; resolves the value now stored. */
  setDefault(key: string, value: V): Promise<V>;
  /** Adds `delta` to the number stored under `key` (0 when absent), atomically; resolves the new value. */
  increment(key: string, delta?: number): Promise<number>;
  /**
   * Removes and resolves the last inserted pair (LIFO, as CPython's `popitem`; a key set again
   * keeps its place). Throws `InvalidArgumentError` when the dict is empty (CPython: `KeyError`).
   */
  popitem(): Promise<[string, V]>;
  /** Sets every key of `entries`, in one atomic operation. */
  update(entries: Readonly<Record<string, V>>): Promise<void>;
  /** The keys, in insertion order. */
  keys(): Promise<string[]>;
  /** The values, in the keys' order. */
  values(): Promise<V[]>;
  /** The `[key, value]` pairs, in insertion order. */
  entries(): Promise<[string, V][]>;
  /** The number of keys. */
  size(): Promise<number>;
  /** Removes every key. */
  clear(): Promise<void>;
  /** A plain-object copy. */
  copy(): Promise<Record<string, V>>;
}

/** Options of `ListProxy.sort()`. */
export interface SortOptions {
  /** Sort in descending order (equal elements keep their order, as in CPython). @default false */
  readonly reverse?: boolean;
}

/**
 * A shared list. `for await (const x of list)` iterates over a copy of the elements taken by one
 * read (CPython fetches them one by one).
 */
export interface ListProxy<V = unknown> extends Shareable, AsyncIterable<V> {
  /** Tells the proxies apart at run time. */
  readonly kind: 'ListProxy';
  /** Element `index` (negative counts from the end); throws `InvalidArgumentError` when out of range. */
  get(index: number): Promise<V>;
  /** Replaces the element at `index` (negative counts from the end); throws `RangeError` outside the list. */
  set(index: number, value: V): Promise<void>;
  /** Adds `value` at the end. */
  append(value: V): Promise<void>;
  /** Adds `values` at the end, in one atomic operation. */
  extend(values: readonly V[]): Promise<void>;
  /** Inserts `value` before `index`, as CPython's `list.insert`. */
  insert(index: number, value: V): Promise<void>;
  /** Removes and resolves element `index` (the last by default); throws `InvalidArgumentError` when empty. */
  pop(index?: number): Promise<V>;
  /** The number of elements. */
  length(): Promise<number>;
  /** A copy of `list[start:end]`. @default the whole list */
  slice(start?: number, end?: number): Promise<V[]>;
  /** Removes every element. */
  clear(): Promise<void>;
  /** How many elements equal `value`. */
  count(value: V): Promise<number>;
  /**
   * The index of the first element equal to `value` within `list[start:end]`; throws
   * `InvalidArgumentError` when there is none (CPython: `ValueError`).
   */
  index(value: V, start?: number, end?: number): Promise<number>;
  /** Removes the first element equal to `value`; throws `InvalidArgumentError` when there is none. */
  remove(value: V): Promise<void>;
  /** Reverses the list in place. */
  reverse(): Promise<void>;
  /**
   * Sorts the list in place, stably, by the natural order of numbers (and bigints and booleans),
   * of strings (by code point, as CPython) and of arrays of them (element by element); dates by
   * time. Values of other kinds, or of two kinds that do not compare, throw `InvalidArgumentError`
   * (CPython: `TypeError`) and leave the list as it was. No `key` function: code never travels.
   */
  sort(options?: SortOptions): Promise<void>;
}

/** A manager of shared objects. */
export interface Manager {
  /** A new shared dict, with `initial` entries. */
  dict<V = unknown>(initial?: Readonly<Record<string, V>>): DictProxy<V>;
  /** A new shared list, with `initial` elements. */
  list<V = unknown>(initial?: readonly V[]): ListProxy<V>;
  /** Releases every object this manager made (CPython `shutdown()`). */
  shutdown(): Promise<void>;
  /** `shutdown()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
