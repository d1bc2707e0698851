/**
 * The three Lambda handlers, invoked in-process with the events Lambda builds, on the AWS adapters
 * over moto: the test plays the event source mappings (batches received from the real queues,
 * records deleted unless the partial batch response lists them) and the synchronous invoke of the
 * coordinator (JSON both ways).
 */
import { randomUUID } from 'node:crypto';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { awsBackend } from '../../src/aws/backend.js';
import { createDynamoClient } from '../../src/aws/clients.js';
import { toJsonSafe } from '../../src/aws/json-bytes.js';
import { createCoordinatorHandler } from '../../src/aws/lambda/coordinator.js';
import { ENV } from '../../src/aws/lambda/env.js';
import { decodeList, encodeItems, unspill } from '../../src/engine/codec.js';
import { AwsError, ErrorCodes, ProtocolError } from '../../src/errors.js';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';
import { useCloudTier } from '../support/cloud.js';
import { deliverBatch, lambdaJson, receiveRecords, settle } from './esm.js';
import {
  drainQueue as drainStackQueue,
  type HandlerStack,
  handlerStacks,
  job,
  ok,
  results,
  runInvoked,
  submit,
} from './handler-stack.js';

const TABLE = 'fanfold-handlers';
const BUCKET = 'fanfold-handlers';
const MAX_RECEIVE_COUNT = 2;

const cloud = await useCloudTier();
const { sqs } = cloud.clients;
const { deploy } = await handlerStacks(cloud, {
  table: TABLE,
  bucket: BUCKET,
  maxReceiveCount: MAX_RECEIVE_COUNT,
});
/** Runs the work queue's ESM until the queue is drained. */
const drainQueue = (s: HandlerStack) => drainStackQueue(s, cloud);

describe('coordinator handler', () => {
  it('submits a map job whose chunks, run by the worker handler from the real queue, give exact results', async () => {
    const s = await deploy();
    const items = Array.from({ length: 100 }, (_, i) => i);
    const res = await ok(s, submit('map-1', 'square', items, { chunksize: 7 }));
    expect(res).toMatchObject({ jobId: 'map-1', created: true, total: 15 });

    await drainQueue(s);

    const j = await job(s, 'map-1');
    expect(j).toMatchObject({ status: 'DONE', done: 15, total: 15 });
    expect(await results(s, j)).toEqual(items.map((n) => n * n));
    expect(s.errors).toEqual([]);
  });

  it('creates one job when invoked twice with the same job id, and its results are exact', async () => {
    const s = await deploy();
    const req = submit('twice-1', 'square', [1, 2, 3, 4, 5, 6], { chunksize: 2 });
    const first = await ok(s, req);
    const second = await ok(s, req);
    expect(first).toMatchObject({ created: true, total: 3 });
    expect(second).toMatchObject({ created: false, total: 3 });

    // The retried submit sent every chunk again: six messages, three chunks recorded once each.
    // Two deliveries of one batch may both see the last chunk recorded: both are acknowledged.
    await drainQueue(s);

    const j = await job(s, 'twice-1');
    expect(j).toMatchObject({ status: 'DONE', done: 3, total: 3 });
    expect(await results(s, j)).toEqual([1, 4, 9, 16, 25, 36]);
  });

  it("refuses a second submit under a job id with other items, and the job ends with the first items' results", async () => {
    const s = await deploy();
    const first = submit('again-1', 'square', [1, 2, 3, 4], { chunksize: 1 });
    expect(await ok(s, first)).toMatchObject({ created: true, total: 4 });
    const other = await s.coordinator(submit('again-1', 'square', [100, 200, 300, 400], { chunksize: 1 }));
    expect(other).toMatchObject({
      ok: false,
      error: { code: ErrorCodes.JOB_CONFLICT, name: 'JobConflictError' },
    });
    // Another task, or another cut of the same items, is another request too.
    for (const req of [
      submit('again-1', 'failOn', [1, 2, 3, 4], { chunksize: 1 }),
      submit('again-1', 'square', [1, 2, 3, 4], { chunksize: 2 }),
    ])
      expect(await s.coordinator(req)).toMatchObject({ ok: false, error: { code: ErrorCodes.JOB_CONFLICT } });
    // The same request again is a retry: idempotent, as before.
    expect(await ok(s, first)).toMatchObject({ created: false, total: 4 });

    await drainQueue(s);
    const j = await job(s, 'again-1');
    expect(j).toMatchObject({ status: 'DONE', done: 4, total: 4 });
    expect(await results(s, j)).toEqual([1, 4, 9, 16]);
  });

  it('runs a mapReduce job over a range to its one folded result', async () => {
    const s = await deploy();
    await ok(s, {
      v: 1,
      type: 'submit',
      jobId: 'reduce-1',
      kind: 'mapReduce',
      task: 'square',
      reducer: 'sum',
      input: { kind: 'range', start: 0, stop: 1000, step: 1 },
      workers: 4,
      deadline: Date.now() + 600_000,
    });
    await drainQueue(s);
    const j = await job(s, 'reduce-1');
    expect(j.status).toBe('DONE');
    expect(decodeList(await unspill(j.result!, s.backend.blobs))[0]).toBe(332_833_500);
  });

  it('refuses a malformed request, a "values" input and an unknown task, creating nothing', async () => {
    const s = await deploy();
    const values = { ...submit('bad-1', 'square', [1]), input: { kind: 'values', items: [1] } };
    const refused = await Promise.all([
      s.coordinator({ v: 2, type: 'submit' }),
      s.coordinator(values),
      s.coordinator(submit('bad-2', 'rm -rf', [1])),
      s.coordinator(submit('bad-3', 'toString', [1])),
    ]);
    expect(refused.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      ErrorCodes.PROTOCOL,
      ErrorCodes.PROTOCOL,
      ErrorCodes.UNKNOWN_TASK,
      ErrorCodes.UNKNOWN_TASK,
    ]);
    for (const id of ['bad-1', 'bad-2', 'bad-3']) expect(await s.backend.store.getJob(id)).toBeUndefined();
    expect(await receiveRecords(sqs, s.queueUrl, s.queueArn)).toEqual([]);
  });

  it('fans a job out through requests to itself: seven leaves of at most 6, drain workers, exact results', async () => {
    const s = await deploy({ env: { [ENV.leafChunks]: '6', [ENV.workerBurst]: '5' } });
    const res = await ok(s, {
      v: 1,
      type: 'submit',
      jobId: 'tree-1',
      kind: 'map',
      task: 'square',
      input: { kind: 'range', start: 0, stop: 40, step: 1 },
      chunksize: 1,
      workers: 4,
      deadline: Date.now() + 600_000,
    });
    expect(res).toMatchObject({ created: true, total: 40 });
    // 40 chunks over leaves of at most 6: seven ranges, none sent by the root.
    expect(s.invoked).toHaveLength(7);
    expect(await receiveRecords(sqs, s.queueUrl, s.queueArn)).toEqual([]);
    expect(await runInvoked(s)).toBe(7);
    await drainQueue(s);
    const j = await job(s, 'tree-1');
    expect(j).toMatchObject({ status: 'DONE', done: 40, total: 40 });
    expect(await results(s, j)).toEqual(Array.from({ length: 40 }, (_, i) => i * i));
    // One drain worker per 10 chunks (40 / a burst of 5 is 8, below a receive's ten), rounded up
    // per leaf.
    expect(s.drains.reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('hands the rest of a leaf on when its budget runs out, one group per invocation', async () => {
    const s = await deploy({ env: { [ENV.leafChunks]: '80', [ENV.fanoutBudgetMs]: '1' } });
    // Groups of 10 (a leaf of 80 checks its budget 8 times): 35 chunks take four invocations.
    await ok(s, {
      v: 1,
      type: 'submit',
      jobId: 'budget-1',
      kind: 'map',
      task: 'square',
      input: { kind: 'range', start: 0, stop: 35, step: 1 },
      chunksize: 1,
      workers: 4,
      deadline: Date.now() + 600_000,
    });
    expect(s.invoked).toEqual([{ v: 1, type: 'fanout', jobId: 'budget-1', from: 10, to: 35 }]);
    expect(await runInvoked(s)).toBe(3);
    await drainQueue(s);
    const j = await job(s, 'budget-1');
    expect(j).toMatchObject({ status: 'DONE', done: 35 });
    expect(await results(s, j)).toEqual(Array.from({ length: 35 }, (_, i) => i * i));
  });

  it('throws the errors of a fanout request instead of answering them (no caller: Lambda retries it)', async () => {
    const s = await deploy({ env: { [ENV.leafChunks]: '2' } });
    await expect(s.invokeAsync({ v: 1, type: 'fanout', jobId: 'x', from: 3, to: 1 })).rejects.toBeInstanceOf(
      ProtocolError,
    );
    // A job whose segments were never uploaded: its leaves cannot read their index.
    await ok(s, {
      v: 1,
      type: 'submit',
      jobId: 'no-segments',
      kind: 'map',
      task: 'identity',
      input: {
        kind: 'segments',
        blob: 'jobs/no-segments/input',
        enc: 'v8',
        items: 5,
        chunksize: 1,
        indexAt: 40,
      },
      workers: 4,
      deadline: Date.now() + 600_000,
    });
    const [leaf] = s.invoked;
    await expect(s.invokeAsync(leaf)).rejects.toBeInstanceOf(ProtocolError);
  });

  it('throws an SDK failure as AwsError, the SDK error as cause, so that the caller retries and sees what failed', async () => {
    // moto answers ResourceNotFoundException: the table the coordinator writes to does not exist.
    const missing = 'fanfold-handlers-no-such-table';
    const s = await deploy();
    const handler = createCoordinatorHandler({
      tasks,
      env: { ...s.env, [ENV.table]: missing },
      backend: (env) =>
        awsBackend({
          tableName: env.table,
          queueUrl: env.queueUrl,
          deadLetterQueueUrl: env.deadLetterQueueUrl,
          bucket: env.bucket,
          clients: cloud.clients,
        }),
    });
    for (const req of [
      submit('missing-table', 'square', [1, 2]),
      { v: 1, type: 'fanout', jobId: 'j', from: 0, to: 1 },
    ]) {
      const thrown = await handler(toJsonSafe(req)).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(AwsError);
      expect(thrown).toMatchObject({ code: ErrorCodes.AWS_FAILED, awsName: 'ResourceNotFoundException' });
      expect((thrown as AwsError).operation).toMatch(/^the coordinator handling the (submit|fanout) request/);
      expect((thrown as AwsError).cause).not.toBeInstanceOf(AwsError);
    }
  });

  it('throws when the environment lacks a variable (a deployment fault, not the request’s)', async () => {
    const handler = createCoordinatorHandler({ tasks, env: {} });
    await expect(handler(toJsonSafe({ v: 1, type: 'release', jobId: 'j' }))).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
    });
  });
});

describe('worker handler', () => {
  it('records a message delivered twice in one batch once', async () => {
    const s = await deploy({ visibilityTimeoutSeconds: 30 });
    await ok(s, submit('dup-1', 'square', [2, 3], { chunksize: 2 }));
    // The same message twice: received, made visible again, received again (a new receipt).
    const [first] = await receiveRecords(sqs, s.queueUrl, s.queueArn);
    await s.backend.queue.setVisibility([first!.receiptHandle], 0);
    const [again] = await receiveRecords(sqs, s.queueUrl, s.queueArn);
    expect(again!.messageId).toBe(first!.messageId);
    expect(again!.attributes.ApproximateReceiveCount).toBe('2');

    const records = [first!, again!];
    const response = await s.worker(lambdaJson({ Records: records }));
    expect(response.batchItemFailures).toEqual([]);
    await settle(sqs, s.queueUrl, records, response);

    const j = await job(s, 'dup-1');
    expect(j).toMatchObject({ status: 'DONE', done: 1, total: 1 });
    expect(await results(s, j)).toEqual([4, 9]);
  });

  it('reports a malformed record for retry (then the redrive policy dead-letters it) and runs the rest', async () => {
    const s = await deploy({ visibilityTimeoutSeconds: 1 });
    await ok(s, submit('mixed-1', 'square', [5], { chunksize: 1 }));
    await sqs.send(new SendMessageCommand({ QueueUrl: s.queueUrl, MessageBody: 'not json' }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: s.queueUrl,
        MessageBody: JSON.stringify({ v: 2, type: 'chunk', jobId: 'mixed-1' }),
      }),
    );
    const records = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 });
    expect(records).toHaveLength(3);
    const response = await s.worker(lambdaJson({ Records: records }));
    await settle(sqs, s.queueUrl, records, response);

    const malformed = records.filter((r) => r.body === 'not json' || r.body.startsWith('{"v":2'));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      malformed.map((r) => r.messageId).sort(),
    );
    expect(await results(s, await job(s, 'mixed-1'))).toEqual([25]);
    expect(s.errors).toHaveLength(2);

    // Each comes back after its visibility timeout; past maxReceiveCount SQS moves it to the DLQ,
    // where the dead-letter handler reports it and drops it.
    const dead = new Set<string>();
    for (let round = 0; dead.size < 2 && round < 20; round++) {
      await deliverBatch(sqs, s.queueUrl, s.queueArn, s.worker, { waitSeconds: 1 });
      const { records: letters, response: r } = await deliverBatch(sqs, s.dlqUrl, s.dlqArn, s.dlq);
      expect(r.batchItemFailures).toEqual([]);
      for (const l of letters) dead.add(l.messageId);
    }
    expect([...dead].sort()).toEqual(malformed.map((r) => r.messageId).sort());
  });

  it('fails the job with the task error and its remote stack, and acknowledges', async () => {
    const s = await deploy();
    await ok(s, submit('fail-1', 'failOn', [1, 2, 3, 4, 5, 6, 7, 8, 9], { chunksize: 3 }));
    const records = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 });
    expect(records).toHaveLength(3);
    const response = await s.worker(lambdaJson({ Records: records }));
    expect(response.batchItemFailures).toEqual([]);
    await settle(sqs, s.queueUrl, records, response);

    const j = await job(s, 'fail-1');
    expect(j.status).toBe('FAILED');
    expect(j.error).toMatchObject({
      reason: 'task',
      name: 'RangeError',
      message: 'seven is not allowed',
      chunkIndex: 2,
      itemIndex: 6,
    });
    expect(j.error?.stack).toContain('failOn');
    expect(await receiveRecords(sqs, s.queueUrl, s.queueArn)).toEqual([]);
  });

  it('skips the queued chunks of a cancelled job without running them', async () => {
    const s = await deploy();
    // Run, this chunk would kill its thread and be reported for retry.
    await ok(s, submit('cancel-1', 'crash', [3], { chunksize: 1 }));
    await ok(s, { v: 1, type: 'cancel', jobId: 'cancel-1', reason: 'the pool was terminated' });
    await drainQueue(s);
    expect((await job(s, 'cancel-1')).status).toBe('CANCELLED');
    expect(s.errors).toEqual([]);
  });

  it('records a finished chunk while its slow neighbour on the same thread still runs', async () => {
    // One thread: both one-item chunks share its round trip, the fast one first. Its result must be
    // recorded while the slow one waits at its gate (imapUnordered yields it), not with the group.
    const s = await deploy({ env: { [ENV.threads]: '1' } });
    const fastKey = `group-fast-${randomUUID()}`;
    const slowKey = `group-slow-${randomUUID()}`;
    const fast = gateKeeper(fastKey);
    const slow = gateKeeper(slowKey);
    try {
      await ok(s, submit('group-1', 'gate', [fastKey, slowKey], { chunksize: 1 }));
      const records = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 });
      expect(records).toHaveLength(2);
      const running = s.worker(lambdaJson({ Records: records }));
      await fast.started();
      fast.open();
      // The slow chunk starts only once the fast one has returned, on the same thread.
      await slow.started();
      // Generous: the fast result is on its way before the slow gate starts; only a result held
      // back for the group fails this.
      const until = Date.now() + 20_000;
      let recorded = await s.backend.store.readResults('group-1', [0]);
      while (!recorded.has(0) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        recorded = await s.backend.store.readResults('group-1', [0]);
      }
      expect([...recorded.keys()]).toEqual([0]);
      expect((await job(s, 'group-1')).done).toBe(1);
      slow.open();
      expect(await running).toEqual({ batchItemFailures: [] });
      expect(await results(s, await job(s, 'group-1'))).toEqual([fastKey, slowKey]);
    } finally {
      fast.open();
      slow.open();
      fast.close();
      slow.close();
    }
  }, 60_000);

  it('stops a running chunk of a job cancelled meanwhile, and acknowledges it', async () => {
    const s = await deploy();
    const key = `cancel-2-${randomUUID()}`;
    const gate = gateKeeper(key);
    try {
      // `gate` says it started, then waits until the test opens it, which it does only at the
      // end: the batch can end only if the cancel stopped the running chunk.
      await ok(s, submit('cancel-2', 'gate', [key], { chunksize: 1 }));
      const records = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 });
      const running = s.worker(lambdaJson({ Records: records }));
      await gate.started();
      await ok(s, { v: 1, type: 'cancel', jobId: 'cancel-2', reason: 'the pool was terminated' });
      expect(await running).toEqual({ batchItemFailures: [] });
      expect((await job(s, 'cancel-2')).status).toBe('CANCELLED');
    } finally {
      gate.open();
      gate.close();
    }
  });

  it('holds back a last chunk while another party holds the finaliser lease, and finalises once it ends', async () => {
    const s = await deploy({ leaseMs: 1_000 });
    await ok(s, submit('lease-1', 'square', [3], { chunksize: 1 }));
    // Another host recorded the chunk and claimed the finaliser, then died.
    const other = await job(s, 'lease-1');
    await s.backend.store.completeChunk(other.id, 0, encodeItems([9], 0));
    // The dead host's lease must outlast the receive and the worker's run below, which take
    // longer beside other work: a fixed 1.5 s ran out first at load 30, and the worker finalised.
    const lease = cloud.scaled(1_500);
    const claim = await s.backend.store.claimFinaliser(other.id, 'dead-host', lease);
    expect(claim.claimed).toBe(true);

    const records = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 });
    const response = await s.worker(lambdaJson({ Records: records }));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.messageId }]);
    await settle(sqs, s.queueUrl, records, response);
    // Hidden on the real queue until the lease ends, not for the queue's 30-second timeout.
    expect(await receiveRecords(sqs, s.queueUrl, s.queueArn)).toEqual([]);
    // Back once the lease ends: well before the queue's 30 s (SQS waits at most 20 s).
    const back = await receiveRecords(sqs, s.queueUrl, s.queueArn, {
      waitSeconds: Math.min(20, Math.ceil(lease / 1000) + 5),
    });
    expect(back.map((r) => r.messageId)).toEqual([records[0]!.messageId]);
    const finished = await s.worker(lambdaJson({ Records: back }));
    expect(finished.batchItemFailures).toEqual([]);

    const j = await job(s, 'lease-1');
    expect(j.status).toBe('DONE');
    expect(await results(s, j)).toEqual([9]);
  });

  it('throws on an event that is not an SQS batch', async () => {
    const s = await deploy();
    await expect(s.worker({ Records: [{ eventSource: 'aws:kinesis' }] })).rejects.toMatchObject({
      code: ErrorCodes.PROTOCOL,
    });
  });
});

describe('dead-letter handler', () => {
  it('fails the job of a chunk whose thread crashed on every delivery, with the last error', async () => {
    const s = await deploy({ visibilityTimeoutSeconds: 1 });
    await ok(s, submit('crash-1', 'crash', [1, 2, 3], { chunksize: 3 }));
    let failed = false;
    for (let round = 0; !failed && round < 20; round++) {
      await deliverBatch(sqs, s.queueUrl, s.queueArn, s.worker, { waitSeconds: 1 });
      const { response } = await deliverBatch(sqs, s.dlqUrl, s.dlqArn, s.dlq);
      expect(response.batchItemFailures).toEqual([]);
      failed = (await job(s, 'crash-1')).status === 'FAILED';
    }
    const j = await job(s, 'crash-1');
    expect(j.error).toMatchObject({
      reason: 'retries',
      name: 'RetriesExhaustedError',
      attempts: MAX_RECEIVE_COUNT,
      chunkIndex: 0,
      cause: { name: 'WorkerCrashedError' },
    });
  });

  it("fails the job of a fan-out whose invocation failed for good, from Lambda's invocation record", async () => {
    const s = await deploy({ env: { [ENV.leafChunks]: '4' } });
    await ok(s, {
      v: 1,
      type: 'submit',
      jobId: 'lost-fanout',
      kind: 'map',
      task: 'square',
      input: { kind: 'range', start: 0, stop: 12, step: 1 },
      chunksize: 1,
      workers: 4,
      deadline: Date.now() + 600_000,
    });
    const record = (requestPayload: unknown, context: object = {}) =>
      JSON.stringify({
        version: '1.0',
        timestamp: new Date().toISOString(),
        requestContext: {
          requestId: randomUUID(),
          functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:coordinator:$LATEST',
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
          ...context,
        },
        requestPayload,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: {
          errorType: 'Sandbox.Timedout',
          errorMessage: 'Task timed out after 60.00 seconds',
        },
      });
    for (const body of [
      record(s.invoked[1]),
      record({ v: 1, type: 'release', jobId: 'lost-fanout' }),
      record({ v: 1, type: 'fanout', jobId: 'lost-fanout', from: 2, to: 1 }),
      record(s.invoked[0], { approximateInvokeCount: 'three' }),
    ])
      await sqs.send(new SendMessageCommand({ QueueUrl: s.dlqUrl, MessageBody: body }));
    const letters = await receiveRecords(sqs, s.dlqUrl, s.dlqArn, { waitSeconds: 1 });
    expect(letters).toHaveLength(4);
    expect(await s.dlq(lambdaJson({ Records: letters }))).toEqual({ batchItemFailures: [] });
    expect((await job(s, 'lost-fanout')).error).toEqual({
      reason: 'fanout',
      name: 'FanoutFailedError',
      code: ErrorCodes.FANOUT_FAILED,
      message:
        'The fan-out of chunks 4 to 7 of job lost-fanout failed 3 attempts; last error: Sandbox.Timedout: Task timed out after 60.00 seconds',
      attempts: 3,
      cause: { name: 'Sandbox.Timedout', message: 'Task timed out after 60.00 seconds' },
    });
    // The release's failure, the malformed request and the malformed record: reported, deleted.
    expect(s.errors).toHaveLength(3);
    expect(await receiveRecords(sqs, s.dlqUrl, s.dlqArn, { waitSeconds: 1 })).toEqual([]);
  });

  it('keeps a healthy job running when forged, out-of-range or stale dead letters name it', async () => {
    const s = await deploy();
    await ok(s, submit('healthy-1', 'square', [1, 2, 3], { chunksize: 1 }));
    const taken: Awaited<ReturnType<typeof receiveRecords>> = [];
    while (taken.length < 3)
      taken.push(...(await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 })));
    const [first, ...rest] = taken as [(typeof taken)[0], ...typeof taken];
    // Chunk `first` is recorded by its delivery; a stale copy of it then reaches the DLQ.
    const ran = await s.worker(lambdaJson({ Records: [first] }));
    await settle(sqs, s.queueUrl, [first], ran);
    const base = JSON.parse(first.body) as Record<string, unknown>;
    const letters = [
      first.body,
      JSON.stringify({ ...base, index: 3 }),
      JSON.stringify({ ...base, index: 1_000_000 }),
      JSON.stringify({ ...base, task: 'failOn' }),
      JSON.stringify({ ...base, jobId: 'no-such-job' }),
      JSON.stringify({ v: 1, type: 'finalise', jobId: 'healthy-1' }),
      '{"v":1,"type":"chunk","jobId":"healthy-1","index":"0"}',
    ];
    for (const body of letters)
      await sqs.send(new SendMessageCommand({ QueueUrl: s.dlqUrl, MessageBody: body }));
    let handled = 0;
    while (handled < letters.length) {
      const { records, response } = await deliverBatch(sqs, s.dlqUrl, s.dlqArn, s.dlq, { waitSeconds: 1 });
      expect(response.batchItemFailures).toEqual([]);
      handled += records.length;
    }
    expect(await job(s, 'healthy-1')).toMatchObject({ status: 'RUNNING', done: 1 });
    // Every letter but the stale copy was reported, as a protocol error.
    expect(s.errors).toHaveLength(letters.length - 1);
    for (const e of s.errors) expect(e).toBeInstanceOf(ProtocolError);

    const response = await s.worker(lambdaJson({ Records: rest }));
    await settle(sqs, s.queueUrl, rest, response);
    const j = await job(s, 'healthy-1');
    expect(j).toMatchObject({ status: 'DONE', done: 3, total: 3 });
    expect(await results(s, j)).toEqual([1, 4, 9]);
  });

  it('fails the job of a poison message, and reports for retry only the record whose handling threw', async () => {
    const throttled = createDynamoClient(cloud.clientOptions);
    throttled.middlewareStack.add(
      (next) => async (args) => {
        if (JSON.stringify(args.input).includes('poison-throttled'))
          throw new ProvisionedThroughputExceededException({ message: 'injected', $metadata: {} });
        return next(args);
      },
      { step: 'initialize', name: 'throttleOneJob' },
    );
    const s = await deploy({ dlqDynamo: throttled });
    try {
      for (const jobId of ['poison-1', 'poison-throttled'])
        await ok(s, submit(jobId, 'square', [1], { chunksize: 1 }));
      // Take the chunk messages off the work queue, and put them on the DLQ as the redrive would.
      const taken = await receiveRecords(sqs, s.queueUrl, s.queueArn, { waitSeconds: 1 });
      for (const r of taken)
        await sqs.send(new SendMessageCommand({ QueueUrl: s.dlqUrl, MessageBody: r.body }));
      await sqs.send(new SendMessageCommand({ QueueUrl: s.dlqUrl, MessageBody: '{"v":1}' }));

      const letters = await receiveRecords(sqs, s.dlqUrl, s.dlqArn, { waitSeconds: 1 });
      expect(letters).toHaveLength(3);
      const response = await s.dlq(lambdaJson({ Records: letters }));
      const throttledId = letters.find((l) => l.body.includes('poison-throttled'))!.messageId;
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: throttledId }]);

      expect((await job(s, 'poison-1')).error).toMatchObject({
        reason: 'retries',
        name: 'RetriesExhaustedError',
        chunkIndex: 0,
      });
      expect((await job(s, 'poison-throttled')).status).toBe('RUNNING');
      expect(s.errors.map((e) => (e as { name?: string }).name).sort()).toEqual([
        'ProtocolError',
        'ProvisionedThroughputExceededException',
      ]);
    } finally {
      throttled.destroy();
    }
  });
});
