/**
 * The {@link Invoker} port in process: a coordinator request runs on the event loop, after the
 * call that fired it returns (as an asynchronous Lambda invocation runs after Invoke answers 202),
 * on its own copy of the request, and is retried when it fails, as Lambda retries an asynchronous
 * invocation; once its attempts run out it goes to the failure path. Drain workers are not
 * needed here: the local host already drains the queue.
 */

import type { FailedInvocation } from '../engine/failed-invocations.js';
import { serializeError } from '../errors.js';
import type { DrainEvent, InvokedRequest, Invoker } from '../ports.js';
import { integer, nonNegative } from '../validate.js';

/** Options of {@link LocalInvoker}. */
export interface LocalInvokerOptions {
  /** Runs one request (the local coordinator's `handle`, after validation). */
  readonly coordinator: (request: unknown) => Promise<unknown>;
  /** Told of a request whose every attempt failed (`handleFailedInvocation`). */
  readonly onFailure: (failed: FailedInvocation) => Promise<void>;
  /** Attempts of a request, the first included (Lambda makes three). @default 3 */
  readonly attempts?: number;
  /** Pause before each retry, in ms (Lambda waits a minute, then two). @default 10 */
  readonly retryDelayMs?: number;
  /** Told of errors of the failure path itself. @default ignored */
  readonly onError?: (error: unknown) => void;
}

/**
 * In-process asynchronous invocations.
 *
 * @example
 * ```ts
 * const invoker = new LocalInvoker({
 *   coordinator: (req) => coordinator.handle(parseCoordinatorRequest(req)),
 *   onFailure: async (f) => void (await handleFailedInvocation(store, f, console.error)),
 * });
 * ```
 */
export class LocalInvoker implements Invoker {
  readonly #o: LocalInvokerOptions;
  readonly #attempts: number;
  readonly #delayMs: number;
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(options: LocalInvokerOptions) {
    this.#o = options;
    this.#attempts = integer(options.attempts ?? 3, 'options.attempts', 1);
    this.#delayMs = nonNegative(options.retryDelayMs ?? 10, 'options.retryDelayMs');
  }

  /** {@inheritDoc Invoker.coordinator} Requests fired after {@link close} are dropped. */
  async coordinator(request: InvokedRequest): Promise<void> {
    if (this.#closed) return;
    // Its own copy, as a payload that went over a wire: nothing is shared with the sender.
    const copy: unknown = structuredClone(request);
    const run = this.#run(copy).finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** {@inheritDoc Invoker.workers} Fires nothing: the local host drains the queue already. */
  async workers(_n: number, _event: DrainEvent): Promise<void> {}

  /** Resolves once every request fired so far (and every one they fired) has run or failed for good. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Fires nothing more; requests already running finish, and are not retried once they fail. */
  close(): void {
    this.#closed = true;
  }

  async #run(request: unknown): Promise<void> {
    await new Promise((r) => setImmediate(r));
    let error: unknown;
    let attempts = 0;
    while (attempts < this.#attempts && !this.#closed) {
      if (attempts > 0) await new Promise((r) => setTimeout(r, this.#delayMs));
      attempts++;
      try {
        await this.#o.coordinator(request);
        return;
      } catch (e) {
        error = e;
      }
    }
    if (this.#closed) return;
    try {
      await this.#o.onFailure({
        request,
        attempts,
        condition: 'RetriesExhausted',
        error: serializeError(error),
      });
    } catch (e) {
      this.#o.onError?.(e);
    }
  }
}
