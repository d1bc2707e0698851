/**
 * `Condition.waitFor()` of both contexts: CPython's `wait_for` loop over the context's own `wait()`.
 */
import { InvalidArgumentError } from '../errors.js';
import { optionalTimeout, received } from '../validate.js';

/**
 * Evaluates `predicate`, then waits (`wait(msLeft)`) and evaluates it again until it is truthy or
 * `timeoutMs` (undefined = forever; checked after the predicate)
 * has passed; resolves its last value. A
 * `wait()` that times out is not an answer by itself: the predicate decides (CPython), so a
 * notification that raced the timeout is never lost. `wait()` throws `NotOwnerError` when the
 * caller does not hold the lock, as CPython's does.
 */
export async function waitForPredicate<R>(
  predicate: unknown,
  timeout: unknown,
  wait: (timeoutMs: number | undefined) => Promise<boolean>,
): Promise<R> {
  if (typeof predicate !== 'function')
    throw new InvalidArgumentError(`Expected predicate to be a function, got ${received(predicate)}`);
  const timeoutMs = optionalTimeout(timeout);
  const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  let result = (await predicate()) as R;
  while (!result) {
    let left: number | undefined;
    if (deadline !== undefined) {
      left = deadline - performance.now();
      if (left <= 0) break;
    }
    await wait(left);
    result = (await predicate()) as R;
  }
  return result;
}
