/**
 * Lambda's asynchronous invocations (Invoke with `InvocationType: 'Event'`), as the runner runs
 * them: the event is queued (Invoke has answered 202 already) and run when a container is free; an
 * attempt that fails (the handler threw, the container died or timed out) is retried
 * `MaximumRetryAttempts` times (Lambda's default 2), after pauses that Lambda makes a minute and two
 * minutes long and the runner `retryDelaysMs` long; an event that waited past
 * `MaximumEventAgeInSeconds` is given up. A run that succeeded, or failed for good, sends Lambda's
 * invocation record to the function's on-success or on-failure destination (an SQS queue of the
 * stack); without one, a failed event is dropped, as Lambda drops it, and only logged.
 *
 * Not modelled: throttling (an event waits for a container, behind the invocations of the
 * function's event source mappings, instead of being retried for up to six hours), duplicate deliveries of one event by Lambda's own queue, dead-letter queues of the older
 * `DeadLetterConfig` kind.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_INVOKE_CONFIG, type EventInvokeConfigSpec, type QueueDestination } from './invoke-config.js';
import type { FunctionSandbox, InvokeOutcome } from './sandbox.js';

/** Options of {@link AsyncInvocations}. */
export interface AsyncInvocationsOptions {
  /** Sends the invocation records. */
  readonly sqs: SQSClient;
  /** The stack's asynchronous invocation settings, by function. */
  readonly configs: readonly EventInvokeConfigSpec[];
  /** Pauses before the second and the third attempt (Lambda: 60 and 120 s). @default [1000, 2000] */
  readonly retryDelaysMs?: readonly number[];
  /** Told about failures of the runner itself (a record it could not send). */
  readonly onError: (error: unknown) => void;
  /** Told about each attempt that failed and each event given up. */
  readonly onLog?: ((source: string, line: string) => void) | undefined;
}

/** What the asynchronous invocations did so far. */
export interface AsyncStats {
  /** Events accepted. */
  readonly events: number;
  /** Attempts run, retries included. */
  readonly attempts: number;
  /** Records sent to an on-failure destination. */
  readonly failed: number;
  /** Events that failed for good with nowhere to go. */
  readonly dropped: number;
}

/** The asynchronous invocations of a stack's functions; see the module comment. */
export class AsyncInvocations {
  readonly #o: AsyncInvocationsOptions;
  readonly #configs: ReadonlyMap<string, EventInvokeConfigSpec>;
  readonly #pending = new Set<Promise<void>>();
  readonly #stop = new AbortController();
  #stats = { events: 0, attempts: 0, failed: 0, dropped: 0 };

  constructor(options: AsyncInvocationsOptions) {
    this.#o = options;
    this.#configs = new Map(options.configs.map((c) => [c.functionName, c]));
  }

  /** Queues one event for `sandbox`'s function (the payload is JSON text, already checked). */
  start(sandbox: FunctionSandbox, payload: string, clientContext: unknown): void {
    if (this.#stop.signal.aborted) return;
    this.#stats.events++;
    const run = this.#run(sandbox, payload, clientContext)
      .catch((e: unknown) => {
        if (!this.#stop.signal.aborted) this.#o.onError(e);
      })
      .finally(() => this.#pending.delete(run));
    this.#pending.add(run);
  }

  stats(): AsyncStats {
    return { ...this.#stats };
  }

  /** Resolves once every event accepted so far has run or been given up. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Gives up every pending retry; an attempt in progress ends with its container. */
  stop(): void {
    this.#stop.abort();
  }

  async #run(sandbox: FunctionSandbox, payload: string, clientContext: unknown): Promise<void> {
    const { spec } = sandbox;
    const config = this.#configs.get(spec.name);
    const retries = config?.maximumRetryAttempts ?? DEFAULT_INVOKE_CONFIG.maximumRetryAttempts;
    const maxAgeMs = (config?.maximumEventAgeSeconds ?? DEFAULT_INVOKE_CONFIG.maximumEventAgeSeconds) * 1000;
    const delays = this.#o.retryDelaysMs ?? [1000, 2000];
    const queuedAt = Date.now();
    let last: InvokeOutcome | undefined;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await this.#sleep(delays[Math.min(attempt - 2, delays.length - 1)] ?? 0);
      if (this.#stop.signal.aborted) return;
      if (Date.now() - queuedAt > maxAgeMs) {
        await this.#giveUp(
          spec.name,
          spec.arn,
          config?.onFailure,
          'EventAgeExceeded',
          attempt - 1,
          payload,
          last,
        );
        return;
      }
      this.#stats.attempts++;
      const outcome = await sandbox.invoke(payload, { clientContext, async: true });
      if (!outcome.functionError) {
        if (config?.onSuccess)
          await this.#record(config.onSuccess, spec.arn, 'Success', attempt, payload, outcome);
        return;
      }
      last = outcome;
      this.#o.onLog?.(spec.name, `async attempt ${attempt} failed: ${outcome.payload.slice(0, 500)}`);
      if (attempt > retries) {
        await this.#giveUp(
          spec.name,
          spec.arn,
          config?.onFailure,
          'RetriesExhausted',
          attempt,
          payload,
          last,
        );
        return;
      }
    }
  }

  async #giveUp(
    name: string,
    arn: string,
    destination: QueueDestination | undefined,
    condition: string,
    attempts: number,
    payload: string,
    last: InvokeOutcome | undefined,
  ): Promise<void> {
    if (!destination) {
      this.#stats.dropped++;
      this.#o.onLog?.(
        name,
        `async event dropped (${condition}, ${attempts} attempts): no on-failure destination`,
      );
      return;
    }
    this.#stats.failed++;
    await this.#record(destination, arn, condition, attempts, payload, last);
  }

  /** Sends Lambda's invocation record to a destination queue. */
  async #record(
    destination: QueueDestination,
    functionArn: string,
    condition: string,
    attempts: number,
    payload: string,
    outcome: InvokeOutcome | undefined,
  ): Promise<void> {
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: outcome?.requestId ?? randomUUID(),
        functionArn: `${functionArn}:$LATEST`,
        condition,
        approximateInvokeCount: attempts,
      },
      requestPayload: JSON.parse(payload) as unknown,
      ...(outcome
        ? {
            responseContext: {
              statusCode: 200,
              executedVersion: '$LATEST',
              ...(outcome.functionError ? { functionError: outcome.functionError } : {}),
            },
            responsePayload: parseOrText(outcome.payload),
          }
        : {}),
    };
    await this.#o.sqs.send(
      new SendMessageCommand({ QueueUrl: destination.url, MessageBody: JSON.stringify(record) }),
    );
  }

  /** Waits `ms`, or less when the invocations are stopped. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#stop.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
