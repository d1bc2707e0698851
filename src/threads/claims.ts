/**
 * A group's chunks, claimed through shared memory: one `Int32` per chunk, 0 while no thread has
 * started it, then the mark of the thread run that took it, or {@link STOPPED} when the group was
 * stopped (a task error, a crash) before anyone took it. The thread the group was sent to and any
 * idle thread given the same chunks later ({@link ThreadExecutor}) take each chunk with one
 * compare-and-exchange, so a chunk runs once whatever the number of threads that hold it, and no
 * message is needed to say which thread took what.
 */

/** The mark of a chunk nobody may start any more. */
export const STOPPED = -1;

/** The claims of a group of `size` chunks, all unclaimed, on memory the threads share. */
export function newClaims(size: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(size * Int32Array.BYTES_PER_ELEMENT));
}

/** Takes chunk `at` for the run marked `by` (> 0); false when someone took or stopped it first. */
export function claim(claims: Int32Array, at: number, by: number): boolean {
  return Atomics.compareExchange(claims, at, 0, by) === 0;
}

/** Stops every chunk not taken yet: nobody starts them any more. */
export function stopUnclaimed(claims: Int32Array): void {
  for (let at = 0; at < claims.length; at++) Atomics.compareExchange(claims, at, 0, STOPPED);
}

/** The positions nobody has taken yet, in order. */
export function unclaimed(claims: Int32Array): number[] {
  const free: number[] = [];
  for (let at = 0; at < claims.length; at++) if (Atomics.load(claims, at) === 0) free.push(at);
  return free;
}
