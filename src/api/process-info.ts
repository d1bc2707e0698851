/**
 * `cpuCount()` and `currentProcess()`, as `multiprocessing.cpu_count()` and `current_process()`.
 * Inside a task running on a pool thread, `currentProcess().name` is that worker's name; inside a
 * `Process`'s task, the process name.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { isMainThread, threadId, workerData } from 'node:worker_threads';
import { TasksModuleError } from '../errors.js';

/**
 * This thread's identity as a lock owner: unique across processes, threads and machines (a random
 * part makes two Lambda containers with the same pid differ).
 */
export const PROCESS_IDENT = `${process.pid}.${threadId}.${randomUUID().slice(0, 8)}`;

/**
 * Where this thread keeps the name of the process it runs. A registered symbol on `globalThis`,
 * so that two bundled copies of this module (the user's and the thread runtime's) agree.
 */
const PROCESS_NAME: unique symbol = Symbol.for('fanfold.processName');

/**
 * Records that this thread now runs the process `name`. The thread runtime calls it twice over:
 * once at start with the pool thread's own name (`fanfold-worker-N`), then with the name each
 * process chunk carries. A thread runs one process at a time, and may run several in turn (the
 * local context reuses threads): the name comes with each process, not with the thread.
 */
export function enterProcess(name: string): void {
  (globalThis as { [PROCESS_NAME]?: string })[PROCESS_NAME] = name;
}

/**
 * Refuses to start `what` (a pool, a process) while a fanfold worker thread is still importing
 * the tasks module: every thread imports it to find the tasks, so a module that starts a pool at
 * its top level would have each thread start another pool, without end (CPython's spawn raises an
 * error naming the `if __name__ == '__main__':` guard for the same reason). Such a thread is one
 * whose `workerData` a fanfold pool made and whose runtime has not yet named it (`enterProcess`
 * runs once the module has loaded); a task that starts a pool while it runs is not refused.
 */
export function refuseWhileTasksModuleLoads(what: string): void {
  if (isMainThread || (globalThis as { [PROCESS_NAME]?: string })[PROCESS_NAME] !== undefined) return;
  const data = workerData as { fanfold?: unknown } | null | undefined;
  if (typeof data !== 'object' || data === null || typeof data.fanfold !== 'object') return;
  throw new TasksModuleError(
    `${what} was started while a fanfold worker thread imported the tasks module: each thread would ` +
      'start another, without end. Start pools and processes from the program that uses the tasks, ' +
      "not from the tasks module's top level: keep the tasks in a module of their own, or guard the " +
      "main code with `if (isMainThread)` from 'node:worker_threads' (Python's `if __name__ == '__main__':`)",
  );
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
  /** `null`: the current process is running (CPython's `current_process().exitcode`). */
  readonly exitCode: null;
  /** `true`: the current process is running (CPython's `current_process().is_alive()`). */
  isAlive(): boolean;
}

/**
 * The number of CPUs this process may use (`os.availableParallelism()`).
 *
 * @example
 * ```ts
 * import { cpuCount, local } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool({ processes: Math.max(1, cpuCount() - 1) });
 * ```
 */
export function cpuCount(): number {
  return availableParallelism();
}

/** The current process is the one running this code: alive, as CPython's `is_alive()` says of it. */
function alive(): boolean {
  return true;
}

/**
 * Describes the current process or worker thread.
 *
 * @example
 * ```ts
 * import { currentProcess, defineTasks } from 'fanfold';
 *
 * export default defineTasks({ whoami: () => currentProcess().name }); // 'fanfold-worker-1'
 * ```
 */
export function currentProcess(): ProcessInfo {
  const name = (globalThis as { [PROCESS_NAME]?: string })[PROCESS_NAME] ?? 'MainProcess';
  return { name, pid: process.pid, threadId, ident: PROCESS_IDENT, exitCode: null, isAlive: alive };
}
