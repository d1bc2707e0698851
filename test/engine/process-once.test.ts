/**
 * A `Process` chunk runs at most once, as a CPython process does: a host that dies after claiming
 * its run (`JobStore.claimRun`), a thread that crashes running it, or a duplicate delivery never
 * makes it run again. The job fails with ProcessInterruptedError instead (a Process ends with
 * exitCode 1 and that error). Pool chunks keep their retries (test/engine/faults.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HostStep } from '../../src/engine/host.js';
import { ErrorCodes, TaskError } from '../../src/errors.js';
import type { WorkMessage } from '../../src/ports.js';
import fixture from '../fixtures/tasks.js';
import { dieOnce, type Engine, startEngine } from './harness.js';

const tasks = fixture.tasks;
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const isProcess = (m: WorkMessage) => m.type === 'chunk' && m.process !== undefined;

/** Runs `square(n)` as the process `P-1`: one item, one chunk, flagged as a process. */
function runProcess(e: Engine, n: number): Promise<unknown> {
  return e.client.map('starmap', 'square', [[n]], { chunksize: 1, process: 'P-1' });
}

/** An engine whose first host dies once after `step` of the process chunk; a second host takes over. */
function dyingAt(step: HostStep) {
  let e!: Engine;
  const plan = dieOnce(step, isProcess, () => e.startHost());
  e = engine = startEngine({ tasks, visibilityMs: 100, leaseMs: 100 }, plan);
  return { e, plan };
}

describe('Process chunks on the engine', () => {
  describe('a host that dies', () => {
    it.each(['started', 'ran'] as const)(
      'after "%s": the chunk is not run again and the job fails with ProcessInterruptedError',
      async (step) => {
        const { e, plan } = dyingAt(step);
        const err = await runProcess(e, 3).catch((x: unknown) => x);
        expect(plan.fired()).toBe(true);
        expect(err).toBeInstanceOf(TaskError);
        expect(err).toMatchObject({
          remoteName: 'ProcessInterruptedError',
          remoteCode: ErrorCodes.PROCESS_INTERRUPTED,
        });
        expect((err as TaskError).message).toContain('Process P-1 was interrupted');
        expect(e.executor.chunkRuns).toBe(step === 'ran' ? 1 : 0);
        expect(e.backend.store.runClaims).toBe(1);
        expect([...e.backend.store.ended.values()][0]).toMatchObject({ status: 'FAILED', done: 0 });
      },
    );

    it('after "received" (before the claim): another host runs it once', async () => {
      const { e, plan } = dyingAt('received');
      expect(await runProcess(e, 3)).toEqual([9]);
      expect(plan.fired()).toBe(true);
      expect(e.executor.chunkRuns).toBe(1);
      expect(e.backend.store.runClaims).toBe(1);
    });

    it('after "recorded": another host finalises the recorded run without running it again', async () => {
      const { e, plan } = dyingAt('recorded');
      expect(await runProcess(e, 4)).toEqual([16]);
      expect(plan.fired()).toBe(true);
      expect(e.executor.chunkRuns).toBe(1);
      expect([...e.backend.store.ended.values()][0]).toMatchObject({ status: 'DONE', done: 1, total: 1 });
    });
  });

  it("fails the job at once when the process's thread crashes, with the crash as its cause", async () => {
    engine = startEngine({ tasks, maxReceiveCount: 4, visibilityMs: 100 });
    let crashes = 0;
    engine.executor.crash = () => ++crashes > 0;
    const err = await runProcess(engine, 3).catch((x: unknown) => x);
    expect(err).toMatchObject({
      remoteName: 'ProcessInterruptedError',
      remoteCode: ErrorCodes.PROCESS_INTERRUPTED,
    });
    expect((err as TaskError).message).toContain('thread died running chunk 0');
    expect(crashes).toBe(1);
    expect([...engine.backend.store.ended.values()][0]?.error?.cause?.name).toBe('WorkerCrashedError');
  });

  it('runs a process once when each of its messages is delivered twice', async () => {
    engine = startEngine({ tasks });
    engine.backend.queue.duplicateNext(1_000);
    for (let n = 0; n < 5; n++) expect(await runProcess(engine, n)).toEqual([n * n]);
    expect(engine.executor.chunkRuns).toBe(5);
    expect(engine.backend.store.runClaims).toBe(5);
  });
});
