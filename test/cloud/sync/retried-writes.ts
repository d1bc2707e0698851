/**
 * For the retry tests of Barrier, Condition, the queues' counters and Value: an environment whose
 * DynamoDB client is a real SDK client with a fault rule under its retry middleware
 * (test/cloud/harness.ts). `loseAnswer` makes the next request matching a predicate reach moto and
 * then lose its response (a retryable 500), so the SDK sends it again: the retry of a write that
 * was applied.
 */
import { afterAll } from 'vitest';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { SdkFaults } from '../harness.js';
import type { SyncEnvHarness } from '../sync-env.js';

/** An environment on `cloud` whose next matching request loses its answer once, when armed. */
export interface RetryingEnv {
  readonly env: AwsSyncEnv;
  /** Loses the answer of the first attempt of the next `operation` whose body matches `match`. */
  loseAnswer(operation: string, match?: (body: string) => boolean): void;
  /** Answers lost so far. */
  lost(): number;
}

/** Makes such environments on `cloud`; their clients are destroyed after the file. */
export function retryingEnvs(cloud: SyncEnvHarness): () => RetryingEnv {
  const made: SdkFaults[] = [];
  afterAll(() => {
    for (const f of made) f.destroy();
  });
  return () => {
    const faults = new SdkFaults(cloud.emulators(), 3);
    made.push(faults);
    const env = cloud.env({
      clients: async () => ({ dynamo: faults.dynamo, sqs: faults.sqs, s3: faults.s3 }),
    });
    return {
      env,
      loseAnswer(operation, match = () => true) {
        faults.rule = (call) => {
          if (call.operation !== operation || call.attempt !== 1 || !match(call.body)) return undefined;
          faults.rule = undefined;
          return { status: 500, type: 'InternalServerError', afterSend: true };
        };
      },
      lost: () => faults.count(),
    };
  };
}
