/**
 * Argument checks of the `DictProxy` and `ListProxy` methods, shared by both contexts: every
 * argument is checked in the calling thread before any request is sent; and the one rule that
 * depends on the list's state (a position in it), checked where the state is.
 */
import { InvalidArgumentError } from '../errors.js';
import { options, received } from '../validate.js';
import type { SortOptions } from './managers.js';

/** `key` as a dict key, or `InvalidArgumentError`. */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string')
    throw new InvalidArgumentError(`Expected key to be a string, got ${received(key)}`);
  return key;
}

/** `v` as a list index, or `InvalidArgumentError`. */
export function checkIndex(v: unknown, name = 'index'): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${received(v)}`);
  }
  return v;
}

/** `delta` of `increment`, or `InvalidArgumentError`. */
export function checkDelta(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new InvalidArgumentError(`Expected delta to be a finite number, got ${received(v)}`);
  }
  return v;
}

/** The argument of `update`: a plain object. */
export function checkEntries(v: unknown): Record<string, unknown> {
  const proto =
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.getPrototypeOf(v) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidArgumentError(`Expected entries to be a plain object, got ${received(v)}`);
  }
  return v as Record<string, unknown>;
}

/** The argument of `extend`: an array. */
export function checkValues(v: unknown): readonly unknown[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(`Expected values to be an array, got ${received(v)}`);
  return v;
}

/** The options of `sort()`: `reverse` only (a `key` function cannot travel). */
export function checkSortOptions(v: unknown): { readonly reverse: boolean } {
  const o = options<SortOptions>(v, 'options', ['reverse']);
  if (o.reverse !== undefined && typeof o.reverse !== 'boolean') {
    throw new InvalidArgumentError(`Expected options.reverse to be a boolean, got ${received(o.reverse)}`);
  }
  return { reverse: o.reverse ?? false };
}

/** The bounds `start`, `end` of `index()` in a list of `length`, as CPython's slice bounds (clamped). */
export function sliceBounds(
  start: number | undefined,
  end: number | undefined,
  length: number,
): [number, number] {
  const at = (v: number | undefined, dflt: number) =>
    v === undefined ? dflt : Math.min(Math.max(v < 0 ? v + length : v, 0), length);
  return [at(start, 0), at(end, length)];
}

/** `index` as a position in a list of `length` (negative counts from the end), or an error naming `what`. */
export function position(index: number, length: number, what: string): number {
  const at = index < 0 ? length + index : index;
  if (at < 0 || at >= length) {
    throw new InvalidArgumentError(`${what} index ${index} is out of range for a list of length ${length}`);
  }
  return at;
}

/** Runs `f`, turning a synchronous throw (a bad argument) into a rejection, as async methods report errors. */
export function rejecting<T>(f: () => Promise<T>): Promise<T> {
  try {
    return f();
  } catch (e) {
    return Promise.reject(e);
  }
}
