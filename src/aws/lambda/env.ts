/**
 * The environment contract between the `Fanfold` CDK construct and the Lambda handlers. The
 * construct sets these variables on each function; handlers read them once per container through
 * {@link readEnv}, which names any that is missing.
 */
import { InvalidArgumentError } from '../../errors.js';

/** Variable names, one place for both sides. */
export const ENV = {
  /** DynamoDB table of jobs, chunk results and locks. */
  table: 'FANFOLD_TABLE',
  /** URL of the SQS work queue. */
  queueUrl: 'FANFOLD_QUEUE_URL',
  /** URL of the work queue's dead-letter queue. */
  deadLetterQueueUrl: 'FANFOLD_DLQ_URL',
  /** S3 bucket for payloads over the size limits. */
  bucket: 'FANFOLD_BUCKET',
  /** Worker threads per worker Lambda (from its memory: 1 per 1,769 MB, 1 to 6). */
  threads: 'FANFOLD_THREADS',
  /** The work queue's maxReceiveCount (deliveries before a chunk is dead-lettered). */
  maxReceiveCount: 'FANFOLD_MAX_RECEIVE_COUNT',
  /** The worker's finaliser lease, ms (at least the worker timeout). */
  leaseMs: 'FANFOLD_LEASE_MS',
  /** Parallel workers the stack runs (ESM maximum concurrency × threads), for default chunk sizes. */
  workers: 'FANFOLD_WORKERS',
  /** Name prefix of the SQS queues of `Queue` and `Pipe` (the functions' IAM allows only these). */
  queuePrefix: 'FANFOLD_QUEUE_PREFIX',
  /** The sweeper's threshold, ms: a queue whose creator has not renewed it for this long is deleted. */
  queueStaleMs: 'FANFOLD_QUEUE_STALE_MS',
  /** How long a worker holds a message at a time, ms, renewed while its chunk runs (optional). */
  visibilityMs: 'FANFOLD_VISIBILITY_MS',
  /** How long before its timeout a worker hands its unfinished messages back, ms (optional). */
  handBackMarginMs: 'FANFOLD_HANDBACK_MARGIN_MS',
  /** The coordinator's: the most chunks one invocation sends itself (the fan-out tree's leaf). */
  leafChunks: 'FANFOLD_LEAF_CHUNKS',
  /** The coordinator's: at most this long sending chunks per invocation, ms (else: its time less a margin). */
  fanoutBudgetMs: 'FANFOLD_FANOUT_BUDGET_MS',
  /** The coordinator's: the worker function it invokes directly to drain the queue. */
  workerFunction: 'FANFOLD_WORKER_FUNCTION',
  /** The coordinator's: drain workers fired per job at most (0: none). */
  workerBurst: 'FANFOLD_WORKER_BURST',
} as const;

/** The variables Powertools reads, which the `Fanfold` construct sets from its props. */
export const POWERTOOLS_ENV = {
  /** The log level: `DEBUG`, `INFO`, `WARN`, `ERROR`, `CRITICAL` or `SILENT`. */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** The `service` key of each log line and the `service` dimension of each metric. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** The CloudWatch namespace of the metrics. */
  namespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/** The levels a stack may log at, quietest last. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A worker's message visibility when {@link ENV.visibilityMs} is not set: the construct's default. */
export const DEFAULT_VISIBILITY_MS = 30_000;

/**
 * The hand-back margin of a worker whose time limit is `timeoutMs`, when {@link ENV.handBackMarginMs}
 * is not set: 10% of the limit, at least 1 s and at most 10 s (the construct's default). It leaves
 * time to stop the threads, note the running chunks and make the messages visible (a few requests)
 * before Lambda ends the invocation.
 */
export function defaultHandBackMargin(timeoutMs: number): number {
  return Math.min(10_000, Math.max(1_000, Math.round(timeoutMs / 10)));
}

/** The variables, read. */
export interface FanfoldEnv {
  readonly table: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly bucket: string;
  readonly threads: number;
  readonly maxReceiveCount: number;
  readonly leaseMs: number;
  readonly workers: number;
  /** The queue prefix, when set (the stack sets it; environments made before it may not). */
  readonly queuePrefix: string | undefined;
  /** How long a worker holds a message at a time. @default {@link DEFAULT_VISIBILITY_MS} */
  readonly visibilityMs: number;
  /** How long before its timeout a worker hands back; undefined: {@link defaultHandBackMargin}. */
  readonly handBackMarginMs: number | undefined;
}

/** Reads and checks every variable; throws one error naming all that are missing or malformed. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): FanfoldEnv {
  const problems: string[] = [];
  const str = (k: keyof typeof ENV): string => {
    const v = env[ENV[k]];
    if (!v) problems.push(`${ENV[k]} is not set`);
    return v ?? '';
  };
  const optionalInt = (k: keyof typeof ENV, min: number, max: number): number | undefined =>
    env[ENV[k]] === undefined ? undefined : int(k, min, max);
  const int = (k: keyof typeof ENV, min: number, max: number): number => {
    const raw = env[ENV[k]];
    const v = Number(raw);
    if (!raw || !Number.isInteger(v) || v < min || v > max) {
      problems.push(
        `${ENV[k]} must be an integer from ${min} to ${max}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`,
      );
    }
    return v;
  };
  const out: FanfoldEnv = {
    table: str('table'),
    queueUrl: str('queueUrl'),
    deadLetterQueueUrl: str('deadLetterQueueUrl'),
    bucket: str('bucket'),
    threads: int('threads', 1, 6),
    maxReceiveCount: int('maxReceiveCount', 1, 1000),
    leaseMs: int('leaseMs', 1000, 3_600_000),
    workers: int('workers', 1, 1_000_000),
    queuePrefix: optionalPrefix(env, problems),
    visibilityMs: optionalInt('visibilityMs', 1_000, 43_200_000) ?? DEFAULT_VISIBILITY_MS,
    handBackMarginMs: optionalInt('handBackMarginMs', 0, 900_000),
  };
  if (problems.length > 0)
    throw new InvalidArgumentError(`fanfold's Lambda environment: ${problems.join('; ')}`);
  return out;
}

/** `FANFOLD_QUEUE_PREFIX`: undefined when unset, else 1 to 40 letters, digits, - or _. */
function optionalPrefix(env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const v = env[ENV.queuePrefix];
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(v))
    problems.push(`${ENV.queuePrefix} must be 1 to 40 letters, digits, - or _, got ${JSON.stringify(v)}`);
  return v;
}

/** Threads for a Lambda of `memoryMb`: one per 1,769 MB of memory (a vCPU's credit), 1 to 6. */
export function threadsForMemory(memoryMb: number): number {
  return Math.min(6, Math.max(1, Math.round(memoryMb / 1769)));
}

/** The coordinator's fan-out settings (`FANFOLD_LEAF_CHUNKS` and its siblings, all optional). */
export interface FanoutEnv {
  /** Its own function name (`AWS_LAMBDA_FUNCTION_NAME`, set by Lambda): where fan-out requests go. */
  readonly self: string | undefined;
  readonly leafChunks: number | undefined;
  readonly budgetMs: number | undefined;
  readonly workerFunction: string | undefined;
  readonly workerBurst: number | undefined;
}

/** Reads the coordinator's fan-out settings; throws one error naming every malformed one. */
export function readFanoutEnv(env: NodeJS.ProcessEnv = process.env): FanoutEnv {
  const problems: string[] = [];
  const int = (k: keyof typeof ENV, min: number, max: number): number | undefined => {
    const raw = env[ENV[k]];
    if (raw === undefined || raw === '') return undefined;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max)
      problems.push(`${ENV[k]} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const out: FanoutEnv = {
    self: env.AWS_LAMBDA_FUNCTION_NAME || undefined,
    leafChunks: int('leafChunks', 1, 10_000_000),
    budgetMs: int('fanoutBudgetMs', 1, 900_000),
    workerFunction: env[ENV.workerFunction] || undefined,
    workerBurst: int('workerBurst', 0, 100_000),
  };
  if (problems.length > 0)
    throw new InvalidArgumentError(`fanfold's Lambda environment: ${problems.join('; ')}`);
  return out;
}
