/**
 * @internal What every local primitive waits with: `Atomics.waitAsync` on one arena word, with the
 * time left of a deadline, keeping the thread's event loop alive while it waits; and the owner
 * identity of this thread. (The checks of arguments and handles are in `checks.ts`.)
 *
 * Why a keep-alive: Node does not count a pending `Atomics.waitAsync` as work, so a worker whose
 * only pending promise is a wait exits before it is notified (and a timed wait never fires). While
 * any wait of this thread is pending we hold one ref'd timer that never fires.
 */
import { threadId } from 'node:worker_threads';
import { type Deadline, remaining } from '../../deadline.js';

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
// One timer per thread, made once and only ref'd while a wait is pending (cheaper than making one
// per wait in a contended loop).
let keepAlive: ReturnType<typeof setInterval> | undefined;

/** Keeps this thread's event loop alive until the matching {@link release} (a wait, a pending flush). */
export function hold(): void {
  if (pending++ > 0) return;
  keepAlive ??= setInterval(() => {}, 0x3fff_ffff);
  keepAlive.ref();
}

/** Ends one {@link hold}. */
export function release(): void {
  if (--pending === 0) keepAlive?.unref();
}

/**
 * Waits until word `index` of `words` is notified or no longer holds `expected`, or the deadline
 * (`src/deadline.ts`) passes. Resolves 'ok' (notified), 'not-equal' (the word had already changed)
 * or 'timed-out'. Callers always re-check their condition afterwards: a wake is a hint, never a grant.
 */
export async function waitWord(
  words: Int32Array,
  index: number,
  expected: number,
  deadline: Deadline,
): Promise<'ok' | 'not-equal' | 'timed-out'> {
  const left = remaining(deadline);
  if (left === 0) return Atomics.load(words, index) === expected ? 'timed-out' : 'not-equal';
  const r = Atomics.waitAsync(words, index, expected, left);
  if (!r.async) return r.value;
  hold();
  try {
    return await r.value;
  } finally {
    release();
  }
}
