/** Primitives passed into tasks (test/e2e/primitive-scenarios.ts) on local worker threads. */
import { local } from 'fanfold';
import { describePrimitiveScenarios } from '../e2e/primitive-scenarios.js';
import tasks from '../fixtures/pool-tasks.js';

describePrimitiveScenarios('primitives passed into tasks on the local context', async () => {
  const mp = local({ tasks });
  return { mp, pool: () => mp.Pool({ processes: 2 }), stop: async () => {} };
});
