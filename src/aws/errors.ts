/** Errors of the AWS adapters, in fanfold's error tree. */
import { ErrorCodes, FanfoldError } from '../errors.js';

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
export class AwsBatchError extends FanfoldError {
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
      ErrorCodes.AWS_BATCH_FAILED,
      `${operation} left ${failures.length} entr${failures.length === 1 ? 'y' : 'ies'} failed after ` +
        `${attempts} attempt${attempts === 1 ? '' : 's'}: ${shown}${failures.length > 5 ? '; …' : ''}`,
    );
    this.operation = operation;
    this.failures = failures;
    this.attempts = attempts;
  }
}
