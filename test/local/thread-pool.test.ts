import { once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  InvalidArgumentError,
  JobCancelledError,
  NotSerializableError,
  PoolNotRunningError,
  ProtocolError,
  TaskError,
  WorkerCrashedError,
} from '../../src/errors.js';
import { parseFromThread, parseToThread } from '../../src/threads/messages.js';
import { ThreadPool, type ThreadPoolOptions } from '../../src/threads/pool.js';
import type { Op, ThreadData } from '../fixtures/threads/ops.thread.js';
import { useThreadFixture } from '../support/threads.js';

const fixture = useThreadFixture(new URL('../fixtures/threads/ops.thread.ts', import.meta.url));
const pools: ThreadPool[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

function pool(options: Partial<ThreadPoolOptions> & { data?: ThreadData } = {}): ThreadPool {
  const p = new ThreadPool({ size: 2, script: fixture.url, ...options });
  pools.push(p);
  return p;
}

function run<R = unknown>(p: ThreadPool, body: Op, options?: { tag?: string }): Promise<R> {
  return p.run<R>(body, options);
}

/** Runs a task that loops forever; `started` resolves once it is running on its thread. */
function spin(p: ThreadPool, tag?: string): { result: Promise<unknown>; started: Promise<unknown> } {
  const { port1, port2 } = new MessageChannel();
  const started = once(port1, 'message').finally(() => port1.close());
  const body: Op = { op: 'spin', port: port2 };
  const result = p
    .run(body, { transfer: [port2], ...(tag === undefined ? {} : { tag }) })
    .catch((e: unknown) => e);
  return { result, started };
}

interface Who {
  name: string;
  index: number;
  inits: number;
}

describe('ThreadPool', () => {
  describe('run()', () => {
    it('returns each result to its caller for many concurrent tasks', async () => {
      const p = pool();
      const inputs = Array.from({ length: 2000 }, (_, i) => i);
      const results = await Promise.all(inputs.map((i) => run(p, { op: 'echo', value: { i } })));
      expect(results).toEqual(inputs.map((i) => ({ i })));
      expect(p.stats.completed).toBe(2000);
    });

    it('settles async handler results as they resolve', async () => {
      const p = pool({ size: 1 });
      const results = await Promise.all([1, 2, 3, 4, 5].map((v) => run(p, { op: 'async', value: v })));
      expect(results).toEqual([1, 2, 3, 4, 5]);
    });

    it('transfers an ArrayBuffer to the thread and the result back', async () => {
      const p = pool({ size: 1 });
      await p.ready();
      const buf = new Float64Array([1, 2, 3]).buffer;
      const result = p.run<Float64Array>({ op: 'square', buf } satisfies Op, { transfer: [buf] });
      expect(buf.byteLength).toBe(0); // detached on the sender side
      expect([...(await result)]).toEqual([1, 4, 9]);
      // The thread's copy of the result buffer was moved, not cloned.
      expect(await run(p, { op: 'last-result-bytes' })).toBe(0);
    });

    it('rejects with TaskError carrying the remote stack when the handler throws', async () => {
      const p = pool();
      const error = await run(p, { op: 'throw', message: 'boom' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskError);
      const te = error as TaskError;
      expect(te.code).toBe(ErrorCodes.TASK_FAILED);
      expect(te.remoteName).toBe('RangeError');
      expect(te.remoteStack).toMatch(/RangeError: boom\n\s+at boom/);
      expect(await run(p, { op: 'echo', value: 'still fine' })).toBe('still fine');
    });

    it('names threads <name>-<n>, n counting up', async () => {
      const p = pool({ size: 1, name: 'crew' });
      expect(await run<Who>(p, { op: 'whoami' })).toMatchObject({ name: 'crew-1', index: 1 });
    });

    it('rejects a body that cannot be cloned and keeps working', async () => {
      const p = pool({ size: 1 });
      await p.ready();
      const error = await p.run({ fn: () => 1 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: ErrorCodes.NOT_SERIALIZABLE });
      expect(await run(p, { op: 'echo', value: 1 })).toBe(1);
    });
  });

  describe('crashes', () => {
    it('rejects the task of a thread that exits with WorkerCrashedError and replaces the thread', async () => {
      const p = pool({ size: 1 });
      const error = await run(p, { op: 'exit', code: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).toBe(1);
      const later = await Promise.all([1, 2, 3].map((v) => run(p, { op: 'echo', value: v })));
      expect(later).toEqual([1, 2, 3]);
      expect(p.stats.crashed).toBe(1);
      expect(await run<Who>(p, { op: 'whoami' })).toMatchObject({ name: 'fanfold-worker-2' });
    });
  });

  describe('maxTasksPerThread', () => {
    it('gives no thread more than that many tasks and replaces each', async () => {
      const p = pool({ maxTasksPerThread: 2 });
      const results = await Promise.all(Array.from({ length: 10 }, () => run<Who>(p, { op: 'whoami' })));
      const perThread = new Map<string, number>();
      for (const r of results) perThread.set(r.name, (perThread.get(r.name) ?? 0) + 1);
      expect(Math.max(...perThread.values())).toBeLessThanOrEqual(2);
      expect(perThread.size).toBeGreaterThanOrEqual(5);
      expect(p.stats.replaced).toBeGreaterThanOrEqual(4);
    });
  });

  describe('init', () => {
    it('runs once per thread, before its first task', async () => {
      const p = pool({ maxTasksPerThread: 3 });
      const results = await Promise.all(Array.from({ length: 12 }, () => run<Who>(p, { op: 'whoami' })));
      expect(results.every((r) => r.inits === 1)).toBe(true);
    });

    it('rejects ready() with the remote error when init throws, and does not respawn', async () => {
      const p = pool({ data: { failInit: true } });
      const pending = run(p, { op: 'echo', value: 1 }).catch((e: unknown) => e);
      const error = await p.ready().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskError);
      expect((error as TaskError).remoteStack).toMatch(/RangeError: init refused\n\s+at failInInit/);
      expect(await pending).toBe(error);
      await expect(run(p, { op: 'echo', value: 2 })).rejects.toBe(error);
      await p.close();
      expect(p.threadIds).toEqual([]);
    });

    it('rejects ready() with WorkerCrashedError when a thread dies in init', async () => {
      const p = pool({ data: { exitInit: true } });
      const error = await p.ready().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerCrashedError);
      expect((error as WorkerCrashedError).exitCode).toBe(3);
    });
  });

  describe('cancel()', () => {
    it('terminates the thread running the tag; its other tasks reject with WorkerCrashedError', async () => {
      const p = pool({ size: 1, maxInFlightPerThread: 2 });
      const spinning = spin(p, 'job-1');
      const bystander = run(p, { op: 'echo', value: 'b' }).catch((e: unknown) => e);
      const queued = run(p, { op: 'echo', value: 'q' }, { tag: 'job-1' }).catch((e: unknown) => e);
      const untaggedQueued = run(p, { op: 'echo', value: 'u' });
      await spinning.started;
      p.cancel('job-1');
      const cancelled = await spinning.result;
      expect(cancelled).toBeInstanceOf(JobCancelledError);
      expect((cancelled as JobCancelledError).jobId).toBe('job-1');
      expect(await queued).toBeInstanceOf(JobCancelledError);
      expect(await bystander).toBeInstanceOf(WorkerCrashedError);
      expect(await untaggedQueued).toBe('u');
      expect(await run(p, { op: 'echo', value: 'after' })).toBe('after');
      expect(p.stats).toMatchObject({ replaced: 1, crashed: 0 });
    });

    it('leaves threads without the tag alone', async () => {
      const p = pool({ size: 2, maxInFlightPerThread: 1 });
      await p.ready();
      const [before] = p.threadIds;
      p.cancel('nothing');
      expect(p.threadIds[0]).toBe(before);
      expect(await run(p, { op: 'echo', value: 1 })).toBe(1);
    });
  });

  describe('close()', () => {
    it('lets queued tasks finish, then rejects run() and ends the threads', async () => {
      const p = pool({ size: 1, maxInFlightPerThread: 1 });
      const results = Promise.all([1, 2, 3, 4, 5].map((v) => run(p, { op: 'echo', value: v })));
      const closed = p.close();
      const late = await run(p, { op: 'echo', value: 6 }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(PoolNotRunningError);
      expect(await results).toEqual([1, 2, 3, 4, 5]);
      await closed;
      expect(p.threadIds).toEqual([]);
    });
  });

  describe('destroy()', () => {
    it('rejects in-flight and queued tasks with PoolNotRunningError', async () => {
      const p = pool({ size: 1, maxInFlightPerThread: 1 });
      const spinning = spin(p);
      const queued = run(p, { op: 'echo', value: 1 }).catch((e: unknown) => e);
      await spinning.started;
      await p.destroy();
      for (const e of [await spinning.result, await queued]) {
        expect(e).toBeInstanceOf(PoolNotRunningError);
        expect((e as PoolNotRunningError).state).toBe('terminated');
      }
      await expect(run(p, { op: 'echo', value: 2 })).rejects.toBeInstanceOf(PoolNotRunningError);
    });
  });

  describe('options', () => {
    it('rejects ready() with WorkerCrashedError when the script cannot be loaded', async () => {
      const p = pool({ script: new URL('missing.mjs', fixture.url) });
      await expect(p.ready()).rejects.toBeInstanceOf(WorkerCrashedError);
    });

    it('throws NotSerializableError for data that cannot be cloned', () => {
      expect(() => new ThreadPool({ size: 1, script: fixture.url, data: () => 1 })).toThrow(
        NotSerializableError,
      );
    });

    it('rejects a bad size or script before starting any thread', () => {
      expect(() => new ThreadPool({ size: 0, script: fixture.url })).toThrow(InvalidArgumentError);
      expect(() => new ThreadPool({ size: 1, script: 'relative.mjs' })).toThrow(InvalidArgumentError);
      const unknown = { size: 1, script: fixture.url, maxTasksPerChild: 2 } as ThreadPoolOptions;
      expect(() => new ThreadPool(unknown)).toThrow(InvalidArgumentError);
    });
  });
});

describe('thread messages', () => {
  it('rejects unknown types and versions loudly', () => {
    expect(() => parseFromThread({ v: 1, type: 'gossip' })).toThrow(ProtocolError);
    expect(() => parseFromThread({ v: 2, type: 'ready' })).toThrow(ProtocolError);
    expect(() => parseToThread({ v: 1, type: 'task', id: -1, body: null })).toThrow(ProtocolError);
    expect(parseToThread({ v: 1, type: 'end' })).toEqual({ v: 1, type: 'end' });
  });
});
