/**
 * Regressions: bugs and CPython divergences found while writing the Pool tests. Each test names
 * the place that was at fault and now guards the fix.
 */
import { local, type Pool, RetriesExhaustedError, range, TaskError } from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;

const mp = local({ tasks });
let pool: Pool<Tasks>;
beforeAll(() => {
  pool = mp.Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
});

describe('Pool (regressions)', () => {
  // src/local/thread-main.ts / bundle.ts: the thread bundle has an inline source map, but source
  // maps are not enabled in the worker, so the remote stack names node_modules/.cache/fanfold/thread-*.mjs.
  it('remoteStack names the fixture file that threw', async () => {
    const error = await pool.map('failOn', range(10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).remoteStack).toContain('fixtures/tasks.ts');
  });

  // src/engine/run-chunk.ts runChunk: `i = -1` is set before ResultList.encode, and the
  // NotSerializableError's position only survives in the message.
  it('a result that cannot be serialised gives a TaskError with its itemIndex', async () => {
    await expect(pool.map('symbolOn1', range(3), { chunksize: 3 })).rejects.toMatchObject({
      code: 'ERR_FANFOLD_TASK_FAILED',
      itemIndex: 1,
    });
  });

  // src/api/pool.ts apply(): throws a plain TypeError (no code) instead of InvalidArgumentError.
  it('apply() rejects non-array args with InvalidArgumentError', async () => {
    await expect(pool.apply('add', 5 as unknown as [number, number])).rejects.toMatchObject({
      code: 'ERR_FANFOLD_INVALID_ARGUMENT',
    });
  });

  // src/engine/client.ts stream(): each chunk is planned as `new ChunkPlanner(items, n).input(0, …)`,
  // so encodeList gets offset 0 and the position is the index within the chunk, not the input.
  it('imap() names the input position of an item that cannot be serialised', async () => {
    const items: unknown[] = [1, 2, () => 3];
    await expect(collect(pool.imap('identity', items))).rejects.toMatchObject({
      code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      position: 2,
    });
  });

  // src/engine/client.ts stream(): the error from take() ends the generator before the results of
  // the items already taken are yielded. CPython's test_imap_handle_iterable_exception gets 0, 1, 4 first.
  it('imap() yields the results of the items before the one where the iterable throws', async () => {
    class SayWhenError extends Error {}
    function* failing(): Generator<number> {
      for (let i = 0; i < 10; i++) {
        if (i === 3) throw new SayWhenError('3');
        yield i;
      }
    }
    const got: number[] = [];
    const loop = (async () => {
      for await (const x of pool.imap('square', failing(), { chunksize: 1 })) got.push(x);
    })();
    await expect(loop).rejects.toBeInstanceOf(SayWhenError);
    expect(got).toEqual([0, 1, 4]);
  });

  // src/engine/client.ts stream(): the finally block cancels the job but never calls the input
  // iterator's return(), so a generator's finally (closing a file, a cursor…) never runs.
  it('imap() closes the input iterator on break', async () => {
    let closed = false;
    function* source(): Generator<number> {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const _ of pool.imap('square', source())) break;
    expect(closed).toBe(true);
  });

  // src/api/pool.ts #run / terminate(): a call made while the workers start awaits ready(), then
  // submits its job after terminate() has already run cancelAll() and killed the host: it never
  // settles (until jobTimeoutMs, a day).
  it('terminate() rejects a call made while the pool was starting', async () => {
    const fresh = mp.Pool({ processes: 1 });
    const pending = fresh.map('square', [1, 2]);
    await fresh.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_CANCELLED' });
  }, 5_000);

  describe('worker crash', () => {
    // src/engine/client.ts #throwIfEnded passes the job's failure record (written by
    // dead-letters.ts as name 'RetriesExhaustedError') as lastError, not the chunk's last error.
    it("RetriesExhaustedError.lastError is the chunk's last error (the crash)", async () => {
      const error = await pool.map('crash', [3], { chunksize: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetriesExhaustedError);
      expect((error as RetriesExhaustedError).lastError).toMatchObject({ name: 'WorkerCrashedError' });
    });

    // src/engine/host.ts #dispatch/#runGroup: chunks batched into one thread run with the crashing
    // chunk are redelivered with it and use up their attempts too; the job fails naming chunk 0
    // (items 0–1, which never crash) rather than chunk 1 (items 2–3).
    it('RetriesExhaustedError names the chunk that crashed, not a bystander', async () => {
      await expect(pool.map('crash', range(10), { chunksize: 2 })).rejects.toMatchObject({
        code: 'ERR_FANFOLD_RETRIES_EXHAUSTED',
        chunkIndex: 1,
      });
    });

    // src/engine/host.ts #runGroup: with one attempt there is no lone redelivery to find the
    // culprit, and the whole group [0, 1, 2] went to the dead-letter queue with the crash noted on
    // each: the job failed naming chunk 0, which had run to its end before chunk 1 crashed.
    it('with maxAttempts 1, RetriesExhaustedError names the chunk that crashed, not its group', async () => {
      const once = local({ tasks }).Pool({ processes: 2, maxAttempts: 1 });
      try {
        await expect(once.map('crash', range(10), { chunksize: 2 })).rejects.toMatchObject({
          code: 'ERR_FANFOLD_RETRIES_EXHAUSTED',
          chunkIndex: 1,
        });
      } finally {
        await once.terminate();
      }
    });
  });
});
