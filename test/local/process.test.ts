/**
 * `Process` on the local context: each runs on a thread of its own named as the process; the
 * lifecycle is CPython's (start once, join with a timeout that never throws the task's error,
 * exit codes 0 / 1 / -15, isAlive), and processes that wait on each other through primitives
 * finish (no shared pool to deadlock).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  InvalidArgumentError,
  local,
  NotSerializableError,
  type Process,
  TaskError,
  UnknownTaskError,
} from '../../src/index.js';
import tasks from '../fixtures/process-tasks.js';

const mp = local({ tasks });

/** Processes a test started, terminated after it (a failed assertion leaves none running). */
const started: Process[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.terminate()));
});

async function run(p: Process): Promise<Process> {
  started.push(p);
  await p.start();
  return p;
}

describe('Process', () => {
  describe('Process()', () => {
    it('throws UnknownTaskError for a target the tasks module does not define, before anything starts', () => {
      expect(() => mp.Process('nope' as never, [] as never)).toThrow(UnknownTaskError);
    });

    it('throws InvalidArgumentError when args is not an array', () => {
      expect(() => mp.Process('square', 3 as never)).toThrow(InvalidArgumentError);
    });

    it('throws InvalidArgumentError for an empty name or an unknown option', () => {
      expect(() => mp.Process('square', [2], { name: '' })).toThrow(InvalidArgumentError);
      expect(() => mp.Process('square', [2], { nmae: 'x' } as never)).toThrow(InvalidArgumentError);
    });

    it('throws NotSerializableError naming the argument that cannot travel', () => {
      expect(() => mp.Process('kind', [() => 1])).toThrow(NotSerializableError);
    });

    it('names processes Process-N, N counting up, unless a name is given', () => {
      const a = mp.Process('square', [1]);
      const b = mp.Process('square', [1]);
      const m = /^Process-(\d+)$/;
      expect(a.name).toMatch(m);
      expect(Number(b.name.match(m)?.[1])).toBe(Number(a.name.match(m)?.[1]) + 1);
      expect(mp.Process('square', [1], { name: 'worker' }).name).toBe('worker');
    });

    it('has no pid and no exit code before start()', () => {
      const p = mp.Process('square', [1]);
      expect(p.pid).toBeUndefined();
      expect(p.exitCode).toBeNull();
      expect(p.isAlive()).toBe(false);
      expect(p.target).toBe('square');
      expect(p.args).toEqual([1]);
    });
  });

  describe('start()', () => {
    it('runs the target on a thread named as the process', async () => {
      const q = mp.SimpleQueue<string>();
      const p = await run(mp.Process('putName', [q], { name: 'reporter' }));
      expect(await q.get()).toBe('reporter');
      await p.join();
      expect(p.exitCode).toBe(0);
    });

    it('throws when called twice', async () => {
      const p = await run(mp.Process('square', [2]));
      await expect(p.start()).rejects.toThrow(InvalidArgumentError);
    });

    it('gives the process a pid once started', async () => {
      const p = await run(mp.Process('square', [2]));
      expect(typeof p.pid).toBe('string');
    });
  });

  describe('join()', () => {
    it('resolves once the task has returned; exitCode 0, no error', async () => {
      const p = await run(mp.Process('square', [3]));
      await p.join();
      expect(p.exitCode).toBe(0);
      expect(p.error).toBeUndefined();
      expect(p.isAlive()).toBe(false);
    });

    it("does not throw the task's error: exitCode 1 and error is the TaskError", async () => {
      const p = await run(mp.Process('failWith', ['boom']));
      await p.join();
      expect(p.exitCode).toBe(1);
      expect(p.error).toBeInstanceOf(TaskError);
      expect(p.error?.remoteName).toBe('RangeError');
      expect(p.error?.message).toContain('boom');
    });

    it("resolves only once the process's stdout and stderr have reached the caller's", async () => {
      // A thread's output travels to this thread over a channel of its own, apart from the task's
      // result. CPython flushes a child's output before it exits: so must a process's thread
      // before its result is posted, or lines arrive after join() (in a terminal, after the
      // caller's own next line).
      const tag = `print-${randomUUID()}`;
      const got = { out: '', err: '' };
      const capture = (into: 'out' | 'err') =>
        ((chunk: unknown, ...rest: unknown[]) => {
          got[into] += String(chunk);
          (rest.find((x) => typeof x === 'function') as (() => void) | undefined)?.();
          return true;
        }) as typeof process.stdout.write;
      const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture('out'));
      const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture('err'));
      try {
        const p = await run(mp.Process('print', [tag, 300]));
        await p.join();
        const lines = (text: string, stream: string) =>
          text.split('\n').filter((l) => l.startsWith(`${tag} ${stream} `)).length;
        expect([lines(got.out, 'out'), lines(got.err, 'err')]).toEqual([300, 300]);
        expect(p.exitCode).toBe(0);
      } finally {
        out.mockRestore();
        err.mockRestore();
      }
    });

    it('returns after timeoutMs with the process still alive', async () => {
      const event = mp.Event();
      const p = await run(mp.Process('waitEvent', [event]));
      await p.join(10);
      expect(p.isAlive()).toBe(true);
      expect(p.exitCode).toBeNull();
      await event.set();
      await p.join();
      expect(p.exitCode).toBe(0);
    });

    it('throws InvalidArgumentError before start(), and for a timeout that is not a number', async () => {
      const p = mp.Process('square', [1]);
      await expect(p.join()).rejects.toThrow(InvalidArgumentError);
      await run(p);
      await expect(p.join(Number.NaN)).rejects.toThrow(InvalidArgumentError);
      await expect(p.join('10' as never)).rejects.toThrow(InvalidArgumentError);
    });

    it('returns at once for a negative timeout, which counts as 0 (CPython)', async () => {
      const event = mp.Event();
      const p = await run(mp.Process('waitEvent', [event]));
      await p.join(-1);
      expect(p.isAlive()).toBe(true);
      await event.set();
      await p.join();
      expect(p.exitCode).toBe(0);
    });
  });

  describe('terminate()', () => {
    it('ends a running process: exitCode -15, not alive', async () => {
      const p = await run(mp.Process('waitEvent', [mp.Event()]));
      expect(p.isAlive()).toBe(true);
      await p.terminate();
      expect(p.exitCode).toBe(-15);
      expect(p.isAlive()).toBe(false);
      await p.join();
    });

    it('does nothing to a process that has ended', async () => {
      const p = await run(mp.Process('square', [2]));
      await p.join();
      await p.terminate();
      expect(p.exitCode).toBe(0);
    });
  });

  describe('primitives as arguments', () => {
    it('two processes relaying numbers to each other through queues both finish', async () => {
      const ab = mp.SimpleQueue<number>();
      const ba = mp.SimpleQueue<number>();
      const a = await run(mp.Process('relay', [ba, ab, 50], { name: 'A' }));
      const b = await run(mp.Process('relay', [ab, ba, 50], { name: 'B' }));
      await ba.put(0);
      await Promise.all([a.join(), b.join()]);
      expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
      // 100 relays, each adding 1, and the last one lands back on ba.
      expect(await ba.get()).toBe(100);
    });

    it('processes adding under a Lock lose no update of a shared Value', async () => {
      const lock = mp.Lock();
      const value = mp.Value('i', 0);
      const ps = await Promise.all([1, 2, 3].map(() => run(mp.Process('addUnderLock', [lock, value, 200]))));
      await Promise.all(ps.map((p) => p.join()));
      expect(ps.map((p) => p.exitCode)).toEqual([0, 0, 0]);
      expect(await value.get()).toBe(600);
    });
  });
});
