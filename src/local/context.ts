/**
 * The local context: `local({ tasks })`, the counterpart of `multiprocessing.get_context()`, whose
 * pools run on worker threads of this process through the same engine the AWS context uses.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import type { Context, PoolOptions } from '../api/context.js';
import { Pool } from '../api/pool.js';
import { makeProcess } from '../api/process-impl.js';
import { cpuCount, currentProcess, refuseWhileTasksModuleLoads } from '../api/process-info.js';
import { isTaskRegistry, type TaskMap, type TaskRegistry } from '../api/tasks.js';
import { stragglerPolicy } from '../engine/stragglers.js';
import { InvalidArgumentError, NotSerializableError } from '../errors.js';
import { toWire } from '../handles.js';
import { options as checkOptions, optionalArray, optionalInteger, received, taskName } from '../validate.js';
import { localLauncher } from './process.js';
import { LocalRuntime, type LocalRuntimeSettings } from './runtime.js';
import { localPrimitives } from './sync/index.js';

const POOL_KEYS = [
  'processes',
  'chunksize',
  'maxTasksPerChild',
  'initializer',
  'initargs',
  'jobTimeoutMs',
  'maxAttempts',
  'stragglers',
];

/** Options of {@link local}. */
export interface LocalOptions<T extends TaskMap> {
  /** The tasks module's default export (`defineTasks({...})`). */
  readonly tasks: TaskRegistry<T>;
  /**
   * The thread entry of an application bundled into files of its own: a file URL or an absolute
   * path to a module that calls `serveTasks(tasks)` from `fanfold/worker` with the same tasks.
   * Without it, each pool and process bundles its threads' script from the tasks module with
   * esbuild, which needs fanfold's own files beside it (not there once fanfold is bundled).
   * @default undefined: the threads' script is bundled from `tasks` at start
   * @example
   * ```ts
   * // app.ts, bundled to dist/app.mjs; worker.ts to dist/worker.mjs beside it
   * import { local } from 'fanfold';
   * import tasks from './tasks.js';
   *
   * const mp = local({ tasks, worker: new URL('./worker.mjs', import.meta.url) });
   * ```
   */
  readonly worker?: string | URL;
}

/**
 * A context whose pools and processes run on this machine's cores (worker threads), with the
 * primitives on shared memory: `mp.Lock()`, `mp.Queue()`, `mp.Process('task', [args])`, …
 */
export interface LocalContext<T extends TaskMap> extends Context<T> {
  readonly kind: 'local';
  /** Creates a pool; its worker threads start at once. Options are validated before any thread starts. */
  Pool(options?: PoolOptions<T>): Pool<T>;
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
  const o = checkOptions<LocalOptions<T>>(options, 'options', ['tasks', 'worker']);
  if (!isTaskRegistry(o.tasks)) {
    throw new InvalidArgumentError(
      `Expected options.tasks to be the default export of a tasks module (defineTasks), got ${received(o.tasks)}`,
    );
  }
  const registry = o.tasks;
  const worker = workerFile(o.worker);
  const launch = localLauncher(registry, worker);
  return {
    ...localPrimitives(),
    kind: 'local',
    tasks: registry,
    Process: (target, args, processOptions) =>
      makeProcess(registry.names, launch, target, args, processOptions),
    Pool(poolOptions?: PoolOptions<T>): Pool<T> {
      refuseWhileTasksModuleLoads('A Pool');
      const settings = { ...resolvePoolOptions(registry, poolOptions, hooks), worker };
      const rt = new LocalRuntime(settings);
      hooks.onRuntime?.(rt);
      return new Pool<T>(rt);
    },
    cpuCount,
    currentProcess,
  };
}

/** `options.worker` as a file URL, checked to name an existing file. */
function workerFile(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  let path: string | undefined;
  if (v instanceof URL && v.protocol === 'file:') path = fileURLToPath(v);
  else if (typeof v === 'string' && v.startsWith('file:')) path = fileURLToPath(v);
  else if (typeof v === 'string' && isAbsolute(v)) path = v;
  if (path === undefined) {
    throw new InvalidArgumentError(
      `Expected options.worker to be a file URL or an absolute path, got ${received(v instanceof URL ? v.href : v)}`,
    );
  }
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) {
    throw new InvalidArgumentError(`Expected options.worker to name an existing file, got ${received(path)}`);
  }
  return pathToFileURL(path).href;
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
    stragglers: stragglerPolicy(p.stragglers, 'options.stragglers', undefined),
    visibilityMs: hooks.visibilityMs ?? 30_000,
    leaseMs: hooks.leaseMs ?? 30_000,
    ...(hooks.backend ? { backend: hooks.backend } : {}),
    ...(hooks.faults ? { faults: hooks.faults } : {}),
    ...(hooks.onError ? { onError: hooks.onError } : {}),
  };
}
