/**
 * The fan-out tree: how a job's chunk messages reach the work queue without any one invocation's
 * time or memory growing with the job (docs/protocol.md, "Fan-out"). A range of chunks `[from, to)`
 * larger than `leafChunks` is split into at most `width` sub-ranges, each handed to an asynchronous
 * invocation of the coordinator (`fanout` requests, through the {@link Invoker}); a range of at most
 * `leafChunks` is a leaf, which the invocation sends itself, a group at a time:
 *
 * - each group's messages are built from the job's plan (`job-plan.ts`), sent, and the leaf's
 *   progress recorded (`FanoutLedger.advance`), so that a retried or duplicated leaf resumes
 *   where the last group ended;
 * - before each group after the first, the time left is checked: a leaf whose next group would
 *   end past the invocation's deadline hands the rest on as a new `fanout` (a continuation) and
 *   returns, so an invocation never outlives its budget whatever the job's size;
 * - for every `perWorker` chunks sent, one drain worker is fired (`Invoker.workers`), so that
 *   workers start as soon as there is work instead of waiting for the event source mapping;
 * - once `jobCheckChunks` chunks went out since it last looked, the job is read again (one
 *   `getJob` before the next group), and a job that ended (cancelled, failed) or was released gets
 *   no more chunks: a caller's `terminate()` stops a large fan-out within that many chunks.
 *
 * Every step is idempotent: a chunk sent twice is recorded once (the store's exactly-once rule), a
 * range split twice sends duplicates that are refused the same way.
 */
import type { Backend, ChunkInput, DrainEvent, FanoutRequest, JobRecord, WorkMessage } from '../ports.js';
import { integer, optionalFunction } from '../validate.js';
import { type JobPlan, type PlanInput, planInputs } from './job-plan.js';
import { RECEIVE_MAX } from './receive-loop.js';

/** Options of the fan-out (the coordinator's). */
export interface FanoutOptions {
  /**
   * The most chunks one invocation sends itself; a larger range is split among further
   * invocations (when the backend has an invoker). @default 20_000
   */
  readonly leafChunks?: number;
  /** Sub-ranges a range is split into at most (the tree's fan-out). @default 16 */
  readonly width?: number;
  /**
   * Drain workers fired for a job at most, spread over its chunks; 0 fires none (the event source
   * mapping alone starts workers). @default 0
   */
  readonly workerBurst?: number;
  /**
   * A sender reads the job again before its next group once this many chunks went out since it
   * last looked, and stops when the job ended or was released. @default 500
   */
  readonly jobCheckChunks?: number;
  /** The time source, in epoch ms (the budget is checked against it). @default Date.now */
  readonly clock?: () => number;
  /** Told about what fails without failing the request: a drain worker that could not be fired. */
  readonly onError?: (error: unknown) => void;
}

/** One invocation's budget. */
export interface Invocation {
  /** Epoch ms by which the invocation must have handed on whatever it has not sent. @default none */
  readonly deadline?: number;
}

/** Builds chunk `index`'s message from the job, its plan and the chunk's input. */
export type MessageOf = (job: JobRecord, plan: JobPlan, index: number, input: ChunkInput) => WorkMessage;

/** A re-plannable plan input: the kinds any invocation can cut from the job alone. */
export type ReplannableInput = Extract<PlanInput, { kind: 'range' | 'lines' | 'segments' }>;

/**
 * Chunks per group: sent together, then progress recorded and the time left checked. About an
 * eighth of a leaf, 10 to 1,000, and a multiple of 10 so that every SendMessageBatch of a group is
 * full (a group of 125 took 13 calls where 12.5 would do).
 */
export function groupChunks(leafChunks: number): number {
  return Math.min(1000, Math.max(10, Math.ceil(leafChunks / 80) * 10));
}

/**
 * The chunks per drain worker for a job of `total` chunks, or undefined when none are fired. At
 * least a receive's worth ({@link RECEIVE_MAX}): a job gets no more drain workers than it has
 * batches of ten, so that each receive of a drain carries ten chunks, not a few shared among more
 * drains than there is work for.
 */
export function chunksPerWorker(total: number, burst: number): number | undefined {
  return burst > 0 && total > 0 ? Math.max(RECEIVE_MAX, Math.ceil(total / burst)) : undefined;
}

/** The sub-ranges a range is split into: at most `width`, each of at most `leaf` chunks when it can be. */
export function splitRange(from: number, to: number, leaf: number, width: number): [number, number][] {
  const n = to - from;
  const parts = Math.min(width, Math.ceil(n / leaf));
  const out: [number, number][] = [];
  for (let k = 0; k < parts; k++)
    out.push([from + Math.floor((n * k) / parts), from + Math.floor((n * (k + 1)) / parts)]);
  return out;
}

/** Sends, splits and hands on ranges of a job's chunks; see the module comment. */
export class FanOut {
  readonly #b: Backend;
  readonly #message: MessageOf;
  readonly #clock: () => number;
  readonly #onError: (error: unknown) => void;
  /** {@link FanoutOptions.leafChunks}. */
  readonly leafChunks: number;
  /** {@link FanoutOptions.width}. */
  readonly width: number;
  /** {@link FanoutOptions.workerBurst}. */
  readonly workerBurst: number;
  /** Chunks per group ({@link groupChunks}). */
  readonly group: number;
  /** {@link FanoutOptions.jobCheckChunks}. */
  readonly jobCheckChunks: number;

  constructor(backend: Backend, message: MessageOf, options: FanoutOptions = {}) {
    this.#b = backend;
    this.#message = message;
    this.leafChunks = integer(options.leafChunks ?? 20_000, 'options.leafChunks', 1);
    this.width = integer(options.width ?? 16, 'options.width', 2);
    this.workerBurst = integer(options.workerBurst ?? 0, 'options.workerBurst', 0);
    this.#clock = optionalFunction<() => number>(options.clock, 'options.clock') ?? Date.now;
    this.#onError = optionalFunction<(e: unknown) => void>(options.onError, 'options.onError') ?? (() => {});
    this.group = groupChunks(this.leafChunks);
    this.jobCheckChunks = integer(options.jobCheckChunks ?? 500, 'options.jobCheckChunks', 1);
  }

  /** Chunks per drain worker for a job of `total` chunks, when this backend can fire workers. */
  perWorker(total: number): number | undefined {
    return this.#b.invoker ? chunksPerWorker(total, this.workerBurst) : undefined;
  }

  /**
   * Sends chunks `[from, to)` of `job` (a leaf), or splits them among further invocations when
   * there are more than `leafChunks` of them and the backend has an invoker.
   */
  async spread(
    job: JobRecord,
    plan: JobPlan & { readonly input: ReplannableInput },
    from: number,
    to: number,
    perWorker: number | undefined,
    invocation: Invocation,
  ): Promise<void> {
    const { invoker } = this.#b;
    if (to - from > this.leafChunks && invoker) {
      const requests = splitRange(from, to, this.leafChunks, this.width).map(
        ([a, b]): FanoutRequest => fanoutRequest(job.id, a, b, perWorker),
      );
      await Promise.all(requests.map((r) => invoker.coordinator(r)));
      return;
    }
    await this.#leaf(job, plan, from, to, perWorker, invocation);
  }

  /**
   * Sends every chunk `[0, count)` whose messages `build` makes, a group at a time, firing drain
   * workers: the chunks of an inline plan, which only the invocation holding the request can send
   * (no progress is recorded and the budget does not apply: a request is a few MB at most).
   */
  async sendAll(
    jobId: string,
    count: number,
    perWorker: number | undefined,
    build: (from: number, to: number) => Promise<WorkMessage[]>,
  ): Promise<void> {
    const drains = new Drains(this.#b, jobId, perWorker, this.#onError);
    const wanted = new StillWanted(this.#b, jobId, this.jobCheckChunks);
    try {
      for (let at = 0; at < count; at += this.group) {
        if (!(await wanted.check(at))) return;
        const end = Math.min(count, at + this.group);
        await this.#b.queue.send(await build(at, end));
        drains.sent(end - at);
      }
    } finally {
      await drains.settle();
    }
  }

  async #leaf(
    job: JobRecord,
    plan: JobPlan & { readonly input: ReplannableInput },
    from: number,
    to: number,
    perWorker: number | undefined,
    invocation: Invocation,
  ): Promise<void> {
    const { queue, blobs, fanout: ledger, invoker } = this.#b;
    // A retried or duplicated leaf resumes after the last group recorded.
    const start = Math.min(to, Math.max(from, (await ledger?.progress(job.id, from)) ?? from));
    const drains = new Drains(this.#b, job.id, perWorker, this.#onError);
    const wanted = new StillWanted(this.#b, job.id, this.jobCheckChunks);
    let at = start;
    let lastGroupMs = 0;
    try {
      while (at < to) {
        // The job's state was read just before this invocation started (the request's check).
        if (!(await wanted.check(at - start))) return;
        // At least one group per invocation, so a chain of continuations always moves on.
        if (at > start && invoker && this.#outOfTime(invocation, lastGroupMs)) {
          await invoker.coordinator(fanoutRequest(job.id, at, to, perWorker));
          return;
        }
        const began = this.#clock();
        const end = Math.min(to, at + this.group);
        const inputs = await planInputs(plan.input, at, end, blobs);
        await queue.send(inputs.map((input, k) => this.#message(job, plan, at + k, input)));
        drains.sent(end - at);
        at = end;
        await ledger?.advance(job.id, from, at);
        lastGroupMs = this.#clock() - began;
      }
    } finally {
      await drains.settle();
    }
  }

  /** Whether a group as long as the last one would end past the invocation's deadline. */
  #outOfTime(invocation: Invocation, lastGroupMs: number): boolean {
    return invocation.deadline !== undefined && this.#clock() + lastGroupMs > invocation.deadline;
  }
}

/** A `fanout` request for chunks `[from, to)`. */
export function fanoutRequest(
  jobId: string,
  from: number,
  to: number,
  perWorker: number | undefined,
): FanoutRequest {
  return { v: 1, type: 'fanout', jobId, from, to, ...(perWorker === undefined ? {} : { perWorker }) };
}

/**
 * Whether a sender should go on with a job: read again once `every` chunks went out since the last
 * read (the invocation's request read it as it began). A job that is no longer RUNNING (cancelled,
 * failed; a FOLDING or DONE job has all its chunks) or was released needs no more chunks.
 */
class StillWanted {
  #lastAt = 0;
  constructor(
    private readonly b: Backend,
    private readonly jobId: string,
    private readonly every: number,
  ) {}

  /** Whether to send on, `sent` chunks into this invocation's sending. */
  async check(sent: number): Promise<boolean> {
    if (sent - this.#lastAt < this.every) return true;
    this.#lastAt = sent;
    const job = await this.b.store.getJob(this.jobId);
    return job !== undefined && job.status === 'RUNNING' && job.released !== true;
  }
}

/**
 * The drain workers one invocation owes: one per `perWorker` chunks it sent (rounded up), fired as
 * the chunks go out. Firing is best effort: the event source mapping runs every chunk anyway, so
 * a failure is reported, never thrown; every invocation is awaited before the sender returns (a
 * Lambda invocation is frozen once it returns).
 */
class Drains {
  readonly #pending: Promise<void>[] = [];
  #sent = 0;
  #fired = 0;

  constructor(
    private readonly b: Backend,
    private readonly jobId: string,
    private readonly perWorker: number | undefined,
    private readonly onError: (error: unknown) => void,
  ) {}

  sent(n: number): void {
    const { invoker } = this.b;
    if (!invoker || this.perWorker === undefined) return;
    this.#sent += n;
    const owed = Math.ceil(this.#sent / this.perWorker) - this.#fired;
    if (owed <= 0) return;
    this.#fired += owed;
    const event: DrainEvent = { v: 1, type: 'drain', jobId: this.jobId };
    this.#pending.push(invoker.workers(owed, event).catch(this.onError));
  }

  async settle(): Promise<void> {
    await Promise.all(this.#pending.splice(0));
  }
}
