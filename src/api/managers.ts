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
  readonly kind: 'DictProxy';
  get(key: string): Promise<V | undefined>;
  set(key: string, value: V): Promise<void>;
  /** Deletes `key`; resolves whether it was there. */
  delete(key: string): Promise<boolean>;
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
  update(entries: Readonly<Record<string, V>>): Promise<void>;
  /** The keys, in insertion order. */
  keys(): Promise<string[]>;
  values(): Promise<V[]>;
  entries(): Promise<[string, V][]>;
  size(): Promise<number>;
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
  readonly kind: 'ListProxy';
  /** Element `index` (negative counts from the end); throws `InvalidArgumentError` when out of range. */
  get(index: number): Promise<V>;
  set(index: number, value: V): Promise<void>;
  append(value: V): Promise<void>;
  extend(values: readonly V[]): Promise<void>;
  insert(index: number, value: V): Promise<void>;
  /** Removes and resolves element `index` (the last by default); throws `InvalidArgumentError` when empty. */
  pop(index?: number): Promise<V>;
  length(): Promise<number>;
  /** A copy of `list[start:end]`. @default the whole list */
  slice(start?: number, end?: number): Promise<V[]>;
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
  dict<V = unknown>(initial?: Readonly<Record<string, V>>): DictProxy<V>;
  list<V = unknown>(initial?: readonly V[]): ListProxy<V>;
  /** Releases every object this manager made (CPython `shutdown()`). */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
