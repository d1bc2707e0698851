/**
 * The AWS context: `aws({ tasks, stack })`, the counterpart of `local({ tasks })`, whose pools fan
 * out over a deployed `Fanfold` stack. The same {@link Pool}, on the same engine: the job client
 * invokes the coordinator Lambda, which puts chunk messages on SQS for the worker Lambdas; the
 * client waits by polling the job in DynamoDB and reads results from the table and the bucket.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Primitives } from '../api/context.js';
import { Pool, type PoolRuntime } from '../api/pool.js';
import { makeProcess } from '../api/process-impl.js';
import { cpuCount, currentProcess } from '../api/process-info.js';
import { isTaskRegistry, type TaskMap, type TaskRegistry } from '../api/tasks.js';
import { JobClient } from '../engine/client.js';
import { InvalidArgumentError } from '../errors.js';
import type { LocalContext, PoolOptions } from '../local/context.js';
import type { BlobStore, JobStore } from '../ports.js';
import { options as checkOptions, optionalInteger, received } from '../validate.js';
// Types only: the SDK and the adapters load on first use (`connect.ts`), so that a program that
// imports fanfold for the local context does not parse the AWS SDK at start (~0.3 s).
import type { Connection } from './connect.js';
import type { StackResources } from './invoke.js';
import { loadSdk } from './sdk.js';
import { awsPrimitives } from './sync/index.js';
import { awsLauncher, contextSyncEnv } from './sync-context.js';

/** The deployed resources a pool uses, named explicitly. */
export interface AwsResources {
  /** The coordinator function's name or ARN. */
  readonly coordinator: string;
  /** The job table's name. */
  readonly table: string;
  /** The payload bucket's name. */
  readonly bucket: string;
  /** Parallel workers the stack runs: the default `processes`. @default 1000 (the ESM's highest maximum concurrency) */
  readonly workers?: number;
  /**
   * Name prefix of the SQS queues `Queue` and `Pipe` make (the stack's IAM allows only these): the
   * stack's `FanfoldQueuePrefix` output (the construct's default is `<stackName>_`). Without it,
   * `Queue` and `Pipe` on this context throw `InvalidArgumentError` on their first operation; the
   * other primitives do not need it.
   */
  readonly queuePrefix?: string;
}

/** SDK clients to use instead of the ones the context makes (and never destroys: they are yours). */
export interface AwsClients {
  readonly lambda?: LambdaClient;
  readonly dynamo?: DynamoDBClient;
  readonly s3?: S3Client;
  readonly cloudformation?: CloudFormationClient;
  /** Used by the primitives' queues and pipes. */
  readonly sqs?: SQSClient;
}

/** Options of {@link aws}. */
export interface AwsOptions<T extends TaskMap> {
  /** The tasks module's default export: the one the stack was deployed with. */
  readonly tasks: TaskRegistry<T>;
  /** The deployed stack whose outputs name the resources. @default 'Fanfold' (unless `resources` is given) */
  readonly stack?: string;
  /** The resources by name, instead of reading a stack's outputs. @default read from `stack` */
  readonly resources?: AwsResources;
  /** SDK clients to use. @default clients made in `region` (endpoints from `AWS_ENDPOINT_URL_*`) and destroyed with each pool */
  readonly clients?: AwsClients;
  /** The region of the clients made here. @default the SDK's own lookup (`AWS_REGION`, the shared config) */
  readonly region?: string;
  /** How a waiting pool polls its job in DynamoDB: first delay, doubled while nothing changes, up to `max`. @default { min: 25, max: 1000 } */
  readonly pollMs?: { readonly min: number; readonly max: number };
}

/** A context whose pools fan out over AWS Lambda. */
export interface AwsContext<T extends TaskMap> extends Omit<LocalContext<T>, 'kind'> {
  readonly kind: 'aws';
}

/** The blob prefix of the stack's functions (`awsBackend`'s default): the client reads and writes the same keys. */
const BLOB_PREFIX = 'fanfold/';
/** The job store's inline limit, the same on the client as in the functions (DynamoJobStore's default). */
const MAX_INLINE_BYTES = 350 * 1024;
/** How long `terminate` lets cancelled calls release their jobs before the pool's clients are destroyed. */
const RELEASE_WAIT_MS = 10_000;
const OPTION_KEYS = ['tasks', 'stack', 'resources', 'clients', 'region', 'pollMs'];
/** Pool options the AWS context honours; the others are the stack's (deploy-time) settings. */
const POOL_KEYS = ['processes', 'chunksize', 'jobTimeoutMs'];
const STACK_SETTINGS: Record<string, string> = {
  maxTasksPerChild: 'worker threads live as long as their Lambda container',
  initializer: 'worker threads are started by the deployed stack',
  initargs: 'worker threads are started by the deployed stack',
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
      { processes: undefined, chunksize: 1, jobTimeoutMs: 86_400_000 },
      resources,
    );
    return processes;
  });
  const primitives: Primitives = awsPrimitives(contextSyncEnv(settings, resources));
  return {
    ...primitives,
    kind: 'aws',
    tasks: registry,
    Pool(poolOptions?: PoolOptions<T>): Pool<T> {
      const p = checkPoolOptions(poolOptions);
      return new Pool<T>(new AwsRuntime(registry, settings, p, resources));
    },
    Process: (target, args, processOptions) =>
      makeProcess(registry.names, launch, target, args, processOptions),
    cpuCount,
    currentProcess,
  };
}

/** Resolved options of {@link aws}. @internal */
export interface Settings {
  readonly stack: string | undefined;
  readonly resources: AwsResources | undefined;
  readonly clients: AwsClients;
  readonly region: string | undefined;
  readonly pollMs: { readonly min: number; readonly max: number } | undefined;
}

/** A queue name prefix: SQS names are letters, digits, `-` and `_`; the rest of the 80 is the queue's own. */
function queuePrefix(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(v))
    throw new InvalidArgumentError(
      `Expected options.resources.queuePrefix to be 1 to 40 letters, digits, - or _, got ${received(v)}`,
    );
  return v;
}

function resolveOptions(o: Partial<AwsOptions<TaskMap>>): Settings {
  if (o.stack !== undefined && o.resources !== undefined)
    throw new InvalidArgumentError('Pass options.stack or options.resources, not both');
  if (o.stack !== undefined && (typeof o.stack !== 'string' || o.stack.length === 0))
    throw new InvalidArgumentError(`Expected options.stack to be a stack name, got ${received(o.stack)}`);
  let resources: AwsResources | undefined;
  if (o.resources !== undefined) {
    const r = checkOptions<AwsResources>(o.resources, 'options.resources', [
      'coordinator',
      'table',
      'bucket',
      'workers',
      'queuePrefix',
    ]);
    for (const k of ['coordinator', 'table', 'bucket'] as const) {
      if (typeof r[k] !== 'string' || r[k].length === 0)
        throw new InvalidArgumentError(`Expected options.resources.${k} to be a name, got ${received(r[k])}`);
    }
    resources = {
      coordinator: r.coordinator as string,
      table: r.table as string,
      bucket: r.bucket as string,
      workers: optionalInteger(r.workers, 'options.resources.workers', 1) ?? 1000,
      ...(r.queuePrefix === undefined ? {} : { queuePrefix: queuePrefix(r.queuePrefix) }),
    };
  }
  const clients = checkOptions<AwsClients>(o.clients, 'options.clients', [
    'lambda',
    'dynamo',
    's3',
    'cloudformation',
    'sqs',
  ]);
  for (const [k, c] of Object.entries(clients)) {
    if (c !== undefined && typeof (c as { send?: unknown } | undefined)?.send !== 'function')
      throw new InvalidArgumentError(
        `Expected options.clients.${k} to be an AWS SDK client, got ${received(c)}`,
      );
  }
  if (o.region !== undefined && (typeof o.region !== 'string' || o.region.length === 0))
    throw new InvalidArgumentError(`Expected options.region to be a region name, got ${received(o.region)}`);
  const poll = o.pollMs;
  if (
    poll !== undefined &&
    (typeof poll !== 'object' ||
      poll === null ||
      !(Number.isFinite(poll.min) && poll.min > 0 && poll.max >= poll.min))
  )
    throw new InvalidArgumentError(
      `Expected options.pollMs to be { min, max } with 0 < min <= max, got ${received(poll)}`,
    );
  return {
    stack: resources ? undefined : (o.stack ?? 'Fanfold'),
    resources,
    clients,
    region: o.region,
    pollMs: poll,
  };
}

async function findResources(s: Settings): Promise<StackResources> {
  return (await loadSdk(() => import('./connect.js'))).findResources(s);
}

interface PoolSettings {
  readonly processes: number | undefined;
  readonly chunksize: number | undefined;
  readonly jobTimeoutMs: number;
}

function checkPoolOptions<T extends TaskMap>(raw: PoolOptions<T> | undefined): PoolSettings {
  const all = [...POOL_KEYS, ...Object.keys(STACK_SETTINGS)];
  const p = checkOptions<PoolOptions<T>>(raw, 'options', all);
  for (const [k, why] of Object.entries(STACK_SETTINGS)) {
    if ((p as Record<string, unknown>)[k] !== undefined)
      throw new InvalidArgumentError(`options.${k} is not supported by the aws context: ${why}`);
  }
  return {
    processes: optionalInteger(p.processes, 'options.processes', 1, 1_000_000),
    chunksize: optionalInteger(p.chunksize, 'options.chunksize', 1),
    jobTimeoutMs: optionalInteger(p.jobTimeoutMs, 'options.jobTimeoutMs', 1) ?? 86_400_000,
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
   * the clients this pool made once its calls have released their jobs (after `terminate`, they
   * still see the cancellation and release; the wait is bounded).
   */
  async shutdown(graceful: boolean): Promise<void> {
    await this.#ready.catch(() => {});
    const until = Date.now() + (graceful ? 0 : RELEASE_WAIT_MS);
    while (this.client.active > 0 && Date.now() < until) await sleep(50);
    for (const c of this.#own.splice(0)) c.destroy();
  }
}

/** A {@link JobStore} whose every call waits for the real one (made once the resources are known). */
class DeferredJobStore implements JobStore {
  readonly #get: () => Promise<JobStore>;
  readonly maxInlineBytes: number;
  constructor(get: () => Promise<JobStore>, maxInlineBytes: number) {
    this.#get = get;
    this.maxInlineBytes = maxInlineBytes;
  }
  async createJob(...a: Parameters<JobStore['createJob']>) {
    return (await this.#get()).createJob(...a);
  }
  async seal(...a: Parameters<JobStore['seal']>) {
    return (await this.#get()).seal(...a);
  }
  async completeChunk(...a: Parameters<JobStore['completeChunk']>) {
    return (await this.#get()).completeChunk(...a);
  }
  async completeChunks(...a: Parameters<JobStore['completeChunks']>) {
    return (await this.#get()).completeChunks(...a);
  }
  async failJob(...a: Parameters<JobStore['failJob']>) {
    return (await this.#get()).failJob(...a);
  }
  async cancelJob(...a: Parameters<JobStore['cancelJob']>) {
    return (await this.#get()).cancelJob(...a);
  }
  async claimRun(...a: Parameters<JobStore['claimRun']>) {
    return (await this.#get()).claimRun(...a);
  }
  async claimFinaliser(...a: Parameters<JobStore['claimFinaliser']>) {
    return (await this.#get()).claimFinaliser(...a);
  }
  async finishJob(...a: Parameters<JobStore['finishJob']>) {
    return (await this.#get()).finishJob(...a);
  }
  async noteChunkError(...a: Parameters<JobStore['noteChunkError']>) {
    return (await this.#get()).noteChunkError(...a);
  }
  async lastChunkError(...a: Parameters<JobStore['lastChunkError']>) {
    return (await this.#get()).lastChunkError(...a);
  }
  async getJob(...a: Parameters<JobStore['getJob']>) {
    return (await this.#get()).getJob(...a);
  }
  async waitForChange(...a: Parameters<JobStore['waitForChange']>) {
    return (await this.#get()).waitForChange(...a);
  }
  async readResults(...a: Parameters<JobStore['readResults']>) {
    return (await this.#get()).readResults(...a);
  }
  async deleteJob(...a: Parameters<JobStore['deleteJob']>) {
    return (await this.#get()).deleteJob(...a);
  }
}

/** A {@link BlobStore} whose every call waits for the real one. */
class DeferredBlobStore implements BlobStore {
  readonly #get: () => Promise<BlobStore>;
  constructor(get: () => Promise<BlobStore>) {
    this.#get = get;
  }
  async put(...a: Parameters<BlobStore['put']>) {
    return (await this.#get()).put(...a);
  }
  async get(...a: Parameters<BlobStore['get']>) {
    return (await this.#get()).get(...a);
  }
  async deletePrefix(...a: Parameters<BlobStore['deletePrefix']>) {
    return (await this.#get()).deletePrefix(...a);
  }
}
