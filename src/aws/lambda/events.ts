/**
 * What the SQS event source mapping (ESM) hands the worker and dead-letter Lambdas, checked at the
 * boundary, and how a batch is settled: the engine acknowledges or releases deliveries through a
 * {@link WorkQueue}; {@link EsmBatchQueue} turns that into the ESM's partial batch response.
 *
 * The ESM deletes every record of a batch that the response does not list in `batchItemFailures`
 * (the mapping must have `ReportBatchItemFailures` enabled), and leaves the listed ones to come back
 * when their visibility timeout ends; past the queue's `maxReceiveCount` SQS moves them to the
 * dead-letter queue by the queue's redrive policy.
 */
import { ProtocolError } from '../../errors.js';
import { FieldReader, isFields } from '../../fields.js';
import type { Delivery, ReceiveOptions, WorkMessage, WorkQueue } from '../../ports.js';
import { decodeBody } from '../wire.js';

/** One record of an SQS event, as Lambda delivers it (the fields fanfold reads, and the rest it may carry). */
export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: {
    readonly ApproximateReceiveCount: string;
    readonly SentTimestamp?: string;
    readonly SenderId?: string;
    readonly ApproximateFirstReceiveTimestamp?: string;
    readonly [name: string]: string | undefined;
  };
  readonly messageAttributes?: Readonly<Record<string, unknown>>;
  readonly md5OfBody?: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion?: string;
}

/** The event an SQS event source mapping invokes a function with. */
export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

/** The partial batch response: the records to retry, by message id; `[]` when all succeeded. */
export interface SqsBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

const fields: FieldReader = new FieldReader('SQS event source mapping event');
/** Ids and receipt handles are checked for presence; this only bounds what a message may quote. */
const MAX_ID = 65_536;

/**
 * Checks that `event` is an SQS batch and returns one {@link Delivery} per record (the body decoded
 * from the wire, not yet validated: the engine validates it and settles a malformed one).
 *
 * Throws {@link ProtocolError} (`src/fields.ts` wording) when the event itself is not an SQS batch or a record lacks what is
 * needed to settle it (message id, receipt handle, body, receive count): such an event was not sent
 * by the ESM, and failing the whole invocation is the only answer it can be given.
 */
export function parseSqsEvent(event: unknown): Delivery[] {
  const e = fields.object(event, 'an object with Records');
  if (!Array.isArray(e.Records)) fields.fail('Records to be an array', e.Records);
  return e.Records.map((raw: unknown, i): Delivery => {
    const r = fields.object(raw, `Records[${i}] to be an object`);
    if (r.eventSource !== 'aws:sqs') fields.fail(`Records[${i}].eventSource to be "aws:sqs"`, r.eventSource);
    const messageId = fields.string(r, 'messageId', MAX_ID, `Records[${i}].messageId`);
    const receipt = fields.string(r, 'receiptHandle', MAX_ID, `Records[${i}].receiptHandle`);
    const { body, attributes } = r;
    if (typeof body !== 'string') fields.fail(`Records[${i}].body to be a string`, body);
    const count = isFields(attributes) ? Number(attributes.ApproximateReceiveCount) : Number.NaN;
    if (!Number.isSafeInteger(count) || count < 1)
      fields.fail(`Records[${i}].attributes.ApproximateReceiveCount to be a count >= 1`, attributes);
    return { body: decodeBody(body), messageId, receipt, receiveCount: count };
  });
}

/**
 * The {@link WorkQueue} the engine settles an ESM batch through. `ack` marks a delivery done (the
 * ESM deletes it when the invocation returns); a delivery not acknowledged is listed in
 * `batchItemFailures`, so the ESM leaves it on the queue: one the host released with
 * `setVisibility` (`0` for a crash, a malformed body or a hand-back at the deadline: it comes back
 * at once; `ms > 0` for a finaliser lease held by another party: it comes back when the lease
 * ends), and one left unsettled (an adapter error: it comes back when its visibility runs out).
 * `setVisibility` goes to the real queue (the host also renews the batch's visibility through it),
 * as does `send`; `receive` is refused: the ESM receives.
 *
 * One instance serves a container's invocations, one at a time, as Lambda runs them.
 *
 * @example
 * ```ts
 * const batch = new EsmBatchQueue(realQueue);
 * const deliveries = parseSqsEvent(event);
 * await host.processBatch(deliveries);  // the host's backend.queue is `batch`
 * return batch.settle(deliveries);       // { batchItemFailures: [...] }
 * ```
 */
export class EsmBatchQueue implements WorkQueue {
  readonly #real: WorkQueue;
  /** Receipts acknowledged since the last {@link settle}. */
  readonly #acked = new Set<string>();

  constructor(real: WorkQueue) {
    this.#real = real;
  }

  get maxPayloadBytes(): number {
    return this.#real.maxPayloadBytes;
  }

  send(messages: readonly WorkMessage[]): Promise<void> {
    return this.#real.send(messages);
  }

  receive(_options: ReceiveOptions): Promise<Delivery[]> {
    return Promise.reject(
      new ProtocolError('A Lambda handler does not receive: the event source mapping delivers its batches'),
    );
  }

  async ack(receipts: readonly string[]): Promise<void> {
    for (const r of receipts) this.#acked.add(r);
  }

  /**
   * Changes the visibility on the real queue. It does not change what {@link settle} reports: the
   * host releases only deliveries it never acknowledged, and renews acknowledged ones, whose
   * messages must stay invisible until the ESM deletes them.
   */
  async setVisibility(receipts: readonly string[], ms: number): Promise<void> {
    await this.#real.setVisibility(receipts, ms);
  }

  /**
   * The partial batch response for `deliveries`: every one not acknowledged is listed (once per
   * message id). Forgets the batch's receipts.
   */
  settle(deliveries: readonly Delivery[]): SqsBatchResponse {
    const failed = new Set<string>();
    for (const d of deliveries) {
      if (!this.#acked.has(d.receipt)) failed.add(d.messageId);
    }
    for (const d of deliveries) this.#acked.delete(d.receipt);
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  }
}
