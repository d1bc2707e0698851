/**
 * The dead-letter Lambda: an SQS event source mapping on the work queue's dead-letter queue hands
 * it the chunk (or finalise) messages that exhausted their deliveries; for each, the engine's
 * {@link DeadLetterHandler} fails the job with `RetriesExhaustedError` and the last error noted for
 * the chunk. The same queue is the coordinator's on-failure destination: the record of an
 * asynchronous invocation that failed for good (a fan-out that never sent its range) fails its job
 * with `FanoutFailedError` (`handleFailedInvocation`). A record whose handling threw (DynamoDB
 * throttled, say) is listed in `batchItemFailures` and comes back; a malformed one is reported and
 * dropped.
 */
import { DeadLetterHandler } from '../../engine/dead-letters.js';
import { handleFailedInvocation } from '../../engine/failed-invocations.js';
import type { Backend, Delivery } from '../../ports.js';
import { type ContainerOptions, containerBackend } from './container.js';
import { EsmBatchQueue, parseSqsEvent, type SqsBatchResponse } from './events.js';
import { isInvocationRecord, parseInvocationRecord } from './invocation-record.js';
import { type LambdaContextInfo, type Observer, observedStore, observer } from './observe.js';

/** Options of {@link createDeadLetterHandler}. */
export interface DeadLetterHandlerOptions extends ContainerOptions {
  /** Told about malformed dead letters and failed records. @default an ERROR line of the function's logger */
  readonly onError?: (error: unknown) => void;
}

/** A dead-letter Lambda handler. */
export type DeadLetterLambdaHandler = (
  event: unknown,
  context?: LambdaContextInfo,
) => Promise<SqsBatchResponse>;

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
  let obs: Observer | undefined;
  const observe = () => (obs ??= observer(options.env ?? process.env));
  const onError = options.onError ?? ((e: unknown) => observe().error('dead-letter error', e));
  let container:
    | { readonly handler: DeadLetterHandler; readonly batch: EsmBatchQueue; readonly backend: Backend }
    | undefined;
  const get = () => {
    if (!container) {
      const made = containerBackend(options);
      const { env } = made;
      // Each job it fails is logged and counted (ChunksFailed).
      const backend = { ...made.backend, store: observedStore(made.backend.store, observe()) };
      // The ESM deletes what the handler acknowledges: acks go to the batch, not to SQS.
      const batch = new EsmBatchQueue(backend.deadLetters);
      const handler = new DeadLetterHandler({
        backend: { ...backend, deadLetters: batch },
        maxReceiveCount: env.maxReceiveCount,
        onError,
      });
      container = { handler, batch, backend };
    }
    return container;
  };
  return async (event, context) => {
    const deliveries = parseSqsEvent(event);
    const { handler, batch, backend } = get();
    const o = observe();
    o.begin(context);
    try {
      for (const d of deliveries) {
        try {
          if (isInvocationRecord(d.body)) await failedInvocation(d, backend, batch, onError);
          else await handler.handle(d);
        } catch (e) {
          onError(e);
        }
      }
      return batch.settle(deliveries);
    } finally {
      o.end();
    }
  };
}

/** Ends the job of a failed fan-out (or reports another failed request), then deletes the record. */
async function failedInvocation(
  d: Delivery,
  backend: Backend,
  batch: EsmBatchQueue,
  onError: (error: unknown) => void,
): Promise<void> {
  let failed: ReturnType<typeof parseInvocationRecord>;
  try {
    failed = parseInvocationRecord(d.body);
  } catch (e) {
    onError(e);
    await batch.ack([d.receipt]);
    return;
  }
  await handleFailedInvocation(backend.store, failed, onError);
  await batch.ack([d.receipt]);
}
