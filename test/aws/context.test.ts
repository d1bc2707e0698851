/**
 * The `aws()` context end to end on moto: a Pool whose job client invokes the coordinator through a
 * real LambdaClient (its endpoint a tiny HTTP server that runs the coordinator handler in-process,
 * speaking Lambda's Invoke API), while the test plays the event source mappings of the worker and
 * dead-letter functions. Stack discovery reads a CloudFormation stack created in moto.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  waitUntilStackCreateComplete,
} from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { awsBackend } from '../../src/aws/backend.js';
import { aws } from '../../src/aws/context.js';
import { coordinatorInvoker, STACK_OUTPUTS } from '../../src/aws/invoke.js';
import { createCoordinatorHandler } from '../../src/aws/lambda/coordinator.js';
import { createDeadLetterHandler } from '../../src/aws/lambda/dlq.js';
import { ENV } from '../../src/aws/lambda/env.js';
import { createWorkerHandler, type WorkerHandler } from '../../src/aws/lambda/worker.js';
import { awsJobs } from '../../src/aws/operations.js';
import { S3BlobStore } from '../../src/aws/s3-blobs.js';
import { ensureBucket, ensureQueuePair, ensureTable } from '../../src/aws/setup.js';
import { tasksFingerprint } from '../../src/aws/tasks-fingerprint.js';
import { ExitCodes } from '../../src/cli/io.js';
import { runOps } from '../../src/cli/ops.js';
import { blobKeys } from '../../src/engine/blob-keys.js';
import { range } from '../../src/engine/range.js';
import {
  AwsError,
  ErrorCodes,
  InvalidArgumentError,
  JobCancelledError,
  TaskError,
  TasksMismatchError,
  UnknownTaskError,
} from '../../src/errors.js';
import { bundle } from '../../src/local/bundle.js';
import { type CostReport, jobCost } from '../../src/views/cost.js';
import { gateKeeper } from '../fixtures/pool-tasks.js';
import tasks from '../fixtures/process-tasks.js';
import other from '../fixtures/tasks.js';
import { Capture } from '../support/capture.js';
import { pointSdkAt, useCloudTier } from '../support/cloud.js';
import { expectOneBarPerChunk, expectReportAsEstimated } from '../support/job-views.js';
import { deliverBatch, queueArn } from './esm.js';

const TABLE = 'fanfold-context';
const BUCKET = 'fanfold-context';
const COORDINATOR = 'fanfold-coordinator';
const QUEUE_PREFIX = `fanfold-ctx${randomUUID().slice(0, 6)}-`;

const cloud = await useCloudTier();
const { emulators } = cloud;
const { sqs, dynamo, s3 } = cloud.clients;
let lambda: LambdaClient;
let server: Server;
let queueUrl: string;
let dlqUrl: string;
let worker: WorkerHandler;
/** Every coordinator invoke: its request type and payload size. */
const invokes: { type: string; bytes: number }[] = [];
/** While set, the coordinator answers a submit only once this settles (a submission that takes long). */
let holdSubmit: Promise<void> | undefined;
/** While set, the coordinator answers `cancel` requests only once it resolves. */
let cancelGate: Promise<void> | undefined;
/** The ESM pollers run while this is true. */
let polling = false;
let pollers: Promise<void> | undefined;

/** The worker bundle's thread script, as `functions/worker.ts` serves it: AWS handles revived on the function's resources. */
function workerThreadScript(): Promise<string> {
  const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
  const serve = fileURLToPath(new URL('../../src/aws/lambda/thread-sync.ts', import.meta.url));
  return bundle({
    contents:
      `import registry from ${JSON.stringify(`${fixtures}process-tasks.ts`)};\n` +
      `import { serveWorkerTasks } from ${JSON.stringify(serve)};\n` +
      'serveWorkerTasks(registry);\n',
    resolveDir: dirname(fixtures),
    name: 'context-worker-thread',
  });
}

// The worker threads' SDK clients read these (threads copy process.env when they start).
pointSdkAt(emulators);

beforeAll(async () => {
  const script = pathToFileURL(await workerThreadScript()).href;
  const [queues] = await Promise.all([
    ensureQueuePair(sqs, { name: `context-${randomUUID().slice(0, 8)}`, maxReceiveCount: 2 }),
    ensureTable(dynamo, TABLE),
    ensureBucket(s3, BUCKET),
  ]);
  ({ queueUrl, deadLetterQueueUrl: dlqUrl } = queues);
  const env = {
    [ENV.table]: TABLE,
    [ENV.queueUrl]: queueUrl,
    [ENV.deadLetterQueueUrl]: dlqUrl,
    [ENV.bucket]: BUCKET,
    [ENV.threads]: '2',
    [ENV.maxReceiveCount]: '2',
    [ENV.leaseMs]: '30000',
    [ENV.workers]: '4',
    FANFOLD_QUEUE_PREFIX: QUEUE_PREFIX,
  };
  const backend = () =>
    awsBackend({
      tableName: TABLE,
      queueUrl,
      deadLetterQueueUrl: dlqUrl,
      bucket: BUCKET,
      clients: { sqs, dynamo, s3 },
    });
  const coordinator = createCoordinatorHandler({ tasks, env, backend });
  worker = createWorkerHandler({ script, env, backend, watchMs: 100 });
  const dlq = createDeadLetterHandler({ env, backend });

  // Lambda's Invoke API, for one function: POST /2015-03-31/functions/<name>/invocations.
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const name = decodeURIComponent(/\/functions\/([^/]+)\/invocations/.exec(req.url ?? '')?.[1] ?? '');
      if (name !== COORDINATOR) {
        res
          .writeHead(404, { 'x-amzn-errortype': 'ResourceNotFoundException' })
          .end('{"message":"no such function"}');
        return;
      }
      const event = JSON.parse(body.toString('utf8')) as { type?: string };
      invokes.push({ type: String(event.type), bytes: body.byteLength });
      if (event.type === 'submit') await holdSubmit;
      if (event.type === 'cancel') await cancelGate;
      try {
        res.writeHead(200).end(JSON.stringify(await coordinator(event)));
      } catch (e) {
        const err = e as Error;
        res
          .writeHead(200, { 'x-amz-function-error': 'Unhandled' })
          .end(JSON.stringify({ errorType: err.name, errorMessage: err.message }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  lambda = new LambdaClient({ ...emulators.clientOptions, endpoint: `http://127.0.0.1:${port}` });

  const [workArn, dlqArn] = await Promise.all([queueArn(sqs, queueUrl), queueArn(sqs, dlqUrl)]);
  polling = true;
  const poll = async (url: string, arn: string, handler: typeof worker | typeof dlq) => {
    while (polling) await deliverBatch(sqs, url, arn, handler, { waitSeconds: 1 });
  };
  pollers = Promise.all([poll(queueUrl, workArn, worker), poll(dlqUrl, dlqArn, dlq)]).then(() => {});
});

afterAll(async () => {
  polling = false;
  await pollers;
  await worker?.close();
  await new Promise((r) => server?.close(r));
  for (const url of [queueUrl, dlqUrl]) if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  lambda?.destroy();
});

afterEach(() => {
  invokes.length = 0;
  cancelGate = undefined;
});

/** The stack's resources and clients, as `aws()` and `awsJobs()` take them. */
const STACK = () => ({
  resources: {
    coordinator: COORDINATOR,
    table: TABLE,
    bucket: BUCKET,
    workers: 4,
    queuePrefix: QUEUE_PREFIX,
  },
  clients: { lambda, dynamo, s3, sqs },
});

function context() {
  return aws({ tasks, ...STACK(), pollMs: { min: 10, max: 100 } });
}

describe('aws()', () => {
  describe('Pool', () => {
    it('maps a range in input order, through the coordinator function and the worker handler', async () => {
      await using pool = context().Pool();
      expect(await pool.map('square', range(1000))).toEqual(Array.from({ length: 1000 }, (_, i) => i * i));
      expect(pool.processes).toBe(4);
      // submit, release: the job is released once its results are read, after map() returned.
      await vi.waitFor(() => expect(invokes.map((i) => i.type)).toEqual(['submit', 'release']), {
        timeout: 10_000,
      });
    });

    it('maps structured items and folds with mapReduce', async () => {
      await using pool = context().Pool({ chunksize: 3 });
      expect(await pool.map('str', [1, 2, 3, 4])).toEqual(['1', '2', '3', '4']);
      expect(await pool.mapReduce('square', range(100), 'sum')).toBe(328_350);
      expect(await pool.mapReduce('str', [1, 2, 3], 'concat', { initial: '>' })).toBe('>123');
    });

    it('streams an imap over a generator in order (an open job: append, seal)', async () => {
      await using pool = context().Pool();
      function* numbers() {
        for (let i = 0; i < 25; i++) yield i;
      }
      const out: number[] = [];
      for await (const x of pool.imap('square', numbers(), { chunksize: 4 })) out.push(x);
      expect(out).toEqual(Array.from({ length: 25 }, (_, i) => i * i));
      expect(invokes.map((i) => i.type)).toContain('seal');
    });

    it('raises a task error with the remote stack', async () => {
      await using pool = context().Pool();
      const err = await pool.map('failOn', range(10)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskError);
      expect(err).toMatchObject({ remoteName: 'RangeError', itemIndex: 7 });
      expect((err as TaskError).remoteStack).toContain('failOn');
    });

    it('sends an input over the invoke payload limit through S3, by reference', async () => {
      await using pool = context().Pool();
      // 660,000 numbers: 5.3 MB of f64, 7 MB of base64 JSON.
      const items = Array.from({ length: 660_000 }, (_, i) => i % 1000);
      const out = await pool.map('square', items);
      expect(out).toHaveLength(items.length);
      expect(out.every((x, i) => x === (i % 1000) ** 2)).toBe(true);
      const submit = invokes.find((i) => i.type === 'submit');
      expect(submit?.bytes).toBeLessThan(10_000);
    }, 60_000);

    it("sends a backup request's inputs over the payload limit through S3, under the job's prefix", async () => {
      const blobs = new S3BlobStore({ client: s3, bucket: BUCKET, prefix: 'fanfold/' });
      const invoke = coordinatorInvoker({
        client: lambda,
        functionName: COORDINATOR,
        blobs,
        maxPayloadBytes: 10_000,
      });
      const jobId = randomUUID();
      const bytes = new Uint8Array(8_000).fill(7);
      const input = (i: number) => ({
        kind: 'items' as const,
        offset: i,
        count: 1,
        data: { enc: 'v8' as const, bytes },
      });
      // No such job: the coordinator sends nothing, but the request reached it whole.
      const out = await invoke({
        v: 1,
        type: 'backup',
        jobId,
        indices: [3, 4],
        inputs: [input(3), input(4)],
      });
      expect(out).toMatchObject({ jobId, sent: 0 });
      expect(invokes.find((i) => i.type === 'backup')?.bytes).toBeLessThan(10_000);
      expect(await blobs.get(blobKeys.input(jobId, 4))).toEqual(bytes);
      await blobs.deletePrefix(blobKeys.job(jobId));
    });

    it('cancels the running job on terminate, and the workers stop running its chunks', async () => {
      const pool = context().Pool();
      const key = `terminate-${randomUUID()}`;
      const gate = gateKeeper(key);
      try {
        // Two chunks that hold a worker thread each until the test opens the gate, which it does
        // only at the end: another job can run only if terminate() stopped them.
        const failed = pool.map('gate', [key, key], { chunksize: 1 }).catch((e: unknown) => e);
        await gate.started(2);
        await pool.terminate();
        expect(await failed).toBeInstanceOf(JobCancelledError);
        expect(invokes.map((i) => i.type)).toEqual(['submit', 'cancel', 'release']);
        await using next = context().Pool();
        expect(await next.map('square', [2])).toEqual([4]);
      } finally {
        gate.open();
        gate.close();
      }
    });

    it('rejects a call whose submit is still running with JobCancelledError on terminate, without waiting for the submit', async () => {
      let release = () => {};
      holdSubmit = new Promise<void>((r) => {
        release = r;
      });
      try {
        const pool = context().Pool();
        const pending = pool.map('square', range(100)).catch((e: unknown) => e);
        while (!invokes.some((i) => i.type === 'submit')) await new Promise((r) => setTimeout(r, 10));
        await pool.terminate();
        // The submit is still held: the call must settle on the cancel alone (30 s is only a
        // bound for the code that waited for the submit, so that the test ends and releases it).
        const settled = await Promise.race([
          pending,
          new Promise((r) => setTimeout(r, cloud.scaled(30_000), 'still pending')),
        ]);
        expect(settled).toBeInstanceOf(JobCancelledError);
      } finally {
        holdSubmit = undefined;
        release();
      }
    });
  });

  describe('Process', () => {
    it('runs its target as a one-chunk job: exitCode 0, pid the job id', async () => {
      const p = context().Process('square', [3]);
      await p.start();
      expect(p.pid).toMatch(/^[0-9a-f-]{36}$/);
      await p.join();
      expect(p.error?.message).toBeUndefined();
      expect(p.exitCode).toBe(0);
      await vi.waitFor(() => expect(invokes.map((i) => i.type)).toEqual(['submit', 'release']), {
        timeout: 10_000,
      });
    });

    it('runs on a thread named as the process, with a queue passed as an argument', async () => {
      const mp = context();
      const names = mp.SimpleQueue<string>();
      try {
        const p = mp.Process('putName', [names], { name: 'cloud-reporter' });
        await p.start();
        expect(await names.get()).toBe('cloud-reporter');
        await p.join();
        expect(p.exitCode).toBe(0);
      } finally {
        await names.close();
      }
    }, 30_000);

    it("keeps the task's error on the process: exitCode 1, join does not throw", async () => {
      const p = context().Process('failWith', ['cloud boom']);
      await p.start();
      await p.join();
      expect(p.exitCode).toBe(1);
      expect(p.error).toBeInstanceOf(TaskError);
      expect(p.error?.remoteName).toBe('RangeError');
    });

    it('terminate() cancels the job: exitCode -15, and the worker thread is freed', async () => {
      const mp = context();
      const p = mp.Process('spin', [20_000]);
      await p.start();
      await p.join(50);
      expect(p.isAlive()).toBe(true);
      await p.terminate();
      expect(p.exitCode).toBe(-15);
      expect(p.isAlive()).toBe(false);
      await using pool = mp.Pool();
      expect(await pool.map('square', [2])).toEqual([4]);
    }, 10_000);

    it('terminate() right after start() gives -15, even when the run ends before the cancel lands', async () => {
      // The cancel travels through the coordinator while a warm worker may finish the run: the
      // caller asked for termination before it saw the end, so the process ends as terminated.
      const mp = context();
      const go = mp.Event();
      const p = mp.Process('waitEvent', [go]);
      await p.start();
      let letCancel!: () => void;
      cancelGate = new Promise<void>((r) => (letCancel = r));
      const terminated = p.terminate();
      await expect.poll(() => invokes.some((i) => i.type === 'cancel')).toBe(true);
      await go.set();
      const store = awsBackend({
        tableName: TABLE,
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        bucket: BUCKET,
        clients: { sqs, dynamo, s3 },
      }).store;
      await expect
        .poll(async () => (await store.getJob(p.pid ?? ''))?.status, { timeout: 20_000 })
        .toBe('DONE');
      letCancel();
      await terminated;
      expect(p.exitCode).toBe(-15);
      expect(p.isAlive()).toBe(false);
    }, 30_000);

    it('throws UnknownTaskError for an unknown target, before anything is invoked', () => {
      expect(() => context().Process('nope' as never, [] as never)).toThrow(UnknownTaskError);
      expect(invokes).toEqual([]);
    });
  });

  describe('primitives', () => {
    it('are offered by the context and passed to pool tasks, revived in the worker threads', async () => {
      const mp = context();
      const value = mp.Value('i', 0);
      await using pool = mp.Pool();
      expect(await pool.map('addOne', [value, value, value], { chunksize: 1 })).toHaveLength(3);
      expect(await value.get()).toBe(3);
    }, 30_000);
  });

  describe('options', () => {
    it('rejects stack and resources together, unknown options and settings that belong to the stack', () => {
      const resources = { coordinator: COORDINATOR, table: TABLE, bucket: BUCKET };
      expect(() => aws({ tasks, stack: 'Fanfold', resources })).toThrow(InvalidArgumentError);
      expect(() => aws({ tasks, resources, bogus: 1 } as never)).toThrow(InvalidArgumentError);
      expect(() => aws({ tasks: {} as never })).toThrow(InvalidArgumentError);
      expect(() => aws({ tasks, resources }).Pool({ maxAttempts: 5 })).toThrow(InvalidArgumentError);
      expect(() => aws({ tasks, resources }).Pool({ initializer: 'init' })).toThrow(InvalidArgumentError);
    });

    it.each([
      ['initializer', { initializer: 'init' }],
      ['initargs', { initargs: [1] }],
      ['maxTasksPerChild', { maxTasksPerChild: 10 }],
    ] as const)(
      'refuses %s (the stack starts the worker threads) with an error naming the option',
      (k, o) => {
        const resources = { coordinator: COORDINATOR, table: TABLE, bucket: BUCKET };
        expect(() => aws({ tasks, resources }).Pool(o as never)).toThrow(
          expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, option: `options.${k}` }),
        );
      },
    );

    it('takes stragglers: off, on, or tuned; and names the field of a bad one', async () => {
      const resources = { coordinator: COORDINATOR, table: TABLE, bucket: BUCKET };
      const mp = aws({ tasks, resources });
      for (const stragglers of [false, true, { factor: 2, minMs: 500, tail: 0.05 }]) {
        await using pool = mp.Pool({ stragglers });
        expect(pool).toBeDefined();
      }
      expect(() => mp.Pool({ stragglers: { factor: 0 } })).toThrow(
        'Expected options.stragglers.factor to be a number from 1 to 1000, got 0 (number)',
      );
    });
  });

  describe('observing a job', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanfold-observe-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const operations = () => awsJobs(STACK());
    /** A command of the CLI, run in-process on this stack; its exit code, output and JSON. */
    async function command(c: Parameters<typeof runOps>[0]) {
      const stdout = new Capture();
      const stderr = new Capture();
      const code = await runOps(c, { stdout, stderr, cwd: dir, env: {} }, operations);
      return {
        code,
        stdout: stdout.text,
        stderr: stderr.text,
        json: c.json ? JSON.parse(stdout.text) : undefined,
      };
    }
    const target = { stack: 'Fanfold', region: undefined };

    it('draws a job’s timeline from its records: one bar per chunk attempt, by awsJobs and fanfold timeline', async () => {
      await using pool = context().Pool({ stragglers: false });
      const r = pool.mapAsync('spin', [60, 60, 60, 60, 60, 60, 60, 60, 60, 60], { chunksize: 2 });
      expect(await r.get()).toEqual(Array(10).fill(60));
      const ops = operations();
      try {
        const { data, svg, html } = await ops.timeline(r.jobId);
        expect(data).toMatchObject({ jobId: r.jobId, task: 'spin', total: 5, missing: 0 });
        expect(data.bars.map((b) => b.index)).toEqual([0, 1, 2, 3, 4]);
        expect(html).toContain(svg);
      } finally {
        ops.close();
      }
      const out = await command({
        kind: 'timeline',
        jobId: r.jobId,
        out: 'job.html',
        svg: 'job.svg',
        json: true,
        ...target,
      });
      expect(out.code).toBe(ExitCodes.OK);
      expect(out.json).toEqual({
        ok: true,
        jobId: r.jobId,
        out: 'job.html',
        svg: 'job.svg',
        status: 'DONE',
        attempts: 5,
        rows: expect.any(Number),
        missing: 0,
        spanMs: expect.any(Number),
      });
      // The SVG written: one bar per chunk attempt, each with its chunk and attempt number.
      expectOneBarPerChunk(join(dir, 'job.svg'), join(dir, 'job.html'), 5);
      const text = await command({
        kind: 'timeline',
        jobId: r.jobId,
        out: 'again.html',
        svg: undefined,
        json: false,
        ...target,
      });
      expect(text.stdout).toMatch(/^job \S+: 5 chunk attempts on \d+ worker threads; wrote again\.html$/m);

      const missing = await command({
        kind: 'timeline',
        jobId: 'no-such-job',
        out: 'x.html',
        svg: undefined,
        json: true,
        ...target,
      });
      expect(missing.code).toBe(ExitCodes.NOT_FOUND);
      expect(missing.json).toMatchObject({ ok: false, error: { code: 'ERR_FANFOLD_JOB_NOT_FOUND' } });
    });

    it('reports retries, stragglers and cost in fanfold status, as estimated before the job ran', async () => {
      await using pool = context().Pool({ stragglers: false });
      const items = Array(12).fill(100);
      // Stated tolerance: the chunks' measured time is the tasks' (100 ms each) plus each chunk's
      // own overhead on its thread, at most as much again on this loaded machine.
      const estimate = await pool.estimate('spin', items, { taskMs: 100, chunksize: 3 });
      expect(estimate).toMatchObject({ items: 12, chunksize: 3, chunks: 4 });
      const r = pool.mapAsync('spin', items, { chunksize: 3 });
      await r.get();

      const status = await command({ kind: 'status', jobId: r.jobId, json: true, ...target });
      expect(status.code).toBe(ExitCodes.OK);
      const { job, cost } = status.json as { job: Record<string, unknown>; cost: CostReport };
      expect(job.id).toBe(r.jobId);
      expect(job.status).toBe('DONE');
      expect(job.done).toBe(4);
      expect(job.retries).toBe(0);
      expect(job.backups).toBe(0);
      expect(job.meanChunkMs).toBeGreaterThanOrEqual(300);
      // Counts exactly as estimated (4 chunks, no retry, no backup); compute within 1-2x.
      expectReportAsEstimated(cost, estimate);
      // The same report through the API.
      const ops = operations();
      try {
        expect((await ops.report(r.jobId)).cost).toEqual(cost);
        expect(jobCost(await ops.inspect(r.jobId), { workers: 4 })).toEqual(cost);
      } finally {
        ops.close();
      }

      const text = await command({ kind: 'status', jobId: r.jobId, json: false, ...target });
      expect(text.stdout).toMatch(/^retries +0 \(deliveries beyond a chunk's first\)$/m);
      expect(text.stdout).toMatch(/^stragglers +0 backups sent$/m);
      expect(text.stdout).toMatch(/^requests +SQS \d+ · Lambda \d+ · S3 \d+$/m);
      expect(text.stdout).toMatch(/^cost so far +\$[\d.]+ \(SQS /m);
    });
  });

  describe('stack discovery', () => {
    let cloudformation: CloudFormationClient;
    beforeAll(() => {
      cloudformation = new CloudFormationClient(emulators.clientOptions);
    });
    afterAll(() => cloudformation?.destroy());

    /** Creates a stack in moto with these outputs (a marker queue as its one resource); returns its name. */
    async function stackWithOutputs(outputs: Record<string, string>): Promise<string> {
      const stack = `Fanfold${randomUUID().slice(0, 8)}`;
      await cloudformation.send(
        new CreateStackCommand({
          StackName: stack,
          TemplateBody: JSON.stringify({
            Resources: { Marker: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${stack}-marker` } } },
            Outputs: Object.fromEntries(Object.entries(outputs).map(([k, Value]) => [k, { Value }])),
          }),
        }),
      );
      await waitUntilStackCreateComplete({ client: cloudformation, maxWaitTime: 60 }, { StackName: stack });
      return stack;
    }

    it("finds the coordinator, table, bucket and worker count in the stack's outputs", async () => {
      const stack = await stackWithOutputs({
        [STACK_OUTPUTS.coordinator]: COORDINATOR,
        // A CfnOutput whose logical id CDK suffixed with its hash.
        [`${STACK_OUTPUTS.table}0A1B2C3D`]: TABLE,
        [STACK_OUTPUTS.bucket]: BUCKET,
        [STACK_OUTPUTS.workers]: '6',
      });
      try {
        await using pool = aws({
          tasks,
          stack,
          clients: { lambda, dynamo, s3, cloudformation },
        }).Pool();
        expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
        expect(pool.processes).toBe(6);
      } finally {
        await cloudformation.send(new DeleteStackCommand({ StackName: stack }));
      }
    });

    describe('the deployed tasks module', () => {
      /** A stack in moto whose outputs name this file's coordinator and the fingerprint of `module`. */
      async function stackDeployedWith(module: string | undefined): Promise<string> {
        const stack = await stackWithOutputs({
          [STACK_OUTPUTS.coordinator]: COORDINATOR,
          [STACK_OUTPUTS.table]: TABLE,
          [STACK_OUTPUTS.bucket]: BUCKET,
          [STACK_OUTPUTS.workers]: '4',
          ...(module ? { [STACK_OUTPUTS.tasksFingerprint]: await tasksFingerprint(module) } : {}),
        });
        stacks.push(stack);
        return stack;
      }
      const stacks: string[] = [];
      afterAll(async () => {
        for (const StackName of stacks) await cloudformation.send(new DeleteStackCommand({ StackName }));
      });
      // The coordinator of this file serves `tasks` (process-tasks.ts); `other` is another module
      // with the same task names the test calls.
      const deployedModule = tasks.module!;

      it('runs when the caller’s tasks module is the one deployed', async () => {
        const stack = await stackDeployedWith(deployedModule);
        await using pool = aws({ tasks, stack, clients: { lambda, dynamo, s3, cloudformation } }).Pool();
        expect(await pool.map('square', [1, 2, 3])).toEqual([1, 4, 9]);
      });

      it('refuses with TasksMismatchError, before any job, when the caller’s tasks module is another', async () => {
        const stack = await stackDeployedWith(deployedModule);
        const before = invokes.length;
        await using pool = aws({
          tasks: other,
          stack,
          clients: { lambda, dynamo, s3, cloudformation },
        }).Pool();
        const err = await pool.map('square', [1, 2, 3]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TasksMismatchError);
        expect(err).toMatchObject({
          code: ErrorCodes.TASKS_MISMATCH,
          stackName: stack,
          module: other.module,
          deployed: await tasksFingerprint(deployedModule),
          local: await tasksFingerprint(other.module!),
        });
        expect((err as Error).message).toMatch(/Redeploy the stack/);
        expect((err as Error).message).toMatch(/allowTasksMismatch: true/);
        // Nothing reached the coordinator.
        expect(invokes.length).toBe(before);
      });

      it('runs the deployed tasks with allowTasksMismatch: true', async () => {
        const stack = await stackDeployedWith(deployedModule);
        await using pool = aws({
          tasks: other,
          stack,
          allowTasksMismatch: true,
          clients: { lambda, dynamo, s3, cloudformation },
        }).Pool();
        expect(await pool.map('square', [4, 5])).toEqual([16, 25]);
      });

      it('checks nothing on a stack deployed before fingerprints (no output)', async () => {
        const stack = await stackDeployedWith(undefined);
        await using pool = aws({
          tasks: other,
          stack,
          clients: { lambda, dynamo, s3, cloudformation },
        }).Pool();
        expect(await pool.map('square', [3])).toEqual([9]);
      });

      it('checks resources given with a tasksFingerprint, and refuses a malformed one', async () => {
        const resources = {
          coordinator: COORDINATOR,
          table: TABLE,
          bucket: BUCKET,
          tasksFingerprint: await tasksFingerprint(deployedModule),
        };
        await using pool = aws({ tasks: other, resources, clients: { lambda, dynamo, s3 } }).Pool();
        await expect(pool.map('square', [1])).rejects.toMatchObject({
          code: ErrorCodes.TASKS_MISMATCH,
          stackName: 'options.resources',
        });
        expect(() => aws({ tasks, resources: { ...resources, tasksFingerprint: 'abc' } })).toThrow(
          'Expected options.resources.tasksFingerprint to be the stack\'s FanfoldTasksFingerprint output (sha256: and 32 hex digits), got "abc" (string)',
        );
        expect(() => aws({ tasks, resources, allowTasksMismatch: 'yes' as never })).toThrow(
          'Expected options.allowTasksMismatch to be a boolean, got "yes" (string)',
        );
      });
    });

    it('rejects pool calls with StackNotFoundError when the stack does not exist', async () => {
      await using pool = aws({
        tasks,
        stack: 'NoSuchStack',
        clients: { lambda, dynamo, s3, cloudformation },
      }).Pool();
      await expect(pool.map('square', [1])).rejects.toMatchObject({
        code: ErrorCodes.STACK_NOT_FOUND,
        stackName: 'NoSuchStack',
      });
    });
  });

  describe('AWS errors', () => {
    /** SDK clients of an endpoint where nothing listens: every call is refused (ECONNREFUSED). */
    const refused = { ...emulators.clientOptions, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 };

    it('wraps a refused DynamoDB connection in AwsError, naming the store and the job, the SDK error as cause', async () => {
      const closed = new DynamoDBClient(refused);
      try {
        await using pool = aws({
          tasks,
          resources: { coordinator: COORDINATOR, table: TABLE, bucket: BUCKET, workers: 4 },
          clients: { lambda, dynamo: closed, s3, sqs },
          pollMs: { min: 10, max: 100 },
        }).Pool();
        const err = await pool.map('square', [1, 2]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AwsError);
        expect(err).toMatchObject({ code: ErrorCodes.AWS_FAILED });
        expect((err as AwsError).operation).toMatch(new RegExp(`DynamoDB table ${TABLE}`));
        expect((err as AwsError).cause).toBeInstanceOf(Error);
        expect((err as AwsError).cause).not.toBeInstanceOf(AwsError);
      } finally {
        closed.destroy();
      }
    });

    it('wraps a refused CloudFormation connection in AwsError when it looks the stack up', async () => {
      const closed = new CloudFormationClient(refused);
      try {
        await using pool = aws({
          tasks,
          stack: 'Anything',
          clients: { lambda, dynamo, s3, cloudformation: closed },
        }).Pool();
        const err = await pool.map('square', [1]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AwsError);
        expect((err as AwsError).operation).toMatch(/CloudFormation stack Anything/);
        expect((err as AwsError).cause).toBeInstanceOf(Error);
      } finally {
        closed.destroy();
      }
    });
  });
});
