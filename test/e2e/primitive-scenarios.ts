/**
 * Primitives passed into tasks, written once and run on every context: a Lock and a Value, a pair of
 * Queues, a Pipe end, two Events and a Barrier go to tasks run by `Process` (and a Value to
 * `Pool.apply`); the tasks revive them on the same state as the caller's (shared memory on local
 * worker threads, DynamoDB and SQS in the worker Lambdas). Every wait is on a primitive, never a sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Primitives, ProcessFactory } from '../../src/api/context.js';
import type { Pool } from '../../src/api/pool.js';
import type { Process } from '../../src/api/process.js';
import type { TaskMap } from '../../src/api/tasks.js';
import { ErrorCodes } from '../../src/errors.js';
import type tasks from '../fixtures/pool-tasks.js';
import { scaledByMachine } from '../support/machine-pace.js';

/** The fixture's task map. */
type Tasks = (typeof tasks extends { readonly tasks: infer T } ? T : never) & TaskMap;

/** A context under test, with the Pool tests' fixture tasks. */
export type PrimitiveScenarioContext = Primitives & ProcessFactory<Tasks>;

/** What a context provides to the scenarios. */
export interface PrimitiveScenarioEnv {
  readonly mp: PrimitiveScenarioContext;
  readonly pool: () => Pool<Tasks>;
  stop(): Promise<void>;
}

/**
 * How long a process may take on the slowest context (the runner starts Lambda containers): a
 * minute on a quiet machine, longer by the share of a core this file gets (both tiers that run the
 * scenarios, local and runner, measure it as they start).
 */
const PATIENCE_MS = scaledByMachine(60_000);

async function joinAll(processes: readonly Process[]): Promise<void> {
  for (const p of processes) await p.join(PATIENCE_MS);
  for (const p of processes) {
    expect(p.error, `${p.name}: ${p.error?.message}`).toBeUndefined();
    expect(p.exitCode).toBe(0);
  }
}

/**
 * Rejects with a process's error as soon as one of `processes` ends without success, so that a
 * caller waiting on a primitive the process would have served fails with the reason at once.
 */
function failureOf(processes: readonly Process[]): Promise<never> {
  const failure = new Promise<never>((_, reject) => {
    for (const p of processes) {
      void p.join().then(() => {
        if (p.exitCode !== 0) reject(p.error ?? new Error(`${p.name} exited with ${p.exitCode}`));
      });
    }
  });
  failure.catch(() => {}); // only the races below report it
  return failure;
}

/** Declares the scenarios; `make` runs once for the block (in beforeAll). */
export function describePrimitiveScenarios(
  title: string,
  make: () => Promise<PrimitiveScenarioEnv>,
  setupTimeoutMs = scaledByMachine(60_000),
): void {
  describe(title, () => {
    let env: PrimitiveScenarioEnv | undefined;
    beforeAll(async () => {
      env = await make();
    }, setupTimeoutMs);
    afterAll(async () => {
      await env?.stop();
    });
    const ctx = () => env!.mp;

    it('two processes add to a Value under a Lock; no update is lost', {
      timeout: 2 * PATIENCE_MS,
    }, async () => {
      const mp = ctx();
      const lock = mp.Lock();
      const value = mp.Value('i', 0, { lock: false });
      const runs = mp.Value('i', 0, { lock: false });
      const processes = [0, 1].map(() => mp.Process('lockedAdd', [lock, value, 10, runs]));
      for (const p of processes) await p.start();
      await joinAll(processes);
      // A process runs its target once, as in CPython (a re-run would count twice).
      expect(await runs.get()).toBe(2);
      expect(await value.get()).toBe(20);
      expect(await lock.locked()).toBe(false);
    });

    it('a process takes items from one Queue and puts results on another, in order', {
      timeout: PATIENCE_MS,
    }, async () => {
      const mp = ctx();
      await using inbox = mp.Queue<number>();
      await using outbox = mp.Queue<number>();
      const p = mp.Process('queueDouble', [inbox, outbox, 3]);
      await p.start();
      for (const x of [1, 2, 3]) await inbox.put(x);
      const failure = failureOf([p]);
      const out = [];
      for (let i = 0; i < 3; i++)
        out.push(await Promise.race([outbox.get({ timeoutMs: PATIENCE_MS }), failure]));
      expect(out).toEqual([2, 4, 6]);
      await joinAll([p]);
    });

    it("a process answers on its Pipe end and closes it; the caller's recv then throws ClosedError", {
      timeout: PATIENCE_MS,
    }, async () => {
      const mp = ctx();
      const [mine, theirs] = mp.Pipe<unknown>();
      const p = mp.Process('pipeEcho', [theirs]);
      await p.start();
      await mine.send('ping');
      expect(await Promise.race([mine.recv(), failureOf([p])])).toEqual({ echo: 'ping' });
      await expect(mine.recv()).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      await joinAll([p]);
      await mine.close();
    });

    it('a process waits for an Event the caller sets, then sets one the caller waits for', {
      timeout: PATIENCE_MS,
    }, async () => {
      const mp = ctx();
      const go = mp.Event();
      const done = mp.Event();
      const p = mp.Process('eventRelay', [go, done]);
      await p.start();
      await go.set();
      expect(await Promise.race([done.wait(PATIENCE_MS), failureOf([p])])).toBe(true);
      await joinAll([p]);
    });

    it('two processes and the caller meet at a Barrier', { timeout: 2 * PATIENCE_MS }, async () => {
      const mp = ctx();
      const barrier = mp.Barrier(3);
      const processes = [0, 1].map(() => mp.Process('barrierWait', [barrier, PATIENCE_MS]));
      for (const p of processes) await p.start();
      const mine = await Promise.race([barrier.wait(PATIENCE_MS), failureOf(processes)]);
      expect([0, 1, 2]).toContain(mine);
      await joinAll(processes);
      expect(await barrier.broken()).toBe(false);
    });

    it('Pool.apply passes a Value to a task, which adds to it', { timeout: 2 * PATIENCE_MS }, async () => {
      const mp = ctx();
      const value = mp.Value('i', 1);
      await using pool = env!.pool();
      expect(await pool.apply('valueAdd', [value, 41])).toBe(42);
      expect(await value.get()).toBe(42);
    });
  });
}
