/**
 * The primitives contract: one suite, CPython's semantics, run against every context
 * (test/local/primitives.test.ts on shared memory, test/cloud/primitives.test.ts on moto). Each family
 * lives in its own file; capabilities that only some contexts have (leases) run only there.
 *
 * @example
 * ```ts
 * describePrimitivesContract('local', { ctx: 'local', primitives: localPrimitives, revive: reviveLocal, party });
 * ```
 */
import { describe } from 'vitest';
import { barrierContract } from './barrier.contract.js';
import { conditionContract } from './condition.contract.js';
import { eventContract } from './event.contract.js';
import { handleContract } from './handles.contract.js';
import type { PrimitivesHarness } from './harness.js';
import { leaseContract } from './leases.contract.js';
import { lockContract } from './locks.contract.js';
import { managerContract } from './managers.contract.js';
import { pipeContract } from './pipes.contract.js';
import { queueContract } from './queues.contract.js';
import { semaphoreContract } from './semaphores.contract.js';
import { valueContract } from './values.contract.js';

export type { Party, PrimitivesHarness } from './harness.js';

/** The families of the suite, by name (`FANFOLD_CONTRACT=locks,queues` runs only those). */
export const FAMILIES = {
  locks: lockContract,
  semaphores: semaphoreContract,
  event: eventContract,
  condition: conditionContract,
  barrier: barrierContract,
  values: valueContract,
  queues: queueContract,
  pipes: pipeContract,
  managers: managerContract,
  handles: handleContract,
} as const;

/** Declares the whole contract suite for one context. */
export function describePrimitivesContract(name: string, harness: PrimitivesHarness): void {
  const only = process.env.FANFOLD_CONTRACT?.split(',').filter(Boolean);
  describe(`Primitives contract (${name})`, () => {
    for (const [family, declare] of Object.entries(FAMILIES)) {
      if (only && !only.includes(family)) continue;
      describe(family, () => declare(harness));
    }
    const leases = harness.leases;
    if (leases && (!only || only.includes('leases')))
      describe('leases', () => leaseContract(harness, leases));
  });
}
