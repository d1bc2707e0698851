/**
 * What happens to an asynchronous invocation of the coordinator that failed for good: every
 * attempt failed (Lambda makes three), or it waited in Lambda's queue past its maximum age. A
 * `fanout` request that never ran means chunks that were never sent, so its job is failed with a
 * {@link FanoutFailedError}'s record (invariant 4: a job always ends, nobody waits for chunks that
 * will never come). Any other request is reported. On AWS the failed invocation's record reaches
 * the dead-letter handler through the coordinator's on-failure destination; locally the
 * {@link LocalInvoker} hands it here after its own retries.
 */
import { ErrorCodes, ProtocolError, type SerializedError } from '../errors.js';
import type { JobStore } from '../ports.js';
import { parseCoordinatorRequest } from './requests.js';

/** An invocation that failed for good. */
export interface FailedInvocation {
  /** The request it carried, as received: validated here. */
  readonly request: unknown;
  /** Attempts made. */
  readonly attempts: number;
  /** Why it was given up: `RetriesExhausted` (every attempt failed) or `EventAgeExceeded`. */
  readonly condition: string;
  /** The last attempt's error, when one is known. */
  readonly error?: SerializedError;
}

/**
 * Ends the job of a failed `fanout` (FAILED, reason `fanout`; the first failure of a job is the one
 * kept) and returns its id; reports anything else to `onError` and returns undefined. A store
 * error is thrown, for the caller to try again.
 */
export async function handleFailedInvocation(
  store: JobStore,
  failed: FailedInvocation,
  onError: (error: unknown) => void,
): Promise<string | undefined> {
  let req: ReturnType<typeof parseCoordinatorRequest>;
  try {
    req = parseCoordinatorRequest(failed.request);
  } catch (e) {
    onError(new ProtocolError(`Dropped the record of a failed invocation: ${(e as Error).message}`));
    return undefined;
  }
  const why = describe(failed);
  if (req.type !== 'fanout') {
    onError(new ProtocolError(`The ${req.type} request of job ${req.jobId} ${why}`));
    return undefined;
  }
  const { changed } = await store.failJob(req.jobId, {
    reason: 'fanout',
    name: 'FanoutFailedError',
    code: ErrorCodes.FANOUT_FAILED,
    message: `The fan-out of chunks ${req.from} to ${req.to - 1} of job ${req.jobId} ${why}`,
    attempts: failed.attempts,
    ...(failed.error ? { cause: failed.error } : {}),
  });
  return changed ? req.jobId : undefined;
}

function describe(f: FailedInvocation): string {
  const last = f.error ? `; last error: ${f.error.name}: ${f.error.message}` : '';
  return f.condition === 'EventAgeExceeded'
    ? `waited too long to run (${f.attempts} attempts)${last}`
    : `failed ${f.attempts} attempts${last}`;
}
