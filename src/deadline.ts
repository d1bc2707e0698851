/**
 * One meaning of a wait's deadline for every primitive and every context: a point on the
 * monotonic clock (`performance.now()`, ms), and {@link FOREVER} for a wait without a timeout.
 *
 * Monotonic, because a timeout must last as long as asked: the wall clock (`Date.now()`) can be
 * stepped by NTP while a `Lock.acquire({ timeoutMs })` waits, making it give up early or late.
 * `Infinity` rather than `undefined` for "forever", because every comparison and subtraction then
 * holds without a special case (`remaining(FOREVER)` is `Infinity`, and `expired(FOREVER)` false).
 * Job deadlines are another matter: they are stored and compared across machines, on epoch time.
 */

/** A point on the monotonic clock (ms) by which a wait gives up; {@link FOREVER} never comes. */
export type Deadline = number;

/** The deadline of a wait without a timeout. */
export const FOREVER: Deadline = Number.POSITIVE_INFINITY;

/** The monotonic clock deadlines are on, in ms. */
export function now(): number {
  return performance.now();
}

/** The deadline of a wait of `timeoutMs` starting now; {@link FOREVER} when there is none (or it is `Infinity`). */
export function deadlineOf(timeoutMs: number | undefined): Deadline {
  return timeoutMs === undefined ? FOREVER : now() + timeoutMs;
}

/** Milliseconds left before `deadline`: never negative, `Infinity` for {@link FOREVER}. */
export function remaining(deadline: Deadline): number {
  return deadline === FOREVER ? FOREVER : Math.max(0, deadline - now());
}

/** Whether `deadline` has passed. */
export function expired(deadline: Deadline): boolean {
  return now() >= deadline;
}
