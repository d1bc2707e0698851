/**
 * Polling waits of the AWS primitives (a blocked `acquire`, `Event.wait`…): DynamoDB cannot notify,
 * so a waiter re-reads with exponential backoff and full jitter, and never sleeps past its deadline
 * so that a timeout ends when it should (CPython resolves false at the timeout, not later).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The polling bounds of an environment (`AwsSyncEnv.pollMs`). */
export interface PollBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * The delay before poll number `attempt` (0-based): full jitter over `min·2^attempt` capped at
 * `max`, never below `min` (a zero delay would hammer the table when many parties wait).
 */
export function pollDelay(attempt: number, bounds: PollBounds): number {
  const cap = Math.min(bounds.max, bounds.min * 2 ** Math.min(attempt, 30));
  return Math.max(bounds.min, Math.random() * cap);
}

/** The epoch-ms deadline of a timeout (undefined = forever). */
export function deadlineOf(timeoutMs: number | undefined): number | undefined {
  return timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
}

/**
 * Calls `attempt` until it returns something other than `undefined`, sleeping a jittered, growing
 * delay between calls; returns `undefined` once `deadline` (epoch ms) has passed. The last attempt
 * is made at the deadline, so a primitive freed just before it is still taken. A pending sleep
 * keeps the process alive, as a blocked CPython `acquire()` does.
 *
 * @example
 * ```ts
 * const got = await poll(() => tryTake(), env.pollMs, deadlineOf(timeoutMs));
 * ```
 */
export async function poll<T>(
  attempt: () => Promise<T | undefined>,
  bounds: PollBounds,
  deadline: number | undefined,
): Promise<T | undefined> {
  for (let n = 0; ; n++) {
    const got = await attempt();
    if (got !== undefined) return got;
    const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - Date.now();
    if (left <= 0) return undefined;
    await sleep(Math.min(pollDelay(n, bounds), left));
  }
}
