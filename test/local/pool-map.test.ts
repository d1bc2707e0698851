/**
 * Pool.map / starmap / apply and their async forms, after CPython's `_TestPool` (test_map, test_starmap,
 * test_apply, test_async, test_async_timeout, test_map_async_callbacks, test_map_chunksize,
 * test_empty_iterable, test_map_unplicklable, test_traceback, test_wrapped_exception,
 * test_map_no_failfast, test_release_task_refs).
 */
import {
  AsyncResult,
  local,
  NotSerializableError,
  type Pool,
  type Progress,
  range,
  TaskError,
} from 'fanfold';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../src/local/runtime.js';
import { Point } from '../fixtures/point.js';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;

let runtime: LocalRuntime | undefined;
const mp = local({ tasks }, { onRuntime: (rt) => (runtime = rt) });
let pool: Pool<Tasks>;

// One pool for the file: no test here closes or terminates it.
beforeAll(() => {
  pool = mp.Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
});

function* generate<X>(xs: readonly X[]): Generator<X> {
  yield* xs;
}
async function* generateAsync<X>(xs: readonly X[]): AsyncGenerator<X> {
  for (const x of xs) {
    await Promise.resolve();
    yield x;
  }
}

/** Runs `fn`, recording every progress report it makes. */
async function totals(fn: (onProgress: (p: Progress) => void) => Promise<unknown>): Promise<Progress[]> {
  const seen: Progress[] = [];
  await fn((p) => seen.push(p));
  return seen;
}

describe('Pool', () => {
  describe('map()', () => {
    it('returns results in input order', async () => {
      const expected = Array.from({ length: 100 }, (_, i) => i * i);
      expect(await pool.map('square', range(100))).toEqual(expected);
      expect(await pool.map('asyncDouble', range(20))).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    });

    it('keeps input order when the chunksize does not divide the input', async () => {
      expect(await pool.map('str', range(10), { chunksize: 3 })).toEqual([
        '0',
        '1',
        '2',
        '3',
        '4',
        '5',
        '6',
        '7',
        '8',
        '9',
      ]);
    });

    it.each([
      ['a range()', () => range(1, 6)],
      ['an array', () => [1, 2, 3, 4, 5]],
      ['a Set', () => new Set([1, 2, 3, 4, 5])],
      ['a generator', () => generate([1, 2, 3, 4, 5])],
      ['an async generator', () => generateAsync([1, 2, 3, 4, 5])],
    ])('accepts %s', async (_what, items) => {
      expect(await pool.map('square', items(), { chunksize: 2 })).toEqual([1, 4, 9, 16, 25]);
    });

    it('returns [] for an empty input, with or without a chunksize', async () => {
      expect(await pool.map('square', [])).toEqual([]);
      expect(await pool.map('square', range(0), { chunksize: 1 })).toEqual([]);
      expect(await pool.map('square', generate<number>([]))).toEqual([]);
    });

    it('sends chunks of the given chunksize', async () => {
      const seen = await totals((onProgress) => pool.map('square', range(10), { chunksize: 3, onProgress }));
      expect(seen.every((p) => p.total === 4)).toBe(true);
      expect(seen.at(-1)).toMatchObject({ done: 4, total: 4 });
    });

    it("defaults to CPython's chunksize, ceil(n / (4 × processes))", async () => {
      // 100 items on 2 processes: chunks of ceil(100 / 8) = 13, so 8 chunks; 10 items: chunks of 2.
      const big = await totals((onProgress) => pool.map('square', range(100), { onProgress }));
      expect(big.at(-1)).toMatchObject({ done: 8, total: 8 });
      const small = await totals((onProgress) => pool.map('square', [...range(10)], { onProgress }));
      expect(small.at(-1)).toMatchObject({ done: 5, total: 5 });
    });

    it('rejects with the first task error as a TaskError carrying its remote name, stack and item', async () => {
      const error = await pool.map('failOn', range(10), { chunksize: 3 }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteName: 'RangeError',
        itemIndex: 7,
        chunkIndex: 2,
      });
      expect((error as { remoteStack?: string }).remoteStack).toContain('failOn');
    });

    it('carries the remote error code, and a thrown non-Error as NonError', async () => {
      await expect(pool.map('throwCoded', range(4), { chunksize: 1 })).rejects.toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteName: 'Error',
        remoteCode: 'E_FIXTURE',
        itemIndex: 2,
      });
      await expect(pool.map('throwString', [1])).rejects.toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteName: 'NonError',
      });
    });

    it('fails fast: rejects while other items still run (CPython waits for every task)', async () => {
      const gate = gateKeeper('failfast');
      try {
        // 'failfast' blocks until opened, which never happens: the failure alone ends the map.
        const items = ['failfast', 'throw'];
        await expect(pool.map('gate', items, { chunksize: 1 })).rejects.toMatchObject({
          code: 'ERR_FANFOLD_TASK_FAILED',
          remoteName: 'RangeError',
          itemIndex: 1,
        });
      } finally {
        gate.close();
      }
      // The blocked chunk was cancelled (its thread replaced): the pool still works.
      expect(await pool.map('square', [3])).toEqual([9]);
    });

    it('fails fast within a thread group: the items grouped behind a failure on its thread do not run', async () => {
      // Four one-item chunks on two threads share two round trips ([throw, gate], [gate, gate]):
      // the group's failure must end the map without waiting for (or running) its neighbour.
      const gate = gateKeeper('behind-a-failure');
      try {
        const items = ['throw', 'behind-a-failure', 'behind-a-failure', 'behind-a-failure'];
        await expect(pool.map('gate', items, { chunksize: 1 })).rejects.toMatchObject({
          code: 'ERR_FANFOLD_TASK_FAILED',
          itemIndex: 0,
        });
      } finally {
        gate.close();
      }
      expect(await pool.map('square', [3])).toEqual([9]);
    });

    it('runs nothing queued behind a failure on a one-thread pool', async () => {
      // From a context of its own: this file's context reports its runtime to the test above.
      const one = local({ tasks }).Pool({ processes: 1 });
      const gate = gateKeeper('queued-behind');
      try {
        // Fifty one-item chunks in one group on the one thread. The gate is never opened: had the
        // group gone on past the failure, its next item would wait for ever and the map with it.
        const items = ['throw', ...Array.from({ length: 49 }, () => 'queued-behind')];
        await expect(one.map('gate', items, { chunksize: 1 })).rejects.toMatchObject({ itemIndex: 0 });
        expect(await one.map('square', [2])).toEqual([4]);
      } finally {
        gate.close();
        await one.terminate();
      }
    });

    it('rejects an item that cannot be serialised with NotSerializableError naming its position', async () => {
      const items: unknown[] = [1, 'two', () => 3, 4];
      await expect(pool.map('identity', items)).rejects.toMatchObject({
        code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
        position: 2,
      });
    });

    it('refuses a class instance among the items, naming its position and class, instead of sending it without its methods', async () => {
      // Structured clone would hand the task a plain { x, y }: kind() said 'Object' for both.
      const refused = await pool.map('kind', [{ x: 1, y: 2 }, new Point(3, 4)]).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(NotSerializableError);
      expect(refused).toMatchObject({
        code: 'ERR_FANFOLD_NOT_SERIALIZABLE',
        position: 1,
        className: 'Point',
      });
      expect((refused as Error).message).toMatch(/class Point.*plain data/);
      // Deeper: an argument of apply, a value in a Map; and the Process arguments the same way.
      await expect(pool.apply('add', [1, { p: new Point(0, 0) } as unknown as number])).rejects.toMatchObject(
        {
          className: 'Point',
          position: 1,
          message: expect.stringContaining('(at .p)'),
        },
      );
      await expect(pool.map('kind', [new Map([['k', new Point(1, 1)]])])).rejects.toMatchObject({
        className: 'Point',
      });
      expect(() => mp.Process('add', [1, new Point(1, 1) as unknown as number])).toThrow(
        expect.objectContaining({ code: 'ERR_FANFOLD_NOT_SERIALIZABLE', position: 1, className: 'Point' }),
      );
      // What structured clone rebuilds as it was still travels.
      const values = [
        new Map([[1, 2]]),
        new Set([1]),
        new Date(0),
        /x/g,
        new Uint8Array(2),
        new RangeError('r'),
      ];
      expect(await pool.map('kind', values)).toEqual([
        'Map',
        'Set',
        'Date',
        'RegExp',
        'Uint8Array',
        'RangeError',
      ]);
    });

    it('rejects a result that cannot be serialised with a TaskError whose remote code says so', async () => {
      await expect(pool.map('fn', [1, 2])).rejects.toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteName: 'NotSerializableError',
        remoteCode: 'ERR_FANFOLD_NOT_SERIALIZABLE',
      });
      await expect(pool.map('symbolOn1', range(3), { chunksize: 3 })).rejects.toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteCode: 'ERR_FANFOLD_NOT_SERIALIZABLE',
        chunkIndex: 0,
      });
    });

    it('refuses a class instance returned through apply and imap with NotSerializableError naming its class', async () => {
      // map on both contexts: test/e2e/pool-scenarios.ts. Structured clone would hand back a plain
      // { x, y } without norm(), silently.
      const applied = await pool.apply('pointOrPair', [true]).catch((e: unknown) => e);
      expect(applied).toBeInstanceOf(NotSerializableError);
      expect(applied).toMatchObject({ className: 'Point', message: expect.stringContaining('(at .p)') });
      // The remote stack stays reachable as the cause, as for any task error.
      expect((applied as Error).cause).toMatchObject({
        code: 'ERR_FANFOLD_TASK_FAILED',
        remoteName: 'NotSerializableError',
      });
      expect(await pool.apply('pointOrPair', [false])).toEqual([1, 2]);
      const imapped = await collect(pool.imap('pointOn1', [0, 1, 2], { chunksize: 1 })).catch(
        (e: unknown) => e,
      );
      expect(imapped).toBeInstanceOf(NotSerializableError);
      expect(imapped).toMatchObject({ className: 'Point', position: 1 });
      expect((imapped as Error).message).toMatch(/Task result at position 1 .*class Point.*the caller/);
    });

    it('refuses a class instance as a mapReduce initial value, and as a fold, naming its class', async () => {
      // The initial value goes to the reducer: refused at the call, as an item would be.
      await expect(
        pool.mapReduce('square', [1, 2], 'max', { initial: new Point(1, 1) as unknown as number }),
      ).rejects.toMatchObject({ code: 'ERR_FANFOLD_NOT_SERIALIZABLE', className: 'Point' });
      // A fold that makes one would reach the caller (or the next fold) as a plain { x, y }. The
      // cast stands for a reducer whose type the compiler would refuse here.
      const folded = await pool
        .mapReduce('square', [1, 2, 3, 4], 'pointFold' as 'max', { chunksize: 2 })
        .catch((e: unknown) => e);
      expect(folded).toBeInstanceOf(NotSerializableError);
      expect(folded).toMatchObject({ className: 'Point' });
      expect((folded as Error).message).toMatch(/Reduced value .*class Point/);
      // Plain folds still travel.
      expect(await pool.mapReduce('square', [1, 2, 3, 4], 'max', { chunksize: 2 })).toBe(16);
    });

    it('rejects an unknown task name with UnknownTaskError', async () => {
      // A compile error too (see test/types/pool.test-d.ts): the cast stands for untyped callers.
      await expect(pool.map('nope' as 'square', [1])).rejects.toMatchObject({
        code: 'ERR_FANFOLD_UNKNOWN_TASK',
      });
    });

    it('rejects bad arguments and options with InvalidArgumentError', async () => {
      const invalid = { code: 'ERR_FANFOLD_INVALID_ARGUMENT' };
      await expect(pool.map('square', [1], { chunksize: 0 })).rejects.toMatchObject(invalid);
      await expect(pool.map('square', [1], { chunksize: 1.5 })).rejects.toMatchObject(invalid);
      // Casts: an unknown option and a non-iterable input are compile errors.
      await expect(pool.map('square', [1], { chunk: 2 } as never)).rejects.toMatchObject(invalid);
      await expect(pool.map('square', 5 as unknown as number[])).rejects.toMatchObject(invalid);
      // The message shows what was received, null included (it said "got object").
      await expect(pool.map('square', null as unknown as number[])).rejects.toThrow(/, got null$/);
      await expect(pool.imap('square', null as unknown as number[]).next()).rejects.toThrow(/, got null$/);
    });

    it('refuses an endless generator early with InvalidArgumentError naming imap, the event loop free meanwhile', async () => {
      // Before: the event loop blocked for half a minute, then V8's own RangeError.
      function* endless(): Generator<number> {
        for (let i = 0; ; i++) yield i;
      }
      let turns = 0;
      const ticking = setInterval(() => turns++, 1);
      try {
        await expect(pool.map('square', endless())).rejects.toMatchObject({
          code: 'ERR_FANFOLD_INVALID_ARGUMENT',
          message: expect.stringContaining('imap'),
        });
      } finally {
        clearInterval(ticking);
      }
      expect(turns).toBeGreaterThan(0);
    }, 120_000);

    it("rejects with the input's own error when the iterable throws", async () => {
      const boom = new SyntaxError('bad input');
      function* failing(): Generator<number> {
        yield 1;
        throw boom;
      }
      await expect(pool.map('square', failing())).rejects.toBe(boom);
    });

    it("leaves no result, message or blob behind once it ends, only the jobs' tombstones", async () => {
      const rt = runtime!;
      // Over the queue's 768 KiB and the store's 350 KiB: input and results spill to the blob store.
      const big = ['x'.repeat(900_000), 'y'];
      let jobId = '';
      let spilled = false;
      const onProgress = (p: Progress) => {
        jobId = p.jobId;
        spilled ||= rt.backend.blobs.keys().length > 0;
      };
      expect(await pool.map('identity', big, { onProgress })).toEqual(big);
      expect(spilled).toBe(true);
      const doneJob = jobId;
      await expect(pool.map('failOn', range(10), { onProgress })).rejects.toBeInstanceOf(TaskError);
      expect(jobId).not.toBe(doneJob);
      // Each call returned before its job's release ended.
      await rt.client.settled();
      for (const id of [doneJob, jobId]) {
        expect(await rt.backend.store.getJob(id)).toMatchObject({ released: true });
        expect((await rt.backend.store.readResults(id, [0, 1])).size).toBe(0);
      }
      expect(rt.backend.blobs.keys()).toEqual([]);
      expect(rt.backend.queue.depth()).toEqual({ visible: 0, inFlight: 0 });
      expect(rt.client.active).toBe(0);
    });
  });

  describe('starmap()', () => {
    it('calls the task with each item spread as its arguments', async () => {
      expect(
        await pool.starmap('add', [
          [1, 2],
          [3, 4],
        ]),
      ).toEqual([3, 7]);
      expect(await pool.starmap('repeat', generate<[string, number]>([['ab', 2]]))).toEqual(['abab']);
    });

    it('returns [] for an empty input', async () => {
      expect(await pool.starmap('add', [])).toEqual([]);
    });

    it('rejects an item that is not an argument list with InvalidArgumentError', async () => {
      const items = [[1, 2], 3] as unknown as [number, number][];
      await expect(pool.starmap('add', items)).rejects.toMatchObject({
        code: 'ERR_FANFOLD_INVALID_ARGUMENT',
      });
    });
  });

  describe('apply()', () => {
    it('returns the result of one call', async () => {
      expect(await pool.apply('add', [2, 3])).toBe(5);
      expect(await pool.apply('asyncDouble', [21])).toBe(42);
    });

    it("wraps the task's error in a TaskError (CPython re-raises the same class)", async () => {
      const error = await pool.apply('failOn', [7]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_FANFOLD_TASK_FAILED', remoteName: 'RangeError' });
      expect(error).not.toBeInstanceOf(RangeError);
    });
  });

  describe('applyAsync()', () => {
    it('is pending until the task ends: get(timeout) rejects with TimeoutError, wait(timeout) does not', async () => {
      const gate = gateKeeper('apply-async');
      try {
        const res = pool.applyAsync('gate', ['apply-async']);
        await gate.started();
        expect(res).toBeInstanceOf(AsyncResult);
        expect(res.ready()).toBe(false);
        expect(() => res.successful()).toThrow(expect.objectContaining({ code: 'ERR_FANFOLD_NOT_READY' }));
        await expect(res.get(10)).rejects.toMatchObject({ code: 'ERR_FANFOLD_TIMEOUT' });
        await expect(res.wait(10)).resolves.toBeUndefined();
        expect(res.ready()).toBe(false);
        gate.open();
        expect(await res.get()).toBe('apply-async');
        expect(res.ready()).toBe(true);
        expect(res.successful()).toBe(true);
      } finally {
        gate.close();
      }
    });

    it('calls callback once with the result, and never errorCallback', async () => {
      const calls: unknown[] = [];
      const res = pool.applyAsync('add', [1, 2], {
        callback: (r) => calls.push(['ok', r]),
        errorCallback: (e) => calls.push(['error', e]),
      });
      expect(await res.get()).toBe(3);
      await res.wait();
      expect(calls).toEqual([['ok', 3]]);
    });

    it('calls errorCallback once with the error; get() rejects with it and successful() is false', async () => {
      const errors: unknown[] = [];
      const res = pool.applyAsync('failOn', [7], {
        callback: () => errors.push('callback'),
        errorCallback: (e) => errors.push(e),
      });
      await res.wait();
      expect(res.successful()).toBe(false);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'ERR_FANFOLD_TASK_FAILED', remoteName: 'RangeError' });
      await expect(res.get()).rejects.toBe(errors[0]);
    });
  });

  describe('mapAsync()', () => {
    it('settles over an empty input without waiting for the threads to start', async () => {
      // The initializer waits at a gate never opened: the threads never become ready.
      const waiting = local({ tasks }).Pool({
        processes: 1,
        initializer: 'gate',
        initargs: ['never-opened'],
      });
      try {
        expect(await waiting.mapAsync('square', []).get()).toEqual([]);
        expect(await waiting.starmapAsync('add', []).get()).toEqual([]);
        expect(await waiting.map('square', range(0))).toEqual([]);
      } finally {
        await waiting.terminate();
      }
    });

    it('resolves get() with the results in order and calls callback once', async () => {
      const results: number[][] = [];
      const res = pool.mapAsync('square', range(10), { chunksize: 3, callback: (r) => results.push(r) });
      expect(await res.get()).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
      expect(results).toEqual([[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]]);
      expect(await pool.mapAsync('square', []).get()).toEqual([]);
    });

    it('calls errorCallback once with the first task error', async () => {
      const calls: unknown[] = [];
      const res = pool.mapAsync('failOn', range(10), {
        callback: () => calls.push('callback'),
        errorCallback: (e) => calls.push(e),
      });
      await expect(res.get()).rejects.toMatchObject({ code: 'ERR_FANFOLD_TASK_FAILED', itemIndex: 7 });
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ code: 'ERR_FANFOLD_TASK_FAILED' });
    });

    it('rejects a callback that is not a function with InvalidArgumentError', () => {
      expect(() => pool.mapAsync('square', [1], { callback: 1 as never })).toThrow(
        expect.objectContaining({ code: 'ERR_FANFOLD_INVALID_ARGUMENT' }),
      );
    });
  });

  describe('starmapAsync()', () => {
    it('resolves with the results and calls callback once', async () => {
      const results: number[][] = [];
      const res = pool.starmapAsync(
        'add',
        [
          [1, 1],
          [2, 2],
        ],
        { callback: (r) => results.push(r) },
      );
      expect(await res.get()).toEqual([2, 4]);
      expect(results).toEqual([[2, 4]]);
    });
  });
});
