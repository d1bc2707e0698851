/**
 * The Invoker port on Lambda (`src/aws/lambda-invoker.ts`) against the runner's Invoke API, on the
 * runner's fixture assembly: each call is an asynchronous Invoke (202) that runs the function in
 * the background with the request as sent, `workers(n)` fires n of them, and what cannot be sent
 * is refused before anything is invoked. The fan-out tree's own use of it is `fanout.test.ts`.
 * The caller's synchronous invoke of the coordinator (`coordinatorInvoker`) is tested here too:
 * what it does when the function crashes, and when Lambda cannot be reached.
 */
import { LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinatorInvoker } from '../../src/aws/invoke.js';
import { LambdaInvoker } from '../../src/aws/lambda-invoker.js';
import type { CoordinatorRequest } from '../../src/engine/coordinator.js';
import {
  AwsError,
  CoordinatorFailedError,
  ErrorCodes,
  InvalidArgumentError,
  PayloadTooLargeError,
} from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';
import type { FanoutRequest } from '../../src/ports.js';
import { type Cloud, INSTALL_TIMEOUT_MS, startCloud } from '../runner/index.js';
import { eventually, FIXTURE_ASSEMBLY, readObject } from '../runner/test/support.js';
import { useCloudTier } from '../support/cloud.js';

const tier = await useCloudTier();
let cloud: Cloud;
let lambda: LambdaClient;
let s3: S3Client;

beforeAll(async () => {
  cloud = await startCloud({ cdkOut: FIXTURE_ASSEMBLY, emulators: tier.emulators });
  lambda = new LambdaClient({ ...cloud.clientOptions, endpoint: cloud.lambdaEndpoint, maxAttempts: 1 });
  s3 = new S3Client({ ...cloud.clientOptions, endpoint: cloud.endpoints.s3, forcePathStyle: true });
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  lambda?.destroy();
  s3?.destroy();
  await cloud?.stop();
});

/** Invocations of the fixture's Echo function so far. */
const echoRuns = () => cloud.sandboxes.get(cloud.functionName('Echo'))!.stats().invocations;

describe('LambdaInvoker', () => {
  it('fires the coordinator asynchronously with the request as it was given', async () => {
    const invoker = new LambdaInvoker({ client: lambda, coordinator: cloud.functionName('Echo') });
    const trace = `invoker-${Date.now()}`;
    // Echo writes an event with a `trace` field to its bucket: how the test sees that it ran.
    const request = { v: 1, type: 'fanout', jobId: 'job-1', from: 20, to: 40, perWorker: 5, trace };
    await invoker.coordinator(request as FanoutRequest);
    const text = await eventually(
      () => readObject(s3, cloud.stack.outputs.TraceBucketName!, trace),
      'the invocation to run',
      tier.scaled(10_000),
    );
    expect(JSON.parse(text)).toEqual(request);
  });

  it('fires n drain workers, none for n = 0, and none without a worker function', async () => {
    const worker = new LambdaInvoker({
      client: lambda,
      coordinator: cloud.functionName('Throw'),
      worker: cloud.functionName('Echo'),
      concurrency: 2,
    });
    const before = { runs: echoRuns(), events: cloud.async.stats().events };
    await worker.workers(5, { v: 1, type: 'drain', jobId: 'job-2' });
    await worker.workers(0, { v: 1, type: 'drain', jobId: 'job-2' });
    await new LambdaInvoker({ client: lambda, coordinator: cloud.functionName('Echo') }).workers(3, {
      v: 1,
      type: 'drain',
      jobId: 'job-2',
    });
    expect(cloud.async.stats().events - before.events).toBe(5);
    await eventually(
      async () => (echoRuns() - before.runs >= 5 ? true : undefined),
      'five drain workers to run',
      tier.scaled(10_000),
    );
    await cloud.async.idle();
    expect(echoRuns() - before.runs).toBe(5);
    await expect(worker.workers(-1, { v: 1, type: 'drain', jobId: 'job-2' })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it('refuses a request over the 1 MB an asynchronous Invoke carries, invoking nothing', async () => {
    const invoker = new LambdaInvoker({ client: lambda, coordinator: cloud.functionName('Echo') });
    const events = cloud.async.stats().events;
    const big = { v: 1, type: 'fanout', jobId: 'job-3', from: 0, to: 1, pad: 'x'.repeat(1_048_576) };
    await expect(invoker.coordinator(big as FanoutRequest)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(cloud.async.stats().events).toBe(events);
  });

  it('rejects with the service error when the function does not exist', async () => {
    const invoker = new LambdaInvoker({ client: lambda, coordinator: 'no-such-function' });
    await expect(
      invoker.coordinator({ v: 1, type: 'fanout', jobId: 'job-4', from: 0, to: 1 }),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('coordinatorInvoker', () => {
  it('sends a request again when the coordinator crashes, then fails with CoordinatorFailedError, the crash as cause', async () => {
    const invoke = coordinatorInvoker({
      client: lambda,
      functionName: cloud.functionName('Echo'),
      blobs: new MemoryBlobStore(),
      retryBackoff: { min: 10, max: 50 },
    });
    const before = echoRuns();
    // Echo exits its process when the event says so: Lambda answers Unhandled, Runtime.ExitError.
    const crashing = { v: 1, type: 'seal', jobId: 'crash-1', total: 1, exit: 3 } as CoordinatorRequest;
    const err = await invoke(crashing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoordinatorFailedError);
    expect(err).toMatchObject({
      code: ErrorCodes.COORDINATOR_FAILED,
      jobId: 'crash-1',
      request: 'seal',
      attempts: 3,
      cause: { name: 'Runtime.ExitError' },
    });
    // Three invocations: the request was sent again, and no more than the bound.
    expect(echoRuns() - before).toBe(3);
  });

  it('wraps an SDK error (a refused connection) in AwsError, saying what it was doing, the SDK error as cause', async () => {
    const closed = new LambdaClient({
      ...cloud.clientOptions,
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 1,
    });
    try {
      const invoke = coordinatorInvoker({
        client: closed,
        functionName: 'Coordinator',
        blobs: new MemoryBlobStore(),
      });
      const err = await invoke({ v: 1, type: 'seal', jobId: 'gone-1', total: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AwsError);
      expect(err).toMatchObject({ code: ErrorCodes.AWS_FAILED });
      expect((err as AwsError).message).toMatch(/seal request of job gone-1/);
      expect((err as AwsError).cause).toBeInstanceOf(Error);
      expect((err as AwsError).cause).not.toBeInstanceOf(AwsError);
    } finally {
      closed.destroy();
    }
  });
});
