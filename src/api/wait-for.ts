/**
 * `Condition.waitFor()` of both contexts: CPython's `wait_for` loop over the context's own `wait()`.
 */
import { deadlineOf, FOREVER, remaining } from '../deadline.js';
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
  const deadline = deadlineOf(optionalTimeout(timeout));
  let result = (await predicate()) as R;
  while (!result) {
    const left = remaining(deadline);
    if (left <= 0) break;
    await wait(left === FOREVER ? undefined : left);
    result = (await predicate()) as R;
  }
  return result;
}
