/**
 * A pool given an `onProgress` marked by `observing` (as `fanfold run --dashboard` marks the job's
 * `ctx.onProgress`) hands the mark a reader of its jobs and reports through what the mark returns;
 * the reader answers as `pool.inspect` and `pool.timeline` do, and still once the pool is gone.
 */
import { local } from 'fanfold';
import { describe, expect, it } from 'vitest';
import type { JobProgress } from '../../src/api/job.js';
import { observing, type PoolJobReader } from '../../src/api/job-observer.js';
import tasks from '../fixtures/tasks.js';

describe('observing a pool through its onProgress', () => {
  it('hands the mark a reader of the pool, reports through it, reads after terminate', async () => {
    const plain: JobProgress[] = [];
    const observed: JobProgress[] = [];
    const readers = new Set<PoolJobReader>();
    const onProgress = observing(
      (p) => plain.push(p),
      (reader) => {
        readers.add(reader);
        return (p) => observed.push(p);
      },
    );
    const pool = local({ tasks }).Pool({ processes: 2 });
    let reader: PoolJobReader;
    let jobId: string;
    try {
      expect(await pool.map('square', [1, 2, 3, 4], { chunksize: 1, onProgress })).toEqual([1, 4, 9, 16]);
      await pool.map('square', [5], { onProgress });
      // One reader per pool, however many calls; the progress went to the mark's callback only.
      expect(readers.size).toBe(1);
      expect(plain).toEqual([]);
      jobId = observed[0]!.jobId;
      expect(observed.filter((p) => p.jobId === jobId).at(-1)).toEqual({ jobId, done: 4, total: 4 });
      reader = [...readers][0]!;
      expect(await reader.inspect(jobId)).toEqual(await pool.inspect(jobId));
      expect((await reader.timeline(jobId)).bars).toHaveLength(4);
    } finally {
      await pool.terminate();
    }
    await expect(pool.inspect(jobId)).rejects.toMatchObject({ code: 'ERR_FANFOLD_POOL_NOT_RUNNING' });
    expect(await reader.inspect(jobId)).toMatchObject({ id: jobId, status: 'DONE', done: 4, total: 4 });
    await expect(reader.inspect('no-such-job')).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_NOT_FOUND' });
  });

  it('leaves an unmarked onProgress as it is', async () => {
    const seen: JobProgress[] = [];
    await using pool = local({ tasks }).Pool({ processes: 1 });
    await pool.map('square', [1, 2], { chunksize: 1, onProgress: (p) => seen.push(p) });
    expect(seen.at(-1)).toMatchObject({ done: 2, total: 2 });
  });
});
