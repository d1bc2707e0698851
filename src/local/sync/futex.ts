/**
 * @internal What every local primitive waits with: `Atomics.waitAsync` on one arena word, with the
 * time left of a deadline, keeping the thread's event loop alive while it waits, and the checks of
 * `timeoutMs` arguments and of handle fields that all of them share.
 *
 * Why a keep-alive: Node does not count a pending `Atomics.waitAsync` as work, so a worker whose
 * only pending promise is a wait exits before it is notified (and a timed wait never fires). While
 * any wait of this thread is pending we hold one ref'd timer that never fires.
 */
import { threadId } from 'node:worker_threads';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import { received } from '../../validate.js';
import { arena } from './arena.js';

/**
 * This thread's identity as an owner of a local lock: `threadId + 1`, unique among the threads of
 * the process (0 means "nobody"). Async flows of one thread share it, as CPython counts per thread.
 */
export const ME = threadId + 1;

/** The owner string that `RLock.state()` reports for an owner word (`thread:<threadId>`). */
export function ownerName(word: number): string | undefined {
  return word === 0 ? undefined : `thread:${word - 1}`;
}

let pending = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function hold(): void {
  if (pending++ === 0) keepAlive = setInterval(() => {}, 0x3fff_ffff);
}

function letGo(): void {
  if (--pending === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

/** A point in time (`performance.now()` ms) by which a wait gives up; undefined = never. */
export type Deadline = number | undefined;

/** The deadline of a wait of `timeoutMs` starting now. */
export function deadlineOf(timeoutMs: number | undefined): Deadline {
  return timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
}

/** Whether the deadline has passed. */
export function expired(deadline: Deadline): boolean {
  return deadline !== undefined && performance.now() >= deadline;
}

/**
 * Waits until word `index` of `words` is notified or no longer holds `expected`, or the deadline
 * passes. Resolves 'ok' (notified), 'not-equal' (the word had already changed) or 'timed-out'.
 * Callers always re-check their condition afterwards: a wake is a hint, never a grant.
 */
export async function waitWord(
  words: Int32Array,
  index: number,
  expected: number,
  deadline: Deadline,
): Promise<'ok' | 'not-equal' | 'timed-out'> {
  const left = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
  if (left === 0) return Atomics.load(words, index) === expected ? 'timed-out' : 'not-equal';
  const r = Atomics.waitAsync(words, index, expected, left);
  if (!r.async) return r.value;
  hold();
  try {
    return await r.value;
  } finally {
    letGo();
  }
}

/** Checks a `timeoutMs` argument: undefined (forever) or a finite number >= 0. */
export function timeoutArg(v: unknown, name = 'timeoutMs'): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(`Expected ${name} to be a number >= 0, got ${received(v)}`);
  }
  return v;
}

/** Checks `acquire()` options: `block` (boolean) and `timeoutMs`; a non-blocking call ignores the timeout (CPython). */
export function acquireArgs(v: unknown): Deadline | 'no-wait' {
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
    throw new InvalidArgumentError(`Expected options to be an object, got ${received(v)}`);
  }
  const o = (v ?? {}) as { block?: unknown; timeoutMs?: unknown };
  for (const k of Object.keys(o)) {
    if (k !== 'block' && k !== 'timeoutMs') {
      throw new InvalidArgumentError(`Unknown option options.${k}; expected one of: block, timeoutMs`);
    }
  }
  if (o.block !== undefined && typeof o.block !== 'boolean') {
    throw new InvalidArgumentError(`Expected options.block to be a boolean, got ${received(o.block)}`);
  }
  const timeoutMs = timeoutArg(o.timeoutMs, 'options.timeoutMs');
  return o.block === false ? 'no-wait' : deadlineOf(timeoutMs);
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
