/**
 * What a job costs on AWS, before it runs (an estimate) and after (a report), from one model: the
 * scale model's per-chunk request counts, counted on the runner (`scale-model.ts`), the per-job
 * requests it adds for issue 10's shape (the fan-out's invocations, the drain workers, the
 * visibility calls, the shards' marks), the Lambda time of the chunks and the list prices
 * (`prices.ts`). A report takes the job's own figures where its records hold them (chunks
 * recorded, their run times, their deliveries) and makes no request to count anything: requests
 * and units are the model's for those figures, so an estimate and a report of a job that ran as
 * estimated agree exactly on them, and differ by what ran differently (retries, backups, time).
 */
import { options as checkOptions, optionalInteger } from '../validate.js';
import { LIST_PRICES, type Prices, resolvePrices } from './prices.js';
import {
  coordinatorInvocations,
  ISSUE10,
  type PerChunk,
  predict,
  STACK,
  type StackSettings,
  withJobCosts,
} from './scale-model.js';

/**
 * What one chunk costs on the issue-10 code, less what costs per job: the 300-chunk `map` counted
 * on the runner at commit a07d934 (bench/RESULTS.md, section 8), its coordinator and drain-worker
 * invocations and visibility calls taken out, as `bench/scale/report.ts` takes them out for the
 * model at scale (they are added back per job, for the job's size).
 */
export const COUNTED_PER_CHUNK: PerChunk = Object.freeze({
  sqs: 1.667,
  lambda: 0.023,
  s3Put: 0,
  s3Get: 0,
  wru: 3.7,
  rru: 3.157,
  recordingWru: 3.69,
});

/** The worker function's memory by the construct's default, MB (2 vCPUs). */
export const DEFAULT_MEMORY_MB = 3538;
/** Threads per worker by the construct's default. */
export const DEFAULT_THREADS = 2;
/** Worker concurrency by the construct's default. */
export const DEFAULT_WORKERS = 50;

/** The stack a cost is computed for: the construct's defaults unless told. */
export interface CostOptions {
  /** Worker concurrency (the drain workers a job fires): the stack's `workers`. @default 50 */
  readonly workers?: number;
  /** The worker function's memory, MB. @default 3538 */
  readonly memoryMb?: number;
  /** Threads per worker (a chunk's run time is that share of its container). @default 2 */
  readonly threads?: number;
  /** Prices over the list prices (see `prices.ts`). @default LIST_PRICES */
  readonly prices?: Prices;
}

/** What a job did, as its records tell (or as an estimate expects). */
export interface JobUsage {
  /** Chunks run. */
  readonly chunks: number;
  /** Deliveries of recorded chunks beyond their first. */
  readonly retries: number;
  /** Straggler backups. */
  readonly backups: number;
  /** The chunks' run time on their threads, summed, in ms. */
  readonly computeMs: number;
}

/** A job's cost: what it used, by service, and in dollars at the prices given. */
export interface CostReport {
  /** The prices' date and Region. */
  readonly prices: {
    /** When the prices were read (`YYYY-MM-DD`). */
    readonly date: string;
    /** Their Region. */
    readonly region: string;
  };
  /** Chunks counted. */
  readonly chunks: number;
  /** Deliveries beyond the first. */
  readonly retries: number;
  /** Straggler backups. */
  readonly backups: number;
  /** Requests by service (DynamoDB is billed by units, below). */
  readonly requests: {
    /** SQS requests: sends, receives, deletes, visibility calls. */
    readonly sqs: number;
    /** Lambda invocations: the coordinator's, the drain workers', the mapping's. */
    readonly lambda: number;
    /** S3 requests. */
    readonly s3: number;
  };
  /** DynamoDB write request units. */
  readonly writeUnits: number;
  /** DynamoDB read request units. */
  readonly readUnits: number;
  /** Lambda GB-seconds of the chunks' run time: ms × memory ÷ threads. */
  readonly lambdaGbSeconds: number;
  /** USD by service and in all. */
  readonly usd: {
    /** SQS requests. */
    readonly sqs: number;
    /** Lambda requests and GB-seconds. */
    readonly lambda: number;
    /** DynamoDB write and read units. */
    readonly dynamodb: number;
    /** S3 requests. */
    readonly s3: number;
    /** All of them. */
    readonly total: number;
  };
}

/**
 * Checks {@link CostOptions} given by a user (`prices` as a partial table over the list prices).
 *
 * @throws {InvalidArgumentError} naming the option, what it expects and what it got.
 */
export function costOptions(v: unknown, name = 'options'): CostOptions {
  const o = checkOptions<CostOptions & { prices?: Partial<Prices> }>(v ?? {}, name, [
    'workers',
    'memoryMb',
    'threads',
    'prices',
  ]);
  const workers = optionalInteger(o.workers, `${name}.workers`, 1, 100_000);
  const memoryMb = optionalInteger(o.memoryMb, `${name}.memoryMb`, 128, 10_240);
  const threads = optionalInteger(o.threads, `${name}.threads`, 1, 64);
  return {
    ...(workers === undefined ? {} : { workers }),
    ...(memoryMb === undefined ? {} : { memoryMb }),
    ...(threads === undefined ? {} : { threads }),
    ...(o.prices === undefined ? {} : { prices: resolvePrices(o.prices, `${name}.prices`) }),
  };
}

const ZERO: PerChunk = { sqs: 0, lambda: 0, s3Put: 0, s3Get: 0, wru: 0, rru: 0, recordingWru: 0 };

/** The stack settings of `o` over the construct's defaults. */
function stackOf(o: CostOptions): StackSettings {
  return {
    ...STACK,
    concurrency: o.workers ?? DEFAULT_WORKERS,
    threads: o.threads ?? DEFAULT_THREADS,
  };
}

/**
 * The cost of a job that did `usage`: each chunk, retry and backup costs the counted requests of
 * a chunk; the job adds its fan-out, drain workers, visibility calls and shard marks at its size;
 * its compute is the chunks' run time.
 */
export function costReport(usage: JobUsage, options: CostOptions = {}): CostReport {
  const k = stackOf(options);
  const prices = options.prices ?? LIST_PRICES;
  const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
  const n = usage.chunks;
  const runs = n + usage.retries + usage.backups;
  const meanChunkS = n > 0 ? usage.computeMs / 1000 / n : 0;
  const batchSeconds = Math.ceil(k.batchSize / k.threads) * meanChunkS;
  const perJob =
    n > 0 ? withJobCosts(ISSUE10, ZERO, n, batchSeconds, coordinatorInvocations(ISSUE10, n, k), k) : ZERO;
  const p = COUNTED_PER_CHUNK;
  const total = (f: keyof PerChunk) => p[f] * runs + perJob[f] * n;
  const round = (x: number) => Math.round(x);
  const sqs = round(total('sqs'));
  const lambda = round(total('lambda'));
  const s3Put = round(total('s3Put'));
  const s3Get = round(total('s3Get'));
  const writeUnits = round(total('wru'));
  const readUnits = round(total('rru'));
  const lambdaGbSeconds = (usage.computeMs / 1000) * (memoryMb / 1024 / k.threads);
  const usd = {
    sqs: sqs * prices.sqsRequest,
    lambda: lambda * prices.lambdaRequest + lambdaGbSeconds * prices.lambdaGbSecond,
    dynamodb: writeUnits * prices.wru + readUnits * prices.rru,
    s3: s3Put * prices.s3Put + s3Get * prices.s3Get,
  };
  return {
    prices: { date: prices.date, region: prices.region },
    chunks: n,
    retries: usage.retries,
    backups: usage.backups,
    requests: { sqs, lambda, s3: s3Put + s3Get },
    writeUnits,
    readUnits,
    lambdaGbSeconds,
    usd: { ...usd, total: usd.sqs + usd.lambda + usd.dynamodb + usd.s3 },
  };
}

/** What {@link jobCost} reads of a job: a `JobInfo` has it, with what `status` adds. */
export interface JobCostInput {
  /** Chunks recorded. */
  readonly done: number;
  /** Mean run time of the recorded chunks, ms. */
  readonly meanChunkMs?: number;
  /** Deliveries beyond the first (absent: 0, as a `JobInfo` alone cannot tell). */
  readonly retries?: number;
  /** Straggler backups (absent: 0). */
  readonly backups?: number;
}

/**
 * The cost so far of a job as `inspect` gives it (a `JobInfo`): its recorded chunks and their
 * mean run time; with `retries` and `backups` when the caller has read them (`awsJobs().cost`).
 *
 * @example
 * ```ts
 * import { awsJobs, jobCost } from 'fanfold';
 *
 * const jobs = awsJobs({ stack: 'Fanfold' });
 * const info = await jobs.inspect(process.argv[2] ?? '');
 * console.log(`$${jobCost(info).usd.total.toFixed(6)} so far`);
 * jobs.close();
 * ```
 */
export function jobCost(job: JobCostInput, options: CostOptions = {}): CostReport {
  return costReport(
    {
      chunks: job.done,
      retries: job.retries ?? 0,
      backups: job.backups ?? 0,
      computeMs: (job.meanChunkMs ?? 0) * job.done,
    },
    options,
  );
}

/** What {@link estimateCost} is asked. */
export interface EstimateInput extends CostOptions {
  /** Items the job maps. */
  readonly items: number;
  /** Items a chunk holds. */
  readonly chunksize: number;
  /** How long one task runs, in ms. */
  readonly taskMs: number;
}

/** A job's predicted cost and duration on AWS. */
export interface Estimate {
  /** Items the job maps. */
  readonly items: number;
  /** Items a chunk holds, as the job would be planned. */
  readonly chunksize: number;
  /** Chunks the job would have. */
  readonly chunks: number;
  /** The task time assumed, ms. */
  readonly taskMs: number;
  /** Seconds from submit until every chunk is on the queue (the model's AWS latencies). */
  readonly fanoutSeconds: number;
  /** Seconds from submit until the caller has the results (the model's AWS latencies). */
  readonly durationSeconds: number;
  /** The cost, as a report of the job run as estimated (no retry, no backup) would give it. */
  readonly cost: CostReport;
}

/** Predicts a job's cost and duration before it runs, from the scale model. */
export function estimateCost(input: EstimateInput): Estimate {
  const { items, chunksize, taskMs } = input;
  const chunks = chunksize > 0 ? Math.ceil(items / chunksize) : 0;
  const cost = costReport({ chunks, retries: 0, backups: 0, computeMs: items * taskMs }, input);
  if (chunks === 0) return { items, chunksize, chunks, taskMs, fanoutSeconds: 0, durationSeconds: 0, cost };
  const p = predict(
    ISSUE10,
    COUNTED_PER_CHUNK,
    chunks,
    taskMs,
    chunksize,
    stackOf(input),
    input.prices ?? LIST_PRICES,
  );
  return {
    items,
    chunksize,
    chunks,
    taskMs,
    fanoutSeconds: p.fanout,
    durationSeconds: p.endToEnd,
    cost,
  };
}
