/**
 * An SQS event source mapping, as Lambda runs one: a poller receives up to BatchSize messages
 * (gathering for up to MaximumBatchingWindowInSeconds once the first message arrived, and cutting
 * the batch at Lambda's 6 MB invoke payload), invoke the function synchronously with the SQS
 * event, then delete the batch if the invocation succeeded. With ReportBatchItemFailures, the
 * messages the function lists in `batchItemFailures` are kept and the rest deleted; a response
 * that is not a valid batch response fails the whole batch. Messages of a failed or timed-out
 * invocation are left alone: they reappear after the queue's visibility timeout, and the queue's
 * own RedrivePolicy moves them to its dead-letter queue. At most ScalingConfig.MaximumConcurrency
 * invocations run at once.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { EventSourceMappingSpec } from './resources.js';
import type { InvokeOutcome } from './sandbox.js';

/** A batch is one synchronous invoke, so it stays within Invoke's 6 MB request limit. */
export const MAX_BATCH_PAYLOAD_BYTES = 6_291_456;

/** One record of Lambda's SQS event. */
export interface SqsEventRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Record<string, SqsEventMessageAttribute>;
  readonly md5OfMessageAttributes?: string;
  readonly md5OfBody: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

/** A message attribute as Lambda's SQS event spells it (binary values in base64). */
export interface SqsEventMessageAttribute {
  readonly stringValue?: string;
  readonly binaryValue?: string;
  readonly stringListValues: string[];
  readonly binaryListValues: string[];
  readonly dataType: string;
}

/** Options of {@link EsmPoller}. */
export interface EsmPollerOptions {
  readonly sqs: SQSClient;
  readonly region: string;
  /** Invokes the mapped function synchronously with a payload (JSON text). */
  readonly invoke: (payload: string) => Promise<InvokeOutcome>;
  /** Invocations at once at most: the mapping's MaximumConcurrency, capped by the caller. */
  readonly concurrency: number;
  /** The longest single ReceiveMessage wait, s; bounds how long stop() waits. @default 1 */
  readonly pollWaitSeconds?: number;
  /** Receives errors of SQS calls and of invocations that threw. @default ignored */
  readonly onError?: (error: unknown) => void;
}

/** One invocation of a mapping: which messages it carried and what became of them. */
export interface EsmBatch {
  /** The records' message ids, in order. */
  readonly messageIds: readonly string[];
  /** Epoch ms when the invocation started and ended. */
  readonly startedAt: number;
  endedAt?: number;
  /** How it ended: `ok` (its response was read), `error` (failed, timed out), `invalid` (a response that is no batch response). */
  outcome?: 'ok' | 'error' | 'invalid';
  /** The message ids its partial batch response listed for retry (kept on the queue). */
  failures?: readonly string[];
}

/** What a mapping did so far. */
export interface EsmStats {
  /** Records per invocation, in order of invocation. */
  readonly batchSizes: number[];
  /** Every invocation, in order of invocation. */
  readonly batches: EsmBatch[];
  deleted: number;
  failedInvocations: number;
  /** Invocations whose batch response listed failures, or was invalid. */
  partialFailures: number;
  invalidResponses: number;
}

/** A running event source mapping. */
export class EsmPoller {
  readonly stats: EsmStats = {
    batchSizes: [],
    batches: [],
    deleted: 0,
    failedInvocations: 0,
    partialFailures: 0,
    invalidResponses: 0,
  };
  readonly #abort = new AbortController();
  readonly #inflight = new Set<Promise<void>>();
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(
    readonly spec: EventSourceMappingSpec,
    private readonly options: EsmPollerOptions,
  ) {}

  /** Starts polling (a mapping that is not Enabled never polls). */
  start(): void {
    if (!this.spec.enabled || this.#loop) return;
    this.#loop = this.#poll();
  }

  /**
   * Stops polling and waits for the current receive and the invocations in progress to end.
   * With `abort`, a receive in progress is abandoned at once: only safe when the emulator goes
   * away too, since an abandoned long poll may still take a message in flight.
   */
  async stop(options: { abort?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    if (options.abort) this.#abort.abort();
    await this.#loop;
    await Promise.all(this.#inflight);
  }

  /**
   * One poller gathers batches and hands each to an invocation, with at most `concurrency`
   * invocations at once; it gathers the next batch only when one may start, so received messages
   * never wait in memory for a free invocation.
   */
  async #poll(): Promise<void> {
    const carry: Message[] = [];
    while (!this.#stopped) {
      try {
        while (this.#inflight.size >= this.options.concurrency) await Promise.race(this.#inflight);
        const batch = await this.#collect(carry);
        if (batch.length === 0) continue;
        const delivery: Promise<void> = this.#deliver(batch)
          .catch((e: unknown) => {
            if (!this.#stopped) this.options.onError?.(e);
          })
          .finally(() => this.#inflight.delete(delivery));
        this.#inflight.add(delivery);
      } catch (e) {
        if (this.#stopped) return;
        this.options.onError?.(e);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async #receive(max: number, waitSeconds: number): Promise<Message[]> {
    const out = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.spec.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.#abort.signal },
    );
    return out.Messages ?? [];
  }

  /** One batch: messages carried over from a cut batch, then what arrives within the window. */
  async #collect(carry: Message[]): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowSeconds } = this.spec;
    const wait = this.options.pollWaitSeconds ?? 1;
    const batch = carry.splice(0);
    while (batch.length === 0) {
      if (this.#stopped) return [];
      batch.push(...(await this.#receive(Math.min(10, batchSize), wait)));
    }
    // The window starts when the first message is in hand.
    const end = performance.now() + maximumBatchingWindowSeconds * 1000;
    while (batch.length < batchSize && !this.#stopped) {
      const remaining = end - performance.now();
      if (remaining <= 0) break;
      const seconds = Math.min(Math.floor(remaining / 1000), wait);
      const got = await this.#receive(Math.min(10, batchSize - batch.length), seconds);
      batch.push(...got);
      if (got.length === 0 && seconds === 0) await new Promise((r) => setTimeout(r, Math.min(remaining, 50)));
    }
    // Cut the batch where its event would pass the invoke payload limit; the rest waits.
    let size = 16;
    for (let i = 0; i < batch.length; i++) {
      size += Buffer.byteLength(JSON.stringify(this.#record(batch[i]!))) + 1;
      if (size > MAX_BATCH_PAYLOAD_BYTES && i > 0) {
        carry.push(...batch.splice(i));
        break;
      }
    }
    return batch;
  }

  #record(m: Message): SqsEventRecord {
    return {
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: { ...(m.Attributes as Record<string, string> | undefined) },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, eventAttribute(v)]),
      ),
      ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.spec.queueArn,
      awsRegion: this.options.region,
    };
  }

  async #deliver(batch: Message[]): Promise<void> {
    this.stats.batchSizes.push(batch.length);
    const record: EsmBatch = { messageIds: batch.map((m) => m.MessageId ?? ''), startedAt: Date.now() };
    this.stats.batches.push(record);
    const end = (outcome: NonNullable<EsmBatch['outcome']>) => {
      record.endedAt = Date.now();
      record.outcome = outcome;
    };
    let outcome: InvokeOutcome;
    try {
      outcome = await this.options.invoke(JSON.stringify({ Records: batch.map((m) => this.#record(m)) }));
    } catch (e) {
      // The sandbox refused (it is stopping): the messages come back after their visibility timeout.
      end('error');
      this.stats.failedInvocations++;
      if (!this.#stopped) this.options.onError?.(e);
      return;
    }
    if (outcome.functionError) {
      end('error');
      this.stats.failedInvocations++;
      return;
    }
    let keep = new Set<string>();
    if (this.spec.reportBatchItemFailures) {
      const failed = parseBatchResponse(outcome.payload, record.messageIds);
      if (failed === 'invalid') {
        end('invalid');
        this.stats.invalidResponses++;
        this.stats.partialFailures++;
        return;
      }
      if (failed.size > 0) this.stats.partialFailures++;
      keep = failed;
    }
    end('ok');
    record.failures = [...keep];
    await this.#delete(batch.filter((m) => !keep.has(m.MessageId ?? '')));
  }

  async #delete(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const group = messages.slice(i, i + 10);
      const out = await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.spec.queueUrl,
          Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      this.stats.deleted += out.Successful?.length ?? 0;
      if (out.Failed?.length)
        this.options.onError?.(new Error(`DeleteMessageBatch failed: ${JSON.stringify(out.Failed)}`));
    }
  }
}

function eventAttribute(v: MessageAttributeValue): SqsEventMessageAttribute {
  return {
    ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
    ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
    stringListValues: v.StringListValues ?? [],
    binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    dataType: v.DataType ?? 'String',
  };
}

/**
 * The message ids a partial batch response lists, or `'invalid'` (the whole batch failed).
 * Success: an empty or null response, or an empty or null `batchItemFailures`. Failure of the
 * whole batch: a response that is not JSON or not an object, an `itemIdentifier` that is missing,
 * empty, not a string or not a message id of the batch.
 */
export function parseBatchResponse(payload: string, messageIds: readonly string[]): Set<string> | 'invalid' {
  let response: unknown;
  try {
    response = payload.trim() === '' ? null : JSON.parse(payload);
  } catch {
    return 'invalid';
  }
  if (response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return 'invalid';
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'invalid';
  const ids = new Set(messageIds);
  const out = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.has(id)) return 'invalid';
    out.add(id);
  }
  return out;
}
