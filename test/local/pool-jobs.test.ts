/**
 * Job ids and reattach on the local context: every async call names its job at once, and the job
 * can be inspected, cancelled and attached to by id, typed by its task when the caller says so.
 */
import { JobCancelledError, JobMismatchError, local, type Pool, type Progress, range } from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';

type Tasks = typeof tasks.tasks;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let pool: Pool<Tasks>;
beforeAll(() => {
  pool = local({ tasks }).Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
});

describe('Pool job ids', () => {
  it('mapAsync, starmapAsync and applyAsync name their job at once: the id onProgress reports', async () => {
    const seen: Progress[] = [];
    const onProgress = (p: Progress) => seen.push(p);
    const m = pool.mapAsync('square', range(10), { chunksize: 2, onProgress });
    expect(m.jobId).toMatch(UUID);
    expect(await m.get()).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    expect(new Set(seen.map((p) => p.jobId))).toEqual(new Set([m.jobId]));

    const s = pool.starmapAsync('add', [[1, 2]], { onProgress });
    const a = pool.applyAsync('add', [3, 4]);
    expect(new Set([m.jobId, s.jobId, a.jobId]).size).toBe(3);
    expect([await s.get(), await a.get()]).toEqual([[3], 7]);
    expect(seen.some((p) => p.jobId === s.jobId)).toBe(true);
  });

  it('imap and imapUnordered name their job before the first result', async () => {
    for (const it of [pool.imap('square', range(6)), pool.imapUnordered('square', range(6))]) {
      expect(it.jobId).toMatch(UUID);
      const seen: number[] = [];
      for await (const x of it) seen.push(x);
      expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 4, 9, 16, 25]);
    }
  });

  it('inspect shows a running job by id, with its task, kind and counts, and a collected one as released', async () => {
    const gate = gateKeeper('inspect');
    try {
      const r = pool.mapAsync('gate', ['inspect'], { chunksize: 1 });
      await gate.started();
      const info = await pool.inspect(r.jobId);
      expect(info).toMatchObject({
        id: r.jobId,
        kind: 'map',
        task: 'gate',
        status: 'RUNNING',
        done: 0,
        total: 1,
      });
      expect(info.endedAt).toBeUndefined();
      expect(info.createdAt).toBeLessThanOrEqual(Date.now());
      gate.open();
      expect(await r.get()).toEqual(['inspect']);
      // The caller released the job once it had its results: a tombstone, whose results are gone.
      expect(await pool.inspect(r.jobId)).toMatchObject({ status: 'DONE', released: true, done: 1 });
      await expect(pool.attach(r.jobId)).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_RELEASED' });
    } finally {
      gate.close();
    }
  });

  it('cancel by id ends a running job: its caller rejects with JobCancelledError, the job reads CANCELLED', async () => {
    const gate = gateKeeper('cancel-by-id');
    try {
      const r = pool.mapAsync('gate', ['cancel-by-id'], { chunksize: 1 });
      await gate.started();
      const after = await pool.cancel(r.jobId, 'the operator said so');
      expect(after).toMatchObject({ id: r.jobId, status: 'CANCELLED' });
      expect(after.error).toMatchObject({
        message: 'the operator said so',
        code: 'ERR_FANFOLD_JOB_CANCELLED',
      });
      expect(after.endedAt).toBeGreaterThanOrEqual(after.createdAt);
      await expect(r.get()).rejects.toBeInstanceOf(JobCancelledError);
      gate.open();
    } finally {
      gate.close();
    }
  });

  it('unknown ids: inspect, cancel and attach reject with JobNotFoundError (code ERR_FANFOLD_JOB_NOT_FOUND)', async () => {
    for (const call of [pool.inspect('nope'), pool.cancel('nope'), pool.attach('nope')]) {
      await expect(call).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_NOT_FOUND', jobId: 'nope' });
    }
    await expect(pool.inspect('')).rejects.toMatchObject({ code: 'ERR_FANFOLD_INVALID_ARGUMENT' });
  });
});

describe('Pool.attach(jobId, { task })', () => {
  it('attaches to a running map job from a second caller and gets its results, without releasing it on request', async () => {
    const gate = gateKeeper('attach-typed');
    try {
      const r = pool.mapAsync('gate', ['attach-typed'], { chunksize: 1 });
      await gate.started();
      const attached = pool.attach(r.jobId, { task: 'gate', release: false });
      gate.open();
      expect(await attached).toEqual(['attach-typed']);
      // The submitter still reads its results: the second reader did not release the job.
      expect(await r.get()).toEqual(['attach-typed']);
    } finally {
      gate.close();
    }
  });

  it('refuses a job of another task, or a map job attached as a mapReduce, with JobMismatchError before reading', async () => {
    const gate = gateKeeper('attach-mismatch');
    try {
      const r = pool.mapAsync('gate', ['attach-mismatch'], { chunksize: 1 });
      await gate.started();
      await expect(pool.attach(r.jobId, { task: 'square' })).rejects.toBeInstanceOf(JobMismatchError);
      await expect(pool.attach(r.jobId, { task: 'square', reducer: 'sum' })).rejects.toMatchObject({
        code: 'ERR_FANFOLD_JOB_MISMATCH',
        jobId: r.jobId,
      });
      gate.open();
      expect(await r.get()).toEqual(['attach-mismatch']);
    } finally {
      gate.close();
    }
  });

  it('checks its options: a task the module lacks, a reducer without a task, a non-boolean release', async () => {
    await expect(pool.attach('x', { task: 'nope' as 'square' })).rejects.toMatchObject({
      code: 'ERR_FANFOLD_UNKNOWN_TASK',
    });
    await expect(pool.attach('x', { reducer: 'sum' } as never)).rejects.toMatchObject({
      code: 'ERR_FANFOLD_INVALID_ARGUMENT',
    });
    await expect(pool.attach('x', { release: 'yes' } as never)).rejects.toMatchObject({
      code: 'ERR_FANFOLD_INVALID_ARGUMENT',
    });
  });
});

describe('Pool.estimate', () => {
  it("plans the job as map would on the pool's processes and prices it, submitting nothing", async () => {
    // 2 processes: CPython's rule gives chunks of ceil(1000 / 8) = 125, so 8 chunks.
    const e = await pool.estimate('square', range(1000), { taskMs: 2 });
    expect(e).toMatchObject({ items: 1000, chunksize: 125, chunks: 8, taskMs: 2 });
    expect(e.cost).toMatchObject({ chunks: 8, retries: 0, backups: 0, prices: { region: 'us-east-1' } });
    // 2 s of tasks on 3538 MB shared by 2 threads.
    expect(e.cost.lambdaGbSeconds).toBeCloseTo((2 * 3538) / 1024 / 2, 9);
    expect(e.durationSeconds).toBeGreaterThan(e.fanoutSeconds);
    expect(await pool.estimate('square', 10, { taskMs: 1, chunksize: 5 })).toMatchObject({
      items: 10,
      chunks: 2,
    });
    const small = await pool.estimate('square', [1, 2, 3], { taskMs: 1, memoryMb: 1024, threads: 1 });
    expect(small.cost.lambdaGbSeconds).toBeCloseTo(0.003, 9);
  });

  it('rejects naming the argument that is wrong', async () => {
    await expect(pool.estimate('nope' as 'square', 10, { taskMs: 1 })).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_FANFOLD_UNKNOWN_TASK' }),
    );
    await expect(pool.estimate('square', 10, {} as never)).rejects.toThrow(
      /options\.taskMs to be a number >= 0, got undefined/,
    );
    await expect(pool.estimate('square', 'ten' as never, { taskMs: 1 })).rejects.toThrow(
      /Expected items to be an array, a range\(\) or a count of items/,
    );
    await expect(pool.estimate('square', 10, { taskMs: 1, chunksize: 0 })).rejects.toThrow(
      /options\.chunksize/,
    );
    await expect(pool.estimate('square', 10, { taskMs: 1, prices: { wru: -1 } as never })).rejects.toThrow(
      /options\.prices\.wru/,
    );
  });
});
