/**
 * Polling waits of the AWS primitives (a blocked `acquire`, `Event.wait`…): DynamoDB cannot notify,
 * so a waiter re-reads with exponential backoff and full jitter, and never sleeps past its deadline
 * so that a timeout ends when it should (CPython resolves false at the timeout, not later).
 */
import { type BackoffBounds, backoff } from '../../backoff.js';
import { type Deadline, expired } from '../../deadline.js';

/** The polling bounds of an environment (`AwsSyncEnv.pollMs`). */
export type PollBounds = BackoffBounds;

/**
 * Calls `attempt` until it returns something other than `undefined`, sleeping a jittered, growing
 * delay between calls (`src/backoff.ts`); returns `undefined` once `deadline` has passed. The last
 * attempt is made at the deadline, so a primitive freed just before it is still taken. A pending
 * sleep keeps the process alive, as a blocked CPython `acquire()` does.
 *
 * @example
 * ```ts
 * const got = await poll(() => tryTake(), env.pollMs, deadlineOf(timeoutMs));
 * ```
 */
export async function poll<T>(
  attempt: () => Promise<T | undefined>,
  bounds: PollBounds,
  deadline: Deadline,
): Promise<T | undefined> {
  for (let n = 0; ; n++) {
    const got = await attempt();
    if (got !== undefined) return got;
    if (expired(deadline) || !(await backoff(n, bounds, deadline))) return undefined;
  }
}
