/**
 * `cpuCount()` and `currentProcess()`, as `multiprocessing.cpu_count()` and `current_process()`.
 * Inside a task running on a pool thread, `currentProcess().name` is that worker's name; inside a
 * `Process`'s task, the process name.
 */
import { availableParallelism } from 'node:os';
import { threadId } from 'node:worker_threads';
import { threadInfo } from '../local/thread-port.js';
import { PROCESS_IDENT } from './handles.js';

/**
 * Where this thread keeps the name of the process it runs. A registered symbol on `globalThis`,
 * so that two bundled copies of this module (the user's and the thread runtime's) agree.
 */
const PROCESS_NAME: unique symbol = Symbol.for('fanfold.processName');

/**
 * Records that this thread now runs the process `name` (the thread runtime calls it with the name a
 * process chunk carries). A thread runs one process at a time, and may run several in turn (the
 * local context reuses threads): the name comes with each process, not with the thread.
 */
export function enterProcess(name: string): void {
  (globalThis as { [PROCESS_NAME]?: string })[PROCESS_NAME] = name;
}

/** What `currentProcess()` describes. */
export interface ProcessInfo {
  /** `MainProcess` on the caller; `fanfold-worker-N` in a pool's worker thread; the process name in a `Process`. */
  readonly name: string;
  /** The OS process id. */
  readonly pid: number;
  /** The worker thread's id (0 on the main thread). */
  readonly threadId: number;
  /**
   * This thread's identity as a lock owner, unique across machines: what an AWS `RLock.state().owner`
   * reports (a local RLock reports `thread:<threadId>` instead).
   */
  readonly ident: string;
}

/**
 * The number of CPUs this process may use (`os.availableParallelism()`).
 *
 * @example
 * ```ts
 * const pool = mp.Pool({ processes: cpuCount() });
 * ```
 */
export function cpuCount(): number {
  return availableParallelism();
}

/**
 * Describes the current process or worker thread.
 *
 * @example
 * ```ts
 * export default defineTasks({ whoami: () => currentProcess().name }); // 'fanfold-worker-1'
 * ```
 */
export function currentProcess(): ProcessInfo {
  const name =
    (globalThis as { [PROCESS_NAME]?: string })[PROCESS_NAME] ?? threadInfo()?.name ?? 'MainProcess';
  return { name, pid: process.pid, threadId, ident: PROCESS_IDENT };
}
