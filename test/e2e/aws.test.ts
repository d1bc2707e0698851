/**
 * The Pool scenarios (pool-scenarios.ts) on the `aws` context, through the runner: the e2e stack
 * (stack.ts: the Pool tests' tasks, a 20 s worker timeout, maxReceiveCount 2) synthesized once
 * (assembly.ts), stood up on moto, its coordinator invoked through the local Invoke API and its
 * workers fed by the polled event source mapping. One stack for the whole file.
 *
 * `FANFOLD_E2E_LOGS=1` prints the functions' output at the end. What a caller waits on this stack
 * is measured by the bench (bench/runner-latency.ts), not here.
 */

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { E2E_STACK, e2eAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';
import { Leaving, leavingDynamoClient } from './gone-caller.js';
import { describePoolScenarios, type ScenarioEnv } from './pool-scenarios.js';

const tier = await useCloudTier();
let stack: RunnerStack | undefined;
/** A job that cannot finish fails within a test's time, not in a day. */
const JOB_TIMEOUT_MS = tier.scaled(25_000);
/**
 * Polls of the job in DynamoDB: the default backoff goes up to a second, too coarse for tests.
 * `FANFOLD_E2E_DEFAULT_POLL=1` keeps the context's default (to measure what a user gets).
 */
const POLL_MS = process.env.FANFOLD_E2E_DEFAULT_POLL === '1' ? undefined : { min: 20, max: 200 };
const polling = POLL_MS ? { pollMs: POLL_MS } : {};

async function makeEnv(): Promise<ScenarioEnv> {
  stack = await startRunnerStack({
    cdkOut: await e2eAssembly(),
    stack: E2E_STACK,
    emulators: tier.emulators,
  });
  const { clients } = stack;
  // The caller's own S3 traffic: the spilled requests it writes, the spilled results it reads.
  const traffic = { puts: 0, gets: 0 };
  const send = clients.s3.send.bind(clients.s3) as (...a: unknown[]) => Promise<unknown>;
  clients.s3.send = ((command: object, ...rest: unknown[]) => {
    if (command instanceof PutObjectCommand) traffic.puts++;
    if (command instanceof GetObjectCommand) traffic.gets++;
    return send(command, ...rest);
  }) as typeof clients.s3.send;
  const mp = stack.context({ tasks, ...polling });
  const pool = () => mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
  return {
    pool,
    Event: () => mp.Event(),
    blobTraffic: () => ({ ...traffic }),
    async linesSource(name, text) {
      // A bucket of the user's, not the stack's: lines() inputs live wherever the user keeps them.
      const bucket = 'e2e-user-inputs';
      await clients.s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((e: { name?: string }) => {
        if (e.name !== 'BucketAlreadyOwnedByYou' && e.name !== 'BucketAlreadyExists') throw e;
      });
      await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: name, Body: text }));
      return { bucket, key: name };
    },
    goneCaller() {
      const leaving = new Leaving();
      const dynamo = leavingDynamoClient({ ...stack!.cloud.clientOptions, maxAttempts: 1 }, leaving);
      const gone = stack!.context({ tasks, clients: { ...clients, dynamo: dynamo.client }, ...polling });
      const goner = gone.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
      // Another process would find the job by its id in the same stack: a pool of its own.
      const attacher = pool();
      let disposed: Promise<void> | undefined;
      return {
        pool: goner,
        attacher,
        leave: () => leaving.leave(),
        dispose() {
          disposed ??= (async () => {
            leaving.end();
            await Promise.all([goner.terminate(), attacher.terminate()]);
            dynamo.destroy();
          })();
          return disposed;
        },
      };
    },
    // The cloud outlives the scenarios (the test of the pollers' errors reads it): stopped in afterAll.
    async stop() {},
  };
}

printLogsOnFailure(() => stack?.logs);

describe('the e2e stack on the runner', () => {
  // Registered before the scenarios: vitest runs this file's blocks in order.
  describePoolScenarios('Pool scenarios on the aws context', makeEnv, SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS);

  it('ran with no errors of the pollers or background invocations', () => {
    onTestFailed(() => console.error(stack?.logs.join('\n')));
    expect(stack?.cloud.errors ?? []).toEqual([]);
  });
});

afterAll(() => stack?.stop(), 30_000);
