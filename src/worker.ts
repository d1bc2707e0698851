/**
 * `fanfold/worker`: the thread entry of an application bundled into files of its own (with
 * esbuild, say). Unbundled, `local({ tasks })` bundles its threads' script from the tasks module
 * when a pool starts; a bundled application brings that script as a second entry point instead,
 * a file that calls {@link serveTasks}, and names it with `local({ tasks, worker })`.
 *
 * @example
 * ```ts
 * // worker.ts
 * import { serveTasks } from 'fanfold/worker';
 * import tasks from './tasks.js';
 *
 * serveTasks(tasks);
 * ```
 *
 * @module fanfold/worker
 */
export { serveTasks } from './local/thread-entry.js';
