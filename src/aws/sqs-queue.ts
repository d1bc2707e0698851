/**
 * The {@link WorkQueue} port on Amazon SQS (a standard queue; its dead-letter queue is set by the
 * queue's RedrivePolicy, not here).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  type ChangeMessageVisibilityBatchRequestEntry,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type DeleteMessageBatchRequestEntry,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { backoff } from '../backoff.js';
import { deadlineOf, expired, remaining } from '../deadline.js';
import { PayloadTooLargeError } from '../errors.js';
import type { Delivery, ReceiveOptions, WorkMessage, WorkQueue } from '../ports.js';
import { integer, nonEmptyString, nonNegative, receiveOptions } from '../validate.js';
import { chunksOf, forEachLimit, retryBounds } from './batching.js';
import { AwsBatchError, type BatchFailure } from './errors.js';
import { decodeBody, encodeBody, maxPayloadFor } from './wire.js';

/** SQS's largest message, and the largest sum of bodies in one SendMessageBatch. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** Entries per SQS batch call. */
const SQS_BATCH_ENTRIES = 10;
/** SQS's longest long poll. */
const SQS_MAX_WAIT_SECONDS = 20;
/** SQS's longest visibility timeout (12 h). */
const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Options of {@link SqsWorkQueue}. */
export interface SqsWorkQueueOptions {
  /** The SQS client; make one with `createSqsClient`. */
  readonly client: SQSClient;
  /** The queue's URL. */
  readonly queueUrl: string;
  /**
   * The largest inline payload (`Data` bytes) a message may carry. The default keeps a message
   * with that much payload, base64-encoded, under SQS's 1 MiB.
   * @default 783_360 (3/4 of 1 MiB less 4 KiB for the envelope)
   */
  readonly maxPayloadBytes?: number;
  /** The largest message body `send` accepts (the queue's MaximumMessageSize). @default 1_048_576 */
  readonly maxMessageBytes?: number;
  /** Batch calls (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch) in flight at once. @default 4 */
  readonly sendConcurrency?: number;
  /** Attempts of an entry a batch call reports in `Failed` (server-side), the first included. @default 5 */
  readonly batchAttempts?: number;
  /** Base of the jittered exponential backoff between those attempts, in ms. @default 50 */
  readonly retryBaseMs?: number;
}

function errorName(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { name?: string }).name : undefined;
}

/** Whole seconds, rounded up: a message stays hidden at least as long as asked. */
function seconds(ms: number, max: number): number {
  return Math.min(max, Math.ceil(ms / 1000));
}

/**
 * A work queue on SQS. Bodies are JSON with binaries in base64 (see `wire.ts`). `send` uses
 * SendMessageBatch (10 entries and 1 MiB per call, a few calls in flight) and retries the entries
 * SQS reports as failed; `ack` uses DeleteMessageBatch and `setVisibility`
 * ChangeMessageVisibilityBatch the same way.
 *
 * SQS's granularity is whole seconds: visibility timeouts are rounded up to the next second, and a
 * long poll waits in calls of at most 20 s until `waitMs` has passed.
 *
 * Stale receipts: `ack` and `setVisibility` never fail on a receipt of an earlier delivery. The
 * DeleteMessage reference says such a receipt deletes nothing, but moto's maintainers reported
 * (moto PR #4655, checked against AWS in 2021) that an earlier receipt deletes or re-hides the
 * current delivery. Callers must not rely on either outcome.
 *
 * @example
 * ```ts
 * const queue = new SqsWorkQueue({ client: createSqsClient(), queueUrl });
 * await queue.send(messages);
 * const deliveries = await queue.receive({ max: 10, waitMs: 20_000 });
 * ```
 */
export class SqsWorkQueue implements WorkQueue {
  /** {@inheritDoc WorkQueue.maxPayloadBytes} */
  readonly maxPayloadBytes: number;
  /** Largest message body `send` accepts, in UTF-8 bytes. */
  readonly maxMessageBytes: number;
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #concurrency: number;
  readonly #attempts: number;
  readonly #retryBaseMs: number;

  constructor(options: SqsWorkQueueOptions) {
    nonEmptyString(options.queueUrl, 'options.queueUrl');
    const maxMessageBytes = integer(
      options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES,
      'options.maxMessageBytes',
      1,
      SQS_MAX_MESSAGE_BYTES,
    );
    // Base64 must fit the message: at most maxPayloadFor(maxMessageBytes).
    const maxPayloadBytes = integer(
      options.maxPayloadBytes ?? maxPayloadFor(maxMessageBytes),
      'options.maxPayloadBytes',
      0,
      maxPayloadFor(maxMessageBytes),
    );
    const sendConcurrency = integer(options.sendConcurrency ?? 4, 'options.sendConcurrency', 1);
    const batchAttempts = integer(options.batchAttempts ?? 5, 'options.batchAttempts', 1);
    const retryBaseMs = nonNegative(options.retryBaseMs ?? 50, 'options.retryBaseMs');
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.maxMessageBytes = maxMessageBytes;
    this.maxPayloadBytes = maxPayloadBytes;
    this.#concurrency = sendConcurrency;
    this.#attempts = batchAttempts;
    this.#retryBaseMs = retryBaseMs;
  }

  /**
   * {@inheritDoc WorkQueue.send} Throws {@link PayloadTooLargeError} (sending none) if one message
   * is over `maxMessageBytes`, and {@link AwsBatchError} if entries still fail after
   * `batchAttempts` (the others are sent: SQS has no atomic batch).
   */
  async send(messages: readonly WorkMessage[]): Promise<void> {
    // Encode and measure everything first: an oversized message must leave the whole call unsent.
    const entries: { readonly entry: SendMessageBatchRequestEntry; readonly bytes: number }[] = [];
    for (let i = 0; i < messages.length; i++) {
      const body = encodeBody(messages[i] as WorkMessage);
      const bytes = Buffer.byteLength(body, 'utf8');
      if (bytes > this.maxMessageBytes)
        throw new PayloadTooLargeError(`Message ${i} of ${messages.length}`, bytes, this.maxMessageBytes);
      entries.push({ entry: { Id: String(i), MessageBody: body }, bytes });
    }
    // Batches of 10 whose bodies add up to at most the message limit (SQS's per-call total).
    const batches: SendMessageBatchRequestEntry[][] = [];
    let batch: SendMessageBatchRequestEntry[] = [];
    let batchBytes = 0;
    for (const { entry, bytes } of entries) {
      if (batch.length === SQS_BATCH_ENTRIES || batchBytes + bytes > this.maxMessageBytes) {
        batches.push(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(entry);
      batchBytes += bytes;
    }
    if (batch.length > 0) batches.push(batch);
    await forEachLimit(batches, this.#concurrency, (b) =>
      this.#retryEntries('SQS.SendMessageBatch', b, async (pending) => {
        const out = await this.#client.send(
          new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }),
        );
        return out.Failed ?? [];
      }),
    );
  }

  /**
   * {@inheritDoc WorkQueue.receive} Resolves `[]` when the signal aborts; a message that SQS
   * handed to the aborted call stays hidden until its visibility timeout passes.
   */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const { max, waitMs, visibilityMs, signal } = options;
    receiveOptions(options);
    const deadline = deadlineOf(waitMs);
    for (;;) {
      if (signal?.aborted) return [];
      const left = remaining(deadline);
      let messages: Message[];
      try {
        const out = await this.#client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: max,
            WaitTimeSeconds: seconds(left, SQS_MAX_WAIT_SECONDS),
            ...(visibilityMs === undefined
              ? {}
              : { VisibilityTimeout: seconds(visibilityMs, SQS_MAX_VISIBILITY_SECONDS) }),
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          signal ? { abortSignal: signal } : {},
        );
        messages = out.Messages ?? [];
      } catch (e) {
        if (signal?.aborted) return [];
        throw e;
      }
      if (messages.length > 0) return messages.map(toDelivery);
      // SQS caps a long poll at 20 s; poll again until waitMs has passed.
      if (expired(deadline)) return [];
    }
  }

  /**
   * {@inheritDoc WorkQueue.ack} Receipts SQS calls invalid are skipped; other failed entries are
   * retried, then reported with {@link AwsBatchError}.
   */
  async ack(receipts: readonly string[]): Promise<void> {
    const unique = [...new Set(receipts)];
    const batches = chunksOf(
      unique.map((r, i): DeleteMessageBatchRequestEntry => ({ Id: String(i), ReceiptHandle: r })),
      SQS_BATCH_ENTRIES,
    );
    await forEachLimit(batches, this.#concurrency, (b) =>
      this.#retryEntries('SQS.DeleteMessageBatch', b, async (pending) => {
        const out = await this.#client.send(
          new DeleteMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }),
        );
        // A receipt of a message already deleted, or from long ago, is stale: nothing to do.
        return (out.Failed ?? []).filter((f) => f.Code !== 'ReceiptHandleIsInvalid');
      }),
    );
  }

  /**
   * {@inheritDoc WorkQueue.setVisibility} Rounded up to whole seconds, at most 12 h. One
   * ChangeMessageVisibilityBatch per 10 receipts (a few in flight); entries refused as stale are
   * skipped, other failed entries retried, then reported with {@link AwsBatchError}.
   */
  async setVisibility(receipts: readonly string[], ms: number): Promise<void> {
    nonNegative(ms, 'ms');
    const timeout = seconds(ms, SQS_MAX_VISIBILITY_SECONDS);
    const unique = [...new Set(receipts)];
    const batches = chunksOf(
      unique.map(
        (r, i): ChangeMessageVisibilityBatchRequestEntry => ({
          Id: String(i),
          ReceiptHandle: r,
          VisibilityTimeout: timeout,
        }),
      ),
      SQS_BATCH_ENTRIES,
    );
    await forEachLimit(batches, this.#concurrency, (b) =>
      this.#retryEntries('SQS.ChangeMessageVisibilityBatch', b, async (pending) => {
        let out: { Failed?: { Id?: string; Code?: string; Message?: string; SenderFault?: boolean }[] };
        try {
          out = await this.#client.send(
            new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }),
          );
        } catch (e) {
          // A service that refuses the whole call for one stale receipt (instead of reporting that
          // entry): change them one by one, so the stale one alone is skipped.
          if (!isStaleReceipt(e)) throw e;
          for (const entry of pending) await this.#setOne(entry.ReceiptHandle ?? '', timeout);
          return [];
        }
        return (out.Failed ?? []).filter((f) => !isStaleCode(f.Code, f.Message));
      }),
    );
  }

  async #setOne(receipt: string, timeout: number): Promise<void> {
    try {
      await this.#client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.#queueUrl,
          ReceiptHandle: receipt,
          VisibilityTimeout: timeout,
        }),
      );
    } catch (e) {
      if (!isStaleReceipt(e)) throw e;
    }
  }

  /**
   * Calls `call` with the pending entries until none fails: an entry SQS blames on the sender
   * fails at once (retrying would not help); others are retried `batchAttempts` times in all.
   */
  async #retryEntries<E extends { Id: string | undefined }>(
    operation: string,
    entries: readonly E[],
    call: (
      pending: E[],
    ) => Promise<readonly { Id?: string; Code?: string; Message?: string; SenderFault?: boolean }[]>,
  ): Promise<void> {
    let pending = [...entries];
    for (let attempt = 1; ; attempt++) {
      const failed = await call(pending);
      if (failed.length === 0) return;
      const failures: BatchFailure[] = failed.map((f) => ({
        id: f.Id ?? '?',
        code: f.Code ?? 'Unknown',
        ...(f.Message === undefined ? {} : { message: f.Message }),
        senderFault: f.SenderFault === true,
      }));
      if (failures.some((f) => f.senderFault) || attempt >= this.#attempts)
        throw new AwsBatchError(operation, failures, attempt);
      const ids = new Set(failures.map((f) => f.id));
      pending = pending.filter((e) => e.Id !== undefined && ids.has(e.Id));
      await backoff(attempt - 1, retryBounds(this.#retryBaseMs));
    }
  }
}

function toDelivery(m: Message): Delivery {
  return {
    body: decodeBody(m.Body ?? ''),
    messageId: m.MessageId ?? '',
    receipt: m.ReceiptHandle ?? '',
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
  };
}

/**
 * The errors SQS gives ChangeMessageVisibility for a receipt that is no longer current:
 * `ReceiptHandleIsInvalid`, `MessageNotInflight` (the timeout already ran out), and
 * `InvalidParameterValue` "…for parameter ReceiptHandle is invalid. Reason: Message does not exist
 * or is not available for visibility timeout change" (deleted, or delivered again). A batch call
 * reports the same codes per entry.
 */
function isStaleReceipt(e: unknown): boolean {
  return isStaleCode(errorName(e), (e as Error | undefined)?.message);
}

function isStaleCode(code: string | undefined, message: string | undefined): boolean {
  if (code === 'ReceiptHandleIsInvalid' || code === 'MessageNotInflight') return true;
  // Not a modelled exception: its name is the wire code, with or without the suffix.
  return (
    (code === 'InvalidParameterValue' || code === 'InvalidParameterValueException') &&
    /ReceiptHandle/.test(message ?? '')
  );
}
