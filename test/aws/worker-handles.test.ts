/**
 * The worker Lambda's threads and primitives: a handle in a chunk is revived on the function's own
 * resources (FANFOLD_TABLE, FANFOLD_BUCKET, FANFOLD_QUEUE_PREFIX, sent to each thread), so a task
 * operates on the same DynamoDB item as the caller; a Process chunk runs on a thread named as the
 * process; a handle of the local context fails its task clearly. The job store and queue are in
 * memory (the handler's injected backend): only the primitives talk to moto.
 */
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ENV } from '../../src/aws/lambda/env.js';
import type { SqsRecord } from '../../src/aws/lambda/events.js';
import { QUEUE_PREFIX_ENV } from '../../src/aws/lambda/thread-sync.js';
import { createWorkerHandler, type WorkerHandler } from '../../src/aws/lambda/worker.js';
import { ensureBucket, ensureTable } from '../../src/aws/setup.js';
import type { AwsSyncEnv } from '../../src/aws/sync/env.js';
import { awsPrimitives } from '../../src/aws/sync/index.js';
import { encodeBody } from '../../src/aws/wire.js';
import { decodeList, encodeItems, unspill } from '../../src/engine/codec.js';
import { SHARE, type Shareable } from '../../src/handles.js';
import { bundle } from '../../src/local/bundle.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import { localPrimitives } from '../../src/local/sync/index.js';
import type { WorkMessage } from '../../src/ports.js';
import { pointSdkAt, useCloudTier } from '../support/cloud.js';

const TABLE = `fanfold-worker-handles-${randomUUID().slice(0, 8)}`;
const BUCKET = `fanfold-worker-handles-${randomUUID().slice(0, 8)}`;
const cloud = await useCloudTier();
const { clients } = cloud;
// The threads' SDK clients read these (threads copy process.env when they start).
pointSdkAt(cloud.emulators);
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const entry =
  `import registry from ${JSON.stringify(`${fixtures}process-tasks.ts`)};\n` +
  `import { serveWorkerTasks } from ${JSON.stringify(fileURLToPath(new URL('../../src/aws/lambda/thread-sync.ts', import.meta.url)))};\n` +
  'serveWorkerTasks(registry);\n';
const [file] = await Promise.all([
  bundle({ contents: entry, resolveDir: dirname(fixtures), name: 'worker-handles-thread' }),
  ensureTable(clients.dynamo, TABLE),
  ensureBucket(clients.s3, BUCKET),
]);
const script = pathToFileURL(file);

interface Function {
  readonly worker: WorkerHandler;
  readonly backend: MemoryBackend;
}
const functions: Function[] = [];
afterEach(async () => {
  for (const f of functions.splice(0)) {
    await f.worker.close();
    f.backend.close();
  }
});

/** A worker function whose environment names the moto table and bucket; its job store is in memory. */
function deploy(threads = 1): Function {
  const backend = memoryBackend();
  const env: NodeJS.ProcessEnv = {
    [ENV.table]: TABLE,
    [ENV.queueUrl]: 'memory://work',
    [ENV.deadLetterQueueUrl]: 'memory://dead',
    [ENV.bucket]: BUCKET,
    [ENV.threads]: String(threads),
    [ENV.maxReceiveCount]: '3',
    [ENV.leaseMs]: '30000',
    [ENV.workers]: '1',
    [QUEUE_PREFIX_ENV]: `fanfold-wh${randomUUID().slice(0, 6)}-`,
  };
  const f = { backend, worker: createWorkerHandler({ script, env, backend: () => backend }) };
  functions.push(f);
  return f;
}

/** The caller's side of the primitives: the same table, bucket and clients. */
function callerEnv(): AwsSyncEnv {
  return {
    table: TABLE,
    bucket: BUCKET,
    queuePrefix: 'fanfold-whcaller-',
    clients: async () => clients,
    leaseMs: 3_000,
    pollMs: { min: 10, max: 200 },
  };
}

type Flags = { handles?: true; process?: string };

/** A job of one chunk of one item (a starmap argument list) in the function's store, and its SQS record. */
async function chunkOf(f: Function, task: string, args: unknown[], flags: Flags) {
  const jobId = randomUUID();
  await f.backend.store.createJob({
    id: jobId,
    kind: 'starmap',
    task,
    total: 1,
    deadline: Date.now() + 60_000,
  });
  const message: WorkMessage = {
    v: 1,
    type: 'chunk',
    jobId,
    index: 0,
    task,
    mode: 'starmap',
    input: { kind: 'items', offset: 0, count: 1, data: encodeItems([args], 0) },
    ...flags,
  };
  const record: SqsRecord = {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: encodeBody(message),
    attributes: { ApproximateReceiveCount: '1' },
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:work',
  };
  return { jobId, record };
}

/** The job once its chunk ran, and the chunk's one result. */
async function outcome(f: Function, jobId: string) {
  const job = await f.backend.store.getJob(jobId);
  const data = (await f.backend.store.readResults(jobId, [0])).get(0);
  const result = data ? decodeList(await unspill(data, f.backend.blobs))[0] : undefined;
  return { job, result };
}

/** Delivers one chunk to the function in a batch of its own; resolves the job afterwards. */
async function runOne(f: Function, task: string, args: unknown[], flags: Flags) {
  const { jobId, record } = await chunkOf(f, task, args, flags);
  const response = await f.worker({ Records: [record] });
  expect(response.batchItemFailures).toEqual([]);
  return outcome(f, jobId);
}

const handleOf = (p: unknown) => (p as Shareable)[SHARE]();

describe('worker Lambda threads', () => {
  it("revive a Value's handle on the function's table: the task's add is the caller's", async () => {
    const f = deploy();
    const value = awsPrimitives(callerEnv()).Value('i', 5);
    await value.get();
    const { job, result } = await runOne(f, 'addToValue', [handleOf(value), 2], { handles: true });
    expect(job?.status).toBe('DONE');
    expect(result).toBe(7);
    expect(await value.get()).toBe(7);
  });

  it('run a Process chunk on a thread named as the process', async () => {
    const f = deploy();
    const { job, result } = await runOne(f, 'processName', [], { process: 'proc-A' });
    expect(job?.status).toBe('DONE');
    expect(result).toBe('proc-A');
  });

  it('run the Process chunks of one batch each on its own thread: five parties of a Barrier all pass on one shared thread', async () => {
    const f = deploy(1);
    const barrier = awsPrimitives(callerEnv()).Barrier(5);
    // Five waiters on one shared thread would fit only four in flight: the fifth would wait behind them forever.
    const chunks = await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        chunkOf(f, 'atBarrier', [handleOf(barrier)], { handles: true, process: `party-${i}` }),
      ),
    );
    const response = await f.worker({ Records: chunks.map((c) => c.record) });
    expect(response.batchItemFailures).toEqual([]);
    const outcomes = await Promise.all(chunks.map((c) => outcome(f, c.jobId)));
    expect(outcomes.map((o) => o.job?.status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE', 'DONE']);
    expect(outcomes.map((o) => o.result).sort()).toEqual([0, 1, 2, 3, 4]);
  }, 60_000);

  it('fail the task with a clear error on a handle of the local context', async () => {
    const f = deploy();
    const lock = localPrimitives().Lock();
    const { job } = await runOne(f, 'isLocked', [handleOf(lock)], { handles: true });
    expect(job?.status).toBe('FAILED');
    expect(job?.error?.name).toBe('ProtocolError');
    expect(job?.error?.message).toMatch(/local context reached an AWS function/);
  });
});
