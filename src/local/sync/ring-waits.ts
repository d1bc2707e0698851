/**
 * The waits of the local rings and queues: the `{ block, timeoutMs }` deadline of `put()`/`get()`,
 * and a futex mutex on one arena word (Drepper's), built on the shared `waitWord` of `futex.ts`.
 */
import { type Deadline, deadlineOf, remaining } from '../../deadline.js';
import { blockOptions } from '../../validate.js';
import { waitWord } from './futex.js';

/** `{ block, timeoutMs }` of `put()`/`get()`, checked: the deadline to wait until (now when not blocking). */
export function blockDeadline(v: unknown): Deadline {
  const { block, timeoutMs } = blockOptions(v);
  // CPython ignores the timeout of a non-blocking call.
  return block ? deadlineOf(timeoutMs) : 0;
}

/**
 * Mutex word states: 0 free, 1 held, 2 held and someone may sleep on it (Drepper's futex mutex:
 * the unlocker calls `notify` only in state 2, so an uncontended lock costs two atomic ops).
 */
export function tryLock(i32: Int32Array, index: number): boolean {
  return Atomics.compareExchange(i32, index, 0, 1) === 0;
}

/** Takes the mutex at `i32[index]`; resolves false if `deadline` passed first. */
export async function lock(i32: Int32Array, index: number, deadline: Deadline): Promise<boolean> {
  let c = Atomics.compareExchange(i32, index, 0, 1);
  if (c === 0) return true;
  if (c !== 2) c = Atomics.exchange(i32, index, 2);
  while (c !== 0) {
    if (remaining(deadline) === 0) return false;
    await waitWord(i32, index, 2, deadline);
    // State 2 on success too: we cannot know whether others still sleep, so the unlock will notify.
    c = Atomics.exchange(i32, index, 2);
  }
  return true;
}

/** Frees the mutex at `i32[index]`, waking one sleeper if any may sleep. */
export function unlock(i32: Int32Array, index: number): void {
  if (Atomics.exchange(i32, index, 0) === 2) Atomics.notify(i32, index, 1);
}
