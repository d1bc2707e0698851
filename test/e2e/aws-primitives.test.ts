/**
 * Primitives passed into tasks (test/e2e/primitive-scenarios.ts) on the aws context, through the
 * runner: the e2e stack (its fixture module carries the primitive tasks) stood up on moto, each
 * `Process` a worker Lambda that revives the Lock, Value, Queues, Pipe end, Events and Barrier from
 * their handles on the stack's table and queues. `FANFOLD_E2E_LOGS=1` prints the functions' output.
 */
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { E2E_STACK, e2eAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';
import { describePrimitiveScenarios } from './primitive-scenarios.js';

const tier = await useCloudTier();
let stack: RunnerStack | undefined;
printLogsOnFailure(() => stack?.logs);

describePrimitiveScenarios(
  'primitives passed into tasks on the aws context (runner)',
  async () => {
    stack = await startRunnerStack({
      cdkOut: await e2eAssembly(),
      stack: E2E_STACK,
      emulators: tier.emulators,
      // The worker's 20 s: two processes taking turns at a Lock took longer at load 17 (the
      // chunk ran past the worker's time limit twice, RetriesExhaustedError). No test here is
      // about a timeout; the functions get the time the machine's pace asks for.
      timeoutScale: Math.ceil(tier.pace),
    });
    const mp = stack.context({ tasks, pollMs: { min: 20, max: 200 } });
    const s = stack;
    return {
      mp,
      pool: () => mp.Pool({ jobTimeoutMs: tier.scaled(60_000) }),
      stop: () => s.stop(),
    };
  },
  SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS,
);
