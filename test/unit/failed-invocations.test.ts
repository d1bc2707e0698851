/**
 * What the failure path does with an asynchronous invocation of the coordinator that failed for
 * good (the record Lambda sends to the on-failure destination, or the local invoker's last
 * attempt): a `fanout` fails its job with a FanoutFailedError naming the range, however the
 * invocation was given up; anything else touches no job.
 */
import { describe, expect, it } from 'vitest';
import { handleFailedInvocation } from '../../src/engine/failed-invocations.js';
import { ErrorCodes } from '../../src/errors.js';
import { MemoryJobStore } from '../../src/local/memory-store.js';

async function storeWithJob(jobId: string): Promise<MemoryJobStore> {
  const store = new MemoryJobStore();
  await store.createJob({ id: jobId, kind: 'map', task: 'square', total: 40, deadline: Date.now() + 60_000 });
  return store;
}

const fanout = (jobId: string) => ({ v: 1, type: 'fanout', jobId, from: 20, to: 40 });

describe('handleFailedInvocation()', () => {
  it('fails the job of a fanout that waited in the queue past its maximum age', async () => {
    const store = await storeWithJob('aged');
    const errors: unknown[] = [];
    const failed = await handleFailedInvocation(
      store,
      { request: fanout('aged'), attempts: 1, condition: 'EventAgeExceeded' },
      (e) => errors.push(e),
    );
    expect(failed).toBe('aged');
    expect((await store.getJob('aged'))?.status).toBe('FAILED');
    expect((await store.getJob('aged'))?.error).toEqual({
      reason: 'fanout',
      name: 'FanoutFailedError',
      code: ErrorCodes.FANOUT_FAILED,
      message: 'The fan-out of chunks 20 to 39 of job aged waited too long to run (1 attempts)',
      attempts: 1,
    });
    expect(errors).toEqual([]);
  });

  it('keeps the first failure of a job: a second failed fanout of it changes nothing', async () => {
    const store = await storeWithJob('twice');
    const cause = { name: 'Error', message: 'first' };
    const first = { request: fanout('twice'), attempts: 3, condition: 'RetriesExhausted', error: cause };
    expect(await handleFailedInvocation(store, first, () => {})).toBe('twice');
    const second = { ...first, error: { name: 'Error', message: 'second' } };
    expect(await handleFailedInvocation(store, second, () => {})).toBeUndefined();
    expect((await store.getJob('twice'))?.error).toMatchObject({ attempts: 3, cause });
  });

  it('reports a failed request of another type, or one that is malformed, and touches no job', async () => {
    const store = await storeWithJob('other');
    const errors: unknown[] = [];
    for (const request of [
      { v: 1, type: 'release', jobId: 'other' },
      { v: 1, type: 'fanout', jobId: 'other', from: 5, to: 2 },
      'not a request',
    ])
      expect(
        await handleFailedInvocation(store, { request, attempts: 3, condition: 'RetriesExhausted' }, (e) =>
          errors.push(e),
        ),
      ).toBeUndefined();
    expect(errors).toHaveLength(3);
    expect((await store.getJob('other'))?.status).toBe('RUNNING');
  });
});
