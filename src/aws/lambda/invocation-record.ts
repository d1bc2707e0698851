/**
 * The record Lambda sends to a function's on-failure destination when an asynchronous invocation
 * failed for good (its retries ran out, or it waited past its maximum event age): JSON with
 * `version`, `timestamp`, `requestContext` (`requestId`, `functionArn`, `condition`,
 * `approximateInvokeCount`), `requestPayload` (the event as it was sent), `responseContext` and
 * `responsePayload` (the last attempt's error: `errorType`, `errorMessage`). The construct points
 * the coordinator's destination at the dead-letter queue, so these records arrive there beside the
 * dead chunk messages; this tells them apart and reads them, checked as every boundary is.
 */
import type { FailedInvocation } from '../../engine/failed-invocations.js';
import type { SerializedError } from '../../errors.js';
import { FieldReader, isFields } from '../../fields.js';

/** Longest error message kept from a record (Lambda's own can carry a whole stack). */
const MAX_MESSAGE = 2_000;

const fields: FieldReader = new FieldReader('Lambda invocation record');

/** Whether an SQS body is an invocation record rather than a work message. */
export function isInvocationRecord(body: unknown): boolean {
  return isFields(body) && 'requestContext' in body && 'requestPayload' in body;
}

/**
 * The failed invocation a record describes (its request not yet validated: the failure path
 * validates it). Throws `ProtocolError` when the record lacks what Lambda always sends.
 */
export function parseInvocationRecord(body: unknown): FailedInvocation {
  const o = fields.object(body, 'an object');
  const context = fields.object(o.requestContext, 'requestContext to be an object');
  const condition = fields.string(context, 'condition', 64, 'requestContext.condition');
  const attempts = fields.integer(
    context,
    'approximateInvokeCount',
    1,
    'requestContext.approximateInvokeCount',
  );
  return { request: o.requestPayload, attempts, condition, ...lastError(o.responsePayload) };
}

/** The last attempt's error, from Lambda's error payload when there is one. */
function lastError(payload: unknown): { error?: SerializedError } {
  if (!isFields(payload)) return {};
  const { errorType, errorMessage } = payload;
  if (typeof errorType !== 'string' && typeof errorMessage !== 'string') return {};
  return {
    error: {
      name: typeof errorType === 'string' ? errorType.slice(0, 256) : 'Error',
      message: typeof errorMessage === 'string' ? errorMessage.slice(0, MAX_MESSAGE) : '',
    },
  };
}
