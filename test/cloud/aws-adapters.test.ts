/**
 * Behaviour of the AWS adapters beyond the port contracts: the wire encoding, batch splitting and
 * partial-failure retries, malformed bodies, transaction outcomes, and the SDK's retries of
 * throttling. Runs on moto's server started by this file. Failures are injected into real clients
 * (SDK middleware, or a request handler wrapping the real one), never by mocking the API.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ProvisionedThroughputExceededException,
  QueryCommand,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  type ChangeMessageVisibilityBatchCommandInput,
  type ChangeMessageVisibilityBatchCommandOutput,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDynamoClient, createSqsClient, resolveEndpoint } from '../../src/aws/clients.js';
import { DynamoJobStore } from '../../src/aws/dynamo-store.js';
import { AwsBatchError } from '../../src/aws/errors.js';
import { S3BlobStore } from '../../src/aws/s3-blobs.js';
import { ensureBucket, ensureQueuePair, ensureTable, setupAws } from '../../src/aws/setup.js';
import { SQS_MAX_MESSAGE_BYTES, SqsWorkQueue } from '../../src/aws/sqs-queue.js';
import { decodeBody, encodeBody, maxPayloadFor } from '../../src/aws/wire.js';
import { parseWorkMessage } from '../../src/engine/protocol.js';
import { ProtocolError } from '../../src/errors.js';
import type { Data, JobSpec, WorkMessage } from '../../src/ports.js';
import { useCloudTier } from '../support/cloud.js';

const TABLE = 'fanfold-adapters';
const BUCKET = 'fanfold-adapters';

const cloud = await useCloudTier();
const { sqs, dynamo, s3 } = cloud.clients;
await Promise.all([ensureTable(dynamo, TABLE), ensureBucket(s3, BUCKET)]);

function chunk(
  index: number,
  bytes: Uint8Array,
  extra: Partial<{ jobId: string; task: string }> = {},
): WorkMessage {
  return {
    v: 1,
    type: 'chunk',
    jobId: extra.jobId ?? 'job-1',
    index,
    task: extra.task ?? 'square',
    mode: 'map',
    input: { kind: 'items', offset: index, count: 1, data: { enc: 'v8', bytes } },
  };
}

function indexOfBody(body: string | undefined): number {
  return (decodeBody(body ?? '') as { index: number }).index;
}

const queues: string[] = [];
afterEach(async () => {
  for (const url of queues.splice(0)) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
});

async function freshQueue(
  client: SQSClient = sqs,
  options: Partial<ConstructorParameters<typeof SqsWorkQueue>[0]> = {},
) {
  const { queueUrl, deadLetterQueueUrl } = await ensureQueuePair(sqs, {
    name: `adapters-${randomUUID().slice(0, 8)}`,
  });
  queues.push(queueUrl, deadLetterQueueUrl);
  return { queueUrl, queue: new SqsWorkQueue({ client, queueUrl, ...options }) };
}

async function drain(queue: SqsWorkQueue, n: number): Promise<WorkMessage[]> {
  const got: WorkMessage[] = [];
  while (got.length < n) {
    const ds = await queue.receive({ max: 10, waitMs: 5_000 });
    if (ds.length === 0) break;
    got.push(...ds.map((d) => parseWorkMessage(d.body)));
    await queue.ack(ds.map((d) => d.receipt));
  }
  return got;
}

describe('wire encoding', () => {
  it('round-trips every message shape with binaries as tagged base64', () => {
    const messages: WorkMessage[] = [
      chunk(3, new Uint8Array([0, 1, 127, 128, 254, 255])),
      chunk(0, new Uint8Array(0)),
      {
        v: 1,
        type: 'chunk',
        jobId: 'j',
        index: 1,
        task: 't',
        mode: 'reduce',
        reducer: 'r',
        input: { kind: 'range', offset: 5, count: 5, start: -2.5, step: 0.5 },
      },
      {
        v: 1,
        type: 'chunk',
        jobId: 'j',
        index: 2,
        task: 't',
        mode: 'starmap',
        input: { kind: 'items', offset: 0, count: 1, data: { enc: 'f64', blob: 'b/k', size: 8 } },
      },
      { v: 1, type: 'finalise', jobId: 'j' },
    ];
    for (const m of messages) {
      const body = encodeBody(m);
      expect(decodeBody(body)).toEqual(m);
      expect(parseWorkMessage(decodeBody(body))).toEqual(m);
    }
    expect(encodeBody(chunk(3, new Uint8Array([1, 2, 3])))).toContain('"bytes":{"$b64":"AQID"}');
  });

  it('decodes bytes into a fresh, aligned Uint8Array', () => {
    const decoded = decodeBody(encodeBody(chunk(0, new Uint8Array(new Float64Array([1.5, 2]).buffer)))) as {
      input: { data: { bytes: Uint8Array } };
    };
    const bytes = decoded.input.data.bytes;
    expect(bytes.constructor).toBe(Uint8Array);
    expect(bytes.byteOffset).toBe(0);
    expect([...new Float64Array(bytes.buffer)]).toEqual([1.5, 2]);
  });

  it('returns a body that is not JSON as the string itself', () => {
    expect(decodeBody('not json {')).toBe('not json {');
    expect(() => parseWorkMessage(decodeBody('not json {'))).toThrow(ProtocolError);
  });

  it('sizes the default payload so that base64 and the envelope fit 1 MiB', () => {
    const max = maxPayloadFor(SQS_MAX_MESSAGE_BYTES);
    expect(max).toBe(783_360);
    const body = encodeBody(
      chunk(2 ** 40, new Uint8Array(max).fill(255), { jobId: 'j'.repeat(128), task: 't'.repeat(256) }),
    );
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
  });
});

describe('SqsWorkQueue', () => {
  it('sends and receives a message whose payload is maxPayloadBytes', async () => {
    const { queue } = await freshQueue();
    const bytes = new Uint8Array(queue.maxPayloadBytes).map((_, i) => i & 0xff);
    const message = chunk(1, bytes, { jobId: 'j'.repeat(128), task: 't'.repeat(256) });
    await queue.send([message]);
    const [got] = await drain(queue, 1);
    // Element-wise toEqual over 765 KiB takes seconds; compare the bytes as buffers.
    const data = got?.type === 'chunk' && got.input.kind === 'items' ? got.input.data : undefined;
    expect(data && 'bytes' in data && Buffer.from(data.bytes).equals(bytes)).toBe(true);
    expect(JSON.stringify({ ...got, input: null })).toBe(JSON.stringify({ ...message, input: null }));
  });

  it('splits SendMessageBatch calls at 10 entries and at 1 MiB of bodies', async () => {
    const client = createSqsClient(cloud.clientOptions);
    const calls: { entries: number; bytes: number }[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'SendMessageBatchCommand') {
          const input = args.input as SendMessageBatchCommandInput;
          const entries = input.Entries ?? [];
          calls.push({
            entries: entries.length,
            bytes: entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), 0),
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'countBatches' },
    );
    const { queue } = await freshQueue(client);
    // 25 small messages, then 6 of 300 KB (base64 400 KB: two per call).
    const messages = [
      ...Array.from({ length: 25 }, (_, i) => chunk(i, new Uint8Array([i]))),
      ...Array.from({ length: 6 }, (_, i) => chunk(25 + i, new Uint8Array(300_000))),
    ];
    await queue.send(messages);
    expect(calls.every((c) => c.entries <= 10 && c.bytes <= SQS_MAX_MESSAGE_BYTES)).toBe(true);
    expect(calls.reduce((n, c) => n + c.entries, 0)).toBe(31);
    const got = await drain(queue, 31);
    expect(got.map((m) => (m.type === 'chunk' ? m.index : -1)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 31 }, (_, i) => i),
    );
    client.destroy();
  });

  /** A real client whose SendMessageBatch reports the entries `fail` picks as failed instead of sending them. */
  function failingEntries(
    fail: (index: number, attempt: number) => { code: string; senderFault: boolean } | undefined,
  ) {
    const client = createSqsClient(cloud.clientOptions);
    const attempts = new Map<number, number>();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'SendMessageBatchCommand') return next(args);
        const input = args.input as SendMessageBatchCommandInput;
        const failed: NonNullable<SendMessageBatchCommandOutput['Failed']> = [];
        const kept = (input.Entries ?? []).filter((e) => {
          const index = indexOfBody(e.MessageBody);
          const attempt = (attempts.get(index) ?? 0) + 1;
          attempts.set(index, attempt);
          const f = fail(index, attempt);
          if (f) failed.push({ Id: e.Id, Code: f.code, SenderFault: f.senderFault, Message: 'injected' });
          return !f;
        });
        const result =
          kept.length > 0 ? await next({ ...args, input: { ...input, Entries: kept } }) : undefined;
        const output = (result?.output ?? { $metadata: {}, Successful: [] }) as SendMessageBatchCommandOutput;
        return {
          ...result,
          response: result?.response,
          output: { ...output, Failed: [...(output.Failed ?? []), ...failed] },
        };
      },
      { step: 'initialize', name: 'failEntries' },
    );
    return { client, attempts };
  }

  it('retries the entries SendMessageBatch reports as failed, and sends each once', async () => {
    const { client, attempts } = failingEntries((i, attempt) =>
      i % 3 === 0 && attempt === 1 ? { code: 'InternalError', senderFault: false } : undefined,
    );
    const { queue } = await freshQueue(client, { retryBaseMs: 1 });
    await queue.send(Array.from({ length: 20 }, (_, i) => chunk(i, new Uint8Array([i]))));
    expect(attempts.get(3)).toBe(2);
    expect(attempts.get(4)).toBe(1);
    const got = await drain(queue, 20);
    expect(got.map((m) => (m.type === 'chunk' ? m.index : -1)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    client.destroy();
  });

  it('throws AwsBatchError naming the entries that still fail after batchAttempts', async () => {
    const { client, attempts } = failingEntries((i) =>
      i === 7 ? { code: 'InternalError', senderFault: false } : undefined,
    );
    const { queue } = await freshQueue(client, { retryBaseMs: 1, batchAttempts: 3 });
    const sending = queue.send(Array.from({ length: 10 }, (_, i) => chunk(i, new Uint8Array([i]))));
    await expect(sending).rejects.toBeInstanceOf(AwsBatchError);
    await expect(sending).rejects.toMatchObject({
      code: 'ERR_FANFOLD_AWS_BATCH_FAILED',
      operation: 'SQS.SendMessageBatch',
      attempts: 3,
      failures: [{ id: '7', code: 'InternalError', senderFault: false }],
    });
    expect(attempts.get(7)).toBe(3);
    client.destroy();
  });

  it('does not retry an entry that SQS blames on the sender', async () => {
    const { client, attempts } = failingEntries((i) =>
      i === 1 ? { code: 'InvalidMessageContents', senderFault: true } : undefined,
    );
    const { queue } = await freshQueue(client, { retryBaseMs: 1 });
    await expect(
      queue.send([chunk(0, new Uint8Array(1)), chunk(1, new Uint8Array(1))]),
    ).rejects.toMatchObject({
      attempts: 1,
      failures: [{ id: '1', code: 'InvalidMessageContents', senderFault: true }],
    });
    expect(attempts.get(1)).toBe(1);
    client.destroy();
  });

  it('hands a body that is not JSON to the receiver as a string, which parseWorkMessage rejects', async () => {
    const { queue, queueUrl } = await freshQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not json {' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"v":2,"type":"chunk"}' }));
    const bodies: unknown[] = [];
    while (bodies.length < 2)
      bodies.push(...(await queue.receive({ max: 10, waitMs: 5_000 })).map((d) => d.body));
    expect(bodies).toContain('not json {');
    expect(bodies).toContainEqual({ v: 2, type: 'chunk' });
    for (const body of bodies) expect(() => parseWorkMessage(body)).toThrow(ProtocolError);
  });

  it('acks more than 10 receipts, and ignores receipts of deleted messages', async () => {
    const { queue, queueUrl } = await freshQueue();
    await queue.send(Array.from({ length: 15 }, (_, i) => chunk(i, new Uint8Array([i]))));
    const receipts: string[] = [];
    while (receipts.length < 15)
      receipts.push(
        ...(await queue.receive({ max: 10, waitMs: 5_000, visibilityMs: 60_000 })).map((d) => d.receipt),
      );
    await queue.ack(receipts);
    await queue.ack(receipts);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(attributes.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });
});

describe('SqsWorkQueue.setVisibility()', () => {
  /** Receives every one of `n` messages, held for `visibilityMs`. */
  async function receiveAll(queue: SqsWorkQueue, n: number, visibilityMs = 60_000) {
    const got: { receipt: string; index: number; receiveCount: number }[] = [];
    while (got.length < n)
      for (const d of await queue.receive({ max: 10, waitMs: 5_000, visibilityMs }))
        got.push({
          receipt: d.receipt,
          index: (d.body as { index: number }).index,
          receiveCount: d.receiveCount,
        });
    return got;
  }

  it('changes 25 receipts with three ChangeMessageVisibilityBatch calls, retrying the entries reported as failed', async () => {
    const client = createSqsClient(cloud.clientOptions);
    const calls: number[] = [];
    const attempts = new Map<string, number>();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'ChangeMessageVisibilityBatchCommand') return next(args);
        const input = args.input as ChangeMessageVisibilityBatchCommandInput;
        const entries = input.Entries ?? [];
        calls.push(entries.length);
        // Every third receipt fails its first attempt, as a server-side error would.
        const failed: NonNullable<ChangeMessageVisibilityBatchCommandOutput['Failed']> = [];
        const kept = entries.filter((e) => {
          const attempt = (attempts.get(e.ReceiptHandle!) ?? 0) + 1;
          attempts.set(e.ReceiptHandle!, attempt);
          const fail = attempt === 1 && [...attempts.keys()].indexOf(e.ReceiptHandle!) % 3 === 0;
          if (fail) failed.push({ Id: e.Id, Code: 'InternalError', SenderFault: false, Message: 'injected' });
          return !fail;
        });
        const result = await next({ ...args, input: { ...input, Entries: kept } });
        const output = result.output as ChangeMessageVisibilityBatchCommandOutput;
        return { ...result, output: { ...output, Failed: [...(output.Failed ?? []), ...failed] } };
      },
      { step: 'initialize', name: 'failVisibilityEntries' },
    );
    const { queue } = await freshQueue(client, { retryBaseMs: 1 });
    await queue.send(Array.from({ length: 25 }, (_, i) => chunk(i, new Uint8Array([i]))));
    const first = await receiveAll(queue, 25);
    await queue.setVisibility(
      first.map((d) => d.receipt),
      0,
    );
    // Three calls of 10, 10 and 5 entries; then the 9 failed entries again (in their own calls).
    expect(calls.slice(0, 3).sort((a, b) => b - a)).toEqual([10, 10, 5]);
    expect(calls.slice(3).reduce((a, b) => a + b, 0)).toBe(9);
    expect([...attempts.values()].filter((n) => n === 2)).toHaveLength(9);
    const again = await receiveAll(queue, 25);
    expect(again.map((d) => d.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(again.every((d) => d.receiveCount === 2)).toBe(true);
    client.destroy();
  });

  it('changes receipts one by one when the service refuses a whole batch call for a stale receipt', async () => {
    const client = createSqsClient(cloud.clientOptions);
    let refused = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeMessageVisibilityBatchCommand') {
          refused++;
          throw Object.assign(
            new Error('Value x for parameter ReceiptHandle is invalid. Reason: Message does not exist'),
            { name: 'InvalidParameterValue' },
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseBatch' },
    );
    const { queue } = await freshQueue(client);
    await queue.send([0, 1, 2].map((i) => chunk(i, new Uint8Array([i]))));
    const got = await receiveAll(queue, 3);
    await queue.ack([got[0]!.receipt]);
    // The acknowledged message's receipt is stale; the other two are made visible at once.
    await queue.setVisibility(
      got.map((d) => d.receipt),
      0,
    );
    expect(refused).toBe(1);
    const back = await receiveAll(queue, 2);
    expect(back.map((d) => d.index).sort()).toEqual(
      got
        .slice(1)
        .map((d) => d.index)
        .sort(),
    );
    client.destroy();
  });
});

describe('DynamoJobStore', () => {
  const data = (...bytes: number[]): Data => ({ enc: 'v8', bytes: new Uint8Array(bytes) });
  const spec = (total?: number): JobSpec => ({
    id: `job-${randomUUID()}`,
    kind: 'map',
    task: 't',
    deadline: Date.now() + 60_000,
    ...(total === undefined ? {} : { total }),
  });

  it('records 20 concurrent duplicates once, each refused by a ConditionalCheckFailed cancellation', async () => {
    const client = createDynamoClient(cloud.clientOptions);
    const cancellations: (string | undefined)[][] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (e) {
          if (e instanceof TransactionCanceledException)
            cancellations.push((e.CancellationReasons ?? []).map((r) => r.Code));
          throw e;
        }
      },
      { step: 'initialize', name: 'watchCancellations' },
    );
    const store = new DynamoJobStore({ client, tableName: TABLE });
    const job = spec(3);
    await store.createJob(job);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => store.completeChunk(job.id, 1, data(1))),
    );
    expect(outcomes.filter((o) => o.first)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.first).every((o) => o.status === 'RUNNING' && o.done === 1)).toBe(true);
    expect(cancellations).toHaveLength(19);
    for (const reasons of cancellations) expect(reasons).toEqual(['ConditionalCheckFailed', 'None']);
    expect((await store.getJob(job.id))?.done).toBe(1);
    expect([...((await store.readResults(job.id, [1])).get(1) as { bytes: Uint8Array }).bytes]).toEqual([1]);
    client.destroy();
  });

  it('retries a transaction cancelled by a TransactionConflict and rethrows other cancellations', async () => {
    const client = createDynamoClient(cloud.clientOptions);
    let inject: string | undefined;
    let calls = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand') {
          calls++;
          const code = inject;
          inject = undefined;
          if (code)
            throw new TransactionCanceledException({
              message: 'Transaction cancelled (injected)',
              $metadata: {},
              CancellationReasons: [{ Code: 'None' }, { Code: code }],
            });
        }
        return next(args);
      },
      { step: 'initialize', name: 'cancelOnce' },
    );
    const store = new DynamoJobStore({ client, tableName: TABLE, retryBaseMs: 1 });
    const job = spec(2);
    await store.createJob(job);
    inject = 'TransactionConflict';
    expect(await store.completeChunk(job.id, 0, data(0))).toMatchObject({ first: true, done: 1 });
    expect(calls).toBe(2);
    inject = 'ValidationError';
    await expect(store.completeChunk(job.id, 1, data(1))).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    expect((await store.getJob(job.id))?.done).toBe(1);
    client.destroy();
  });

  /** A DynamoDB client whose first `failures` requests get this HTTP error instead of reaching moto. */
  function throttledClient(failures: number, status: number, type: string) {
    const real = createDynamoClient(cloud.clientOptions);
    const handler = real.config.requestHandler;
    let requests = 0;
    const client = createDynamoClient({ ...cloud.clientOptions, maxAttempts: 3 });
    client.config.requestHandler = {
      handle: async (
        request: Parameters<typeof handler.handle>[0],
        options?: Parameters<typeof handler.handle>[1],
      ) => {
        requests++;
        if (requests > failures) return handler.handle(request, options);
        const body = JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${type}`,
          message: 'injected',
        });
        return {
          response: {
            statusCode: status,
            reason: 'injected',
            headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type },
            body: Readable.from([Buffer.from(body)]),
          },
        };
      },
      updateHttpClientConfig: () => {},
      httpHandlerConfigs: () => ({}),
    } as typeof handler;
    return {
      client,
      requests: () => requests,
      destroy: () => {
        real.destroy();
        client.destroy();
      },
    };
  }

  it('lets the SDK retry throttling, then surfaces it after maxAttempts', async () => {
    const job = spec(1);
    await new DynamoJobStore({ client: dynamo, tableName: TABLE }).createJob(job);
    const recovering = throttledClient(2, 400, 'ProvisionedThroughputExceededException');
    expect(
      (await new DynamoJobStore({ client: recovering.client, tableName: TABLE }).getJob(job.id))?.id,
    ).toBe(job.id);
    // Three attempts of the read of the job item (a store that has not seen the job learns its
    // shards), then the read of the job with its counters.
    expect(recovering.requests()).toBe(4);
    recovering.destroy();

    const failing = throttledClient(Number.POSITIVE_INFINITY, 400, 'ProvisionedThroughputExceededException');
    const reading = new DynamoJobStore({ client: failing.client, tableName: TABLE }).getJob(job.id);
    await expect(reading).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    await expect(reading).rejects.toMatchObject({ $metadata: { attempts: 3 } });
    expect(failing.requests()).toBe(3);
    failing.destroy();
  }, 20_000);

  it('lets the SDK retry a 500, and surfaces a 500 that persists', async () => {
    const job = spec(1);
    const recovering = throttledClient(1, 500, 'InternalServerError');
    expect(
      (await new DynamoJobStore({ client: recovering.client, tableName: TABLE }).createJob(job)).created,
    ).toBe(true);
    expect(recovering.requests()).toBe(2);
    recovering.destroy();
    const failing = throttledClient(Number.POSITIVE_INFINITY, 500, 'InternalServerError');
    await expect(
      new DynamoJobStore({ client: failing.client, tableName: TABLE }).completeChunk(job.id, 0, data(0)),
    ).rejects.toMatchObject({
      name: 'InternalServerError',
      $metadata: { httpStatusCode: 500, attempts: 3 },
    });
    expect(failing.requests()).toBe(3);
    failing.destroy();
  }, 20_000);

  it('finishes a job whose initial value and result are both at the inline limit', async () => {
    const store = new DynamoJobStore({ client: dynamo, tableName: TABLE });
    const big: Data = { enc: 'v8', bytes: new Uint8Array(store.maxInlineBytes).fill(7) };
    const job: JobSpec = { ...spec(1), kind: 'mapReduce', reducer: 'r', initial: big };
    expect((await store.createJob(job)).job.initial).toEqual(big);
    await store.completeChunk(job.id, 0, big);
    const claim = await store.claimFinaliser(job.id, 'me', 10_000);
    if (!claim.claimed) throw new Error('claim should succeed');
    expect(await store.finishJob(job.id, 'me', claim.fence, big)).toBe(true);
    const done = await store.getJob(job.id);
    expect(done?.status).toBe('DONE');
    expect(done?.result).toEqual(big);
    expect(done?.initial).toBeUndefined();
  });

  it('reads more results than one BatchGetItem takes, and releases the job without deleting them', async () => {
    const store = new DynamoJobStore({ client: dynamo, tableName: TABLE });
    const job = spec(130);
    await store.createJob(job);
    for (let i = 0; i < 130; i += 10)
      await Promise.all(
        Array.from({ length: 10 }, (_, k) => store.completeChunk(job.id, i + k, data(i + k))),
      );
    const all = Array.from({ length: 135 }, (_, i) => i);
    const found = await store.readResults(job.id, all);
    expect(found.size).toBe(130);
    expect([...((found.get(129) as { bytes: Uint8Array }).bytes ?? [])]).toEqual([129]);
    await store.releaseJob(job.id);
    // A tombstone: the records stay until their TTL, which is the job's deadline plus a day.
    expect((await store.readResults(job.id, all)).size).toBe(130);
    const items = await dynamo.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `JOB#${job.id}#0` } },
      }),
    );
    const ttl = Math.ceil(job.deadline / 1000) + 86_400;
    expect(items.Items?.length).toBe(131);
    expect(items.Items?.every((it) => it.expiresAt?.N === String(ttl))).toBe(true);
  });
});

describe('S3BlobStore', () => {
  it('deletes more keys than one ListObjectsV2 page and DeleteObjects call hold', async () => {
    const blobs = new S3BlobStore({ client: s3, bucket: BUCKET, prefix: `many-${randomUUID()}/` });
    const keys = Array.from({ length: 1_030 }, (_, i) => `p/${i}`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((k) => blobs.put(k, new Uint8Array([1]))));
    await blobs.put('q/kept', new Uint8Array([2]));
    await blobs.deletePrefix('p/');
    await expect(blobs.get('p/1029')).rejects.toBeInstanceOf(ProtocolError);
    await expect(blobs.get('p/0')).rejects.toBeInstanceOf(ProtocolError);
    expect([...(await blobs.get('q/kept'))]).toEqual([2]);
  }, 60_000);

  it('names the missing key in the ProtocolError', async () => {
    const blobs = new S3BlobStore({ client: s3, bucket: BUCKET, prefix: 'named/' });
    await expect(blobs.get('nope')).rejects.toThrow(`s3://${BUCKET}/named/nope`);
  });
});

describe('client factories', () => {
  it('resolve the explicit endpoint, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL', () => {
    const env = { AWS_ENDPOINT_URL_SQS: 'http://sqs.test', AWS_ENDPOINT_URL: 'http://all.test' };
    expect(resolveEndpoint('SQS', 'http://given.test', env)).toBe('http://given.test');
    expect(resolveEndpoint('SQS', undefined, env)).toBe('http://sqs.test');
    expect(resolveEndpoint('S3', undefined, env)).toBe('http://all.test');
    expect(
      resolveEndpoint('S3', undefined, { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }),
    ).toBeUndefined();
    expect(resolveEndpoint('DYNAMODB', undefined, {})).toBeUndefined();
  });

  it('reach the emulator through AWS_ENDPOINT_URL_SQS alone, as a plain SDK client does', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = cloud.emulators.endpoint;
    try {
      const { region, credentials } = cloud.clientOptions;
      const ours = createSqsClient({ region, credentials });
      const plain = new SQSClient({ region, credentials });
      expect((await ours.send(new ListQueuesCommand({}))).$metadata.httpStatusCode).toBe(200);
      expect((await plain.send(new ListQueuesCommand({}))).$metadata.httpStatusCode).toBe(200);
      ours.destroy();
      plain.destroy();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = saved;
    }
  });
});

describe('setupAws()', () => {
  it('is idempotent, and brings an existing queue up to date', async () => {
    const name = `setup-${randomUUID().slice(0, 8)}`;
    const options = {
      clients: { sqs, dynamo, s3 },
      tableName: `t-${name}`,
      bucket: `b-${name}`,
      queue: { name },
    };
    const first = await setupAws(options);
    const again = await setupAws({
      ...options,
      queue: { name, visibilityTimeoutSeconds: 7, maxReceiveCount: 2 },
    });
    expect(again).toEqual(first);
    queues.push(first.queueUrl, first.deadLetterQueueUrl);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: first.queueUrl,
        AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
      }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('7');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 2 });
  });
});
