/**
 * `Process` on either context: the lifecycle CPython's `multiprocessing.Process` has (start once,
 * join with a timeout, exit codes, terminate), over a {@link ProcessLauncher} that each context
 * supplies: a dedicated worker thread on the local context, a one-item job on AWS.
 */
import { serialize } from 'node:v8';
import { InvalidArgumentError, NotSerializableError, serializeError, TaskError } from '../errors.js';
import { toWire } from '../handles.js';
import { refuseClassInstances } from '../plain-data.js';
import { options as checkOptions, optionalTimeout, received, taskName } from '../validate.js';
import type { Process, ProcessOptions } from './process.js';
import { refuseWhileTasksModuleLoads } from './process-info.js';
import type { ArgsOf, TaskMap } from './tasks.js';

/** A started run, as a context's launcher reports it. */
export interface ProcessRun {
  /** The run's id (CPython's `pid`): the job id, or the thread's. */
  readonly pid: string;
  /** Settles when the task has ended: with its error, or `undefined` after success. Never rejects. */
  readonly ended: Promise<unknown>;
  /** Stops the run now (ends the thread, cancels the job); `ended` settles soon after. */
  terminate(): Promise<void>;
}

/**
 * Starts `target(...args)` as a process named `name`; `args` already hold handles instead of
 * primitives, and `handles` says whether any was found.
 */
export type ProcessLauncher = (
  target: string,
  args: readonly unknown[],
  name: string,
  handles: boolean,
) => Promise<ProcessRun>;

/** Exit code of a terminated process: -SIGTERM, as CPython reports it. */
export const TERMINATED = -15;

// CPython counts processes per parent process: `Process-1`, `Process-2`, … (never reused).
let counter = 0;

/**
 * Validates `Process(target, args, options)` and makes the process (nothing runs before
 * `start()`). An unknown target throws `UnknownTaskError`; args must be a serialisable array.
 */
export function makeProcess<T extends TaskMap, K extends keyof T & string>(
  taskNames: readonly string[],
  launch: ProcessLauncher,
  target: K,
  args: ArgsOf<T[K]>,
  options?: ProcessOptions,
): Process<T, K> {
  refuseWhileTasksModuleLoads('A Process');
  const name = taskName(target, 'target', taskNames) as K;
  if (!Array.isArray(args))
    throw new InvalidArgumentError(`Expected args to be an array of arguments, got ${received(args)}`);
  const o = checkOptions<ProcessOptions>(options, 'options', ['name']);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 256))
    throw new InvalidArgumentError(
      `Expected options.name to be a name of 1 to 256 characters, got ${received(o.name)}`,
    );
  const { value, found } = toWire(args);
  const wire = value as unknown[];
  refuseClassInstances(wire, 'Process argument', 0);
  wire.forEach((a, i) => {
    try {
      serialize(a);
    } catch (e) {
      throw new NotSerializableError('Process argument', i, e);
    }
  });
  counter++;
  const processName = o.name ?? `Process-${counter}`;
  const start: Launch = () => launch(name, wire, processName, found);
  return new ProcessImpl<T, K>(start, name, args, processName);
}

/** Launches the one run of a process. */
type Launch = () => Promise<ProcessRun>;

class ProcessImpl<T extends TaskMap, K extends keyof T & string> implements Process<T, K> {
  readonly name: string;
  readonly target: K;
  readonly args: ArgsOf<T[K]>;
  readonly #launch: Launch;
  #pid: string | undefined;
  #exitCode: number | null = null;
  #error: TaskError | undefined;
  /** Set by `start()`: settles once the run is launched (or failed to launch), never rejects. */
  #launched: Promise<void> | undefined;
  #run: ProcessRun | undefined;
  /** Settles when the run has ended. */
  #ended: Promise<void> = Promise.resolve();
  #terminated = false;

  constructor(launch: Launch, target: K, args: ArgsOf<T[K]>, name: string) {
    this.#launch = launch;
    this.target = target;
    this.args = args;
    this.name = name;
  }

  get pid(): string | undefined {
    return this.#pid;
  }

  get exitCode(): number | null {
    return this.#exitCode;
  }

  get error(): TaskError | undefined {
    return this.#error;
  }

  async start(): Promise<void> {
    if (this.#launched)
      throw new InvalidArgumentError(`Process ${this.name} was already started: a process starts once`);
    const launching = this.#launch();
    this.#launched = launching.then(
      (run) => {
        this.#run = run;
        this.#pid = run.pid;
        this.#ended = run.ended.then((e) => this.#finish(e));
      },
      // Nothing ran (no thread could start, the stack is not there): the process ends as
      // failed, and start() reports why.
      (e: unknown) => this.#finish(e),
    );
    await launching;
    await this.#launched;
  }

  #finish(e: unknown): void {
    if (this.#exitCode !== null) return;
    // A run that ended normally before terminate() reached it keeps its exit code 0, as a CPython
    // child that exited before the signal (the local run is then past stopping: its thread may
    // already serve another process).
    if (this.#terminated && e !== undefined) {
      this.#exitCode = TERMINATED;
      return;
    }
    if (e === undefined) {
      this.#exitCode = 0;
      return;
    }
    this.#exitCode = 1;
    this.#error = e instanceof TaskError ? e : new TaskError(serializeError(e), this.#pid);
  }

  async join(timeoutMs?: number): Promise<void> {
    const t = optionalTimeout(timeoutMs);
    if (!this.#launched)
      throw new InvalidArgumentError(`Process ${this.name} was not started: call start() first`);
    await this.#launched;
    if (t === undefined) return this.#ended;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, t);
    });
    try {
      await Promise.race([this.#ended, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  isAlive(): boolean {
    return this.#launched !== undefined && this.#exitCode === null;
  }

  async terminate(): Promise<void> {
    if (!this.#launched || this.#exitCode !== null) return;
    this.#terminated = true;
    await this.#launched;
    await this.#run?.terminate();
    await this.#ended;
  }
}
