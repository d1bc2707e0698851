/**
 * The scale model: what a job of N chunks costs and how long it takes on AWS, from the requests
 * and write units per chunk counted on the runner (`counts.ts`) and AWS's documented limits. It
 * predicts, per job size and task time: the fan-out time, the time to 1,000 busy workers, the
 * recording ceiling, the end-to-end time and the non-compute cost per million tasks. It models two
 * shapes of fanfold: `main` (one coordinator invocation sends every chunk; the SQS event source
 * mapping alone starts workers; one partition takes every write) and `issue10` (the design of
 * issue 10: a fan-out tree, workers invoked directly, counters sharded, release by TTL).
 *
 * Time is a fluid simulation in steps of `DT` seconds: chunks become available as the fan-out
 * sends them, workers as the shape starts them, and busy workers finish chunks at the rate their
 * threads allow, never faster than the partition that records them. It is a model: latencies on
 * AWS are stated assumptions (below), not measurements, since nothing here reaches AWS.
 */

/** AWS's documented limits (us-east-1, 2026): the source of each is in `docs/scaling.md`. */
export const LIMITS = Object.freeze({
  /** New execution environments per function per 10 s (Lambda scaling behaviour). */
  lambdaScalePer10s: 1_000,
  /** Concurrent executions per account and Region by default. */
  accountConcurrency: 1_000,
  /** An SQS event source mapping starts at 5 concurrent batches and adds up to 300 a minute. */
  esmInitial: 5,
  esmPerMinute: 300,
  /** SendMessageBatch entries. */
  sqsBatch: 10,
  /** Write units a second one partition takes. */
  partitionWru: 1_000,
  /** Write units a second a new on-demand table takes at once; its default quota. */
  tableInitialWru: 4_000,
  tableQuotaWru: 40_000,
});

/** List prices, USD (us-east-1). */
export const PRICES = Object.freeze({
  sqsRequest: 0.4e-6,
  lambdaRequest: 0.2e-6,
  wru: 0.625e-6,
  rru: 0.125e-6,
  s3Put: 0.005e-3,
  s3Get: 0.0004e-3,
});

/**
 * Latencies on AWS the model assumes, in seconds: typical in-Region figures, not measured here.
 * Each moves the times, none the costs.
 */
export const ASSUMED = Object.freeze({
  /** One SendMessageBatch round trip. */
  sqsSend: 0.015,
  /** One asynchronous Invoke API call (202 Accepted). */
  invokeAsync: 0.02,
  /** The caller's synchronous submit: Invoke, the coordinator's createJob, the answer. */
  submit: 0.15,
  /** A coordinator's cold start; a worker's (bundle, then its threads). */
  coordinatorColdStart: 0.5,
  workerColdStart: 1.0,
  /** Per batch beyond the chunks' compute: receive, invoke, record the groups, delete. */
  batchOverhead: 0.1,
  /** The caller learns a change within one poll delay: `min` while chunks finish often. */
  notice: 0.025,
});

/** The construct's defaults the model runs on, with worker concurrency raised to 1,000. */
export const STACK = Object.freeze({
  coordinatorTimeout: 60,
  workerTimeout: 300,
  batchSize: 10,
  /** 3,538 MB → 2 vCPUs → 2 threads per worker. */
  threads: 2,
  concurrency: 1_000,
});

/** A shape of fanfold: how it fans out, starts workers and records. */
export interface Shape {
  readonly name: 'main' | 'issue10';
  /** SendMessageBatch calls in flight per sending invocation. */
  readonly sendInFlight: number;
  /** Chunks a leaf of the fan-out tree sends itself (Infinity: one invocation sends all). */
  readonly leafChunks: number;
  /** Sub-ranges per tree node. */
  readonly fanout: number;
  /** Workers are invoked directly (asynchronous Invoke), `inFlight` calls at a time per node. */
  readonly directWorkers: boolean;
  readonly invokeInFlight: number;
  /** The number of partitions the records of a job of `n` chunks spread over. */
  shards(n: number): number;
}

export const MAIN: Shape = {
  name: 'main',
  sendInFlight: 4,
  leafChunks: Number.POSITIVE_INFINITY,
  fanout: 1,
  directWorkers: false,
  invokeInFlight: 0,
  shards: () => 1,
};

export const ISSUE10: Shape = {
  name: 'issue10',
  sendInFlight: 16,
  leafChunks: 20_000,
  fanout: 16,
  directWorkers: true,
  invokeInFlight: 16,
  shards: (n) => Math.min(64, Math.max(1, Math.ceil(n / 2_000))),
};

/** What the runner's counts say one chunk costs (see `counts.ts`), per chunk. */
export interface PerChunk {
  /** SQS requests (sends, receives with messages, deletes, visibility changes). */
  readonly sqs: number;
  /** Lambda invocations (the mapping's, the direct ones, the caller's). */
  readonly lambda: number;
  readonly s3Put: number;
  readonly s3Get: number;
  readonly wru: number;
  readonly rru: number;
  /** The write units of recording (the workers'), which the recording partitions must take. */
  readonly recordingWru: number;
}

/** One prediction. */
export interface Prediction {
  readonly chunks: number;
  readonly taskMs: number;
  /** Seconds from submit until every chunk is on the queue; Infinity when submit fails. */
  readonly fanout: number;
  /** Why the job cannot run, if it cannot. */
  readonly failure?: string;
  /** Seconds from submit until 1,000 workers run (Infinity: never, or the job has fewer batches). */
  readonly busy1000: number;
  /** Most chunks a second the job's records take (partition-bound), and the table's first limit. */
  readonly recordingCap: number;
  readonly tableCap: number;
  /** Chunks a second 1,000 busy workers finish. */
  readonly demand: number;
  /** Seconds from submit until the caller knows the job is done. */
  readonly endToEnd: number;
  /** USD per million tasks beyond the workers' compute. */
  readonly costPerMillionTasks: number;
}

const DT = 0.01;

/** A chunk's seconds on its thread. */
const chunkSeconds = (taskMs: number, tasksPerChunk: number) => (taskMs / 1000) * tasksPerChunk;

/** Chunks a second one sending invocation puts on the queue. */
export const sendRate = (s: Shape) => (s.sendInFlight * LIMITS.sqsBatch) / ASSUMED.sqsSend;

/** Levels of the fan-out tree above its leaves. */
export function treeDepth(s: Shape, n: number): number {
  let depth = 0;
  for (let per = n; per > s.leafChunks; per = Math.ceil(per / s.fanout)) depth++;
  return depth;
}

/** Predicts one job; see the module comment. */
export function predict(
  s: Shape,
  perChunk: PerChunk,
  n: number,
  taskMs: number,
  tasksPerChunk = 100,
): Prediction {
  const c = chunkSeconds(taskMs, tasksPerChunk);
  const b = STACK.batchSize;
  const perWorker = b / (Math.ceil(b / STACK.threads) * c + ASSUMED.batchOverhead);
  const demand = STACK.concurrency * perWorker;
  // On paper the partitions bound the job; the table's quota bounds every job together. A new
  // on-demand table takes less at first (`tableCap`): its warm throughput must be set for more.
  const recordingCap = Math.min(
    (s.shards(n) * LIMITS.partitionWru) / perChunk.recordingWru,
    LIMITS.tableQuotaWru / perChunk.recordingWru,
  );
  const tableCap = LIMITS.tableInitialWru / perChunk.recordingWru;
  const cost = costPerMillionTasks(perChunk, tasksPerChunk);
  const base = { chunks: n, taskMs, recordingCap, tableCap, demand, costPerMillionTasks: cost };

  // Fan-out: the root (or each leaf, after the tree's levels of asynchronous invocations).
  const depth = treeDepth(s, n);
  const leaves = s.fanout ** depth;
  const sendStart = ASSUMED.submit + depth * (ASSUMED.invokeAsync + ASSUMED.coordinatorColdStart);
  const rate = sendRate(s) * leaves;
  const perInvocation = n / leaves / sendRate(s);
  const fanout = sendStart + n / rate;
  if (perInvocation > STACK.coordinatorTimeout)
    return {
      ...base,
      fanout: Number.POSITIVE_INFINITY,
      failure: `one invocation would send ${n.toLocaleString('en')} chunks in ${perInvocation.toFixed(0)} s, past the coordinator's ${STACK.coordinatorTimeout} s`,
      busy1000: Number.POSITIVE_INFINITY,
      endToEnd: Number.POSITIVE_INFINITY,
    };

  // Workers that may run at time t.
  const workersAt = (t: number): number => {
    if (t < sendStart) return 0;
    if (!s.directWorkers)
      return Math.min(STACK.concurrency, LIMITS.esmInitial + (LIMITS.esmPerMinute / 60) * (t - sendStart));
    // Invoked as their chunks are sent, `invokeInFlight` calls at a time per sending node; each
    // starts after a cold start; Lambda adds at most 1,000 environments per 10 s.
    const up = t - sendStart - ASSUMED.workerColdStart;
    if (up < 0) return 0;
    const invoked = ((s.invokeInFlight * leaves) / ASSUMED.invokeAsync) * up;
    const burst = LIMITS.lambdaScalePer10s * (1 + Math.floor(up / 10));
    return Math.min(STACK.concurrency, invoked, burst);
  };

  let t = 0;
  let done = 0;
  let busy1000 = Number.POSITIVE_INFINITY;
  const maxT = 48 * 3600;
  while (done < n && t < maxT) {
    const sent = t < sendStart ? 0 : Math.min(n, rate * (t - sendStart));
    const workers = workersAt(t);
    const busy = Math.min(workers, Math.ceil((sent - done) / b));
    if (workers >= 1_000 && n / b >= 1_000 && busy1000 === Number.POSITIVE_INFINITY) busy1000 = t;
    done += Math.min(busy * perWorker, recordingCap) * DT;
    t += DT;
  }
  // The last batch runs whole; then the finaliser, then the caller's next read.
  const endToEnd = t + Math.ceil(b / STACK.threads) * c + ASSUMED.batchOverhead + ASSUMED.notice;
  return { ...base, fanout, busy1000, endToEnd };
}

/** USD per million tasks of everything but the workers' compute. */
export function costPerMillionTasks(p: PerChunk, tasksPerChunk: number): number {
  const perChunk =
    p.sqs * PRICES.sqsRequest +
    p.lambda * PRICES.lambdaRequest +
    p.s3Put * PRICES.s3Put +
    p.s3Get * PRICES.s3Get +
    p.wru * PRICES.wru +
    p.rru * PRICES.rru;
  return (perChunk * 1e6) / tasksPerChunk;
}
