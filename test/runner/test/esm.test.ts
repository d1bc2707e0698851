/**
 * The runner's SQS event source mappings, on the fixture assembly: the consumer fixture records
 * every invocation in the bucket, and the queues are inspected through moto. Each test uses its
 * own queue (or its own messages, told apart by a test id in the body), so the tests run
 * concurrently; the slow ones wait on visibility timeouts of 2 s (scaled by the machine's pace,
 * with the functions' timeouts: support.ts scaledAssembly).
 */
import { createHash, randomUUID } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client, sqsClient } from '../src/clients.js';
import { INSTALL_TIMEOUT_MS } from '../src/emulators.js';
import { type EsmBatch, EsmPoller, MAX_BATCH_PAYLOAD_BYTES, parseBatchResponse } from '../src/esm-poller.js';
import { type Cloud, startCloud } from '../src/runner.js';
import { eventually, readTraces, scaledAssembly, type Trace, type TracedRecord } from './support.js';

let cloud: Cloud;
let sqs: SQSClient;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  // Room for every mapping's concurrency at once, so no batch waits for a container.
  cloud = await startCloud({ cdkOut: scaledAssembly(), maxContainersPerFunction: 8 });
  sqs = sqsClient(cloud.clientOptions);
  s3 = s3Client(cloud.clientOptions);
  bucket = cloud.stack.outputs.TraceBucketName!;
  // Warm containers, as a busy function has: a cold start (about 0.1 s, seconds on a loaded
  // machine) counts against a message's visibility timeout, which is short (2 s) in the tests of
  // redelivery. Overlapping invocations make one container each.
  const consumer = cloud.sandboxes.get(cloud.functionName('Consumer'))!;
  const record = { messageId: 'warm-up', body: JSON.stringify({ test: 'warm-up', sleepMs: 300 }) };
  await Promise.all(Array.from({ length: 8 }, () => consumer.invoke(JSON.stringify({ Records: [record] }))));
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  sqs?.destroy();
  s3?.destroy();
  await cloud?.stop();
});

function url(output: string): string {
  const value = cloud.stack.outputs[output];
  if (!value) throw new Error(`no output ${output}`);
  return value;
}

/** Sends one message per body (each tagged with `test`); returns the message ids in order. */
async function send(queueUrl: string, test: string, bodies: readonly object[]): Promise<string[]> {
  const out = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: JSON.stringify({ test, ...b }) })),
    }),
  );
  const ids = bodies.map((_, i) => out.Successful?.find((s) => s.Id === String(i))?.MessageId);
  if (ids.some((id) => id === undefined)) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
  return ids as string[];
}

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

/** Messages received and not yet deleted or made visible again. */
async function inFlight(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
}

/** Waits until the traces of `test` hold `count` records in all, and returns them. */
async function tracesWith(test: string, count: number, timeoutMs?: number): Promise<Trace[]> {
  return eventually(
    async () => {
      const traces = await readTraces(s3, bucket, test);
      return traces.flatMap((t) => t.records).length >= count ? traces : undefined;
    },
    `${count} records of ${test}`,
    timeoutMs,
  );
}

/** The message ids in the dead-letter queue, once `ids` are all there (peeked, not consumed). */
async function deadLettered(dlqUrl: string, ids: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  return eventually(
    async () => {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
      for (const m of out.Messages ?? []) seen.add(m.MessageId!);
      return ids.every((id) => seen.has(id)) ? seen : undefined;
    },
    `${ids.length} messages in the dead-letter queue`,
    15_000,
  );
}

/** How many invocations of the consumer announced themselves at `test`'s gate. */
async function entered(test: string): Promise<number> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `gate/${test}/entered/` }));
  return out.KeyCount ?? 0;
}

/** Each message's receive counts over its deliveries, ascending (traces are read back in any order). */
function receiveCounts(traces: readonly Trace[]): Map<string, string[]> {
  const counts = new Map<string, string[]>();
  for (const r of traces.flatMap((t) => t.records))
    counts.set(r.messageId, [
      ...(counts.get(r.messageId) ?? []),
      r.attributes.ApproximateReceiveCount ?? '?',
    ]);
  for (const list of counts.values()) list.sort((a, b) => Number(a) - Number(b));
  return counts;
}

/** The invocations of the mapping on `queueUrl` that carried any of `ids`, as its poller recorded them. */
function batchesOf(queueUrl: string, ids: readonly string[]): EsmBatch[] {
  const poller = cloud.pollers.find((p) => p.spec.queueUrl === queueUrl)!;
  return poller.stats.batches.filter((b) => b.messageIds.some((id) => ids.includes(id)));
}

describe.concurrent('SQS event source mapping', () => {
  it('delivers a batch in the SQS event shape and deletes it on success', async () => {
    const test = `shape-${randomUUID()}`;
    const queueUrl = url('ShapeQueueUrl');
    const body = JSON.stringify({ test, n: 1 });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: {
          colour: { DataType: 'String', StringValue: 'blue' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2, 3]) },
        },
      }),
    );
    await send(queueUrl, test, [{ n: 2 }, { n: 3 }]);
    const traces = await tracesWith(test, 3);
    const records = traces.flatMap((t) => t.records);
    expect(records).toHaveLength(3);
    const record = records.find((r) => r.messageId === sent.MessageId) as TracedRecord;
    expect(Object.keys(record).sort()).toEqual(
      [
        'attributes',
        'awsRegion',
        'body',
        'eventSource',
        'eventSourceARN',
        'md5OfBody',
        'md5OfMessageAttributes',
        'messageAttributes',
        'messageId',
        'receiptHandle',
      ].sort(),
    );
    expect(record).toMatchObject({
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      md5OfMessageAttributes: sent.MD5OfMessageAttributes,
      eventSource: 'aws:sqs',
      eventSourceARN: cloud.stack.resources.ShapeQueue4A7B2C9D?.attributes.Arn,
      awsRegion: 'us-east-1',
      messageAttributes: {
        colour: { stringValue: 'blue', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
    });
    expect(record.receiptHandle).toEqual(expect.any(String));
    expect(record.attributes).toMatchObject({
      ApproximateReceiveCount: '1',
      SentTimestamp: expect.stringMatching(/^\d{13}$/),
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      SenderId: expect.any(String),
    });
    // Deleted after the successful invocation: the queue empties and nothing comes back.
    await eventually(async () => ((await queueDepth(queueUrl)) === 0 ? true : undefined), 'an empty queue');
    expect([...receiveCounts(await readTraces(s3, bucket, test)).values()].flat()).toEqual(['1', '1', '1']);
  });

  it('keeps exactly the messages a partial batch response lists; they redrive to the DLQ', async () => {
    const test = `partial-${randomUUID()}`;
    const ids = await send(url('WorkQueueUrl'), test, [{}, { fail: true }, {}, { fail: true }, {}]);
    const listed = [ids[1]!, ids[3]!];
    const dead = await deadLettered(url('WorkDlqUrl'), listed);
    // The queue's maxReceiveCount is 2: each listed message was delivered twice, the rest once.
    const counts = receiveCounts(await readTraces(s3, bucket, test));
    for (const id of ids) expect(counts.get(id)).toEqual(listed.includes(id) ? ['1', '2'] : ['1']);
    for (const id of ids) expect(dead.has(id)).toBe(listed.includes(id));
    expect(await queueDepth(url('WorkQueueUrl'))).toBe(0);
    // The poller's record of each invocation: what it carried and what its response kept.
    const batches = batchesOf(url('WorkQueueUrl'), ids);
    expect(batches.every((b) => b.outcome === 'ok' && b.endedAt! >= b.startedAt)).toBe(true);
    expect(batches.flatMap((b) => b.failures ?? []).sort()).toEqual([...listed, ...listed].sort());
  });

  it('leaves the whole batch of a failed invocation; a poison message redrives after maxReceiveCount', async () => {
    const test = `poison-${randomUUID()}`;
    const [id] = await send(url('PoisonQueueUrl'), test, [{ throw: true }]);
    await deadLettered(url('PoisonDlqUrl'), [id!]);
    expect(receiveCounts(await readTraces(s3, bucket, test)).get(id!)).toEqual(['1', '2']);
    expect(batchesOf(url('PoisonQueueUrl'), [id!]).map((b) => b.outcome)).toEqual(['error', 'error']);
  });

  it('fails the whole batch when the response lists an id that is not in it', async () => {
    const test = `invalid-${randomUUID()}`;
    const ids = await send(url('PoisonQueueUrl'), test, [{ invalid: true }, {}]);
    await deadLettered(url('PoisonDlqUrl'), ids);
    const counts = receiveCounts(await readTraces(s3, bucket, test));
    for (const id of ids) expect(counts.get(id)).toEqual(['1', '2']);
  });

  it('runs at most ScalingConfig.MaximumConcurrency invocations at once', async () => {
    const test = `narrow-${randomUUID()}`;
    // BatchSize 1, MaximumConcurrency 2: each of six messages holds its invocation at the gate
    // until the test opens it, so two invocations are known to run at once, whatever the pace.
    await send(
      url('NarrowQueueUrl'),
      test,
      Array.from({ length: 6 }, () => ({ gate: true })),
    );
    const held = await eventually(async () => {
      const n = await entered(test);
      return n >= 2 ? n : undefined;
    }, 'two invocations at the gate');
    // Both slots are taken and neither can end: a third invocation would be a third entry.
    expect(held).toBe(2);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `gate/${test}/open`, Body: 'open' }));
    const traces = await tracesWith(test, 6);
    expect(traces.map((t) => t.batchSize)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(maxOverlap(traces)).toBe(2);
    expect(await entered(test)).toBe(6);
  });

  it('gathers messages for MaximumBatchingWindowInSeconds into one batch', async () => {
    const test = `window-${randomUUID()}`;
    const queueUrl = url('WindowQueueUrl');
    // The mapping's window (300 s) outlasts any delay of a busy machine, and its batch closes
    // once full (BatchSize 3). Each message is sent only when the mapping holds the ones before
    // it, received and in flight: one batch of three shows it gathered them across receives.
    for (let i = 0; i < 3; i++) {
      await send(queueUrl, test, [{ i }]);
      if (i < 2)
        await eventually(
          async () => ((await inFlight(queueUrl)) === i + 1 ? true : undefined),
          `the mapping holding ${i + 1} message(s)`,
        );
    }
    const traces = await tracesWith(test, 3);
    expect(traces.map((t) => t.batchSize)).toEqual([3]);
  });

  it("cuts a batch at Invoke's 6 MB and carries the rest to the next batch", async () => {
    // A queue no mapping polls, filled before this poller starts: one receive takes all seven.
    const queueUrl = url('BigQueueUrl');
    const pad = 'x'.repeat(900_000);
    for (let i = 0; i < 7; i++)
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ i, pad }) }));
    const batches: { records: number; bytes: number }[] = [];
    const poller = new EsmPoller(
      {
        logicalId: 'BigMapping',
        uuid: randomUUID(),
        functionName: 'none',
        queueArn: cloud.stack.resources.BigQueue5E8F1A3B!.attributes.Arn!,
        queueUrl,
        queueVisibilityTimeoutSeconds: 30,
        fifo: false,
        batchSize: 10,
        maximumBatchingWindowSeconds: 1,
        reportBatchItemFailures: false,
        maximumConcurrency: undefined,
        enabled: true,
      },
      {
        sqs,
        region: 'us-east-1',
        concurrency: 1,
        invoke: async (payload) => {
          const { Records } = JSON.parse(payload) as { Records: unknown[] };
          batches.push({ records: Records.length, bytes: Buffer.byteLength(payload) });
          return {
            requestId: randomUUID(),
            payload: 'null',
            functionError: undefined,
            logTail: '',
            cold: false,
            durationMs: 0,
          };
        },
      },
    );
    poller.start();
    try {
      await eventually(
        async () => (batches.reduce((n, b) => n + b.records, 0) >= 7 ? true : undefined),
        'seven records',
      );
    } finally {
      await poller.stop({ abort: true });
    }
    expect(batches.map((b) => b.records)).toEqual([6, 1]);
    for (const b of batches) expect(b.bytes).toBeLessThanOrEqual(MAX_BATCH_PAYLOAD_BYTES);
    expect(await queueDepth(queueUrl)).toBe(0);
  });
});

describe('parseBatchResponse', () => {
  const ids = ['a', 'b'];
  it.each([
    ['null', 'null'],
    ['an empty payload', ''],
    ['an empty object', '{}'],
    ['a null list', '{"batchItemFailures":null}'],
    ['an empty list', '{"batchItemFailures":[]}'],
  ])('treats %s as complete success', (_, payload) => {
    expect(parseBatchResponse(payload, ids)).toEqual(new Set());
  });

  it('returns the listed ids', () => {
    expect(parseBatchResponse('{"batchItemFailures":[{"itemIdentifier":"b"}]}', ids)).toEqual(new Set(['b']));
  });

  it.each([
    ['JSON that does not parse', '{'],
    ['a string', '"ok"'],
    ['a list that is not a list', '{"batchItemFailures":{}}'],
    ['an empty itemIdentifier', '{"batchItemFailures":[{"itemIdentifier":""}]}'],
    ['a null itemIdentifier', '{"batchItemFailures":[{"itemIdentifier":null}]}'],
    ['a bad key name', '{"batchItemFailures":[{"itemId":"a"}]}'],
    ['an id not in the batch', '{"batchItemFailures":[{"itemIdentifier":"c"}]}'],
  ])('treats %s as failure of the whole batch', (_, payload) => {
    expect(parseBatchResponse(payload, ids)).toBe('invalid');
  });
});

/** The most invocations whose [start, end] intervals overlap at one instant. */
function maxOverlap(traces: readonly Trace[]): number {
  const edges = traces.flatMap((t) => [
    { at: t.start, d: 1 },
    { at: t.end, d: -1 },
  ]);
  // An end and a start at the same millisecond do not overlap.
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}
