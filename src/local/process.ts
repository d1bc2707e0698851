/**
 * `Process` on the local context: each process runs on a worker thread of its own, named exactly
 * as the process, so that processes which wait on each other (a Queue, a Pipe, a Barrier) never
 * wait behind one another in a shared pool's queue. The thread gets the process-wide arena, so
 * primitives passed as arguments are revived on the same shared memory.
 */
import { randomUUID } from 'node:crypto';
import type { ProcessLauncher, ProcessRun } from '../api/process-impl.js';
import type { TaskRegistry } from '../api/tasks.js';
import { encodeList } from '../engine/codec.js';
import type { ChunkOutcome, InlineChunk } from '../engine/run-chunk.js';
import { TaskError } from '../errors.js';
import { threadEntry } from './runtime.js';
import { arena } from './sync/arena.js';
import type { ThreadJob } from './thread-main.js';
import { ThreadPool } from './thread-pool.js';

/** The launcher of the local context's processes over `registry`'s bundled tasks. */
export function localLauncher(registry: TaskRegistry): ProcessLauncher {
  return async (target, args, name, handles): Promise<ProcessRun> => {
    const script = await threadEntry(registry);
    const threads = new ThreadPool({ size: 1, script, name, numbered: false, arena: arena().sab });
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
    const ended = threads.run<ChunkOutcome[]>(job, { tag: pid }).then(
      async ([outcome]) => {
        // The thread leaves once its task is done, as a CPython child exits after its target.
        await threads.close().catch(() => {});
        return outcome?.ok === false ? new TaskError(outcome.error, pid) : undefined;
      },
      async (e: unknown) => {
        await threads.destroy().catch(() => {});
        return e;
      },
    );
    return {
      pid,
      ended,
      async terminate() {
        await threads.destroy();
      },
    };
  };
}
