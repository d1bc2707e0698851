/**
 * Errors of the AWS adapters that have no class in fanfold's error tree yet.
 *
 * TODO(errors.ts): `FanfoldError` takes a code from the closed `ErrorCodes` list, which has no
 * entry for "an AWS batch call kept failing". Until one is added there, this class extends
 * `Error` and carries its own stable `code`.
 */

/** One entry that a batch API (SendMessageBatch, DeleteMessageBatch, BatchWriteItem, DeleteObjects) did not process. */
export interface BatchFailure {
  /** The entry's id within the call (SQS) or key (DynamoDB, S3). */
  readonly id: string;
  /** The service's error code, e.g. `InternalError`, or `Unprocessed` for DynamoDB's unprocessed items. */
  readonly code: string;
  readonly message?: string;
  /** True when the service says the request itself was wrong (retrying cannot help). */
  readonly senderFault?: boolean;
}

/** A batch API left entries unprocessed after every retry, or refused them as the caller's fault. */
export class AwsBatchError extends Error {
  /** Stable, machine-readable code. */
  readonly code = 'ERR_FANFOLD_AWS_BATCH_FAILED';
  /** The API, e.g. `SQS.SendMessageBatch`. */
  readonly operation: string;
  /** The entries that failed on the last attempt. */
  readonly failures: readonly BatchFailure[];
  /** Attempts made, the first included. */
  readonly attempts: number;
  constructor(operation: string, failures: readonly BatchFailure[], attempts: number) {
    const shown = failures
      .slice(0, 5)
      .map((f) => `${f.id}: ${f.code}${f.message ? ` (${f.message})` : ''}`)
      .join('; ');
    super(
      `${operation} left ${failures.length} entr${failures.length === 1 ? 'y' : 'ies'} failed after ` +
        `${attempts} attempt${attempts === 1 ? '' : 's'}: ${shown}${failures.length > 5 ? '; …' : ''}`,
    );
    this.name = 'AwsBatchError';
    this.operation = operation;
    this.failures = failures;
    this.attempts = attempts;
  }
}
