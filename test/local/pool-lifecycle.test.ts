/**
 * A pool's life and options, after CPython's `_TestPool` (test_make_pool, test_terminate, test_context,
 * test_pool_worker_lifetime, test_pool_worker_lifetime_early_close, initializer) and `_TestPoolWorkerErrors`.
 * These tests close and terminate their pools, so each makes its own.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cpuCount, currentProcess, local, type Pool, type PoolOptions, range } from 'fanfold';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../src/local/runtime.js';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const runtimes: LocalRuntime[] = [];
const mp = local({ tasks }, { onRuntime: (rt) => runtimes.push(rt) });
const pools: Pool<Tasks>[] = [];

function open(options: PoolOptions<Tasks> = {}): Pool<Tasks> {
  const pool = mp.Pool({ processes: 2, ...options });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.terminate()));
});

describe('Pool', () => {
  describe('Pool() options', () => {
    it.each([0, -1, 1.5, '2', Number.NaN, 1025])(
      'throws InvalidArgumentError for processes %o before any thread starts',
      (processes) => {
        const before = runtimes.length;
        expect(() => mp.Pool({ processes: processes as number })).toThrow(
          expect.objectContaining({ code: 'ERR_FANFOLD_INVALID_ARGUMENT' }),
        );
        expect(runtimes.length).toBe(before);
      },
    );

    it.each([
      ['an unknown option', { procs: 2 }],
      ['maxTasksPerChild 0', { maxTasksPerChild: 0 }],
      ['chunksize 0', { chunksize: 0 }],
      ['maxAttempts 0', { maxAttempts: 0 }],
      ['initargs without an initializer', { initargs: [1] }],
    ])('throws InvalidArgumentError for %s', (_what, options) => {
      const before = runtimes.length;
      expect(() => mp.Pool(options as PoolOptions<Tasks>)).toThrow(
        expect.objectContaining({ code: 'ERR_FANFOLD_INVALID_ARGUMENT' }),
      );
      expect(runtimes.length).toBe(before);
    });

    it('throws UnknownTaskError for an initializer the tasks module does not define', () => {
      // A compile error too: the cast stands for untyped callers.
      expect(() => mp.Pool({ initializer: 'nope' as 'init' })).toThrow(
        expect.objectContaining({ code: 'ERR_FANFOLD_UNKNOWN_TASK' }),
      );
    });

    it('throws NotSerializableError naming an initargs item that cannot be serialised', () => {
      expect(() => mp.Pool({ initializer: 'init', initargs: [1, () => 2] })).toThrow(
        expect.objectContaining({ code: 'ERR_FANFOLD_NOT_SERIALIZABLE', position: 1 }),
      );
    });

    it('defaults processes to cpuCount()', () => {
      expect(open({ processes: undefined }).processes).toBe(cpuCount());
    });

    it('gives the same results on 1 and 2 processes', async () => {
      const one = open({ processes: 1 });
      const two = open({ processes: 2 });
      expect(one.processes).toBe(1);
      const [a, b] = await Promise.all([
        one.map('str', range(25), { chunksize: 4 }),
        two.map('str', range(25), { chunksize: 4 }),
      ]);
      expect(a).toEqual(b);
      expect(a).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
    });

    it('uses the chunksize option for calls that pass none', async () => {
      const pool = open({ chunksize: 5 });
      let total: number | undefined;
      await pool.map('square', range(12), { onProgress: (p) => (total = p.total) });
      expect(total).toBe(3);
    });
  });

  describe('close()', () => {
    it('moves RUN to CLOSE; later calls reject with PoolNotRunningError', async () => {
      const pool = open();
      expect(pool.state).toBe('RUN');
      pool.close();
      pool.close();
      expect(pool.state).toBe('CLOSE');
      const notRunning = { code: 'ERR_FANFOLD_POOL_NOT_RUNNING' };
      await expect(pool.map('square', [1])).rejects.toMatchObject(notRunning);
      await expect(pool.starmap('add', [[1, 2]])).rejects.toMatchObject(notRunning);
      await expect(pool.apply('add', [1, 2])).rejects.toMatchObject(notRunning);
      await expect(pool.mapReduce('square', [1], 'sum')).rejects.toMatchObject(notRunning);
      await expect(pool.mapAsync('square', [1]).get()).rejects.toMatchObject(notRunning);
      await expect(pool.applyAsync('add', [1, 2]).get()).rejects.toMatchObject(notRunning);
      await expect(collect(pool.imap('square', [1]))).rejects.toMatchObject(notRunning);
      await expect(collect(pool.imapUnordered('square', [1]))).rejects.toMatchObject(notRunning);
      await pool.join();
    });

    it('lets pending work finish: join() waits for it', async () => {
      const pool = open();
      const gate = gateKeeper('close-join');
      try {
        const res = pool.mapAsync('gate', ['close-join']);
        await gate.started();
        pool.close();
        let joined = false;
        const join = pool.join().then(() => (joined = true));
        // The job is blocked on the gate: join() cannot have finished, whatever runs meanwhile.
        await res.wait(20);
        expect(joined).toBe(false);
        gate.open();
        await join;
        expect(res.successful()).toBe(true);
        expect(await res.get()).toEqual(['close-join']);
      } finally {
        gate.close();
      }
    });
  });

  describe('join()', () => {
    it('rejects with PoolStillRunningError before close() or terminate()', async () => {
      const pool = open();
      await expect(pool.join()).rejects.toMatchObject({ code: 'ERR_FANFOLD_POOL_STILL_RUNNING' });
      expect(pool.state).toBe('RUN');
    });
  });

  describe('terminate()', () => {
    it('rejects pending work with JobCancelledError and returns while a task still spins', async () => {
      const pool = open();
      const gate = gateKeeper('terminate-busy');
      try {
        // `busy` spins for a minute: terminate() can only return first by stopping its thread.
        const res = pool.mapAsync('busy', ['terminate-busy']);
        await gate.started();
        await pool.terminate();
        expect(pool.state).toBe('TERMINATE');
        await expect(res.get()).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_CANCELLED' });
        await expect(pool.map('square', [1])).rejects.toMatchObject({ code: 'ERR_FANFOLD_POOL_NOT_RUNNING' });
        await pool.terminate();
        await pool.join();
      } finally {
        gate.close();
      }
    }, 15_000);

    it('after close(), still cancels pending work', async () => {
      const pool = open();
      const gate = gateKeeper('close-terminate');
      try {
        const res = pool.mapAsync('gate', ['close-terminate']);
        await gate.started();
        pool.close();
        await pool.terminate();
        expect(pool.state).toBe('TERMINATE');
        await expect(res.get()).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_CANCELLED' });
        await pool.join();
      } finally {
        gate.close();
      }
    });
  });

  describe('[Symbol.asyncDispose]()', () => {
    it('terminates the pool at the end of an `await using` block', async () => {
      let outer: Pool<Tasks>;
      {
        await using pool = mp.Pool({ processes: 1 });
        outer = pool;
        expect(await pool.map('square', [2])).toEqual([4]);
      }
      expect(outer.state).toBe('TERMINATE');
      await expect(outer.apply('add', [1, 2])).rejects.toMatchObject({
        code: 'ERR_FANFOLD_POOL_NOT_RUNNING',
      });
    });
  });

  describe('a pool never closed', () => {
    it('keeps the program alive while work is pending, and not once it is idle', async () => {
      // The program exits 13 if nothing kept it alive until its mapAsync's callback, 2 if its idle
      // pool kept it alive after its last result (before: the local host's long poll of the work
      // queue held a timer, so the program printed its results and never exited).
      const env = { ...process.env };
      delete env.FANFOLD_STACK;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/pool-idle-exit.ts'],
        { cwd: ROOT, env, timeout: 60_000 },
      );
      expect(stdout).toBe('[300,300]\n[1,4,9]\n');
    });
  });

  describe('a tasks module that starts a pool at its top level', () => {
    it('fails at once with TasksModuleError naming the guard (before: each thread started another pool)', async () => {
      // The module awaits its pool's map at import; its thread imports it again to find the tasks.
      await expect(import('../fixtures/pool-at-import-tasks.js')).rejects.toMatchObject({
        code: 'ERR_FANFOLD_TASKS_MODULE',
        message: expect.stringContaining('isMainThread'),
        cause: expect.objectContaining({ code: 'ERR_FANFOLD_WORKER_CRASHED' }),
      });
    });
  });

  describe('maxTasksPerChild', () => {
    it('replaces each worker after one chunk, running the initializer in every new worker', async () => {
      const pool = open({ maxTasksPerChild: 1, initializer: 'init', initargs: ['x', 2] });
      const names = await pool.map('whoami', range(8), { chunksize: 1 });
      expect(new Set(names).size).toBe(8);
      expect(await pool.map('initArgs', range(6), { chunksize: 1 })).toEqual(Array(6).fill(['x', 2]));
    });

    it('finishes pending work when the pool is closed early', async () => {
      const pool = open({ maxTasksPerChild: 1 });
      const res = pool.mapAsync('asyncDouble', range(6), { chunksize: 1 });
      pool.close();
      await pool.join();
      expect(await res.get()).toEqual([0, 2, 4, 6, 8, 10]);
    });
  });

  describe('initializer', () => {
    it('runs in every worker with initargs before any task', async () => {
      const initargs = [1, 'two', { three: [3] }, new Map([['four', 4]])];
      const pool = open({ initializer: 'init', initargs });
      const seen = await pool.map('initArgs', range(8), { chunksize: 1 });
      expect(seen).toEqual(Array(8).fill(initargs));
    });

    it('rejects every call with a TaskError when it throws', async () => {
      const pool = open({ initializer: 'initFails' });
      const failed = { code: 'ERR_FANFOLD_TASK_FAILED', remoteName: 'TypeError' };
      await expect(pool.map('square', [1])).rejects.toMatchObject(failed);
      await expect(pool.apply('add', [1, 2])).rejects.toMatchObject(failed);
    });
  });

  describe('worker crash', () => {
    it('rejects with RetriesExhaustedError after maxAttempts, and the pool keeps working', async () => {
      const pool = open();
      await expect(pool.map('crash', range(10), { chunksize: 2 })).rejects.toMatchObject({
        code: 'ERR_FANFOLD_RETRIES_EXHAUSTED',
        attempts: 3,
      });
      expect(await pool.map('square', range(5))).toEqual([0, 1, 4, 9, 16]);
      expect(await pool.map('crash', [1, 2, 4])).toEqual([1, 2, 4]);
    });
  });
});

describe('cpuCount()', () => {
  it('is an integer >= 1, also on the context', () => {
    expect(Number.isInteger(cpuCount())).toBe(true);
    expect(cpuCount()).toBeGreaterThanOrEqual(1);
    expect(mp.cpuCount()).toBe(cpuCount());
  });
});

describe('currentProcess()', () => {
  it("is 'MainProcess' here and the worker's name inside a task", async () => {
    expect(currentProcess().name).toBe('MainProcess');
    expect(mp.currentProcess().name).toBe('MainProcess');
    const pool = open();
    const names = await pool.map('whoami', range(4), { chunksize: 1 });
    for (const name of names) expect(name).toMatch(/^fanfold-worker-\d+$/);
  });

  it('is alive, with no exit code yet, here and inside a task (CPython: is_alive() True, exitcode None)', async () => {
    expect(currentProcess().isAlive()).toBe(true);
    expect(currentProcess().exitCode).toBeNull();
    const pool = open();
    expect(await pool.map('selfState', [0, 1], { chunksize: 1 })).toEqual([
      [true, null],
      [true, null],
    ]);
  });
});
