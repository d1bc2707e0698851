/**
 * `Manager()` with `dict` and `list` proxies (CPython `multiprocessing.managers.SyncManager`). Each
 * single proxy operation is atomic; a sequence of them is not (use a `Lock`). Keys of a dict are
 * strings; values are any structured-clone value.
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
  update(entries: Readonly<Record<string, V>>): Promise<void>;
  keys(): Promise<string[]>;
  values(): Promise<V[]>;
  entries(): Promise<[string, V][]>;
  size(): Promise<number>;
  clear(): Promise<void>;
  /** A plain-object copy. */
  copy(): Promise<Record<string, V>>;
}

/** A shared list. */
export interface ListProxy<V = unknown> extends Shareable {
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
}

/** A manager of shared objects. */
export interface Manager {
  dict<V = unknown>(initial?: Readonly<Record<string, V>>): DictProxy<V>;
  list<V = unknown>(initial?: readonly V[]): ListProxy<V>;
  /** Releases every object this manager made (CPython `shutdown()`). */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
