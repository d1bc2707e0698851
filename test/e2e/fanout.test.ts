/**
 * The fan-out tree on the runner: the e2e stack (stack.ts) with the coordinator's leaf cut to 40
 * chunks and its budget to 1 ms (variables over the template's, as props would set them), so
 * that every job here is sent by a tree of coordinator invocations, each sending one group of 10
 * and handing the rest on. The invocations are Lambda's asynchronous ones as the runner models
 * them (retries, the on-failure destination), so a fan-out that fails for good reaches the
 * dead-letter function through the dead-letter queue. Drain workers are left off (the worker's
 * drain mode is not part of this test).
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { range } from '../../src/engine/range.js';
import { ErrorCodes, FanoutFailedError } from '../../src/errors.js';
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { E2E_STACK, e2eAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';

const tier = await useCloudTier();
const JOB_TIMEOUT_MS = tier.scaled(60_000);
let stack: RunnerStack;
printLogsOnFailure(() => stack?.logs);

beforeAll(async () => {
  stack = await startRunnerStack({
    cdkOut: await e2eAssembly(),
    stack: E2E_STACK,
    emulators: tier.emulators,
    environment: {
      FanfoldCoordinator: {
        FANFOLD_LEAF_CHUNKS: '40',
        FANFOLD_FANOUT_BUDGET_MS: '1',
        FANFOLD_WORKER_BURST: '0',
      },
    },
  });
}, SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await stack?.stop();
});

/** The coordinator's sandbox on the runner. */
function coordinator() {
  return stack.cloud.sandboxes.get(stack.cloud.functionName('FanfoldCoordinator'))!;
}

/** Invocations of the coordinator so far. */
function coordinatorRuns(): number {
  return coordinator().stats().invocations;
}

/**
 * Submits a map job straight to the coordinator (synchronously, as the client does), so that the
 * test knows when the root invocation has returned; the caller then attaches to the job.
 */
async function submitDirect(jobId: string, task: string, input: object): Promise<unknown> {
  const out = await stack.clients.lambda.send(
    new InvokeCommand({
      FunctionName: stack.cloud.functionName('FanfoldCoordinator'),
      Payload: JSON.stringify({
        v: 1,
        type: 'submit',
        jobId,
        kind: 'map',
        task,
        input,
        chunksize: 1,
        workers: 2,
        deadline: Date.now() + JOB_TIMEOUT_MS,
      }),
    }),
  );
  return JSON.parse(Buffer.from(out.Payload!).toString());
}

describe('the fan-out tree on the runner', () => {
  it('completes a job whose fan-out takes 33 coordinator invocations exactly', async () => {
    const mp = stack.context({ tasks, pollMs: { min: 20, max: 200 } });
    const pool = mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
    try {
      const before = coordinatorRuns();
      let last = { done: -1, total: undefined as number | undefined };
      const out = await pool.map('square', range(300), { chunksize: 1, onProgress: (p) => (last = p) });
      expect(out).toEqual(Array.from({ length: 300 }, (_, i) => i * i));
      expect(last).toMatchObject({ done: 300, total: 300 });
      // The root splits 300 chunks into 8 leaves of 37 or 38; each sends one group of 10 per
      // invocation (its 1 ms budget is gone after one), so four invocations a leaf: 1 + 8 × 4.
      expect(coordinatorRuns() - before).toBeGreaterThanOrEqual(33);
    } finally {
      await pool.terminate();
    }
  });

  it('sends a large inline input as segments through the tree, each chunk read by its slice', async () => {
    const mp = stack.context({ tasks, pollMs: { min: 20, max: 200 } });
    const pool = mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
    try {
      // 6 MB of items: over the 5 MB a request carries, so the client uploads them as segments.
      const big = Array.from({ length: 600 }, (_, i) =>
        `${i}:`.padEnd(10_000, String.fromCharCode(97 + (i % 26))),
      );
      const before = coordinatorRuns();
      const out = await pool.map('identity', big, { chunksize: 3 });
      expect(out).toHaveLength(600);
      expect(out.every((x, i) => x === big[i])).toBe(true);
      // 200 chunks: 5 leaves of 40, four groups each, after the root.
      expect(coordinatorRuns() - before).toBeGreaterThanOrEqual(21);
    } finally {
      await pool.terminate();
    }
  });

  it('ends a job with FanoutFailedError when a range cannot be sent on any attempt', async () => {
    const jobId = `lost-segments-${Date.now()}`;
    const failedBefore = stack.cloud.async.stats().failed;
    // A segments input whose blob was never uploaded: the root splits it, and every leaf fails
    // to read its index, three times, before Lambda sends its record to the dead-letter queue.
    const out = await submitDirect(jobId, 'identity', {
      kind: 'segments',
      blob: `jobs/${jobId}/input`,
      enc: 'v8',
      items: 100,
      chunksize: 1,
      indexAt: 0,
    });
    expect(out).toMatchObject({
      ok: true,
      response: { total: 100 },
    });
    const mp = stack.context({ tasks, pollMs: { min: 20, max: 200 } });
    const pool = mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
    try {
      const error = await pool.attach(jobId).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FanoutFailedError);
      expect(error).toMatchObject({ code: ErrorCodes.FANOUT_FAILED, jobId, attempts: 3 });
      expect(stack.cloud.async.stats().failed).toBeGreaterThan(failedBefore);
    } finally {
      await pool.terminate();
    }
  });

  it('resumes the fan-out after coordinator containers are killed mid-invocation: nothing lost, nothing doubled', async () => {
    const jobId = `killed-leaves-${Date.now()}`;
    const logsBefore = stack.logs.length;
    // The root returns once it has fired its 8 leaves; from then on every coordinator invocation
    // is an asynchronous fanout, which Lambda retries when its container dies.
    expect(
      await submitDirect(jobId, 'square', { kind: 'range', start: 0, stop: 300, step: 1 }),
    ).toMatchObject({
      ok: true,
      response: { total: 300 },
    });
    const mp = stack.context({ tasks, pollMs: { min: 20, max: 200 } });
    const pool = mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
    let last = { done: -1, total: undefined as number | undefined };
    let ended = false;
    const result = pool.attach(jobId, { onProgress: (p) => (last = p) }).finally(() => {
      ended = true;
    });
    result.catch(() => {}); // awaited below; handled meanwhile
    /** Coordinator attempts that failed because their container was killed. */
    const killedAttempts = () =>
      stack.logs
        .slice(logsBefore)
        .filter((l) => l.includes('async attempt') && l.includes('Runtime.ExitError')).length;
    try {
      // Twice, while one is busy, kill every coordinator container: each attempt killed is retried a
      // second later and resumes from its leaf's ledger. Never more than twice, so that no event
      // can fail all three of its attempts.
      for (let kills = 0; kills < 2 && !ended; await new Promise((r) => setTimeout(r, 25))) {
        if (coordinator().stats().busy === 0) continue;
        for (const pid of coordinator().pids()) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {} // gone meanwhile
        }
        kills++;
      }
      const out = (await result) as number[];
      expect(out).toEqual(Array.from({ length: 300 }, (_, i) => i * i));
      expect(last).toMatchObject({ done: 300, total: 300 });
      expect(killedAttempts()).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.terminate();
    }
  });

  it('ran with no errors of the pollers or background invocations', () => {
    onTestFailed(() => console.error(stack?.logs.join('\n')));
    expect(stack.cloud.errors).toEqual([]);
  });
});
