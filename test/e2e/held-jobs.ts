/**
 * Two jobs on a runner stack for the operations tests: one held RUNNING by an Event until the test
 * sets `go`, one ended (a map of 4 squares in 2 chunks).
 */
import { expect } from 'vitest';
import tasks from '../fixtures/pool-tasks.js';
import type { CloudTier } from '../support/cloud.js';
import type { RunnerStack } from '../support/runner-stack.js';

/** Submits both jobs and resolves once the held one's chunk started and the other ended. */
export async function heldAndEnded(stack: RunnerStack, tier: CloudTier) {
  const mp = stack.context({ tasks, pollMs: { min: 20, max: 200 } });
  const pool = mp.Pool({ jobTimeoutMs: tier.scaled(60_000) });
  const started = mp.Event();
  const go = mp.Event();
  const held = pool.starmapAsync('holdUntil', [[started, go]]);
  const squares = pool.mapAsync('square', [1, 2, 3, 4], { chunksize: 2 });
  expect(await squares.get()).toEqual([1, 4, 9, 16]);
  expect(await started.wait(tier.scaled(30_000))).toBe(true);
  return { mp, pool, go, held, squares };
}
