/**
 * The options of the AWS context (`aws({ tasks, stack })`), documented field by field, and their
 * resolution into the settings its pools, its primitives and its connection share. Apart from the
 * context itself so that `connect.ts` (loaded on first use) and `sync-context.ts` take the
 * settings without importing the context back.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { TaskMap, TaskRegistry } from '../api/tasks.js';
import { InvalidArgumentError } from '../errors.js';
import { options as checkOptions, optionalInteger, pollBounds, received } from '../validate.js';
import { TASKS_FINGERPRINT_PATTERN } from './tasks-fingerprint.js';

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
  /**
   * The fingerprint of the tasks module the stack was deployed with (its `FanfoldTasksFingerprint`
   * output): with it, the context checks the caller's tasks module as it does for a stack read
   * from its outputs. @default no check
   */
  readonly tasksFingerprint?: string;
}

/** SDK clients to use instead of the ones the context makes (and never destroys: they are yours). */
export interface AwsClients {
  /** Invokes the coordinator. */
  readonly lambda?: LambdaClient;
  /** Reads jobs and results; the primitives' state. */
  readonly dynamo?: DynamoDBClient;
  /** Payloads over the message and item size limits. */
  readonly s3?: S3Client;
  /** Reads the stack's outputs (`stack`). */
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
  /**
   * How a waiting pool polls its job in DynamoDB: `min` after each change, then a delay that grows
   * with the time nothing changed (a fifth of it), up to `max`, kept across the whole wait: an idle
   * job is read once per `max`. @default { min: 25, max: 1000 }
   */
  readonly pollMs?: {
    /** The delay after a read that saw a change, and the shortest between two reads. */
    readonly min: number;
    /** The longest delay between two reads. */
    readonly max: number;
  };
  /**
   * Run on a stack deployed with another tasks module than `tasks` (`TasksMismatchError`
   * otherwise). At its first pool or process, the context bundles `tasks`'s module with esbuild and
   * compares the digest with the one the stack was deployed with (its `FanfoldTasksFingerprint`
   * output); a stack deployed before fingerprints existed, or `resources` without
   * `tasksFingerprint`, is not checked. Set it to run the deployed tasks on purpose (a caller whose
   * tasks module differs only in what it never calls), or where the caller's tasks module is not
   * the file the stack bundled (an application bundled into one file).
   * @default false
   */
  readonly allowTasksMismatch?: boolean;
}

/** The keys {@link AwsOptions} may have. */
export const OPTION_KEYS = [
  'tasks',
  'stack',
  'resources',
  'clients',
  'region',
  'pollMs',
  'allowTasksMismatch',
];

/** Resolved options of {@link aws}. @internal */
export interface Settings {
  readonly stack: string | undefined;
  readonly resources: AwsResources | undefined;
  readonly clients: AwsClients;
  readonly region: string | undefined;
  readonly pollMs: { readonly min: number; readonly max: number } | undefined;
  readonly allowTasksMismatch: boolean;
}

/** A queue name prefix: SQS names are letters, digits, `-` and `_`; the rest of the 80 is the queue's own. */
function queuePrefix(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(v))
    throw new InvalidArgumentError(
      `Expected options.resources.queuePrefix to be 1 to 40 letters, digits, - or _, got ${received(v)}`,
    );
  return v;
}

/** A tasks fingerprint as the construct writes it. */
function fingerprint(v: unknown): string {
  if (typeof v !== 'string' || !TASKS_FINGERPRINT_PATTERN.test(v))
    throw new InvalidArgumentError(
      `Expected options.resources.tasksFingerprint to be the stack's FanfoldTasksFingerprint output (sha256: and 32 hex digits), got ${received(v)}`,
    );
  return v;
}

/** Checks the options of {@link aws} and resolves them into its settings. */
export function resolveOptions(o: Partial<AwsOptions<TaskMap>>): Settings {
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
      'tasksFingerprint',
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
      ...(r.tasksFingerprint === undefined ? {} : { tasksFingerprint: fingerprint(r.tasksFingerprint) }),
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
  const poll = o.pollMs === undefined ? undefined : pollBounds(o.pollMs, 'options.pollMs');
  if (o.allowTasksMismatch !== undefined && typeof o.allowTasksMismatch !== 'boolean')
    throw new InvalidArgumentError(
      `Expected options.allowTasksMismatch to be a boolean, got ${received(o.allowTasksMismatch)}`,
    );
  return {
    stack: resources ? undefined : (o.stack ?? 'Fanfold'),
    resources,
    clients,
    region: o.region,
    pollMs: poll,
    allowTasksMismatch: o.allowTasksMismatch ?? false,
  };
}
