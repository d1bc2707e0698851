/**
 * The local context: `local({ tasks })`, the counterpart of `multiprocessing.get_context()`, whose
 * pools run on worker threads of this process through the same engine the AWS context uses.
 */
import { serialize } from 'node:v8';
import type { Primitives, ProcessFactory } from '../api/context.js';
import { toWire } from '../api/handles.js';
import { Pool } from '../api/pool.js';
import { makeProcess } from '../api/process-impl.js';
import { cpuCount, currentProcess, type ProcessInfo } from '../api/process-info.js';
import { isTaskRegistry, type TaskMap, type TaskRegistry } from '../api/tasks.js';
import { InvalidArgumentError, NotSerializableError } from '../errors.js';
import { options as checkOptions, optionalArray, optionalInteger, received, taskName } from '../validate.js';
import { localLauncher } from './process.js';
import { LocalRuntime, type LocalRuntimeSettings } from './runtime.js';
import { localPrimitives } from './sync/index.js';

/** Options of `Pool()`. */
export interface PoolOptions<T extends TaskMap = TaskMap> {
  /** Worker threads. @default cpuCount() */
  readonly processes?: number;
  /** Default items per chunk for calls that do not pass one. @default CPython's rule per call */
  readonly chunksize?: number;
  /** Replace a worker after it has run this many chunks (CPython `maxtasksperchild`). @default undefined (never) */
  readonly maxTasksPerChild?: number;
  /** A task run once in each worker before it takes work. @default undefined */
  readonly initializer?: keyof T & string;
  /** Arguments of the initializer. @default [] */
  readonly initargs?: readonly unknown[];
  /** A job that has not ended this long after it was submitted fails with `JobExpiredError`. @default 86_400_000 (a day) */
  readonly jobTimeoutMs?: number;
  /** Deliveries of a chunk (worker crashes) before its job fails with `RetriesExhaustedError`. @default 3 */
  readonly maxAttempts?: number;
}

const POOL_KEYS = [
  'processes',
  'chunksize',
  'maxTasksPerChild',
  'initializer',
  'initargs',
  'jobTimeoutMs',
  'maxAttempts',
];

/** Options of {@link local}. */
export interface LocalOptions<T extends TaskMap> {
  /** The tasks module's default export (`defineTasks({...})`). */
  readonly tasks: TaskRegistry<T>;
}

/**
 * A context whose pools and processes run on this machine's cores (worker threads), with the
 * primitives on shared memory: `mp.Lock()`, `mp.Queue()`, `mp.Process('task', [args])`, …
 */
export interface LocalContext<T extends TaskMap> extends Primitives, ProcessFactory<T> {
  readonly kind: 'local';
  readonly tasks: TaskRegistry<T>;
  /** Creates a pool; its worker threads start at once. Options are validated before any thread starts. */
  Pool(options?: PoolOptions<T>): Pool<T>;
  cpuCount(): number;
  currentProcess(): ProcessInfo;
}

/** Hooks for tests (fault injection, backend limits). @internal */
export type LocalTestHooks = Pick<LocalRuntimeSettings, 'backend' | 'faults' | 'onError'> & {
  readonly visibilityMs?: number;
  readonly leaseMs?: number;
  readonly onRuntime?: (rt: LocalRuntime) => void;
};

/**
 * The local context.
 *
 * @example
 * ```ts
 * import { local, range } from 'fanfold';
 * import tasks from './tasks.js';
 * const mp = local({ tasks });
 * await using pool = mp.Pool({ processes: 4 });
 * console.log(await pool.map('square', range(10)));
 * ```
 */
export function local<T extends TaskMap>(
  options: LocalOptions<T>,
  hooks: LocalTestHooks = {},
): LocalContext<T> {
  const o = checkOptions<LocalOptions<T>>(options, 'options', ['tasks']);
  if (!isTaskRegistry(o.tasks)) {
    throw new InvalidArgumentError(
      `Expected options.tasks to be the default export of a tasks module (defineTasks), got ${received(o.tasks)}`,
    );
  }
  const registry = o.tasks;
  const launch = localLauncher(registry);
  return {
    ...localPrimitives(),
    kind: 'local',
    tasks: registry,
    Process: (target, args, processOptions) =>
      makeProcess(registry.names, launch, target, args, processOptions),
    Pool(poolOptions?: PoolOptions<T>): Pool<T> {
      const settings = resolvePoolOptions(registry, poolOptions, hooks);
      const rt = new LocalRuntime(settings);
      hooks.onRuntime?.(rt);
      return new Pool<T>(rt);
    },
    cpuCount,
    currentProcess,
  };
}

function resolvePoolOptions<T extends TaskMap>(
  registry: TaskRegistry<T>,
  raw: PoolOptions<T> | undefined,
  hooks: LocalTestHooks,
): LocalRuntimeSettings {
  const p = checkOptions<PoolOptions<T>>(raw, 'options', POOL_KEYS);
  const initializer =
    p.initializer === undefined ? undefined : taskName(p.initializer, 'options.initializer', registry.names);
  // Primitives among the initargs travel as handles; the threads revive them before the call.
  const initargs = toWire(optionalArray(p.initargs, 'options.initargs') ?? []).value as readonly unknown[];
  if (initargs.length > 0 && initializer === undefined) {
    throw new InvalidArgumentError('options.initargs was given without options.initializer');
  }
  initargs.forEach((a, i) => {
    try {
      serialize(a);
    } catch (e) {
      throw new NotSerializableError('options.initargs item', i, e);
    }
  });
  return {
    registry,
    processes: optionalInteger(p.processes, 'options.processes', 1, 1024) ?? cpuCount(),
    chunksize: optionalInteger(p.chunksize, 'options.chunksize', 1),
    maxTasksPerChild: optionalInteger(p.maxTasksPerChild, 'options.maxTasksPerChild', 1),
    initializer,
    initargs,
    jobTimeoutMs: optionalInteger(p.jobTimeoutMs, 'options.jobTimeoutMs', 1) ?? 86_400_000,
    maxAttempts: optionalInteger(p.maxAttempts, 'options.maxAttempts', 1, 1000) ?? 3,
    visibilityMs: hooks.visibilityMs ?? 30_000,
    leaseMs: hooks.leaseMs ?? 30_000,
    ...(hooks.backend ? { backend: hooks.backend } : {}),
    ...(hooks.faults ? { faults: hooks.faults } : {}),
    ...(hooks.onError ? { onError: hooks.onError } : {}),
  };
}
