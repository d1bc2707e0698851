/**
 * The props of the {@link Fanfold} construct, documented field by field, and their frozen
 * defaults. `resolve-props.ts` applies and checks them.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Architecture, ProvisionedPollerConfig, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Memory and timeout of one of the stack's functions. */
export interface FanfoldFunctionProps {
  /** Memory in MB, 128 to 10,240 (vCPUs grow with it: one per 1,769 MB). @default per function, see {@link FanfoldProps} */
  readonly memorySize?: number;
  /** Timeout, 1 s to 15 min, in whole seconds. @default per function, see {@link FanfoldProps} */
  readonly timeout?: Duration;
}

/** The coordinator function, and how it fans a job's chunks out. */
export interface FanfoldCoordinatorProps extends FanfoldFunctionProps {
  /**
   * The most chunks one coordinator invocation sends itself, 1 to 10,000,000. A job with more is
   * split among further invocations of the coordinator (a tree, at most 16 wide), so that submit
   * returns in about one invocation's time and no invocation's time or memory grows with the job.
   * At the ~9,600 chunks a second docs/scaling.md models for one invocation on AWS, a leaf of the
   * default size takes about 2 s, well inside the default timeout.
   * @default 20000
   */
  readonly leafChunks?: number;
  /**
   * The longest one invocation spends sending chunks before it hands the rest of its range to a new
   * invocation, 1 ms to the timeout. @default the time the invocation has left, less a fifth (1 to 10 s)
   */
  readonly fanoutBudget?: Duration;
  /**
   * Worker invocations the coordinator starts directly for each job (asynchronous Invokes that
   * drain the work queue), spread over its chunks as they are sent, and never more than one per 10
   * of its chunks (each receives ten at a time), 0 to 10,000; 0 leaves every worker to the event
   * source mapping, which adds about 300 a minute.
   * @default the worker's maxConcurrency (or, in provisioned mode, the concurrency its pollers reach)
   */
  readonly drainWorkers?: number;
}

/** The worker function and the event source mapping that feeds it from the work queue. */
export interface FanfoldWorkerProps extends FanfoldFunctionProps {
  /**
   * Memory in MB. The worker runs one thread per 1,769 MB (a vCPU's credit), 1 to 6 threads.
   * @default 3538 (2 vCPUs, 2 threads)
   */
  readonly memorySize?: number;
  /**
   * Timeout: the longest one invocation runs (a batch, or a drain of the queue). A worker hands its
   * unfinished chunks back `handBackMargin` before it, so a chunk must run within about this long;
   * one that never does ends in the dead-letter queue with a `ChunkTimeLimitError` as the cause. It
   * also sets the finaliser lease (`FANFOLD_LEASE_MS`) and the queue's visibility timeout
   * (6 × timeout + batching window, which Lambda requires to be at least the timeout; a worker
   * shortens it per message, see `messageVisibility`).
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * How long a worker holds a chunk message at a time (`FANFOLD_VISIBILITY_MS`): set on receipt,
   * one batched request per 10 messages, and renewed every third of it while the chunk runs. A
   * worker that dies (a crash, an out-of-memory kill) loses its messages after at most this long,
   * so they run again within it plus a poll; shorter costs more renewals of long chunks (one
   * request per 10 messages per third). 5 s to 12 h, whole seconds.
   * @default Duration.seconds(30)
   */
  readonly messageVisibility?: Duration;
  /**
   * How long before its timeout a worker stops, hands its unfinished messages back (visible at
   * once) and reports them as batch item failures, so that Lambda never kills it mid-batch
   * (`FANFOLD_HANDBACK_MARGIN_MS`). Whole seconds, less than the timeout.
   * @default 10% of the timeout, at least 1 s and at most 10 s
   */
  readonly handBackMargin?: Duration;
  /**
   * Reserved concurrency of the worker function: that many concurrent executions are kept for it
   * out of the account's (1,000 by default, raised on request), and it never runs more. Draining
   * workers (direct invocations) count against it as well as the mapping's; leave it unset to let
   * the worker use the account's unreserved concurrency. At least `maxConcurrency`.
   * @default none
   */
  readonly reservedConcurrency?: number;
  /** Chunk messages per invocation, 1 to 10,000 (over 10 needs a `maxBatchingWindow`). @default 10 */
  readonly batchSize?: number;
  /** How long the event source mapping gathers a batch, up to 5 minutes. @default no window (Lambda's 0) */
  readonly maxBatchingWindow?: Duration;
  /**
   * The most worker invocations the event source mapping runs at once, 2 to 1,000. Not with
   * `provisionedPollerConfig`. Draining workers started directly are not counted here: the
   * account's concurrency (or `reservedConcurrency`) bounds them.
   * @default 50 (unless `provisionedPollerConfig` is set)
   */
  readonly maxConcurrency?: number;
  /**
   * Provisioned mode for the event source mapping (pollers always on, faster scale-up, billed per
   * poller-hour): minimumPollers 2 to 200, maximumPollers 2 to 2,000. Not with `maxConcurrency`.
   * @default standard mode
   */
  readonly provisionedPollerConfig?: ProvisionedPollerConfig;
}

/** The sweeper: a scheduled function that deletes the SQS queues of abandoned `Queue`s and `Pipe`s. */
export interface FanfoldSweeperProps extends FanfoldFunctionProps {
  /**
   * A queue whose creator has not renewed its registration for this long (the creator renews
   * every 10 minutes while the queue is open) is deleted; 30 minutes to 7 days, whole minutes.
   * @default Duration.hours(2)
   */
  readonly staleAfter?: Duration;
  /** How often the sweeper runs, 1 minute to 1 day, whole minutes. @default Duration.minutes(30) */
  readonly every?: Duration;
}

/** Props of the {@link Fanfold} construct. */
export interface FanfoldProps {
  /**
   * The tasks module (its default export is `defineTasks(...)`): an absolute path, a path relative
   * to the working directory, or a `file:` URL. It is bundled into the coordinator and the worker
   * as `@fanfold/tasks`.
   */
  readonly tasks: string | URL;
  /** The Lambda runtime of the four functions: `Runtime.NODEJS_22_X` or `Runtime.NODEJS_24_X`. @default Runtime.NODEJS_22_X */
  readonly runtime?: Runtime;
  /** The functions' architecture. @default Architecture.ARM_64 (20% cheaper per GB-second) */
  readonly architecture?: Architecture;
  /**
   * The coordinator, which creates jobs and puts their chunks on the work queue.
   * @default { memorySize: 1769, timeout: Duration.minutes(1), leafChunks: 20000 }
   */
  readonly coordinator?: FanfoldCoordinatorProps;
  /** The worker and its event source mapping. @default see {@link FanfoldWorkerProps} */
  readonly worker?: FanfoldWorkerProps;
  /** The dead-letter function, which fails the jobs of chunks that exhausted their deliveries. @default { memorySize: 256, timeout: Duration.seconds(30) } */
  readonly deadLetter?: FanfoldFunctionProps;
  /** Deliveries of a chunk message before it goes to the dead-letter queue, 1 to 1,000. @default 5 */
  readonly maxReceiveCount?: number;
  /** How long payloads stay in the bucket, in whole days (longer than any job runs). @default Duration.days(7) */
  readonly payloadExpiration?: Duration;
  /** Point-in-time recovery of the table (its items are jobs in flight; they expire by TTL). @default false */
  readonly pointInTimeRecovery?: boolean;
  /**
   * What `cdk destroy` does with the table, the bucket and the log groups. `DESTROY` also empties
   * the bucket first (a custom resource that CDK adds).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of the functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Name prefix of the SQS queues that `Queue`, `JoinableQueue`, `SimpleQueue` and `Pipe` create
   * on demand: 1 to 40 letters, digits, `-` or `_`. The functions' IAM policies allow queue
   * operations only on names with this prefix, and the sweeper deletes abandoned queues under it,
   * so no other application's queue names may start with it.
   * @default the stack name followed by `_` (stack names cannot contain `_`, so no other stack's
   * prefix starts with it); a stack name over 39 characters is cut to 30 and given a hash
   */
  readonly queuePrefix?: string;
  /** The sweeper of abandoned queues. @default see {@link FanfoldSweeperProps}, 256 MB and 1 minute */
  readonly sweeper?: FanfoldSweeperProps;
  /**
   * The functions' log level (`POWERTOOLS_LOG_LEVEL`): `'DEBUG'` (a line per chunk recorded, with
   * its job, index, attempt and duration), `'INFO'` (a line per invocation), `'WARN'` (what went
   * wrong: attempts given back, failed jobs, errors), `'ERROR'`, `'CRITICAL'` or `'SILENT'`. Every
   * line is JSON with the request id; docs/observability.md shows them. The metrics (embedded
   * metric format) are written whatever the level.
   * @default 'WARN'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';
  /**
   * The CloudWatch namespace of the functions' metrics (`POWERTOOLS_METRICS_NAMESPACE`): 1 to 255
   * letters, digits and `.-_/#:` or spaces, not starting with `AWS/`.
   * @default 'fanfold'
   */
  readonly metricsNamespace?: string;
  /**
   * The `service` of every log line and the `service` dimension of every metric
   * (`POWERTOOLS_SERVICE_NAME`), 1 to 255 characters: what tells two stacks' metrics apart in one
   * namespace.
   * @default the stack's name
   */
  readonly serviceName?: string;
}

/** The props with every default applied, checked. */
export interface ResolvedProps {
  readonly tasks: string;
  readonly runtime: Runtime;
  readonly architecture: Architecture;
  readonly coordinator: {
    readonly memorySize: number;
    readonly timeout: Duration;
    readonly leafChunks: number;
    readonly fanoutBudget: Duration | undefined;
    readonly drainWorkers: number;
  };
  readonly deadLetter: { readonly memorySize: number; readonly timeout: Duration };
  readonly worker: {
    readonly memorySize: number;
    readonly timeout: Duration;
    readonly messageVisibility: Duration;
    readonly handBackMargin: Duration;
    readonly reservedConcurrency: number | undefined;
    readonly batchSize: number;
    readonly maxBatchingWindow: Duration | undefined;
    readonly maxConcurrency: number | undefined;
    readonly provisionedPollerConfig: ProvisionedPollerConfig | undefined;
  };
  readonly maxReceiveCount: number;
  readonly payloadExpiration: Duration;
  readonly pointInTimeRecovery: boolean;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  /** The queue prefix given in the props (the construct derives the default from the stack name). */
  readonly queuePrefix: string | undefined;
  readonly sweeper: {
    readonly memorySize: number;
    readonly timeout: Duration;
    readonly staleAfter: Duration;
    readonly every: Duration;
  };
  readonly logLevel: NonNullable<FanfoldProps['logLevel']>;
  readonly metricsNamespace: string;
  /** The service name given in the props (the construct defaults it to the stack name). */
  readonly serviceName: string | undefined;
  /** Worker threads per worker invocation (`FANFOLD_THREADS`). */
  readonly threads: number;
  /** Parallel workers of the stack (`FANFOLD_WORKERS`): concurrent worker invocations × threads. */
  readonly workers: number;
}

/** The defaults, in one place. */
export const FANFOLD_DEFAULTS = Object.freeze({
  /** The coordinator function: 1 vCPU's worth of memory, one minute. */
  coordinator: Object.freeze({
    /** Memory in MB (vCPUs grow with it: 1,769 MB is one). */
    memorySize: 1769,
    /** The function's timeout. */
    timeout: Duration.minutes(1),
    /** Chunks a leaf of the fan-out tree sends (see `CoordinatorProps.leafChunks`). */
    leafChunks: 20_000,
  }),
  /** The worker function: 2 vCPUs' worth of memory (2 threads), five minutes, 10 messages a batch, 50 concurrent. */
  worker: Object.freeze({
    /** Memory in MB (vCPUs grow with it: 1,769 MB is one). */
    memorySize: 3538,
    /** The function's timeout. */
    timeout: Duration.minutes(5),
    /** How long a worker holds a message between renewals (see `WorkerProps.messageVisibility`). */
    messageVisibility: Duration.seconds(30),
    /** Messages (chunks) per invocation. */
    batchSize: 10,
    /** Concurrent invocations of the event source mapping. */
    maxConcurrency: 50,
  }),
  /** The dead-letter function: small and short. */
  deadLetter: Object.freeze({
    /** Memory in MB (vCPUs grow with it: 1,769 MB is one). */
    memorySize: 256,
    /** The function's timeout. */
    timeout: Duration.seconds(30),
  }),
  /** The sweeper of abandoned queues: runs every 30 minutes and deletes queues idle for 2 hours. */
  sweeper: Object.freeze({
    /** Memory in MB (vCPUs grow with it: 1,769 MB is one). */
    memorySize: 256,
    /** The function's timeout. */
    timeout: Duration.minutes(1),
    /** A queue unused this long is abandoned. */
    staleAfter: Duration.hours(2),
    /** How often the sweeper runs. */
    every: Duration.minutes(30),
  }),
  /** Deliveries of a chunk before it goes to the dead-letter queue. */
  maxReceiveCount: 5,
  /** Payloads in the bucket expire after this long. */
  payloadExpiration: Duration.days(7),
  /** The event source mapping's pollers in provisioned mode when `maximumPollers` is not given (Lambda's default). */
  maximumPollers: 200,
  /** Quiet on the hot path: attempts given back, failed jobs and errors; the metrics always. */
  logLevel: 'WARN' as const,
  /** The CloudWatch namespace of the metrics. */
  metricsNamespace: 'fanfold',
});
