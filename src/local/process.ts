/**
 * `Process` on the local context: each process runs alone on a worker thread, so that processes
 * which wait on each other (a Queue, a Pipe, a Barrier) never wait behind one another in a shared
 * pool's queue. Threads are kept warm between processes (see `process-threads.ts`): a process
 * usually starts on the thread an earlier process ended on, and learns its name from its chunk
 * (`currentProcess().name`), not from the thread. The thread gets the process-wide arena, so
 * primitives passed as arguments are revived on the same shared memory.
 */
import { randomUUID } from 'node:crypto';
import type { ProcessLauncher, ProcessRun } from '../api/process-impl.js';
import { cpuCount } from '../api/process-info.js';
import type { TaskRegistry } from '../api/tasks.js';
import { encodeList } from '../engine/codec.js';
import type { InlineChunk } from '../engine/run-chunk.js';
import { TaskError } from '../errors.js';
import type { Placed, ThreadJob } from '../threads/serve-tasks.js';
import { ProcessThreads } from './process-threads.js';
import { threadEntry } from './runtime.js';
import { arena } from './sync/arena.js';

/** An idle process thread ends after this long unused. */
const IDLE_MS = 10_000;

/** The launcher of the local context's processes over `registry`'s bundled tasks (or `worker`, its own entry). */
export function localLauncher(registry: TaskRegistry, worker?: string): ProcessLauncher {
  // One cache per context: its threads run this registry's bundle.
  let cache: Promise<ProcessThreads> | undefined;
  const warm = (): Promise<ProcessThreads> => {
    if (cache) return cache;
    cache = threadEntry(registry, worker).then(
      (script) => new ProcessThreads({ script, arena: arena().sab, maxIdle: cpuCount(), idleMs: IDLE_MS }),
    );
    // A failed bundle is retried by the next start, as before the cache existed.
    cache.catch(() => (cache = undefined));
    return cache;
  };
  return async (target, args, name, handles): Promise<ProcessRun> => {
    const pool = await warm();
    const threads = pool.take(name);
    try {
      await threads.ready();
    } catch (e) {
      await threads.destroy();
      throw e;
    }
    const pid = randomUUID();
    const chunk: InlineChunk = {
      jobId: pid,
      index: 0,
      task: target,
      mode: 'starmap',
      input: { kind: 'items', offset: 0, count: 1, data: encodeList([args], 'Process argument') },
      ...(handles ? { handles: true as const } : {}),
      process: name,
    };
    const job: ThreadJob = { op: 'run', chunks: [chunk] };
    /** Set once the run has settled: terminate() then has nothing to stop (the thread may serve another process). */
    let over = false;
    const ended = threads.run<Placed[]>(job, { tag: pid }).then(
      ([placed]) => {
        const outcome = placed?.outcome;
        over = true;
        // The task returned or threw: its thread is sound and serves the next process.
        pool.give(threads);
        return outcome?.ok === false ? new TaskError(outcome.error, pid) : undefined;
      },
      async (e: unknown) => {
        // Crashed or terminated: the thread is never reused.
        over = true;
        await threads.destroy().catch(() => {});
        return e;
      },
    );
    return {
      pid,
      ended,
      async terminate() {
        if (!over) await threads.destroy();
      },
    };
  };
}
