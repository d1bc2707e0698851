/**
 * The scale model: what a job of N chunks costs and how long it takes on AWS, from the requests
 * and write units per chunk counted on the runner (`counts.ts`) and AWS's documented limits. It
 * predicts, per job size and task time: the fan-out time, the time to 1,000 busy workers, the
 * recording ceiling, the end-to-end time, the time a crashed worker's chunks wait and the
 * non-compute cost per million tasks. It models three shapes: `main` (one coordinator invocation
 * sends every chunk; the SQS event source mapping alone starts workers; one partition takes every
 * write), `issue10` (issue 10 as its parts build it: a fan-out tree of coordinator invocations,
 * drain workers invoked as chunks go out, sharded recording, a 30 s message visibility renewed while
 * a chunk runs, release by TTL) and `sqs` (a hand-rolled SQS fan-out: the caller sends, the mapping
 * runs a function that writes each result, nothing counts or detects the end).
 *
 * Time is a fluid simulation in steps of `DT` seconds: chunks become available as the fan-out
 * sends them, workers as the shape starts them, and busy workers finish chunks at the rate their
 * threads allow, never faster than the partition that records them. It is a model: latencies on
 * AWS are stated assumptions (below), not measurements, since nothing here reaches AWS.
 */
import { LIST_PRICES, type Prices } from './prices.js';

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

/** List prices, USD (us-east-1): the one table of them is `prices.ts`. */
export const PRICES = LIST_PRICES;

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
  /** One DynamoDB write (a fan-out leaf's progress record). */
  dynamoWrite: 0.01,
  /** The caller learns a change within one poll delay: `min` while chunks finish often. */
  notice: 0.025,
});

/** The settings of a stack the model runs on (the construct's props that move its figures). */
export interface StackSettings {
  readonly coordinatorTimeout: number;
  readonly workerTimeout: number;
  readonly batchSize: number;
  /** A worker's time left when it hands its unfinished messages back, in s. */
  readonly handBackMargin: number;
  /** Threads per worker. */
  readonly threads: number;
  /** Workers at once (and drain workers a job fires). */
  readonly concurrency: number;
}

/** The construct's defaults the model runs on, with worker concurrency raised to 1,000. */
export const STACK: StackSettings = Object.freeze({
  coordinatorTimeout: 60,
  workerTimeout: 300,
  batchSize: 10,
  /** A worker's time left when it hands its unfinished messages back (10% of its timeout, 1–10 s). */
  handBackMargin: 10,
  /** 3,538 MB → 2 vCPUs → 2 threads per worker. */
  threads: 2,
  concurrency: 1_000,
});

/** A shape of a fan-out over Lambda: how it sends, starts workers, records and recovers. */
export interface Shape {
  readonly name: 'main' | 'issue10' | 'sqs';
  /** SendMessageBatch calls in flight per sending invocation. */
  readonly sendInFlight: number;
  /** Chunks a leaf of the fan-out tree sends itself (Infinity: one invocation sends all). */
  readonly leafChunks: number;
  /** Sub-ranges a range is split into at most (the tree's width). */
  readonly fanout: number;
  /** Chunks a leaf sends between its progress records (one DynamoDB write each; Infinity: none). */
  readonly group: number;
  /**
   * How a sender outlasting its time fares: `fails` (one invocation must send it all), `continues`
   * (it hands the rest on to a new invocation), `none` (the sender is the caller's own process).
   */
  readonly overrun: 'fails' | 'continues' | 'none';
  /** Workers are also invoked directly as chunks go out, as many as the worker concurrency. */
  readonly directWorkers: boolean;
  /** Invoke calls in flight per sending invocation. */
  readonly invokeInFlight: number;
  /** Seconds a crashed worker's messages stay invisible, for a worker timeout of `timeout` s. */
  visibility(timeout: number): number;
  /** The number of partitions the records of a job of `n` chunks spread over. */
  shards(n: number): number;
}

/** The code on main before issue 10. */
export const MAIN: Shape = {
  name: 'main',
  sendInFlight: 4,
  leafChunks: Number.POSITIVE_INFINITY,
  fanout: 1,
  group: Number.POSITIVE_INFINITY,
  overrun: 'fails',
  directWorkers: false,
  invokeInFlight: 0,
  // The queue's visibility, 6 × the worker's timeout: nothing shortened it on Lambda.
  visibility: (timeout) => 6 * timeout,
  shards: () => 1,
};

/**
 * Issue 10 as its parts build it: leaves of 20,000 chunks under ranges split 16 ways at most, each
 * leaf sending groups of 1,000 with 16 calls in flight and recording its progress after each, drain
 * workers fired as chunks go out (the construct's `drainWorkers`, by default the worker's
 * concurrency, and never more than the job's batches of ten), 30 s message visibility renewed every 10 s while a chunk runs, a shard per 2,000
 * chunks up to 64.
 */
export const ISSUE10: Shape = {
  name: 'issue10',
  sendInFlight: 16,
  leafChunks: 20_000,
  fanout: 16,
  group: 1_000,
  overrun: 'continues',
  directWorkers: true,
  invokeInFlight: 16,
  visibility: () => 30,
  shards: (n) => Math.min(64, Math.max(1, Math.ceil(n / 2_000))),
};

/**
 * A hand-rolled SQS fan-out: the caller's own process sends every message (16 calls in flight), the
 * event source mapping runs a function that writes each chunk's result to its own DynamoDB item (no
 * transaction, no counter: no hot key, but no exactly-once count and no end detected), and the queue
 * keeps the visibility AWS recommends for a mapping (6 × the function's timeout).
 */
export const HAND_ROLLED: Shape = {
  name: 'sqs',
  sendInFlight: 16,
  leafChunks: Number.POSITIVE_INFINITY,
  fanout: 1,
  group: Number.POSITIVE_INFINITY,
  overrun: 'none',
  directWorkers: false,
  invokeInFlight: 0,
  visibility: (timeout) => 6 * timeout,
  shards: () => Number.POSITIVE_INFINITY,
};

/** What the hand-rolled fan-out costs a chunk, from the operations it makes (not counted here). */
export const HAND_ROLLED_PER_CHUNK: PerChunk = {
  // A tenth of a SendMessageBatch, a receive and a DeleteMessageBatch; a tenth of an invocation.
  sqs: 0.3,
  lambda: 0.1,
  s3Put: 0,
  s3Get: 0,
  // One PutItem of a result under 1 KB; the caller reads results 100 to a BatchGetItem (eventual).
  wru: 1,
  rru: 0.5,
  recordingWru: 1,
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
  /** Seconds a chunk whose worker died waits before it is delivered again (at most). */
  readonly crashRecovery: number;
  /** Coordinator invocations the fan-out takes (root, inner nodes, leaves, continuations). */
  readonly invocations: number;
  /** USD per million tasks beyond the workers' compute. */
  readonly costPerMillionTasks: number;
}

const DT = 0.01;

/** A chunk's seconds on its thread. */
const chunkSeconds = (taskMs: number, tasksPerChunk: number) => (taskMs / 1000) * tasksPerChunk;

/**
 * Chunks a second one sending invocation puts on the queue: `sendInFlight` SendMessageBatch calls
 * at a time, and a progress record after each group.
 */
export function sendRate(s: Shape): number {
  const perCall = s.sendInFlight * LIMITS.sqsBatch;
  if (!Number.isFinite(s.group)) return perCall / ASSUMED.sqsSend;
  return s.group / ((s.group / perCall) * ASSUMED.sqsSend + ASSUMED.dynamoWrite);
}

/**
 * The fan-out tree of a job of `n` chunks as the coordinator splits it (`engine/fanout.ts`): a range
 * over `leafChunks` goes to `min(fanout, ceil(size / leafChunks))` sub-ranges of about equal size.
 */
export function tree(
  s: Shape,
  n: number,
): { depth: number; leaves: number; leafSize: number; inner: number } {
  let depth = 0;
  let leaves = 1;
  // Invocations above the leaves (the root and inner nodes); a one-leaf job is sent by the root.
  let inner = 0;
  let per = n;
  while (per > s.leafChunks) {
    inner += leaves;
    const parts = Math.min(s.fanout, Math.ceil(per / s.leafChunks));
    leaves *= parts;
    per /= parts;
    depth++;
  }
  return { depth, leaves, leafSize: Math.ceil(per), inner };
}

/** Levels of the fan-out tree above its leaves. */
export const treeDepth = (s: Shape, n: number): number => tree(s, n).depth;

/** A coordinator invocation's sending budget: its timeout less a fifth of it (1 to 10 s). */
const sendBudget = (k: StackSettings) =>
  k.coordinatorTimeout - Math.min(10, Math.max(1, k.coordinatorTimeout / 5));

/** Coordinator invocations the fan-out of `n` chunks takes: the tree's, and a leaf's continuations. */
export function coordinatorInvocations(s: Shape, n: number, k: StackSettings = STACK): number {
  const { leaves, leafSize, inner } = tree(s, n);
  const continuations = s.overrun === 'continues' ? Math.ceil(leafSize / sendRate(s) / sendBudget(k)) - 1 : 0;
  return s.overrun === 'none' ? 0 : inner + leaves * (1 + continuations);
}

/** Predicts one job; see the module comment. */
export function predict(
  s: Shape,
  perChunk: PerChunk,
  n: number,
  taskMs: number,
  tasksPerChunk = 100,
  k: StackSettings = STACK,
  prices: Prices = LIST_PRICES,
): Prediction {
  const c = chunkSeconds(taskMs, tasksPerChunk);
  const b = k.batchSize;
  const batchSeconds = Math.ceil(b / k.threads) * c + ASSUMED.batchOverhead;
  const perWorker = b / batchSeconds;
  const demand = k.concurrency * perWorker;
  // On paper the partitions bound the job; the table's quota bounds every job together. A new
  // on-demand table takes less at first (`tableCap`): its warm throughput must be set for more.
  const recordingCap = Math.min(
    (s.shards(n) * LIMITS.partitionWru) / perChunk.recordingWru,
    LIMITS.tableQuotaWru / perChunk.recordingWru,
  );
  const tableCap = LIMITS.tableInitialWru / perChunk.recordingWru;
  const { depth, leaves, leafSize } = tree(s, n);
  const leafSeconds = leafSize / sendRate(s);
  const continuations = s.overrun === 'continues' ? Math.ceil(leafSeconds / sendBudget(k)) - 1 : 0;
  const invocations = coordinatorInvocations(s, n, k);
  const cost = costPerMillionTasks(
    withJobCosts(s, perChunk, n, batchSeconds, invocations, k),
    tasksPerChunk,
    prices,
  );
  const crashRecovery = s.visibility(k.workerTimeout);
  const base = {
    chunks: n,
    taskMs,
    recordingCap,
    tableCap,
    demand,
    costPerMillionTasks: cost,
    crashRecovery,
    invocations,
  };

  // Fan-out: the root (or each leaf, after the tree's levels of asynchronous invocations).
  const hop = ASSUMED.invokeAsync + ASSUMED.coordinatorColdStart;
  const sendStart = (s.overrun === 'none' ? 0 : ASSUMED.submit) + depth * hop;
  const rate = sendRate(s) * leaves;
  const fanout = sendStart + n / rate + continuations * hop;
  if (s.overrun === 'fails' && leafSeconds > k.coordinatorTimeout)
    return {
      ...base,
      fanout: Number.POSITIVE_INFINITY,
      failure: `one invocation would send ${n.toLocaleString('en')} chunks in ${leafSeconds.toFixed(0)} s, past the coordinator's ${k.coordinatorTimeout} s`,
      busy1000: Number.POSITIVE_INFINITY,
      endToEnd: Number.POSITIVE_INFINITY,
    };
  const sentAt = (t: number) => (t < sendStart ? 0 : Math.min(n, rate * (t - sendStart)));

  // The event source mapping's workers: its documented ramp from the first message.
  const mapped = (t: number) =>
    t < sendStart
      ? 0
      : Math.min(k.concurrency, LIMITS.esmInitial + (LIMITS.esmPerMinute / 60) * (t - sendStart));
  // Drain workers: one per n / concurrency chunks sent, fired `invokeInFlight` calls at a time per
  // leaf, running after a cold start, never more new environments than Lambda's scaling rate, and
  // gone when their time budget ends (they also end when the queue stays empty).
  const drainEnd = sendStart + ASSUMED.workerColdStart + k.workerTimeout - k.handBackMargin;
  const drained = (t: number) => {
    if (!s.directWorkers || t > drainEnd) return 0;
    const u = t - ASSUMED.workerColdStart;
    if (u < sendStart) return 0;
    const owed = Math.ceil((k.concurrency * sentAt(u)) / n);
    const calls = ((s.invokeInFlight * leaves) / ASSUMED.invokeAsync) * (u - sendStart);
    const scale = LIMITS.lambdaScalePer10s * (1 + Math.floor((t - sendStart) / 10));
    return Math.min(owed, calls, scale);
  };

  // Batches run whole: an idle worker takes a batch once its chunks are sent and ends it
  // `batchSeconds` later (a batch in flight is never partly done, so a job of fewer batches than
  // workers runs them side by side); the records then take its chunks at the recording ceiling.
  let t = 0;
  let done = 0;
  let finished = 0;
  let taken = 0;
  let busy1000 = Number.POSITIVE_INFINITY;
  const maxT = 48 * 3600;
  // End times of the batches in flight, in the order they began (each takes `batchSeconds`).
  const ends: number[] = [];
  const sizes: number[] = [];
  let head = 0;
  while (done < n && t < maxT) {
    const workers = Math.min(k.concurrency, mapped(t) + drained(t));
    if (workers >= 1_000 && n / b >= 1_000 && busy1000 === Number.POSITIVE_INFINITY) busy1000 = t;
    while (head < ends.length && ends[head]! <= t) finished += sizes[head++]!;
    const sent = sentAt(t);
    let idle = Math.floor(workers) - (ends.length - head);
    while (idle > 0 && (sent - taken >= b || (sent >= n && taken < n))) {
      const size = Math.min(b, n - taken);
      taken += size;
      ends.push(t + batchSeconds);
      sizes.push(size);
      idle--;
    }
    done = Math.min(finished, done + recordingCap * DT);
    t += DT;
  }
  // Then the finaliser, then the caller's next read.
  const endToEnd = t + ASSUMED.notice;
  return { ...base, fanout, busy1000, endToEnd };
}

/**
 * The per-chunk costs with what issue 10's shape adds per job and per batch, none of which the
 * counted run on main made: the coordinator invocations of the fan-out and the leaves' progress
 * records, the drain workers (an invocation and two empty long polls each), the shards' marks, and
 * the visibility calls (one ChangeMessageVisibilityBatch when a batch arrives, one per renewal).
 */
export function withJobCosts(
  s: Shape,
  p: PerChunk,
  n: number,
  batchSeconds: number,
  invocations: number,
  k: StackSettings = STACK,
): PerChunk {
  if (s.name !== 'issue10') return p;
  // As many as the concurrency, and no more than the job's batches (engine/fanout.ts chunksPerWorker).
  const drains = Math.min(k.concurrency, Math.ceil(n / k.batchSize));
  const renewals = Math.floor(batchSeconds / (s.visibility(k.workerTimeout) / 3));
  const batches = n / k.batchSize;
  return {
    ...p,
    sqs: p.sqs + (2 * drains + batches * (1 + renewals)) / n,
    lambda: p.lambda + (invocations + drains) / n,
    wru: p.wru + (n / s.group + s.shards(n)) / n,
  };
}

/** USD per million tasks of everything but the workers' compute. */
export function costPerMillionTasks(
  p: PerChunk,
  tasksPerChunk: number,
  prices: Prices = LIST_PRICES,
): number {
  const perChunk =
    p.sqs * prices.sqsRequest +
    p.lambda * prices.lambdaRequest +
    p.s3Put * prices.s3Put +
    p.s3Get * prices.s3Get +
    p.wru * prices.wru +
    p.rru * prices.rru;
  return (perChunk * 1e6) / tasksPerChunk;
}
