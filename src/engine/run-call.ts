/**
 * Runs one call, `task(...args)`, inside a worker thread: `apply` on the local context, which sends
 * the arguments as they are (cloned by the thread port) instead of a chunk of encoded items. Pure,
 * as `run-chunk.ts` is; its outcome is that of a one-item chunk: the result, or the error with
 * chunk and item 0.
 */
import { type SerializedError, serializeError } from '../errors.js';
import { fromWire, type Reviver } from '../handles.js';
import { refuseClassInstance } from '../plain-data.js';
import type { TaskMap } from '../task-map.js';
import { isThenable, lookup } from './run-chunk.js';

/** What a call produced. The value is sent back as it is: the thread port clones it. */
export type CallOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: SerializedError };

/**
 * Calls the task; its arguments' handles are revived with `revive` when given. A task that returns
 * a promise gives a promise of the outcome; any other, the outcome at once (no microtask per call).
 */
export function runCall(
  tasks: TaskMap,
  task: string,
  args: readonly unknown[],
  revive: Reviver | undefined,
): CallOutcome | Promise<CallOutcome> {
  try {
    const fn = lookup(tasks, task);
    const value = fn(...((revive ? fromWire(args, revive) : args) as unknown[]));
    if (!isThenable(value)) return succeeded(value);
    return new Promise<CallOutcome>((resolve) =>
      value.then(
        (v) => resolve(succeeded(v)),
        (e) => resolve(failed(e)),
      ),
    );
  } catch (e) {
    return failed(e);
  }
}

/** The value as an outcome; a class instance (it would reach the caller without its methods) fails it. */
function succeeded(value: unknown): CallOutcome {
  if (typeof value !== 'object') return { ok: true, value };
  try {
    refuseClassInstance(value, 'The task result', undefined, 'the caller');
  } catch (e) {
    return failed(e);
  }
  return { ok: true, value };
}

function failed(e: unknown): CallOutcome {
  const error = serializeError(e);
  error.chunkIndex = 0;
  error.itemIndex = 0;
  return { ok: false, error };
}
