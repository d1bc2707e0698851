/**
 * @internal The checks every local primitive shares: `timeoutMs` and `acquire()` options (before any
 * effect), the fields of a handle's data, and the arena words a handle names.
 */

import { type Deadline, deadlineOf } from '../../deadline.js';
import { ProtocolError } from '../../errors.js';
import { blockOptions, received } from '../../validate.js';
import { arena } from './arena.js';

/** Checks `acquire()` options: `block` (boolean) and `timeoutMs`; a non-blocking call ignores the timeout (CPython). */
export function acquireArgs(v: unknown): Deadline | 'no-wait' {
  const { block, timeoutMs } = blockOptions(v);
  return block ? deadlineOf(timeoutMs) : 'no-wait';
}

/** The handle data of a local primitive, checked to be a plain object. */
export function handleData(data: unknown, kind: string): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ProtocolError(`Malformed ${kind} handle: data is ${received(data)}`);
  }
  return data as Record<string, unknown>;
}

/** An integer field of handle data within bounds. */
export function intField(
  data: Record<string, unknown>,
  field: string,
  kind: string,
  min: number,
  max: number,
): number {
  const v = data[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ProtocolError(
      `Malformed ${kind} handle: ${field} is ${received(v)}, expected an integer from ${min} to ${max}`,
    );
  }
  return v;
}

/** The Int32 words of a primitive at `at`, after checking the region lies in the arena. */
export function wordsAt(at: unknown, words: number, kind: string): Int32Array {
  const a = arena();
  a.check(at, words * 4, kind);
  return a.i32(at as number, words);
}

/** Allocates `words` zeroed Int32 words in the arena; returns their offset and view. */
export function allocWords(words: number): { at: number; words: Int32Array } {
  const a = arena();
  const at = a.alloc(words * 4);
  return { at, words: a.i32(at, words) };
}
