/**
 * An environment whose DynamoDB client loses answers on demand, for the retry tests of Lock, RLock
 * and the semaphores: the fault sits under the SDK's retry middleware (see `../harness.ts`), so a write
 * reaches moto, its response is replaced by a retryable error, and the SDK sends it again.
 */
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { SdkFaults } from '../harness.js';
import type { SyncEnvHarness } from '../sync-env.js';

/** An environment on `cloud` and the switch that loses the answer of its next UpdateItem. */
export interface LossyEnv {
  readonly env: AwsSyncEnv;
  /** Loses the answer of the first attempt of the next UpdateItem whose body contains `marker`. */
  loseNext(marker?: string): void;
  /** How many answers were lost so far. */
  lost(): number;
  destroy(): void;
}

/** A fresh {@link LossyEnv} (own clients; call `destroy()` when done). */
export function lossyEnv(cloud: SyncEnvHarness): LossyEnv {
  const faults = new SdkFaults(cloud.emulators(), 4);
  let armed: string | undefined;
  faults.rule = (call) => {
    if (armed === undefined || call.operation !== 'UpdateItem' || call.attempt !== 1) return undefined;
    if (!call.body.includes(armed)) return undefined;
    armed = undefined;
    return { status: 500, type: 'InternalServerError', afterSend: true };
  };
  return {
    env: cloud.env({ clients: async () => faults }),
    loseNext: (marker = '') => {
      armed = marker;
    },
    lost: () => faults.count('dynamodb.UpdateItem'),
    destroy: () => faults.destroy(),
  };
}
