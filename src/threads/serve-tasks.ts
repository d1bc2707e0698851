/**
 * What runs inside each worker thread: the tasks module's registry served over the thread port.
 * The local context bundles it with the user's tasks module into its threads' script
 * (`local/thread-entry.ts`); the worker Lambda's bundle is its own thread script and serves the
 * tasks with it too (`aws/lambda/thread-sync.ts`).
 *
 * Which primitives' handles a thread can revive is the caller's to say: each context injects a
 * loader of its reviver, called the first time a chunk or the initializer's arguments hold a
 * handle, so that a thread which never receives one never loads (nor parses) the primitives' code.
 */

import { enterProcess } from '../api/process-info.js';
import { isTaskRegistry, type TaskRegistry } from '../api/tasks.js';
import type { Encoded } from '../engine/codec.js';
import { runCall } from '../engine/run-call.js';
import { type ChunkOutcome, type InlineChunk, runChunk, runFold } from '../engine/run-chunk.js';
import { ProtocolError, TasksModuleError } from '../errors.js';
import { fromWire, type Reviver, refuseHandles } from '../handles.js';
import { claim, stopUnclaimed } from './claims.js';
import { serveThread, threadInfo, withTransfer } from './serve-thread.js';

/** A unit of work sent to a thread. */
export type ThreadJob =
  | { readonly op: 'run'; readonly chunks: readonly InlineChunk[]; readonly share?: SharedGroup }
  /** One `task(...args)`, its arguments as they are (the local context's `apply`). */
  | { readonly op: 'call'; readonly task: string; readonly args: readonly unknown[]; readonly handles?: true }
  | {
      readonly op: 'fold';
      readonly reducer: string;
      readonly initial?: Encoded;
      readonly partials: readonly Encoded[];
    };

/**
 * The chunks of a `run` are a group that other threads may hold too (claims.ts): chunk `k` of the
 * message is the group's chunk `at[k]`, and is run only once this run, marked `by`, has claimed it.
 */
export interface SharedGroup {
  readonly claims: Int32Array;
  readonly at: readonly number[];
  readonly by: number;
}

/** A chunk's outcome and its position in the group it was sent with: how a `run` reports and answers. */
export interface Placed {
  readonly at: number;
  readonly outcome: ChunkOutcome;
}

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
   * Makes this thread's reviver of primitives' handles from the thread's data, on the first handle
   * the thread receives (the local context loads its primitives then; the worker Lambda makes one
   * for AWS handles on the function's resources). @default a reviver that refuses every handle
   */
  readonly reviver?: (data: ThreadData) => Reviver | Promise<Reviver>;
}

const noReviver = (): Reviver => refuseHandles('in this thread: it was started without a reviver');

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

function placed(p: Placed) {
  return withTransfer(p, transferOf([p.outcome]));
}

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

/** Serves the registry's tasks in this thread. Called by the thread entry of each context. */
export function serveTasks(registry: unknown, options: ServeTasksOptions = {}): void {
  if (!isTaskRegistry(registry)) {
    throw new TasksModuleError('The tasks module must `export default defineTasks({...})`');
  }
  const { tasks } = registry as TaskRegistry;
  const makeReviver = options.reviver ?? noReviver;
  // A pool thread's tasks see its name until a process chunk names the process it runs.
  const info = threadInfo();
  const name = info?.name;
  const thread = info?.index ?? 0;
  if (name !== undefined) enterProcess(name);
  let data: ThreadData = {};
  // Made when a chunk or the initializer's arguments first hold handles.
  let revive: Reviver | undefined;
  const reviver = async (): Promise<Reviver> => {
    revive ??= await makeReviver(data);
    return revive;
  };
  serveThread(
    async (body, report) => {
      const job = body as ThreadJob;
      switch (job?.op) {
        case 'run': {
          if (!revive && job.chunks.some((c) => c.handles)) await reviver();
          const { chunks, share } = job;
          // The outcome waiting to go: sent ahead once the next chunk is claimed, or with the answer.
          let last: Placed | undefined;
          for (let k = 0; k < chunks.length; k++) {
            const c = chunks[k]!;
            const at = share ? share.at[k]! : k;
            // Taken by another thread already, or stopped: not ours to run.
            if (share && !claim(share.claims, at, share.by)) continue;
            // A finished chunk goes back at once, not when its slower neighbours are done:
            // imapUnordered yields it and the host records it (executor.ts).
            if (last) report(placed(last));
            // A reused process thread runs processes in turn: the name comes with each.
            if (c.process !== undefined) enterProcess(c.process);
            // Each chunk's own run time, for its attempt record (a group shares one round trip).
            const startedAt = Date.now();
            const t0 = performance.now();
            const o = await runChunk(tasks, c, revive);
            const outcome: ChunkOutcome = o.ok
              ? { ...o, run: { thread, startedAt, ms: performance.now() - t0 } }
              : o;
            last = { at, outcome };
            // A task error fails the job: the group stops (no thread starts its other chunks), and
            // the failure is the answer at once.
            if (!outcome.ok) {
              if (share) stopUnclaimed(share.claims);
              break;
            }
          }
          // The last chunk's outcome is the answer (one message less per round trip).
          return last ? withTransfer([last], transferOf([last.outcome])) : withTransfer([], []);
        }
        case 'call':
          return runCall(tasks, job.task, job.args, job.handles ? await reviver() : undefined);
        case 'fold': {
          const out = await runFold(tasks, job.reducer, job.initial, job.partials);
          return withTransfer(out, transferOf([out]));
        }
        default:
          throw new ProtocolError(`Unknown thread job op ${JSON.stringify((job as { op?: unknown })?.op)}`);
      }
    },
    {
      init: async (raw) => {
        data = (raw ?? {}) as ThreadData;
        if (data.initializer === undefined) return;
        const fn = tasks[data.initializer] as ((...a: unknown[]) => unknown) | undefined;
        if (!fn) throw new TasksModuleError(`Unknown initializer task "${data.initializer}"`);
        const initargs = data.initargs ?? [];
        const args = (holdsHandles(initargs) ? fromWire(initargs, await reviver()) : initargs) as unknown[];
        await fn(...args);
      },
    },
  );
}
