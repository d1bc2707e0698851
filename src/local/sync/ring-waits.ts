import { blockOptions } from '../../validate.js';

/** A deadline (`performance.now()` time) from an optional timeout; `undefined` waits forever. */
export function deadlineOf(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
}

/** Milliseconds left before `deadline` (never negative). */
export function remaining(deadline: number): number {
  return deadline === Number.POSITIVE_INFINITY ? deadline : Math.max(0, deadline - performance.now());
}

/** `{ block, timeoutMs }` of `put()`/`get()`, checked: the deadline to wait until (now when not blocking). */
export function blockDeadline(v: unknown): number {
  const { block, timeoutMs } = blockOptions(v);
  // CPython ignores the timeout of a non-blocking call.
  return block ? deadlineOf(timeoutMs) : 0;
}

let holds = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

/** Keeps this thread's event loop alive while at least one wait or flush is pending. */
export function hold(): void {
  if (holds++ === 0) {
    keepAlive ??= setInterval(() => {}, 2 ** 30);
    keepAlive.ref();
  }
}

/** Ends one {@link hold}. */
export function release(): void {
  if (--holds === 0) keepAlive?.unref();
}

/**
 * Waits while `i32[index] === value`, until woken or `deadline`. Resolves false only on timeout
 * (a changed value or a wake-up resolves true: the caller re-checks its condition either way).
 */
export async function waitWord(
  i32: Int32Array,
  index: number,
  value: number,
  deadline: number,
): Promise<boolean> {
  const t = remaining(deadline);
  const r = Atomics.waitAsync(i32, index, value, t);
  if (!r.async) return r.value !== 'timed-out';
  hold();
  try {
    return (await r.value) !== 'timed-out';
  } finally {
    release();
  }
}

/**
 * Mutex word states: 0 free, 1 held, 2 held and someone may sleep on it (Drepper's futex mutex:
 * the unlocker calls `notify` only in state 2, so an uncontended lock costs two atomic ops).
 */
export function tryLock(i32: Int32Array, index: number): boolean {
  return Atomics.compareExchange(i32, index, 0, 1) === 0;
}

/** Takes the mutex at `i32[index]`; resolves false if `deadline` passed first. */
export async function lock(i32: Int32Array, index: number, deadline: number): Promise<boolean> {
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
