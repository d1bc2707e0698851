/**
 * `apply` on the local context runs without a job (src/local/direct-call.ts): these tests hold it
 * to what its one-item job guaranteed: one result per call, redelivery after a thread crash up to
 * maxAttempts, the job's errors, cancellation by terminate().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { local, type Pool, RetriesExhaustedError, range } from 'fanfold';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';

type Tasks = typeof tasks.tasks;

const mp = local({ tasks });
const pools: Pool<Tasks>[] = [];
const dir = mkdtempSync(join(tmpdir(), 'fanfold-apply-'));

function open(maxAttempts?: number): Pool<Tasks> {
  const pool = mp.Pool({ processes: 2, ...(maxAttempts ? { maxAttempts } : {}) });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.terminate()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Pool.apply (local)', () => {
  it('answers each of many concurrent calls once, with its own result', async () => {
    const pool = open();
    const n = 500;
    const out = await Promise.all(Array.from({ length: n }, (_, i) => pool.apply('add', [i, 1])));
    expect(out).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('keeps values as structured clone does', async () => {
    const pool = open();
    expect(await pool.apply('kind', [new Map([[1, 2]])])).toBe('Map');
    expect(await pool.apply('repeat', ['ab', 3])).toBe('ababab');
  });

  it("rejects with the task's TaskError", async () => {
    const pool = open();
    await expect(pool.apply('failOn', [7])).rejects.toMatchObject({
      code: 'ERR_FANFOLD_TASK_FAILED',
      remoteName: 'RangeError',
      itemIndex: 0,
    });
  });

  it('awaits a task that returns a promise', async () => {
    const pool = open();
    expect(await pool.apply('asyncDouble', [21])).toBe(42);
  });

  it('names the argument that cannot be cloned, and a result that cannot be', async () => {
    const pool = open();
    await expect(pool.apply('repeat', ['a', (() => 2) as unknown as number])).rejects.toMatchObject({
      code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      position: 1,
    });
    await expect(pool.apply('symbolOn1', [1])).rejects.toMatchObject({
      code: 'ERR_FANFOLD_TASK_FAILED',
      remoteCode: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      itemIndex: 0,
    });
    expect(await pool.apply('symbolOn1', [2])).toBe(2);
  });

  it('rejects an unknown task name before anything runs', async () => {
    const pool = open();
    await expect(pool.apply('nope' as 'add', [1, 2])).rejects.toMatchObject({
      code: 'ERR_FANFOLD_UNKNOWN_TASK',
    });
  });

  it('redelivers a call whose thread died, and the calls beside it each answer once', async () => {
    const pool = open();
    const marker = join(dir, 'once');
    const beside = Array.from({ length: 50 }, (_, i) => pool.apply('add', [i, 0]));
    const crashed = pool.apply('crashOnce', [marker]);
    expect(await crashed).toBe('redelivered');
    expect(await Promise.all(beside)).toEqual([...range(50)]);
  });

  it('fails with RetriesExhaustedError after maxAttempts crashes, and the pool keeps working', async () => {
    const pool = open(2);
    const error = await pool.apply('crash', [3]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ attempts: 2, lastError: { name: 'WorkerCrashedError' } });
    expect(await pool.apply('add', [2, 3])).toBe(5);
  });

  it('terminate() rejects a running call with JobCancelledError', async () => {
    const pool = open();
    const gate = gateKeeper('apply-busy');
    try {
      const res = pool.apply('busy', ['apply-busy']);
      await gate.started();
      await pool.terminate();
      await expect(res).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_CANCELLED' });
    } finally {
      gate.close();
    }
  }, 15_000);
});
