/**
 * The dead-letter Lambda: an SQS event source mapping on the work queue's dead-letter queue hands
 * it the chunk (or finalise) messages that exhausted their deliveries; for each, the engine's
 * {@link DeadLetterHandler} fails the job with `RetriesExhaustedError` and the last error noted for
 * the chunk. A record whose handling threw (DynamoDB throttled, say) is listed in
 * `batchItemFailures` and comes back; a malformed dead letter is reported and dropped.
 */
import { DeadLetterHandler } from '../../engine/dead-letters.js';
import { type ContainerOptions, containerBackend } from './container.js';
import { EsmBatchQueue, logError, parseSqsEvent, type SqsBatchResponse } from './events.js';

/** Options of {@link createDeadLetterHandler}. */
export interface DeadLetterHandlerOptions extends ContainerOptions {
  /** Told about malformed dead letters and failed records. @default a JSON log line on stderr */
  readonly onError?: (error: unknown) => void;
}

/** A dead-letter Lambda handler. */
export type DeadLetterLambdaHandler = (event: unknown) => Promise<SqsBatchResponse>;

/**
 * Makes the dead-letter handler. Records are handled one after another (a dead letter is rare, and
 * the first failure of a job is the one kept either way).
 *
 * @example
 * ```ts
 * // functions/dlq.ts
 * export const handler = createDeadLetterHandler();
 * ```
 */
export function createDeadLetterHandler(options: DeadLetterHandlerOptions = {}): DeadLetterLambdaHandler {
  const onError = options.onError ?? logError('fanfold.dlq');
  let container: { readonly handler: DeadLetterHandler; readonly batch: EsmBatchQueue } | undefined;
  const get = () => {
    if (!container) {
      const { env, backend } = containerBackend(options);
      // The ESM deletes what the handler acknowledges: acks go to the batch, not to SQS.
      const batch = new EsmBatchQueue(backend.deadLetters);
      const handler = new DeadLetterHandler({
        backend: { ...backend, deadLetters: batch },
        maxReceiveCount: env.maxReceiveCount,
        onError,
      });
      container = { handler, batch };
    }
    return container;
  };
  return async (event) => {
    const deliveries = parseSqsEvent(event);
    const { handler, batch } = get();
    for (const d of deliveries) {
      try {
        await handler.handle(d);
      } catch (e) {
        onError(e);
      }
    }
    return batch.settle(deliveries);
  };
}
