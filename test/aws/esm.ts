/**
 * Plays the parts of AWS that run the fanfold functions, against the emulator, for the handler
 * tests: an SQS event source mapping (receive a batch from the real queue, invoke the handler with
 * the event Lambda would build, delete what the partial batch response does not list) and a
 * synchronous Lambda invoke (the payload goes through JSON both ways, as over the wire).
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SqsBatchResponse, SqsEvent, SqsRecord } from '../../src/aws/lambda/events.js';

/** The ARN SQS reports for a queue (the records' `eventSourceARN`). */
export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes?.QueueArn ?? '';
}

/** An SQS message as Lambda passes it to a handler. */
export function toRecord(m: Message, arn: string): SqsRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: 'us-east-1',
  };
}

/** Receives up to `max` messages (waiting up to `waitSeconds` for the first) as ESM records. */
export async function receiveRecords(
  sqs: SQSClient,
  queueUrl: string,
  arn: string,
  { max = 10, waitSeconds = 0 }: { max?: number; waitSeconds?: number } = {},
): Promise<SqsRecord[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return (out.Messages ?? []).map((m) => toRecord(m, arn));
}

/** What the ESM does with a handler's answer: deletes every record the response does not list. */
export async function settle(
  sqs: SQSClient,
  queueUrl: string,
  records: readonly SqsRecord[],
  response: SqsBatchResponse,
): Promise<void> {
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = records.filter((r) => !failed.has(r.messageId));
  for (let i = 0; i < done.length; i += 10) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.slice(i, i + 10).map((r, k) => ({ Id: String(k), ReceiptHandle: r.receiptHandle })),
      }),
    );
  }
}

/** One ESM poll: a batch from the queue through the handler, then settled. Returns the records and answer. */
export async function deliverBatch(
  sqs: SQSClient,
  queueUrl: string,
  arn: string,
  handler: (event: SqsEvent) => Promise<SqsBatchResponse>,
  options: { max?: number; waitSeconds?: number } = {},
): Promise<{ records: SqsRecord[]; response: SqsBatchResponse }> {
  const records = await receiveRecords(sqs, queueUrl, arn, options);
  if (records.length === 0) return { records, response: { batchItemFailures: [] } };
  const response = await handler(lambdaJson({ Records: records } satisfies SqsEvent));
  await settle(sqs, queueUrl, records, response);
  return { records, response };
}

/** A value through JSON, as Lambda passes events and results. */
export function lambdaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
