/**
 * `pool.timeline(jobId)` on the local context: a job's recorded chunk attempts, read after the
 * call collected its results, one bar per chunk on the rows of the threads that ran them.
 */
import { InvalidArgumentError, JobNotFoundError, local, range } from 'fanfold';
import { afterAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/tasks.js';

const pool = local({ tasks }).Pool({ processes: 2 });
afterAll(() => pool.terminate());

describe('Pool.timeline (local)', () => {
  it('draws every chunk of a collected job once, on the threads of the pool, after the job started', async () => {
    let jobId = '';
    const before = Date.now();
    const out = await pool.map(
      'spin',
      [...range(8)].map(() => 20),
      {
        chunksize: 1,
        onProgress: (p) => (jobId = p.jobId),
      },
    );
    expect(out).toEqual(new Array(8).fill(20));
    const { data, svg, html } = await pool.timeline(jobId);
    expect(data.jobId).toBe(jobId);
    expect(data.status).toBe('DONE');
    expect(data.total).toBe(8);
    expect(data.missing).toBe(0);
    expect(data.bars.map((b) => b.index)).toEqual([...range(8)]);
    // Two threads of one host ran them (at least one of each in eight 20 ms chunks is not assured).
    expect(data.rows.length).toBeGreaterThanOrEqual(1);
    expect(data.rows.length).toBeLessThanOrEqual(2);
    expect(new Set(data.rows.map((r) => r.worker)).size).toBe(1);
    expect(data.createdAt).toBeGreaterThanOrEqual(before - 1);
    for (const b of data.bars) {
      expect(b.ms).toBeGreaterThanOrEqual(19);
      expect(b.attempt).toBe(1);
      expect(b.outcome).toBe('ok');
    }
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(8);
    expect(html).toContain(svg);
  });

  it('rejects an id it has no job for', async () => {
    await expect(pool.timeline('no-such-job')).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(pool.timeline('')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
