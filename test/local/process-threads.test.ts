/**
 * Warm process threads on the local context (CPython's forkserver, in spirit): a process that ended
 * normally gives its thread to the next one, which still sees its own name; a terminated or
 * crashed process's thread is never reused; idle threads are bounded, retired, and never keep the
 * program alive.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeList } from '../../src/engine/codec.js';
import type { InlineChunk } from '../../src/engine/run-chunk.js';
import { local, type Process } from '../../src/index.js';
import { ProcessThreads } from '../../src/local/process-threads.js';
import { threadEntry } from '../../src/local/runtime.js';
import { arena } from '../../src/local/sync/arena.js';
import type { Placed, ThreadJob } from '../../src/threads/serve-tasks.js';
import tasks, { type Whereabouts } from '../fixtures/process-reuse-tasks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A fresh context per test: its own cache of warm threads. */
let mp = local({ tasks });
const started: Process[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.terminate()));
  mp = local({ tasks });
});

/** Runs `target` as a process named `name` to its end; resolves where it ran. */
async function runTo(target: 'whereabouts' | 'reportThenThrow', name: string): Promise<Whereabouts> {
  const q = mp.SimpleQueue<Whereabouts>();
  const p = mp.Process(target, [q], { name });
  started.push(p);
  await p.start();
  await p.join();
  return q.get();
}

describe('Process threads', () => {
  describe('reuse', () => {
    it('runs a process on the thread an earlier process ended on, under its own name', async () => {
      const first = await runTo('whereabouts', 'first');
      const second = await runTo('whereabouts', 'second');
      expect(first.name).toBe('first');
      expect(second).toEqual({ name: 'second', threadId: first.threadId });
    });

    it("reuses the thread of a process whose task threw (exitCode 1 is the task's, not the thread's)", async () => {
      const failed = await runTo('reportThenThrow', 'failing');
      const next = await runTo('whereabouts', 'next');
      expect(next.threadId).toBe(failed.threadId);
    });

    it('never reuses the thread of a terminated process', async () => {
      const q = mp.SimpleQueue<Whereabouts>();
      const p = mp.Process('reportThenWait', [q, mp.Event()], { name: 'doomed' });
      started.push(p);
      await p.start();
      const doomed = await q.get();
      await p.terminate();
      expect(p.exitCode).toBe(-15);
      for (const name of ['after-1', 'after-2', 'after-3']) {
        expect((await runTo('whereabouts', name)).threadId).not.toBe(doomed.threadId);
      }
    });

    it('never reuses the thread of a process that crashed', async () => {
      const q = mp.SimpleQueue<Whereabouts>();
      const p = mp.Process('reportThenExit', [q], { name: 'crashing' });
      started.push(p);
      await p.start();
      await p.join();
      expect(p.exitCode).toBe(1);
      expect(p.error?.remoteName).toBe('WorkerCrashedError');
      const crashed = await q.get();
      for (const name of ['after-1', 'after-2', 'after-3']) {
        expect((await runTo('whereabouts', name)).threadId).not.toBe(crashed.threadId);
      }
    });

    it('gives processes running at the same time threads of their own', async () => {
      const q = mp.SimpleQueue<Whereabouts>();
      const event = mp.Event();
      const ps = ['a', 'b', 'c'].map((name) => mp.Process('reportThenWait', [q, event], { name }));
      started.push(...ps);
      for (const p of ps) await p.start();
      const seen = [await q.get(), await q.get(), await q.get()];
      expect(seen.map((w) => w.name).sort()).toEqual(['a', 'b', 'c']);
      expect(new Set(seen.map((w) => w.threadId)).size).toBe(3);
      await event.set();
      for (const p of ps) await p.join();
      expect(ps.map((p) => p.exitCode)).toEqual([0, 0, 0]);
    });
  });

  describe('idle threads', () => {
    const caches: ProcessThreads[] = [];
    afterEach(async () => {
      await Promise.all(caches.splice(0).map((c) => c.clear()));
    });

    async function cache(maxIdle: number, idleMs: number): Promise<ProcessThreads> {
      const c = new ProcessThreads({ script: await threadEntry(tasks), arena: arena().sab, maxIdle, idleMs });
      caches.push(c);
      return c;
    }

    it('starts one spare thread with the first cold start, and hands it out next', async () => {
      const c = await cache(2, 60_000);
      const a = c.take('a');
      expect(c.idle).toBe(1);
      const b = c.take('b');
      expect(c.idle).toBe(0);
      await Promise.all([a.ready(), b.ready()]);
      expect(b.threadIds[0]).not.toBe(a.threadIds[0]);
      await Promise.all([a.destroy(), b.destroy()]);
    });

    it('keeps at most maxIdle threads and closes the others given back', async () => {
      const c = await cache(1, 60_000);
      const a = c.take('a');
      const b = c.take('b'); // the spare
      const extra = c.take('extra'); // cold: no spare left
      await Promise.all([a.ready(), b.ready(), extra.ready()]);
      c.give(a);
      c.give(extra);
      expect(c.idle).toBe(1);
      // close() resolves once its thread has exited: the cache closed it.
      await extra.close();
      await b.destroy();
    });

    it('never hands out an idle thread whose pool saw a crash after it was given back', async () => {
      const c = await cache(2, 60_000);
      const a = c.take('a');
      await a.ready();
      const channel = `late-crash-${process.pid}`;
      const chunk: InlineChunk = {
        jobId: 'late-crash',
        index: 0,
        task: 'exitLater',
        mode: 'starmap',
        input: { kind: 'items', offset: 0, count: 1, data: encodeList([[channel]], 'Process argument') },
        process: 'a',
      };
      const job: ThreadJob = { op: 'run', chunks: [chunk] };
      const [placed] = await a.run<Placed[]>(job);
      expect(placed?.outcome.ok).toBe(true);
      c.give(a);
      const trigger = new BroadcastChannel(channel);
      trigger.postMessage('exit');
      trigger.close();
      await vi.waitFor(() => expect(a.stats.crashed).toBe(1), { timeout: 30_000 });
      const next = c.take('next');
      expect(next).not.toBe(a);
      await Promise.all([next.destroy(), a.close()]);
    });

    it('retires an idle thread after idleMs', async () => {
      const c = await cache(2, 1);
      const a = c.take('a');
      await a.ready();
      c.give(a);
      await vi.waitFor(() => expect(c.idle).toBe(0));
      await a.close(); // resolves: the thread has exited
    });

    it('never keeps the program alive', async () => {
      const env = { ...process.env };
      delete env.FANFOLD_STACK;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'test/fixtures/process-idle-exit.ts'],
        { cwd: ROOT, env, timeout: 60_000 },
      );
      expect(stdout).toBe('');
    });
  });
});
