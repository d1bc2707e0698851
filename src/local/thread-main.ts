/**
 * What runs inside each worker thread: the tasks module's registry served over the thread port.
 * The pool bundles this file together with the user's tasks module (see `local/runtime.ts`), the
 * same way the worker Lambda bundles its handler with the tasks.
 */

import { workerData } from 'node:worker_threads';
import { fromWire, type Reviver } from '../api/handles.js';
import { enterProcess } from '../api/process-info.js';
import { isTaskRegistry, type TaskRegistry } from '../api/tasks.js';
import type { Encoded } from '../engine/codec.js';
import { type ChunkOutcome, type InlineChunk, runChunk, runFold } from '../engine/run-chunk.js';
import { ProtocolError, TasksModuleError } from '../errors.js';
import { adoptArena } from './sync/arena.js';
import { serveThread, withTransfer } from './thread-port.js';

/** A unit of work sent to a thread. */
export type ThreadJob =
  | { readonly op: 'run'; readonly chunks: readonly InlineChunk[] }
  | {
      readonly op: 'fold';
      readonly reducer: string;
      readonly initial?: Encoded;
      readonly partials: readonly Encoded[];
    };

/** Data every thread starts with. */
export interface ThreadData {
  readonly initializer?: string;
  /** The initializer's arguments, primitives as handles (revived before the call). */
  readonly initargs?: readonly unknown[];
  /** What the thread's reviver needs besides the arena (the worker Lambda's AWS names). */
  readonly sync?: Readonly<Record<string, unknown>>;
}

/** Options of {@link serveTasks}. */
export interface ServeTasksOptions {
  /**
   * Makes this thread's reviver of primitives' handles from the thread's data (the worker Lambda
   * gives one for AWS handles). @default local handles, on the arena the pool sent in `workerData.arena`
   */
  readonly reviver?: (data: ThreadData) => Reviver;
}

/** Adopts the arena the pool sent, so that handles' offsets name the same memory. */
function adoptSentArena(): void {
  const sab = (workerData as { arena?: unknown } | null)?.arena;
  if (sab instanceof SharedArrayBuffer) adoptArena(sab);
}

/**
 * The local reviver, loaded on first use. The primitives' code is most of a thread bundle, and a
 * thread pays for every byte it loads (parsing it, decoding its inline source map): behind this
 * `import()` it is a chunk of its own (see `local/bundle.ts`) that only a thread receiving a
 * handle loads.
 */
async function loadLocalReviver(): Promise<Reviver> {
  return (await import('./sync/index.js')).reviveLocal;
}

/** True when `value` holds a handle (searched as `fromWire` does). */
function holdsHandles(value: unknown): boolean {
  let found = false;
  fromWire(value, (h) => {
    found = true;
    return h;
  });
  return found;
}

const TRANSFER_MIN = 16 * 1024;

function transferOf(outcomes: readonly ChunkOutcome[]): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const o of outcomes) {
    // Results are fresh buffers made in this thread: move them rather than copy them.
    // Moving a buffer has a fixed cost that only pays off for large ones; small ones are copied.
    const b = o.ok ? o.result.bytes : undefined;
    if (b && b.byteLength >= TRANSFER_MIN && b.byteOffset === 0 && b.buffer instanceof ArrayBuffer) {
      if (b.byteLength === b.buffer.byteLength) list.push(b.buffer);
    }
  }
  return list;
}

/** Serves the registry's tasks in this thread. Called by the generated thread entry. */
export function serveTasks(registry: unknown, options: ServeTasksOptions = {}): void {
  if (!isTaskRegistry(registry)) {
    throw new TasksModuleError('The tasks module must `export default defineTasks({...})`');
  }
  const { tasks } = registry as TaskRegistry;
  // Given by init (options.reviver), else loaded when a chunk or the initializer's arguments first hold handles.
  let revive: Reviver | undefined;
  const reviver = async (): Promise<Reviver> => {
    revive ??= await loadLocalReviver();
    return revive;
  };
  serveThread(
    async (body) => {
      const job = body as ThreadJob;
      switch (job?.op) {
        case 'run': {
          if (!revive && job.chunks.some((c) => c.handles)) await reviver();
          const out: ChunkOutcome[] = [];
          for (const c of job.chunks) {
            // A reused process thread runs processes in turn: the name comes with each.
            if (c.process !== undefined) enterProcess(c.process);
            out.push(await runChunk(tasks, c, revive));
          }
          return withTransfer(out, transferOf(out));
        }
        case 'fold': {
          const out = await runFold(tasks, job.reducer, job.initial, job.partials);
          return withTransfer(out, transferOf([out]));
        }
        default:
          throw new ProtocolError(`Unknown thread job op ${JSON.stringify((job as { op?: unknown })?.op)}`);
      }
    },
    {
      init: async (data) => {
        const d = (data ?? {}) as ThreadData;
        if (options.reviver) revive = options.reviver(d);
        else adoptSentArena();
        if (d.initializer === undefined) return;
        const fn = tasks[d.initializer] as ((...a: unknown[]) => unknown) | undefined;
        if (!fn) throw new TasksModuleError(`Unknown initializer task "${d.initializer}"`);
        const initargs = d.initargs ?? [];
        const args = (holdsHandles(initargs) ? fromWire(initargs, await reviver()) : initargs) as unknown[];
        await fn(...args);
      },
    },
  );
}
