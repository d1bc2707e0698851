/**
 * `Process` (CPython `multiprocessing.Process`): one task run by its own worker (a dedicated
 * thread on the local context, its own Lambda invocation slot on the AWS context).
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
  readonly name: string;
  readonly target: K;
  readonly args: ArgsOf<T[K]>;
  /** An id for the run (the job id), undefined before `start()`: CPython's `pid`. */
  readonly pid: string | undefined;
  /** null while not started or running; 0 after success, 1 after the task threw, -15 after `terminate()`. */
  readonly exitCode: number | null;
  /** The task's error once it has thrown (`exitCode` 1). */
  readonly error: TaskError | undefined;
  /** Starts the run; throws if called twice. */
  start(): Promise<void>;
  /** Waits for the end, or until `timeoutMs` passed; never throws the task's error (see `error`). */
  join(timeoutMs?: number): Promise<void>;
  isAlive(): boolean;
  /** Stops the run (the thread is ended; a cloud run is cancelled); `exitCode` becomes -15. */
  terminate(): Promise<void>;
}
