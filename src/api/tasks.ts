/**
 * The tasks module: the one place where the code that runs in workers is named. It is bundled
 * with esbuild into the local worker threads at pool start and into the Lambda at deploy time;
 * messages only ever carry a task's name, never code.
 */
import { InvalidArgumentError } from '../errors.js';
import type { TaskMap } from '../task-map.js';

export type { TaskFn, TaskMap } from '../task-map.js';

const REGISTRY = Symbol.for('fanfold.tasks');

/** What `defineTasks` returns; the default export of a tasks module. */
export interface TaskRegistry<T extends TaskMap = TaskMap> {
  /** Marks a value made by {@link defineTasks}. */
  readonly [REGISTRY]: true;
  /** The task functions, by name. */
  readonly tasks: Readonly<T>;
  /** The names of the tasks, sorted. */
  readonly names: readonly string[];
  /** File URL of the module that defined the tasks; workers load it from here. */
  readonly module: string | undefined;
}

/** Options of {@link defineTasks}. */
export interface DefineTasksOptions {
  /**
   * The URL or path of the tasks module itself. Pass `import.meta.url` to be explicit.
   * @default found from the caller's stack frame
   */
  readonly module?: string | URL;
}

/** The argument of a one-argument task. */
export type ArgOf<F> = F extends (arg: infer A) => unknown ? A : never;
/** The argument list of a task. */
export type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
/** The settled result of a task. */
export type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;
/** Names of the tasks that can be called with one argument (for `map`, `imap`, `mapReduce`). */
export type UnaryTaskName<T extends TaskMap> = {
  [K in keyof T]: T[K] extends (arg: never) => unknown ? K : never;
}[keyof T] &
  string;
/** Names of the tasks that fold two results of type `R` into one (reducers for `mapReduce`). */
export type ReducerName<T extends TaskMap, R> = {
  // Exactly two parameters: TypeScript would otherwise accept a one-argument task as a reducer.
  [K in keyof T]: T[K] extends (a: R, b: R) => R | PromiseLike<R>
    ? ArgsOf<T[K]>['length'] extends 2
      ? K
      : never
    : never;
}[keyof T] &
  string;

/**
 * Names the functions that run in workers. Export the result as the module's default export.
 *
 * @example
 * ```ts
 * // tasks.ts
 * import { defineTasks } from 'fanfold';
 * export default defineTasks({
 *   square: (n: number) => n * n,
 *   add: (a: number, b: number) => a + b,
 * });
 * ```
 */
export function defineTasks<T extends TaskMap>(tasks: T, options: DefineTasksOptions = {}): TaskRegistry<T> {
  if (typeof tasks !== 'object' || tasks === null || Array.isArray(tasks)) {
    throw new InvalidArgumentError(`Expected tasks to be an object of functions, got ${typeof tasks}`);
  }
  for (const [name, fn] of Object.entries(tasks)) {
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError(`Expected tasks.${name} to be a function, got ${typeof fn}`);
    }
  }
  const module = options.module !== undefined ? toUrl(options.module) : callerModule();
  return Object.freeze({
    [REGISTRY]: true as const,
    tasks: Object.freeze({ ...tasks }),
    names: Object.keys(tasks).sort(),
    module,
  });
}

/** True when `v` was made by {@link defineTasks}. */
export function isTaskRegistry(v: unknown): v is TaskRegistry {
  return typeof v === 'object' && v !== null && (v as { [REGISTRY]?: unknown })[REGISTRY] === true;
}

function toUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (m.startsWith('file:')) return m;
  if (m.startsWith('/')) return new URL(`file://${m}`).href;
  throw new InvalidArgumentError(`Expected options.module to be a file URL or an absolute path, got "${m}"`);
}

/** The file of the function that called defineTasks, read from a stack trace. */
function callerModule(): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, defineTasks);
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+?\.[cm]?[jt]sx?)(?::\d+){1,2}\)?\s*$/.exec(line);
    if (m?.[1]) return toUrl(m[1]);
  }
  return undefined;
}
