/**
 * The primitives inside a worker Lambda: each of its threads revives the AWS handles that reach
 * it in chunks (a Lock, a Queue passed to `Pool.map` or a `Process`) on the function's own
 * resources, which the worker handler sends every thread as `data.sync` (the table, the bucket and
 * the queue prefix, from `FANFOLD_TABLE`, `FANFOLD_BUCKET` and `FANFOLD_QUEUE_PREFIX`). Each thread
 * makes its SDK clients once, on its first primitive operation.
 */
import { type Reviver, refuseHandles } from '../../handles.js';
import { serveTasks, type ThreadData } from '../../threads/serve-tasks.js';
import type { AwsSyncClients, AwsSyncEnv } from '../sync/env.js';
import { awsReviver } from '../sync/index.js';
import { DEFAULT_QUEUE_PREFIX } from '../sync-context.js';
import { ENV, type FanfoldEnv } from './env.js';

/** The variable naming the primitives' queue prefix (set by the stack on each function). */
export const QUEUE_PREFIX_ENV = ENV.queuePrefix;

/** What the worker handler sends each thread about the function's resources. */
export interface ThreadSync {
  readonly table: string;
  readonly bucket: string;
  readonly queuePrefix: string;
  readonly leaseMs: number;
}

/** The thread data's `sync` part, from the function's environment (read and checked by `readEnv`). */
export function threadSync(env: Pick<FanfoldEnv, 'table' | 'bucket' | 'queuePrefix'>): ThreadSync {
  return {
    table: env.table,
    bucket: env.bucket,
    queuePrefix: env.queuePrefix ?? DEFAULT_QUEUE_PREFIX,
    leaseMs: 30_000,
  };
}

function isSync(v: unknown): v is ThreadSync {
  const s = v as Partial<ThreadSync> | undefined;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.table === 'string' &&
    typeof s.bucket === 'string' &&
    typeof s.queuePrefix === 'string' &&
    typeof s.leaseMs === 'number'
  );
}

/** This thread's reviver of AWS handles, on the resources in `data.sync`. */
export function awsThreadReviver(data: ThreadData): Reviver {
  const s = data.sync;
  if (!isSync(s))
    return refuseHandles('in this worker thread: it was started without the function’s resources');
  let made: Promise<AwsSyncClients> | undefined;
  const env: AwsSyncEnv = {
    table: s.table,
    bucket: s.bucket,
    queuePrefix: s.queuePrefix,
    clients: () => {
      made ??= import('../clients.js').then((c) => ({
        dynamo: c.createDynamoClient(),
        sqs: c.createSqsClient(),
        s3: c.createS3Client(),
      }));
      return made;
    },
    leaseMs: s.leaseMs,
    pollMs: { min: 20, max: 1000 },
  };
  return awsReviver(env);
}

/**
 * Serves the tasks in a worker Lambda's thread, reviving AWS handles on the function's resources.
 * The worker bundle calls it when loaded as a thread script.
 *
 * @example
 * ```ts
 * if (!isMainThread) serveWorkerTasks(tasks);
 * export const handler = createWorkerHandler({ script: import.meta.url });
 * ```
 */
export function serveWorkerTasks(registry: unknown): void {
  serveTasks(registry, { reviver: awsThreadReviver });
}
