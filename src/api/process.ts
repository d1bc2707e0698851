/**
 * `Process` (CPython `multiprocessing.Process`): one task run by its own worker (a dedicated
 * thread on the local context, its own Lambda invocation slot on the AWS context).
 *
 * A process runs at most once, as a CPython child does: a run that dies (its thread crashed; on
 * AWS, its worker Lambda crashed or hit the worker function's timeout) is never started again,
 * although SQS redelivers its message. The worker claims the run in the job table before it starts
 * it (a conditional write), and a redelivery that finds the run claimed and never finished ends
 * the process instead: `exitCode` 1, `error` a `TaskError` whose `remoteName` is
 * `ProcessInterruptedError` and `remoteCode` `ERR_FANFOLD_PROCESS_INTERRUPTED`. On AWS a process
 * must therefore finish within the worker function's timeout (Lambda's limit is 15 minutes).
 */
import type { TaskError } from '../errors.js';
import type { ArgsOf, TaskMap } from './tasks.js';

/** Options of `Process()`. */
export interface ProcessOptions {
  /** The process name, seen as `currentProcess().name` inside the task. @default `Process-N` */
  readonly name?: string;
}

/** A task running as a process. */
export interface Process<T extends TaskMap = TaskMap, K extends keyof T & string = keyof T & string> {
  /** The name: `options.name`, or `Process-N`. */
  readonly name: string;
  /** The task it runs. */
  readonly target: K;
  /** The task's arguments. */
  readonly args: ArgsOf<T[K]>;
  /** An id for the run (the job id), undefined before `start()`: CPython's `pid`. */
  readonly pid: string | undefined;
  /**
   * null while not started or running; 0 after success, 1 after the task threw or its run was
   * interrupted (a crashed thread or worker, the worker's timeout: see `error`), -15 after
   * `terminate()`.
   */
  readonly exitCode: number | null;
  /** The task's error once it has thrown, or why its run was interrupted (`exitCode` 1). */
  readonly error: TaskError | undefined;
  /** Starts the run; throws if called twice. */
  start(): Promise<void>;
  /** Waits for the end, or until `timeoutMs` passed; never throws the task's error (see `error`). */
  join(timeoutMs?: number): Promise<void>;
  /** Whether it was started and has not ended. */
  isAlive(): boolean;
  /** Stops the run (the thread is ended; a cloud run is cancelled); `exitCode` becomes -15. */
  terminate(): Promise<void>;
}
