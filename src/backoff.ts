/**
 * One backoff for every retry and every polling wait: the AWS adapters' retries of what a batch
 * call reports unprocessed and the AWS primitives' polls of DynamoDB (which cannot notify). A
 * caller waiting for its job polls on a schedule of its own, kept across its waits and without
 * jitter (`engine/job-watch.ts`).
 *
 * The delay before attempt `n` (0 for the first retry) is drawn uniformly between `min` and a cap
 * that doubles from `min` with each attempt, up to `max`: jittered, so that parties that collided
 * spread out, and never below `min`, so that many waiting parties never hammer a table with
 * immediate retries.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Deadline, FOREVER, remaining } from './deadline.js';

/** The first delay and the longest, in ms (`0 <= min <= max`). */
export interface BackoffBounds {
  readonly min: number;
  readonly max: number;
}

/** The delay before attempt `attempt` (0-based), in ms; see the module comment. */
export function backoffDelay(attempt: number, bounds: BackoffBounds): number {
  const { min, max } = bounds;
  const cap = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return min + Math.random() * Math.max(0, cap - min);
}

/**
 * Sleeps the delay of `attempt`, cut short at `deadline`. Resolves false at once when the
 * deadline has already passed, else true after sleeping. A pending sleep keeps the process alive,
 * as a blocked CPython `acquire()` does.
 */
export async function backoff(
  attempt: number,
  bounds: BackoffBounds,
  deadline: Deadline = FOREVER,
): Promise<boolean> {
  const left = remaining(deadline);
  if (left <= 0) return false;
  await sleep(Math.min(backoffDelay(attempt, bounds), left));
  return true;
}
