/**
 * The `Fanfold` CDK construct: everything a fanfold pool needs on AWS, with one `new`. A table for
 * jobs, results and locks; a work queue with its dead-letter queue; a bucket for payloads over the
 * size limits; the coordinator, worker and dead-letter functions, bundled by esbuild (locally,
 * never in Docker) with the caller's tasks module; and the stack outputs the `aws` context reads.
 *
 * @module fanfold/cdk
 */
import { join } from 'node:path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Rule } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Architecture, EventInvokeConfig, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TTL_ATTRIBUTE } from '../src/aws/dynamo-items.js';
import { LIST_DAY, LIST_INDEX, LIST_SORT } from '../src/aws/job-list.js';
import { ENV, POWERTOOLS_ENV } from '../src/aws/lambda/env.js';
import { TASKS_FINGERPRINT_OUTPUT } from '../src/aws/tasks-fingerprint.js';
import { InvalidArgumentError } from '../src/errors.js';
import {
  bundlingPath,
  checkBundlingDependencies,
  fingerprintTasks,
  functionsDir,
  REQUIRE_BANNER,
} from './bundling.js';
import { configureFanout } from './fanout.js';
import {
  actions,
  COORDINATOR_TABLE_ACTIONS,
  DEAD_LETTER_TABLE_ACTIONS,
  HOST_TABLE_ACTIONS,
  LIST_INDEX_ACTIONS,
  PAYLOAD_READ_WRITE,
  PAYLOAD_READ_WRITE_DELETE,
  PRIMITIVES_TABLE_ACTIONS,
  SUBMIT_TABLE_ACTIONS,
  SWEEPER_TABLE_ACTIONS,
} from './permissions.js';
import { defaultQueuePrefix, grantQueues, grantSweeper, sweeperSchedule } from './primitives.js';
import type { FanfoldProps, ResolvedProps } from './props.js';
import { resolveFanfoldProps } from './resolve-props.js';

export type {
  FanfoldCoordinatorProps,
  FanfoldFunctionProps,
  FanfoldProps,
  FanfoldSweeperProps,
  FanfoldWorkerProps,
} from './props.js';

/** What every function of the stack is made with (a reserved concurrency: the worker's alone). */
type FunctionSettings = Pick<ResolvedProps['deadLetter'], 'memorySize' | 'timeout'> & {
  readonly reservedConcurrency?: number | undefined;
};

export { FANFOLD_DEFAULTS } from './props.js';

/**
 * The stack outputs, by logical id: stable names that the `aws` context finds with
 * DescribeStacks (`src/aws/invoke.ts` reads the first four). One `Fanfold` per stack, therefore.
 */
export const FANFOLD_OUTPUTS = Object.freeze({
  /** Output: the coordinator function's name. */
  coordinator: 'FanfoldCoordinatorFunction',
  /** Output: the job table's name. */
  table: 'FanfoldTable',
  /** Output: the payload bucket's name. */
  bucket: 'FanfoldBucket',
  /** Output: parallel workers (worker concurrency × threads per worker). */
  workers: 'FanfoldWorkers',
  /** Output: the work queue's URL. */
  queueUrl: 'FanfoldQueueUrl',
  /** Output: the dead-letter queue's URL. */
  deadLetterQueueUrl: 'FanfoldDeadLetterQueueUrl',
  /** Output: the name prefix of the SQS queues of `Queue` and `Pipe`. */
  queuePrefix: 'FanfoldQueuePrefix',
  /** Output: the fingerprint of the tasks module bundled into the functions (the `aws` context compares it with its own). */
  tasksFingerprint: TASKS_FINGERPRINT_OUTPUT,
});

/** The bucket prefix under which the functions and the client keep payloads (`awsBackend`'s default). */
export const PAYLOAD_PREFIX = 'fanfold/';

/**
 * Fanfold on AWS Lambda. Deploy it, then use `aws({ tasks, stack })` with the same tasks module.
 *
 * @example
 * ```ts
 * import { App, Stack } from 'aws-cdk-lib';
 * import * as iam from 'aws-cdk-lib/aws-iam';
 * import { Fanfold } from 'fanfold/cdk';
 *
 * const app = new App();
 * const stack = new Stack(app, 'Fanfold');
 * const fanfold = new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
 * fanfold.grantSubmit(new iam.Role(stack, 'App', { assumedBy: new iam.AccountRootPrincipal() }));
 * app.synth();
 * ```
 */
export class Fanfold extends Construct {
  /** Jobs, chunk results, locks and values: partition key `pk`, sort key `sk`, TTL `expiresAt`. */
  readonly table: Table;
  /** The work queue: one message per chunk (or finalisation). */
  readonly queue: Queue;
  /** Where chunk messages go after `maxReceiveCount` deliveries; the dead-letter function drains it. */
  readonly deadLetterQueue: Queue;
  /** Payloads over the message and item size limits, under `fanfold/`; they expire on their own. */
  readonly bucket: Bucket;
  /** Creates jobs and puts their chunks on the work queue; the `aws` context invokes it. */
  readonly coordinator: NodejsFunction;
  /** Runs batches of chunks from the work queue on a pool of worker threads. */
  readonly worker: NodejsFunction;
  /**
   * The coordinator's asynchronous invocations (its own fan-out requests): two retries, then the
   * record goes to the dead-letter queue, whose function fails the job.
   */
  readonly coordinatorInvokeConfig: EventInvokeConfig;
  /** Fails the jobs of chunks that exhausted their deliveries. */
  readonly deadLetterFunction: NodejsFunction;
  /** Deletes the SQS queues of abandoned `Queue`s and `Pipe`s, on {@link sweeperSchedule}. */
  readonly sweeper: NodejsFunction;
  /** The EventBridge rule that runs the sweeper. */
  readonly sweeperSchedule: Rule;
  /** Name prefix of the SQS queues that `Queue` and `Pipe` create (`FANFOLD_QUEUE_PREFIX`). */
  readonly queuePrefix: string;
  /** The worker's event source mapping on the work queue. */
  readonly workerEventSource: SqsEventSource;
  /** The dead-letter function's event source mapping on the dead-letter queue. */
  readonly deadLetterEventSource: SqsEventSource;
  /** The functions' log groups. */
  readonly logGroups: {
    /** The coordinator function's log group. */
    readonly coordinator: LogGroup;
    /** The worker function's log group. */
    readonly worker: LogGroup;
    /** The dead-letter function's log group. */
    readonly deadLetter: LogGroup;
    /** The sweeper function's log group. */
    readonly sweeper: LogGroup;
  };
  /** Worker threads per worker invocation (`FANFOLD_THREADS`). */
  readonly threads: number;
  /** Parallel workers the stack runs: concurrent worker invocations × threads (`FANFOLD_WORKERS`). */
  readonly workers: number;
  /**
   * The fingerprint of the tasks module the functions carry (`sha256:` and 32 hex digits, a digest
   * of the module bundled on its own), made at synth and given as the `FanfoldTasksFingerprint`
   * output: the `aws` context refuses to run on a stack whose tasks differ from its own
   * (`TasksMismatchError`).
   */
  readonly tasksFingerprint: string;

  constructor(scope: Construct, id: string, props: FanfoldProps) {
    super(scope, id);
    const p = resolveFanfoldProps(props);
    // Only where CDK will bundle: `cdk destroy` or a test that skips bundling needs no SDK.
    if (Stack.of(this).bundlingRequired) checkBundlingDependencies(functionsDir());
    this.threads = p.threads;
    this.workers = p.workers;
    this.tasksFingerprint = fingerprintTasks(p.tasks);
    this.queuePrefix = p.queuePrefix ?? defaultQueuePrefix(Stack.of(this).stackName);
    const stateful = { removalPolicy: p.removalPolicy };

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: p.pointInTimeRecovery },
      ...stateful,
    });
    // The jobs by day of creation, for listing them (src/aws/job-list.ts): a sparse index of the
    // job items' keys only, written once when a job is created, never when a chunk is recorded.
    this.table.addGlobalSecondaryIndex({
      indexName: LIST_INDEX,
      partitionKey: { name: LIST_DAY, type: AttributeType.STRING },
      sortKey: { name: LIST_SORT, type: AttributeType.NUMBER },
      projectionType: ProjectionType.KEYS_ONLY,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // AWS's rule for a queue that feeds a function: at least 6 × its timeout.
      visibilityTimeout: Duration.seconds(6 * p.deadLetter.timeout.toSeconds()),
    });
    const window = p.worker.maxBatchingWindow?.toSeconds() ?? 0;
    // Lambda refuses a mapping whose queue hides a message for less than the function's timeout,
    // and AWS advises 6 × (the mapping retries throttled batches within it). Workers do not wait it
    // out: each holds its messages for messageVisibility (30 s), renewed while they run, so a dead
    // worker's chunks come back within that; only a worker that dies before its first request
    // (while its container starts) leaves a batch hidden this long.
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * p.worker.timeout.toSeconds() + window),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: p.maxReceiveCount },
    });

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [
        { expiration: p.payloadExpiration, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      ...stateful,
      // A bucket must be empty to be deleted.
      autoDeleteObjects: p.removalPolicy === RemovalPolicy.DESTROY,
    });

    const environment: Record<string, string> = {
      [ENV.table]: this.table.tableName,
      [ENV.queueUrl]: this.queue.queueUrl,
      [ENV.deadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
      [ENV.bucket]: this.bucket.bucketName,
      [ENV.threads]: String(p.threads),
      [ENV.maxReceiveCount]: String(p.maxReceiveCount),
      // A finaliser's lease outlives any invocation that holds it: Lambda ends it at the timeout.
      [ENV.leaseMs]: String(p.worker.timeout.toMilliseconds()),
      [ENV.workers]: String(p.workers),
      [ENV.queuePrefix]: this.queuePrefix,
      // Powertools' Logger and Metrics in the handlers (src/aws/lambda/observe.ts) read these.
      [POWERTOOLS_ENV.logLevel]: p.logLevel,
      [POWERTOOLS_ENV.namespace]: p.metricsNamespace,
      [POWERTOOLS_ENV.serviceName]: p.serviceName ?? Stack.of(this).stackName,
      NODE_OPTIONS: '--enable-source-maps',
    };
    const fn = (name: string, file: string, settings: FunctionSettings) =>
      this.#function(name, file, settings, p, environment);
    const coordinator = fn('Coordinator', 'coordinator.ts', p.coordinator);
    const worker = this.#function('Worker', 'worker.ts', p.worker, p, {
      ...environment,
      [ENV.visibilityMs]: String(p.worker.messageVisibility.toMilliseconds()),
      [ENV.handBackMarginMs]: String(p.worker.handBackMargin.toMilliseconds()),
    });
    const deadLetter = fn('DeadLetter', 'dlq.ts', p.deadLetter);
    const sweeper = this.#function('Sweeper', 'sweeper.ts', p.sweeper, p, {
      ...environment,
      [ENV.queueStaleMs]: String(p.sweeper.staleAfter.toMilliseconds()),
    });
    this.coordinator = coordinator.fn;
    this.worker = worker.fn;
    this.deadLetterFunction = deadLetter.fn;
    this.sweeper = sweeper.fn;
    this.logGroups = {
      coordinator: coordinator.logGroup,
      worker: worker.logGroup,
      deadLetter: deadLetter.logGroup,
      sweeper: sweeper.logGroup,
    };

    // Each role holds what its code sends (infra/permissions.ts; test/infra/iam.test.ts checks it).
    // The coordinator: creates jobs, spills inputs, sends chunks; deletes a released job's blobs.
    // (Not grantSendMessages: the code has the queue's URL and never asks for its attributes.)
    iam.Grant.addToPrincipal({
      grantee: this.coordinator,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.queue.queueArn],
    });
    this.coordinatorInvokeConfig = configureFanout(this, this, p.coordinator);
    this.#grantTable(this.coordinator, COORDINATOR_TABLE_ACTIONS);
    this.#grantPayloads(this.coordinator, PAYLOAD_READ_WRITE_DELETE, true);
    // The worker: its event source mapping grants consuming (ChangeMessageVisibility included).
    this.workerEventSource = new SqsEventSource(this.queue, {
      batchSize: p.worker.batchSize,
      reportBatchItemFailures: true,
      ...(p.worker.maxBatchingWindow ? { maxBatchingWindow: p.worker.maxBatchingWindow } : {}),
      ...(p.worker.maxConcurrency !== undefined ? { maxConcurrency: p.worker.maxConcurrency } : {}),
      ...(p.worker.provisionedPollerConfig
        ? { provisionedPollerConfig: p.worker.provisionedPollerConfig }
        : {}),
    });
    this.worker.addEventSource(this.workerEventSource);
    // The host's table actions, and the primitives' that tasks use.
    this.#grantTable(this.worker, actions(HOST_TABLE_ACTIONS, PRIMITIVES_TABLE_ACTIONS));
    this.#grantPayloads(this.worker, PAYLOAD_READ_WRITE, false);
    // Tasks use Queues and Pipes: their SQS queues under the prefix, spilled items under `sync/`.
    grantQueues(this, this.worker, this.queuePrefix, this.bucket);
    // The dead-letter function: only the table (it fails jobs; it reads no payloads).
    this.deadLetterEventSource = new SqsEventSource(this.deadLetterQueue, {
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    this.deadLetterFunction.addEventSource(this.deadLetterEventSource);
    this.#grantTable(this.deadLetterFunction, DEAD_LETTER_TABLE_ACTIONS);
    // The sweeper: lists, ages and deletes queues under the prefix; reads and tombstones their items.
    grantSweeper(this, this.sweeper, this.queuePrefix, (g) => this.#grantTable(g, SWEEPER_TABLE_ACTIONS));
    this.sweeperSchedule = sweeperSchedule(this, this.sweeper, p.sweeper.every);

    this.#outputs();
  }

  /**
   * Lets `principal` run pools and processes on this stack with `aws({ tasks, stack })`: read the
   * stack's outputs (DescribeStacks, to find the resources), invoke the coordinator, read jobs and
   * their results from the table (GetItem, BatchGetItem), and read and write payloads under
   * `fanfold/` in the bucket. Nothing else: the coordinator does every other write, and the
   * principal can list neither the table nor the bucket, so it reads only the jobs whose ids it
   * holds (random UUIDs its own client made). It is not isolated from other submitters of the
   * stack beyond that: see the README, "Who can see a job".
   *
   * @example
   * ```ts
   * import { App, Stack } from 'aws-cdk-lib';
   * import * as iam from 'aws-cdk-lib/aws-iam';
   * import { Fanfold } from 'fanfold/cdk';
   *
   * const stack = new Stack(new App(), 'Fanfold');
   * const fanfold = new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
   * fanfold.grantSubmit(new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() }));
   * ```
   */
  grantSubmit(principal: iam.IGrantable): iam.Grant {
    return this.coordinator
      .grantInvoke(principal)
      .combine(this.#grantDescribeStack(principal))
      .combine(this.#grantTable(principal, SUBMIT_TABLE_ACTIONS))
      .combine(this.#grantPayloads(principal, PAYLOAD_READ_WRITE, false));
  }

  /**
   * Lets `principal` operate the stack's jobs with `awsJobs({ stack })` and the `fanfold jobs`,
   * `status`, `attach` and `cancel` commands: everything {@link grantSubmit} gives, and a Query of
   * the table's listing index (`byTime`, the jobs' keys by day). Listing is the one right a
   * submitter lacks: whoever holds it can find every job of the stack, and so read any job's
   * results. Give it to operators, not to every submitter.
   *
   * @example
   * ```ts
   * import { App, Stack } from 'aws-cdk-lib';
   * import * as iam from 'aws-cdk-lib/aws-iam';
   * import { Fanfold } from 'fanfold/cdk';
   *
   * const app = new App();
   * const stack = new Stack(app, 'Fanfold');
   * const fanfold = new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
   * fanfold.grantOperate(new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() }));
   * ```
   */
  grantOperate(principal: iam.IGrantable): iam.Grant {
    return this.grantSubmit(principal).combine(
      iam.Grant.addToPrincipal({
        grantee: principal,
        actions: [...LIST_INDEX_ACTIONS],
        resourceArns: [`${this.table.tableArn}/index/${LIST_INDEX}`],
      }),
    );
  }

  /**
   * Lets `grantee` use the `aws()` context's primitives from outside the stack's functions (the
   * workers have these rights already): the stack's outputs (DescribeStacks), the table's items
   * (locks, values, counters, managers), the SQS queues under {@link queuePrefix} and spilled queue
   * items under `sync/` in the bucket. A `Process` is a job: it needs {@link grantSubmit}.
   *
   * @example
   * ```ts
   * import { App, Stack } from 'aws-cdk-lib';
   * import * as iam from 'aws-cdk-lib/aws-iam';
   * import { Fanfold } from 'fanfold/cdk';
   *
   * const stack = new Stack(new App(), 'Fanfold');
   * const fanfold = new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
   * const ciRole = new iam.Role(stack, 'Ci', { assumedBy: new iam.AccountRootPrincipal() });
   * fanfold.grantSubmit(ciRole);
   * fanfold.grantPrimitives(ciRole); // Lock, Queue, Value… of aws() outside the stack's functions
   * ```
   */
  grantPrimitives(grantee: iam.IGrantable): iam.Grant {
    return this.#grantTable(grantee, PRIMITIVES_TABLE_ACTIONS)
      .combine(this.#grantDescribeStack(grantee))
      .combine(grantQueues(this, grantee, this.queuePrefix, this.bucket));
  }

  /**
   * Lets jobs read `lines({ bucket, key })` inputs from one of your buckets: the coordinator sizes
   * the object (HeadObject) and the workers read its byte ranges (GetObject), so both get
   * `s3:GetObject` on the objects that match `keyPattern` (all of them by default; pass a prefix
   * such as `'exports/*'` to narrow it), and `kms:Decrypt` on the bucket's key if it has one. Nothing
   * else: no listing, so a job on a key that does not exist fails with S3's `AccessDenied`, not
   * "no object".
   *
   * @example
   * ```ts
   * import { App, Stack } from 'aws-cdk-lib';
   * import { Bucket } from 'aws-cdk-lib/aws-s3';
   * import { Fanfold } from 'fanfold/cdk';
   *
   * const stack = new Stack(new App(), 'Fanfold');
   * const fanfold = new Fanfold(stack, 'Fanfold', { tasks: new URL('./tasks.ts', import.meta.url) });
   * const logsBucket = Bucket.fromBucketName(stack, 'Logs', 'my-logs');
   * fanfold.grantReadInputs(logsBucket, 'exports/*'); // lines({ bucket: 'my-logs', key: 'exports/…' })
   * ```
   */
  grantReadInputs(bucket: IBucket, keyPattern = '*'): iam.Grant {
    // Not bucket.grantRead: it adds s3:GetBucket*, s3:List* and the other s3:GetObject* actions
    // (ACLs, tags, versions), none of which the reader sends.
    const grant = (grantee: iam.IGrantable): iam.Grant => {
      const objects = iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:GetObject'],
        resourceArns: [bucket.arnForObjects(keyPattern)],
      });
      return bucket.encryptionKey ? objects.combine(bucket.encryptionKey.grantDecrypt(grantee)) : objects;
    };
    return grant(this.coordinator).combine(grant(this.worker));
  }

  /**
   * `actions` on the table's items, not its indexes: `Table.grant` adds `<table>/index/*` once the
   * table has an index, which would let every role query the listing index (`grantOperate` alone may).
   */
  #grantTable(grantee: iam.IGrantable, tableActions: readonly string[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...tableActions],
      resourceArns: [this.table.tableArn],
    });
  }

  /** `actions` on payload objects under the prefix; with `list`, ListBucket of the prefix only. */
  #grantPayloads(grantee: iam.IGrantable, objectActions: readonly string[], list: boolean): iam.Grant {
    const objects = iam.Grant.addToPrincipal({
      grantee,
      actions: [...objectActions],
      resourceArns: [this.bucket.arnForObjects(`${PAYLOAD_PREFIX}*`)],
    });
    if (!list) return objects;
    return objects.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${PAYLOAD_PREFIX}*`] } },
      }),
    );
  }

  /** DescribeStacks on this stack: how `aws({ tasks, stack })` finds the resources (its outputs). */
  #grantDescribeStack(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['cloudformation:DescribeStacks'],
      resourceArns: [
        stack.formatArn({
          service: 'cloudformation',
          resource: 'stack',
          resourceName: `${stack.stackName}/*`,
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ],
    });
  }

  #function(
    name: string,
    file: string,
    settings: FunctionSettings,
    p: ResolvedProps,
    environment: Record<string, string>,
  ): { fn: NodejsFunction; logGroup: LogGroup } {
    const logGroup = new LogGroup(this, `${name}Logs`, {
      retention: p.logRetention,
      removalPolicy: p.removalPolicy,
    });
    // An own role instead of CDK's default one, whose managed policy writes logs to any group.
    const role = new iam.Role(this, `${name}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `fanfold ${name.toLowerCase()} function`,
    });
    logGroup.grantWrite(role);
    const fn = new NodejsFunction(this, name, {
      entry: join(functionsDir(), file),
      handler: 'handler',
      runtime: p.runtime as Runtime,
      architecture: p.architecture as Architecture,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      ...(settings.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: settings.reservedConcurrency }),
      role,
      logGroup,
      environment,
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: REQUIRE_BANNER,
        sourceMap: true,
        // The SDK is bundled, not taken from the runtime: the worker's threads load this same file
        // (where the runtime's copy may not resolve), and the tests then run exactly what ships.
        // esbuild is only reached by the local context's bundler, never on Lambda.
        bundleAwsSDK: true,
        externalModules: ['esbuild'],
        // The esbuild fanfold depends on, wherever the package manager put it (bundling.ts).
        environment: { PATH: bundlingPath(functionsDir()) },
        // `functions/*.ts` import the tasks as `@fanfold/tasks`: each bundle carries the caller's.
        esbuildArgs: { '--alias:@fanfold/tasks': p.tasks },
      },
    });
    return { fn, logGroup };
  }

  #outputs(): void {
    const stack = Stack.of(this);
    const clash = Object.values(FANFOLD_OUTPUTS).find((id) => stack.node.tryFindChild(id) !== undefined);
    if (clash)
      throw new InvalidArgumentError(
        `Stack ${stack.stackName} already has a Fanfold construct (output ${clash}): put each Fanfold in its own stack`,
      );
    const output = (id: string, value: string, description: string) => {
      // A child of the stack named as its logical id: the name the `aws` context looks for.
      const o = new CfnOutput(stack, id, { value, description });
      o.overrideLogicalId(id);
    };
    output(FANFOLD_OUTPUTS.coordinator, this.coordinator.functionName, 'fanfold coordinator function');
    output(FANFOLD_OUTPUTS.table, this.table.tableName, 'fanfold job table');
    output(FANFOLD_OUTPUTS.bucket, this.bucket.bucketName, 'fanfold payload bucket');
    output(FANFOLD_OUTPUTS.workers, String(this.workers), 'parallel workers (worker concurrency x threads)');
    output(FANFOLD_OUTPUTS.queueUrl, this.queue.queueUrl, 'fanfold work queue');
    output(FANFOLD_OUTPUTS.deadLetterQueueUrl, this.deadLetterQueue.queueUrl, 'fanfold dead-letter queue');
    output(FANFOLD_OUTPUTS.queuePrefix, this.queuePrefix, 'name prefix of the SQS queues of Queue and Pipe');
    output(
      FANFOLD_OUTPUTS.tasksFingerprint,
      this.tasksFingerprint,
      'fingerprint of the deployed tasks module',
    );
  }
}
