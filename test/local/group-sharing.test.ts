/**
 * A thread group's chunks that its thread has not started are taken by an idle thread: a failure,
 * or a fast item, queued behind a slow chunk of the same group is reported without waiting for it,
 * on real threads. Small chunks are grouped per thread round trip (src/engine/host.ts), and the
 * threads claim a group's chunks through shared memory (src/threads/group-run.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { local, type Pool, WorkerCrashedError } from 'fanfold';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeList } from '../../src/engine/codec.js';
import type { ChunkOutcome, InlineChunk } from '../../src/engine/run-chunk.js';
import type { LocalRuntime } from '../../src/local/runtime.js';
import { threadScript } from '../../src/local/runtime.js';
import { ThreadExecutor } from '../../src/threads/executor.js';
import { ThreadPool } from '../../src/threads/pool.js';
import tasks, { gateKeeper } from '../fixtures/pool-tasks.js';
import { collect } from '../support/collect.js';

type Tasks = typeof tasks.tasks;
type Step = Parameters<Tasks['step']>[0];

let runtime: LocalRuntime | undefined;
const mp = local({ tasks }, { onRuntime: (rt) => (runtime = rt) });
let pool: Pool<Tasks>;
const dir = mkdtempSync(join(tmpdir(), 'fanfold-group-'));

beforeAll(() => {
  pool = mp.Pool({ processes: 2 });
});
afterAll(async () => {
  await pool.terminate();
  rmSync(dir, { recursive: true, force: true });
});

/** Settles with `late` if `p` has not settled within a generous bound (a result held back for a gate). */
function orLate<T>(p: Promise<T>): Promise<T | 'late'> {
  return Promise.race([
    p,
    new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 20_000).unref()),
  ]);
}

describe('a thread group shared with an idle thread', () => {
  it('rejects a map at a failure queued behind a slow chunk of its group, the slow chunk still running', async () => {
    // Four one-item chunks on two threads make two groups, [slow, fail] and [a, b]: the thread of
    // [a, b] falls idle and takes the failure, whose chunk its own thread never started.
    const slow = gateKeeper('shared-slow-fail');
    try {
      const items: Step[] = [{ gate: 'shared-slow-fail' }, { fail: true }, { value: 'a' }, { value: 'b' }];
      const failed = pool.map('step', items, { chunksize: 1 }).catch((e: unknown) => e);
      await slow.started();
      // Had the failure waited for its group's slow chunk, it would wait for the gate, never opened.
      expect(await orLate(failed)).toMatchObject({ code: 'ERR_FANFOLD_TASK_FAILED', itemIndex: 1 });
    } finally {
      slow.close();
    }
    expect(await pool.map('square', [3])).toEqual([9]);
  }, 40_000);

  it('yields the fast items queued behind a slow chunk of their group before it ends (imapUnordered)', async () => {
    const slow = gateKeeper('shared-slow-imap');
    try {
      const items: Step[] = [{ gate: 'shared-slow-imap' }, { value: 'x' }, { value: 'y' }, { value: 'z' }];
      const it = pool.imapUnordered('step', items, { chunksize: 1 });
      const fast: (string | 'late')[] = [];
      for (let k = 0; k < 3; k++) {
        const next = await orLate(it.next());
        fast.push(next === 'late' ? next : String(next.value));
      }
      expect(fast.sort()).toEqual(['x', 'y', 'z']);
      slow.open();
      expect(await collect(it)).toEqual(['shared-slow-imap']);
    } finally {
      slow.close();
    }
  }, 60_000);

  it('records every item exactly once when a thread crashes mid-group and messages are duplicated', async () => {
    const marker = join(dir, 'crash-mid-group');
    const items: Step[] = [
      { sleep: 300 },
      { crash: marker },
      { value: 'a' },
      { value: 'b' },
      { value: 'c' },
      { value: 'd' },
    ];
    // The next five messages sent, the first chunks of the job, are each stored twice.
    runtime!.backend.queue.duplicateNext(5);
    const results = await pool.map('step', items, { chunksize: 1 });
    expect(results).toEqual(['slept', 'redelivered', 'a', 'b', 'c', 'd']);
    expect(await pool.map('square', [4])).toEqual([16]);
  }, 60_000);
});

describe('ThreadExecutor.run() of a group', () => {
  const chunk = (index: number, step: Step): InlineChunk => ({
    jobId: 'job-shared',
    index,
    task: 'step',
    mode: 'map',
    input: { kind: 'items', offset: index, count: 1, data: encodeList([step]) },
  });

  it('keeps the round trips of a group of fast chunks to a few, whatever the number of chunks', async () => {
    const threads = new ThreadPool({ size: 2, script: await threadScript(tasks) });
    try {
      await threads.ready();
      const executor = new ThreadExecutor(threads, { batching: true });
      const chunks = Array.from({ length: 60 }, (_, k) => chunk(k, { value: `v${k}` }));
      const outcomes = await executor.run(chunks);
      expect(outcomes.map((o) => (o?.ok ? 'ok' : 'missing'))).toEqual(chunks.map(() => 'ok'));
      // The group went in one round trip, plus one for the thread that was idle; never one a chunk.
      expect(threads.stats.completed).toBeLessThanOrEqual(4);
    } finally {
      await threads.destroy();
    }
  });

  it('reports the chunks that ran and leaves the crashed one first among the rest, when a helping thread dies', async () => {
    const threads = new ThreadPool({ size: 2, script: await threadScript(tasks) });
    const slow = gateKeeper('executor-crash-slow');
    const marker = join(dir, 'executor-crash');
    try {
      await threads.ready();
      const executor = new ThreadExecutor(threads, { batching: true });
      const reported = new Map<number, ChunkOutcome>();
      const run = executor.run(
        [chunk(0, { gate: 'executor-crash-slow' }), chunk(1, { crash: marker }), chunk(2, { value: 'a' })],
        { onOutcome: (k, o) => reported.set(k, o) },
      );
      const settled = run.catch((e: unknown) => e);
      // The slow chunk holds one thread; the other takes the next chunk and dies of it. The run
      // waits for the slow chunk (its thread's result must not be redelivered) before it rejects.
      await slow.started();
      await vi.waitFor(() => expect(threads.stats.crashed).toBe(1), { timeout: 30_000 });
      slow.open();
      expect(await settled).toBeInstanceOf(WorkerCrashedError);
      expect([...reported.keys()]).toEqual([0]);
      // Nobody started chunk 2 after the crash: only the slow chunk and the crash ran.
      expect(threads.stats.completed).toBe(1);
    } finally {
      slow.close();
      await threads.destroy();
    }
  }, 60_000);
});
