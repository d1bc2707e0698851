/**
 * One deployment's worth of fanfold's Lambda handlers, in-process on the AWS adapters over the
 * file's emulator: a work queue and its dead-letter queue of their own, the coordinator invoked
 * synchronously (JSON both ways), the worker and dead-letter handlers, and the helpers the handler
 * tests share (submit a job, read it, drain the queue through the worker as the mapping would).
 * Every stack a file deploys is closed after each test.
 *
 * @example
 * ```ts
 * const cloud = await useCloudTier();
 * const stacks = await handlerStacks(cloud, { table: 'fanfold-x', bucket: 'fanfold-x' });
 * const s = await stacks.deploy();
 * await ok(s, submit('job-1', 'square', [1, 2, 3]));
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterEach, expect } from 'vitest';
import { awsBackend } from '../../src/aws/backend.js';
import { fromJsonSafe, toJsonSafe } from '../../src/aws/json-bytes.js';
import { type CoordinatorReply, createCoordinatorHandler } from '../../src/aws/lambda/coordinator.js';
import { createDeadLetterHandler } from '../../src/aws/lambda/dlq.js';
import { ENV, type FanfoldEnv } from '../../src/aws/lambda/env.js';
import { createWorkerHandler, type WorkerHandler } from '../../src/aws/lambda/worker.js';
import { ensureBucket, ensureQueuePair, ensureTable } from '../../src/aws/setup.js';
import { decodeList, encodeItems, unspill } from '../../src/engine/codec.js';
import type { CoordinatorRequest, CoordinatorResponse } from '../../src/engine/coordinator.js';
import { threadScript } from '../../src/local/runtime.js';
import type { Backend, InvokedRequest, JobRecord } from '../../src/ports.js';
import tasks from '../fixtures/pool-tasks.js';
import type { CloudTier } from '../support/cloud.js';
import { deliverBatch, lambdaJson, queueArn } from './esm.js';

/** One deployment's worth of queues and handlers; closed after each test. */
export interface HandlerStack {
  readonly env: NodeJS.ProcessEnv;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly queueArn: string;
  readonly dlqArn: string;
  readonly backend: Backend;
  readonly coordinator: (req: unknown) => Promise<CoordinatorReply>;
  /** Runs an asynchronous invocation of the coordinator (a request it fired at itself). */
  readonly invokeAsync: (req: unknown) => Promise<void>;
  /** Requests the coordinator fired at itself, not yet run ({@link runInvoked} runs them). */
  readonly invoked: InvokedRequest[];
  /** Drain workers fired, per call. */
  readonly drains: number[];
  readonly worker: WorkerHandler;
  readonly dlq: (event: unknown) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
  readonly errors: unknown[];
}

/** Options of {@link HandlerStacks.deploy}. */
export interface DeployOptions {
  /** The work queue's visibility timeout. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** The dead-letter handler's DynamoDB client (a test injects failures). @default the file's */
  readonly dlqDynamo?: DynamoDBClient;
  /** `FANFOLD_LEASE_MS`. @default 30_000 */
  readonly leaseMs?: number;
  /** Further variables of the functions' environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** The worker's thread script. @default the pool-tasks fixture's */
  readonly script?: string;
}

/** Deploys handler stacks on a file's emulator. */
export interface HandlerStacks {
  readonly maxReceiveCount: number;
  deploy(options?: DeployOptions): Promise<HandlerStack>;
}

/**
 * Prepares the table and bucket, bundles the tasks for the worker's threads, and registers the
 * `afterEach` that closes every stack deployed. Call it at the top level of a test file.
 */
export async function handlerStacks(
  cloud: CloudTier,
  names: { readonly table: string; readonly bucket: string; readonly maxReceiveCount?: number },
): Promise<HandlerStacks> {
  const { sqs, dynamo, s3 } = cloud.clients;
  const { table, bucket } = names;
  const maxReceiveCount = names.maxReceiveCount ?? 2;
  const [script] = await Promise.all([
    threadScript(tasks),
    ensureTable(dynamo, table),
    ensureBucket(s3, bucket),
  ]);
  const stacks: HandlerStack[] = [];
  afterEach(async () => {
    for (const s of stacks.splice(0)) {
      await s.worker.close();
      for (const url of [s.queueUrl, s.dlqUrl]) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    }
  });

  async function deploy(options: DeployOptions = {}): Promise<HandlerStack> {
    const { queueUrl, deadLetterQueueUrl } = await ensureQueuePair(sqs, {
      name: `handlers-${randomUUID().slice(0, 8)}`,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maxReceiveCount,
    });
    const env: NodeJS.ProcessEnv = {
      [ENV.table]: table,
      [ENV.queueUrl]: queueUrl,
      [ENV.deadLetterQueueUrl]: deadLetterQueueUrl,
      [ENV.bucket]: bucket,
      [ENV.threads]: '2',
      [ENV.maxReceiveCount]: String(maxReceiveCount),
      [ENV.leaseMs]: String(options.leaseMs ?? 30_000),
      [ENV.workers]: '4',
      ...options.env,
    };
    const backendOf =
      (d: DynamoDBClient) =>
      (e: FanfoldEnv): Backend =>
        awsBackend({
          tableName: e.table,
          queueUrl: e.queueUrl,
          deadLetterQueueUrl: e.deadLetterQueueUrl,
          bucket: e.bucket,
          clients: { sqs, dynamo: d, s3 },
        });
    const errors: unknown[] = [];
    // What the coordinator invokes asynchronously: queued here, run by the test as Lambda would.
    const invoked: InvokedRequest[] = [];
    const drains: number[] = [];
    const coordinatorHandler = createCoordinatorHandler({
      tasks,
      env,
      backend: (e) => ({
        ...backendOf(dynamo)(e),
        invoker: {
          coordinator: async (r) => void invoked.push(r),
          workers: async (n) => void drains.push(n),
        },
      }),
    });
    const stack: HandlerStack = {
      env,
      queueUrl,
      dlqUrl: deadLetterQueueUrl,
      queueArn: await queueArn(sqs, queueUrl),
      dlqArn: await queueArn(sqs, deadLetterQueueUrl),
      backend: awsBackend({
        tableName: table,
        queueUrl,
        deadLetterQueueUrl,
        bucket,
        clients: { sqs, dynamo, s3 },
      }),
      // A synchronous invoke: JSON both ways.
      coordinator: async (req) =>
        fromJsonSafe(
          lambdaJson(await coordinatorHandler(lambdaJson(toJsonSafe(req)), lambdaContext())),
        ) as CoordinatorReply,
      // An asynchronous invoke: the payload as JSON, nothing returned to anyone.
      invokeAsync: async (req) => {
        await coordinatorHandler(lambdaJson(toJsonSafe(req)), lambdaContext());
      },
      invoked,
      drains,
      worker: createWorkerHandler({
        script: options.script ?? script,
        env,
        backend: backendOf(dynamo),
        onError: (e) => errors.push(e),
        watchMs: 100,
      }),
      dlq: createDeadLetterHandler({
        env,
        backend: backendOf(options.dlqDynamo ?? dynamo),
        onError: (e) => errors.push(e),
      }),
      errors,
    };
    stacks.push(stack);
    return stack;
  }
  return { maxReceiveCount, deploy };
}

/** Lambda's context as the coordinator reads it: 30 s left. */
function lambdaContext() {
  const end = Date.now() + 30_000;
  return { getRemainingTimeInMillis: () => end - Date.now() };
}

/** Runs the requests the coordinator fired at itself (and those they fire) until none is left. */
export async function runInvoked(s: HandlerStack): Promise<number> {
  let n = 0;
  for (let r = s.invoked.shift(); r; r = s.invoked.shift(), n++) await s.invokeAsync(r);
  return n;
}

/** A `submit` request of a map job over inline items. */
export function submit(
  jobId: string,
  task: string,
  items: readonly unknown[],
  extra: Partial<Extract<CoordinatorRequest, { type: 'submit' }>> = {},
): CoordinatorRequest {
  return {
    v: 1,
    type: 'submit',
    jobId,
    kind: 'map',
    task,
    input: { kind: 'items', data: encodeItems(items, 0) },
    workers: 4,
    deadline: Date.now() + 600_000,
    ...extra,
  };
}

/** The coordinator's response to `req`; throws when it refused. */
export async function ok(s: HandlerStack, req: unknown): Promise<CoordinatorResponse> {
  const reply = await s.coordinator(req);
  if (!reply.ok) throw new Error(`coordinator refused: ${reply.error.name}: ${reply.error.message}`);
  return reply.response;
}

/** Runs the work queue's ESM until the queue is drained, every batch fully acknowledged. */
export async function drainQueue(s: HandlerStack, cloud: CloudTier): Promise<void> {
  for (;;) {
    const { records, response } = await deliverBatch(cloud.clients.sqs, s.queueUrl, s.queueArn, s.worker);
    if (records.length === 0) return;
    expect(response.batchItemFailures).toEqual([]);
  }
}

/** The job's results, in input order. */
export async function results(s: HandlerStack, job: JobRecord): Promise<unknown[]> {
  const indices = Array.from({ length: job.total ?? 0 }, (_, i) => i);
  const found = await s.backend.store.readResults(job.id, indices);
  const out: unknown[] = [];
  for (const i of indices) out.push(...Array.from(decodeList(await unspill(found.get(i)!, s.backend.blobs))));
  return out;
}

/** The job as stored; throws when there is none. */
export async function job(s: HandlerStack, jobId: string): Promise<JobRecord> {
  const j = await s.backend.store.getJob(jobId);
  if (!j) throw new Error(`no job ${jobId}`);
  return j;
}
