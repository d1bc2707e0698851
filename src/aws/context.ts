/**
 * The AWS context: `aws({ tasks, stack })`, the counterpart of `local({ tasks })`, whose pools fan
 * out over a deployed `Fanfold` stack. The same {@link Pool}, on the same engine: the job client
 * invokes the coordinator Lambda, which puts chunk messages on SQS for the worker Lambdas; the
 * client waits by polling the job in DynamoDB and reads results from the table and the bucket.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, PoolOptions, Primitives } from '../api/context.js';
import { Pool, type PoolRuntime } from '../api/pool.js';
import { makeProcess } from '../api/process-impl.js';
import { cpuCount, currentProcess, refuseWhileTasksModuleLoads } from '../api/process-info.js';
import { isTaskRegistry, type TaskMap, type TaskRegistry } from '../api/tasks.js';
import { deadlineOf, expired } from '../deadline.js';
import { JobClient } from '../engine/client.js';
import { DEFAULT_STRAGGLERS, type StragglerPolicy, stragglerPolicy } from '../engine/stragglers.js';
import { InvalidArgumentError } from '../errors.js';
import { options as checkOptions, optionalInteger, received } from '../validate.js';
// Types only: the SDK and the adapters load on first use (`connect.ts`), so that a program that
// imports fanfold for the local context does not parse the AWS SDK at start (~0.3 s).
import type { Connection } from './connect.js';
import { DeferredBlobStore, DeferredJobStore } from './deferred-stores.js';
import type { StackResources } from './invoke.js';
import { loadSdk } from './sdk.js';
import { type AwsOptions, OPTION_KEYS, resolveOptions, type Settings } from './settings.js';
import { awsPrimitives } from './sync/index.js';
import { awsLauncher, contextSyncEnv } from './sync-context.js';
import { checkDeployedTasks } from './tasks-check.js';

export type { AwsClients, AwsOptions, AwsResources } from './settings.js';

/** A context whose pools fan out over AWS Lambda, with the primitives on DynamoDB and SQS. */
export interface AwsContext<T extends TaskMap> extends Context<T> {
  readonly kind: 'aws';
}

/** The blob prefix of the stack's functions (`awsBackend`'s default): the client reads and writes the same keys. */
const BLOB_PREFIX = 'fanfold/';
/** The job store's inline limit, the same on the client as in the functions (DynamoJobStore's default). */
const MAX_INLINE_BYTES = 350 * 1024;
/**
 * How long shutting a pool down lets its jobs' releases finish (they run after each call returned)
 * and `terminate`'s cancelled calls release theirs, before the pool's clients are destroyed.
 */
const RELEASE_WAIT_MS = 10_000;
/** Pool options the AWS context honours; the others are the stack's (deploy-time) settings. */
const POOL_KEYS = ['processes', 'chunksize', 'jobTimeoutMs', 'stragglers'];
/** Why each PoolOptions field the AWS context refuses is not a pool's to set (README, "Python names"). */
const SHARED_THREADS =
  "the worker Lambdas' threads are started by the deployed stack and serve every pool and caller of it, so no pool can run its own initializer in them: do the set-up at the top level of the tasks module (it runs once in each thread) or lazily in the task";
const STACK_SETTINGS: Record<string, string> = {
  maxTasksPerChild:
    "a worker thread lives as long as its Lambda container and serves every pool of the stack; Lambda recycles containers on its own, and the function's memory and timeout bound what a task may leak",
  initializer: SHARED_THREADS,
  initargs: SHARED_THREADS,
  maxAttempts: "it is the work queue's maxReceiveCount, set when the stack is deployed",
};

/**
 * The AWS context. Pools find their resources from the stack's outputs (one DescribeStacks per
 * context) or from `resources`; nothing is called before the first pool call.
 *
 * @example
 * ```ts
 * import { aws, local, range } from 'fanfold';
 * import tasks from './tasks.js';
 * const mp = process.env.FANFOLD_STACK ? aws({ tasks, stack: process.env.FANFOLD_STACK }) : local({ tasks });
 * await using pool = mp.Pool();
 * console.log(await pool.map('square', range(1_000_000)));
 * ```
 */
export function aws<T extends TaskMap>(options: AwsOptions<T>): AwsContext<T> {
  const o = checkOptions<AwsOptions<T>>(options, 'options', OPTION_KEYS);
  if (!isTaskRegistry(o.tasks)) {
    throw new InvalidArgumentError(
      `Expected options.tasks to be the default export of a tasks module (defineTasks), got ${received(o.tasks)}`,
    );
  }
  const registry = o.tasks;
  const settings = resolveOptions(o);
  let found: Promise<StackResources> | undefined;
  // The deployed tasks are checked once per context, at its first pool or process (tasks-check.ts);
  // a failed check (a mismatch) is made again by the next one, so a redeploy is seen without a restart.
  let checked: Promise<void> | undefined;
  const deployedTasks = async (): Promise<StackResources> => {
    const r = await resources();
    if (!checked) {
      const check = checkDeployedTasks(registry, r, settings);
      checked = check;
      check.catch(() => {
        if (checked === check) checked = undefined;
      });
    }
    await checked;
    return r;
  };
  const resources = (): Promise<StackResources> => {
    if (found) return found;
    const lookup = findResources(settings);
    found = lookup;
    // A failed lookup (a stack not deployed yet) is tried again by the next pool.
    lookup.catch(() => {
      if (found === lookup) found = undefined;
    });
    return lookup;
  };
  // Processes share one runtime (a job client and its clients), made on the first start().
  let processes: AwsRuntime | undefined;
  const launch = awsLauncher(() => {
    processes ??= new AwsRuntime(
      registry,
      settings,
      // A Process is never backed up: its runtime's calls need no straggler check.
      { processes: undefined, chunksize: 1, jobTimeoutMs: 86_400_000, stragglers: undefined },
      deployedTasks,
    );
    return processes;
  });
  const primitives: Primitives = awsPrimitives(contextSyncEnv(settings, resources));
  return {
    ...primitives,
    kind: 'aws',
    tasks: registry,
    Pool(poolOptions?: PoolOptions<T>): Pool<T> {
      refuseWhileTasksModuleLoads('A Pool');
      const p = checkPoolOptions(poolOptions);
      return new Pool<T>(new AwsRuntime(registry, settings, p, deployedTasks));
    },
    Process: (target, args, processOptions) =>
      makeProcess(registry.names, launch, target, args, processOptions),
    cpuCount,
    currentProcess,
  };
}

async function findResources(s: Settings): Promise<StackResources> {
  return (await loadSdk(() => import('./connect.js'))).findResources(s);
}

interface PoolSettings {
  readonly processes: number | undefined;
  readonly chunksize: number | undefined;
  readonly jobTimeoutMs: number;
  readonly stragglers: StragglerPolicy | undefined;
}

function checkPoolOptions<T extends TaskMap>(raw: PoolOptions<T> | undefined): PoolSettings {
  const all = [...POOL_KEYS, ...Object.keys(STACK_SETTINGS)];
  const p = checkOptions<PoolOptions<T>>(raw, 'options', all);
  for (const [k, why] of Object.entries(STACK_SETTINGS)) {
    if ((p as Record<string, unknown>)[k] !== undefined)
      throw new InvalidArgumentError(`options.${k} is not supported by the aws context: ${why}`, {
        option: `options.${k}`,
      });
  }
  return {
    processes: optionalInteger(p.processes, 'options.processes', 1, 1_000_000),
    chunksize: optionalInteger(p.chunksize, 'options.chunksize', 1),
    jobTimeoutMs: optionalInteger(p.jobTimeoutMs, 'options.jobTimeoutMs', 1) ?? 86_400_000,
    stragglers: stragglerPolicy(p.stragglers, 'options.stragglers', DEFAULT_STRAGGLERS),
  };
}

/** The live parts of a pool once its resources are known. */
type Resolved = Connection;

/** One pool's engine on AWS: a job client and the clients it talks through. */
class AwsRuntime implements PoolRuntime {
  readonly client: JobClient;
  readonly taskNames: readonly string[];
  readonly chunksize: number | undefined;
  readonly #pool: PoolSettings;
  readonly #ready: Promise<Resolved>;
  #resolved: Resolved | undefined;
  /** Clients this pool made, destroyed at shutdown. */
  readonly #own: { destroy(): void }[] = [];

  constructor(
    registry: TaskRegistry,
    s: Settings,
    pool: PoolSettings,
    resources: () => Promise<StackResources>,
  ) {
    this.taskNames = registry.names;
    this.chunksize = pool.chunksize;
    this.#pool = pool;
    this.#ready = this.#start(s, resources);
    // Reported through ready(); never an unhandled rejection.
    this.#ready.catch(() => {});
    const get = () => this.#ready;
    const rt = this;
    this.client = new JobClient({
      coordinator: async (req) => (await get()).invoke(req),
      store: new DeferredJobStore(async () => (await get()).store, MAX_INLINE_BYTES),
      blobs: new DeferredBlobStore(async () => (await get()).blobs),
      // Read at each submit: the stack's worker count is known only once its outputs are read.
      get processes() {
        return rt.processes;
      },
      jobTimeoutMs: pool.jobTimeoutMs,
      poll: s.pollMs,
      stragglers: pool.stragglers,
      get window() {
        // Chunks in flight for imap: enough to keep the workers busy, few enough for one append.
        return Math.min(1000, Math.max(8, rt.processes * 2));
      },
    });
  }

  /** The `processes` option, else the stack's workers; 0 until the stack's outputs have been read. */
  get processes(): number {
    return this.#pool.processes ?? this.#resolved?.processes ?? 0;
  }

  async #start(s: Settings, resources: () => Promise<StackResources>): Promise<Resolved> {
    const r = await resources();
    const { connect } = await loadSdk(() => import('./connect.js'));
    this.#resolved = connect(s, r, MAX_INLINE_BYTES, BLOB_PREFIX, (client) => this.#own.push(client));
    return this.#resolved;
  }

  async ready(): Promise<void> {
    await this.#ready;
  }

  /**
   * Nothing runs here: the stack's workers finish, or skip the jobs `terminate` cancelled. Destroys
   * the clients this pool made once its jobs are released (a call returns before its job's release
   * ends; after `terminate`, cancelled calls still see the cancellation and release; the wait is
   * bounded, and a job left unreleased expires by TTL).
   */
  async shutdown(_graceful: boolean): Promise<void> {
    await this.#ready.catch(() => {});
    const until = deadlineOf(RELEASE_WAIT_MS);
    while (this.client.active > 0 && !expired(until)) await sleep(50);
    for (const c of this.#own.splice(0)) c.destroy();
  }
}
