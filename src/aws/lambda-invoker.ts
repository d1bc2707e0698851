/**
 * The {@link Invoker} port on AWS Lambda: each invocation is one `Invoke` with `InvocationType:
 * 'Event'`, which Lambda answers with 202 once the event is in the function's asynchronous queue.
 * Lambda then runs it at least once: it retries a failed run twice, and sends an event whose
 * attempts ran out (or that waited past its maximum age) to the function's on-failure destination
 * (the construct sets the coordinator's to the dead-letter queue, where a failed fan-out fails its
 * job). A throttled Invoke is retried by the SDK's own retry strategy.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { PayloadTooLargeError, ProtocolError } from '../errors.js';
import type { DrainEvent, InvokedRequest, Invoker } from '../ports.js';
import { integer, nonEmptyString } from '../validate.js';
import { forEachLimit } from './batching.js';
import { stringifyWithBytes } from './json-bytes.js';

/** Lambda's limit on an asynchronous invocation's payload (1 MB). */
export const MAX_EVENT_PAYLOAD_BYTES = 1_048_576;

/** Options of {@link LambdaInvoker}. */
export interface LambdaInvokerOptions {
  /** The Lambda client; make one with `createLambdaClient`. */
  readonly client: LambdaClient;
  /** The coordinator function's name or ARN (in the coordinator: its own, `AWS_LAMBDA_FUNCTION_NAME`). */
  readonly coordinator: string;
  /** The worker function's name or ARN; without one, {@link LambdaInvoker.workers} fires nothing. */
  readonly worker?: string | undefined;
  /** Invoke calls in flight at once. @default 16 */
  readonly concurrency?: number;
}

/**
 * Asynchronous invocations on Lambda.
 *
 * @example
 * ```ts
 * const invoker = new LambdaInvoker({ client: createLambdaClient(), coordinator: 'my-coordinator', worker: 'my-worker' });
 * await invoker.coordinator({ v: 1, type: 'fanout', jobId, from: 0, to: 20_000 });
 * ```
 */
export class LambdaInvoker implements Invoker {
  readonly #client: LambdaClient;
  readonly #coordinator: string;
  readonly #worker: string | undefined;
  readonly #concurrency: number;

  constructor(options: LambdaInvokerOptions) {
    this.#client = options.client;
    this.#coordinator = nonEmptyString(options.coordinator, 'options.coordinator');
    this.#worker =
      options.worker === undefined ? undefined : nonEmptyString(options.worker, 'options.worker');
    this.#concurrency = integer(options.concurrency ?? 16, 'options.concurrency', 1);
  }

  /** {@inheritDoc Invoker.coordinator} */
  async coordinator(request: InvokedRequest): Promise<void> {
    await this.#invoke(
      this.#coordinator,
      stringifyWithBytes(request),
      `The ${request.type} request of job ${request.jobId}`,
    );
  }

  /** {@inheritDoc Invoker.workers} Fires nothing when the invoker knows no worker function. */
  async workers(n: number, event: DrainEvent): Promise<void> {
    integer(n, 'n', 0);
    const worker = this.#worker;
    if (worker === undefined || n === 0) return;
    const payload = JSON.stringify(event);
    const slots = Array.from({ length: n }, (_, k) => k);
    await forEachLimit(slots, this.#concurrency, () => this.#invoke(worker, payload, 'A drain event'));
  }

  async #invoke(functionName: string, payload: string, what: string): Promise<void> {
    const bytes = Buffer.byteLength(payload);
    if (bytes > MAX_EVENT_PAYLOAD_BYTES) throw new PayloadTooLargeError(what, bytes, MAX_EVENT_PAYLOAD_BYTES);
    const out = await this.#client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(payload),
      }),
    );
    if (out.StatusCode !== 202)
      throw new ProtocolError(
        `Lambda answered ${out.StatusCode} to an asynchronous Invoke of ${functionName}`,
      );
  }
}
