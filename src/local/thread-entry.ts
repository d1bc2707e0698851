/**
 * The local context's side of its worker threads: what the generated thread entry calls (see
 * `threadScript` in `runtime.ts`), with the reviver of local handles injected, and `serveTasks`,
 * the same for the thread entry of a bundled application (`fanfold/worker`). The primitives' code
 * is most of a thread bundle, and a thread pays for every byte it loads (parsing it, decoding its
 * inline source map): behind this `import()` it is a chunk of its own (see `bundle.ts`) that only a
 * thread receiving a handle loads. The arena the handles name is the one the pool sent each thread
 * (`arena()` adopts it on first use).
 */
import { isMainThread } from 'node:worker_threads';
import type { TaskMap, TaskRegistry } from '../api/tasks.js';
import { TasksModuleError } from '../errors.js';
import type { Reviver } from '../handles.js';
import { serveTasks as serveThreadTasks } from '../threads/serve-tasks.js';

/** The local reviver, loaded on first use. */
async function loadLocalReviver(): Promise<Reviver> {
  return (await import('./sync/index.js')).reviveLocal;
}

/** Serves the registry's tasks in a local pool or process thread, reviving local handles. */
export function serveLocalTasks(registry: unknown): void {
  serveThreadTasks(registry, { reviver: loadLocalReviver });
}

/**
 * Serves a tasks module in the threads of a local pool or process: the whole body of the thread
 * entry file of an application that is bundled (with esbuild, say), where fanfold cannot bundle the
 * threads' script at pool start. Give that file to the context as `local({ tasks, worker })`; a
 * bundler makes it an entry point of its own, beside the application's.
 *
 * @param tasks The tasks module's default export, the same one the context is given.
 * @throws {TasksModuleError} when called on the main thread (the file was run as a program instead
 *   of given as `worker`), or when `tasks` is not a `defineTasks` registry.
 * @example
 * ```ts
 * // worker.ts: bundled to dist/worker.mjs beside dist/app.mjs
 * import { serveTasks } from 'fanfold/worker';
 * import tasks from './tasks.js';
 *
 * serveTasks(tasks);
 * ```
 */
export function serveTasks<T extends TaskMap>(tasks: TaskRegistry<T>): void {
  if (isMainThread) {
    throw new TasksModuleError(
      "serveTasks() of 'fanfold/worker' runs in a pool's threads: give this file to local({ tasks, worker }) instead of running it",
    );
  }
  serveLocalTasks(tasks);
}
