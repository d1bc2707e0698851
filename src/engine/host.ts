/**
 * The worker host: takes batches of chunk messages from the work queue, runs each chunk's items on
 * the executor (a thread pool), records each result exactly once, finalises the job when its last
 * chunk is recorded, and acknowledges. The same code runs in the local context and in the worker
 * Lambda. docs/protocol.md walks through what happens if the host dies after each step.
 *
 * This file is the loop (receive, group, track, settle, hand back); the steps it drives live
 * beside it: `chunk-input.ts` (fetch a chunk's input), `recorder.ts` (record results once),
 * `finaliser.ts` (end a job once), `process-runs.ts` (run a `Process` at most once), `holdings.ts`
 * (the deliveries held: kept invisible, settled once, handed back) and `host-life.ts` (the life
 * and the fault points they share).
 *
 * Two ways in: the host's own receive loop ({@link Host.start}: the local context, and a worker
 * Lambda draining the queue) and batches received by someone else ({@link Host.processBatch}: the
 * event source mapping's). Either way every held message has a short visibility (`visibilityMs`)
 * renewed while it is worked on, and {@link Host.handBack} makes every unfinished one visible again
 * at once when the host must stop early (a Lambda nearing its timeout).
 */
import { randomUUID } from 'node:crypto';
import { JobCancelledError, ProtocolError, serializeError } from '../errors.js';
import type { Backend, ChunkAttempt, Delivery, JobRef, WorkMessage } from '../ports.js';
import { type ChunkMessage, inlineChunk } from './chunk-input.js';
import type { ChunkExecutor } from './executor.js';
import { Finaliser } from './finaliser.js';
import { GroupResults, type Ran } from './group-results.js';
import { Holdings } from './holdings.js';
import { CRASH, ENDED, type FaultPlan, HostLife } from './host-life.js';
import { ProcessRuns } from './process-runs.js';
import { parseWorkMessage } from './protocol.js';
import { ReceiveLoop } from './receive-loop.js';
import { recordResults } from './recorder.js';
import type { ChunkOutcome, ChunkRun, InlineChunk } from './run-chunk.js';

export type { FaultPlan, HostStep } from './host-life.js';

/** Options of {@link Host}. */
export interface HostOptions {
  readonly backend: Backend;
  readonly executor: ChunkExecutor;
  /**
   * How long each held message stays invisible: asked for on receive (or set at once on a batch
   * handed in), and renewed every third of it while its chunk runs. A host that dies loses its
   * messages after at most this long.
   */
  readonly visibilityMs: number;
  /** Finaliser lease. */
  readonly leaseMs: number;
  /** Chunk messages in flight in this host. @default executor.parallelism * 64 */
  readonly capacity?: number;
  /** Long-poll wait of each receive. @default 1000 */
  readonly waitMs?: number;
  /** Identifies this host as a finaliser lease owner. @default a random UUID */
  readonly owner?: string;
  /** Called with errors that are not a job's (malformed messages, adapter failures). */
  readonly onError?: (error: unknown) => void;
  readonly faults?: FaultPlan;
}

/** Options of {@link Host.processBatch} and {@link Host.handBack}. */
export interface HandBackOptions {
  /**
   * Epoch ms at which the batch's unfinished deliveries are handed back ({@link Host.handBack}):
   * a Lambda's end less a margin. @default never
   */
  readonly deadline?: number;
  /** The time limit the deadline comes from (the function's timeout), for the chunks' error note. */
  readonly limitMs?: number;
}

/** What became of a batch handed to {@link Host.processBatch}. */
export interface BatchOutcome {
  /** Deliveries handed back unfinished at the deadline: visible again, never acknowledged here. */
  readonly handedBack: readonly Delivery[];
}

/** Chunks with fewer items than this share thread round trips with other chunks of their job. */
const SMALL_CHUNK = 256;

interface Taken {
  readonly d: Delivery;
  readonly m: ChunkMessage;
}

/** The job's layout a chunk message carries, when it carries all of it. */
function layoutOf(m: ChunkMessage): JobRef | undefined {
  return m.shards === undefined || m.deadline === undefined
    ? undefined
    : { shards: m.shards, deadline: m.deadline };
}

/** Consumes the work queue. */
export class Host {
  readonly #o: HostOptions;
  readonly #life: HostLife;
  readonly #finaliser: Finaliser;
  readonly #processes: ProcessRuns;
  /** This host's id: its finaliser-lease owner, and the worker named in its chunks' attempts. */
  readonly #owner: string;
  readonly #holdings: Holdings;
  readonly #receiver: ReceiveLoop;
  /** Wakes {@link stop} when work ends. */
  #wake: (() => void) | undefined;

  constructor(options: HostOptions) {
    this.#o = options;
    const { backend, executor, leaseMs, onError } = options;
    this.#life = new HostLife(options.faults, () => this.kill());
    const life = this.#life;
    const jobEnded = (jobId: string) => this.jobEnded(jobId);
    const owner = options.owner ?? randomUUID();
    this.#owner = owner;
    this.#finaliser = new Finaliser({ backend, executor, owner, leaseMs, life, jobFailed: jobEnded });
    this.#processes = new ProcessRuns({
      backend,
      leaseMs,
      life,
      finaliser: this.#finaliser,
      jobEnded,
      ack: (ds) => this.#ack(ds),
      release: (ds, ms) => this.#release(ds, ms),
      onError,
    });
    this.#holdings = new Holdings({
      backend,
      executor,
      visibilityMs: options.visibilityMs,
      alive: () => !life.dead,
      onError,
    });
    this.#receiver = new ReceiveLoop({
      queue: backend.queue,
      visibilityMs: options.visibilityMs,
      waitMs: options.waitMs ?? 1000,
      capacity: options.capacity ?? executor.parallelism * 64,
      held: () => this.#holdings.size,
      dispatch: (got) => void this.#dispatch(got),
      dead: () => life.dead,
      onError,
    });
  }

  /** Starts consuming. A host stopped (or handed back) may be started again. */
  start(): void {
    if (!this.#life.dead) this.#receiver.start();
  }

  /**
   * Stops receiving and waits for the chunks in flight to be recorded and acknowledged (those
   * handed back excepted: their work is abandoned).
   */
  async stop(): Promise<void> {
    this.#receiver.halt();
    await this.#receiver.ended();
    while (this.#holdings.busy()) await new Promise<void>((r) => (this.#wake = r));
  }

  /** Dies at once, as a process would: nothing in flight is recorded or acknowledged any more. */
  kill(): void {
    this.#life.kill();
    this.#receiver.halt();
    this.#holdings.stop();
    this.#wakeUp();
  }

  /**
   * Processes a batch of deliveries that this host did not receive itself: the worker Lambda's
   * event source mapping hands it one. The same steps as the receive loop, on the same executor.
   * First every delivery's visibility is set to `visibilityMs` with one batched call (the mapping
   * received them with the queue's long visibility), answered before any chunk starts, then
   * renewed while the batch runs.
   *
   * Resolves once every delivery is settled through the backend's queue (acknowledged, or made
   * visible again), or at `deadline`, once the unfinished ones are handed back ({@link handBack});
   * never rejects: an error is reported to `onError` and leaves its delivery unsettled, so that
   * the caller retries it. Call it without {@link start}.
   */
  async processBatch(deliveries: readonly Delivery[], options: HandBackOptions = {}): Promise<BatchOutcome> {
    const receipts = deliveries.map((d) => d.receipt);
    const holding = this.#holdings.beginBatch(receipts);
    let timer: NodeJS.Timeout | undefined;
    try {
      // Nothing runs before the batch is held for visibilityMs: a container killed while running
      // it (out of memory, a crash of the runtime) then loses it for that long, never for the
      // queue's timeout. It costs the batch one request's wait (the call never rejects), and
      // makes the hand-back's `0` land after it, never before.
      await holding;
      const work = Promise.all(this.#dispatch(deliveries)).then(() => 'done' as const);
      const { deadline } = options;
      const late =
        deadline === undefined
          ? undefined
          : new Promise<'late'>((r) => {
              timer = setTimeout(() => r('late'), Math.max(0, deadline - Date.now()));
            });
      const first = await (late ? Promise.race([work, late]) : work);
      return { handedBack: first === 'late' ? await this.handBack(options) : [] };
    } finally {
      clearTimeout(timer);
      this.#holdings.endBatch(receipts);
    }
  }

  /**
   * Gives up every delivery this host holds unfinished, at once: it stops receiving, stops the
   * threads running their chunks, notes a `ChunkTimeLimitError` for each chunk that was running
   * (its last error, should it reach the dead-letter queue), and makes them all visible again with
   * one batched call. Their work is abandoned: nothing more is acknowledged or released for them
   * here (a result that a thread finished meanwhile may still be recorded, which a redelivery then
   * finds). Resolves with the deliveries handed back.
   */
  async handBack(options: Pick<HandBackOptions, 'limitMs'> = {}): Promise<Delivery[]> {
    this.#receiver.halt();
    const handed = await this.#holdings.handBack(options.limitMs);
    this.#wakeUp();
    return handed;
  }

  /**
   * Resolves once `polls` receives in a row found the queue empty while nothing was in flight
   * (the receive loop's idle signal: a draining worker ends there).
   */
  idle(polls: number): Promise<void> {
    return this.#receiver.idle(polls);
  }

  /** Deliveries the host's own loop received so far. */
  get received(): number {
    return this.#receiver.received;
  }

  /** The jobs of the chunks in progress here. */
  heldJobs(): string[] {
    return this.#holdings.jobs();
  }

  /** True after {@link kill} or a fault plan's crash. */
  get dead(): boolean {
    return this.#life.dead;
  }

  /** Marks a job as ended (failed, cancelled, done): its queued chunks are skipped, running ones stopped. */
  jobEnded(jobId: string): void {
    this.#life.noteEnded(jobId);
    this.#o.executor.cancelJob(jobId);
  }

  /** Work ended: the loop may receive again, and {@link stop} may be done waiting. */
  #wakeUp(): void {
    this.#receiver.roomFreed();
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Starts the work of each delivery; returns promises that settle when each piece of it ends. */
  #dispatch(got: readonly Delivery[]): Promise<void>[] {
    const started: Promise<void>[] = [];
    const byJob = new Map<string, Taken[]>();
    for (const d of got) {
      let m: WorkMessage;
      try {
        m = parseWorkMessage(d.body);
      } catch (e) {
        // Not ours to drop: let it cycle to the dead-letter queue, where it is reported.
        this.#o.onError?.(e);
        started.push(this.#release([d], 0).catch((e) => this.#o.onError?.(e)));
        continue;
      }
      if (m.type === 'finalise') {
        started.push(this.#track([{ d, m: undefined }], this.#finaliseMessage(d, m.jobId)));
        continue;
      }
      const list = byJob.get(m.jobId);
      if (list) list.push({ d, m });
      else byJob.set(m.jobId, [{ d, m }]);
    }
    const { executor } = this.#o;
    for (const list of byJob.values()) {
      // Small chunks share a thread round trip (≈100 µs each here), spread over the threads;
      // a chunk of many items is a round trip's worth of work on its own.
      // A redelivered chunk may be one that crashed its thread: it runs alone, on a thread with
      // nothing else in flight, so that a further crash is blamed on it and on no bystander.
      // A Process chunk never shares a group: each delivery (a duplicate too) claims its run alone.
      const groupable = (t: Taken) =>
        executor.batching &&
        t.d.receiveCount === 1 &&
        t.m.input.count < SMALL_CHUNK &&
        t.m.process === undefined;
      const small = list.filter(groupable);
      const size = Math.max(1, Math.ceil(small.length / executor.parallelism));
      for (let i = 0; i < small.length; i += size) started.push(this.#start(small.slice(i, i + size)));
      for (const t of list) if (!groupable(t)) started.push(this.#start([t]));
    }
    return started;
  }

  #start(group: Taken[]): Promise<void> {
    return this.#track(group, this.#runGroup(group));
  }

  /** Holds the deliveries until `work` ends; the returned promise never rejects. */
  #track(taken: readonly { d: Delivery; m: ChunkMessage | undefined }[], work: Promise<void>): Promise<void> {
    this.#holdings.take(taken);
    return work
      .catch((e) => {
        if (e !== CRASH) this.#o.onError?.(e);
      })
      .finally(() => {
        this.#holdings.done(taken.map((t) => t.d));
        this.#wakeUp();
      });
  }

  /** True once any delivery of the group was handed back: its work is abandoned. */
  #abandoned(group: readonly Taken[]): boolean {
    return this.#holdings.abandoned(group.map((t) => t.d));
  }

  async #runGroup(group: readonly Taken[]): Promise<void> {
    const { backend, executor } = this.#o;
    const { store } = backend;
    const life = this.#life;
    const first = group[0]!;
    const jobId = first.m.jobId;
    if (life.hasEnded(jobId)) return this.#ack(group.map((t) => t.d));
    for (const t of group) life.step('received', t.m);
    let chunks: InlineChunk[];
    try {
      chunks = await Promise.all(group.map((t) => inlineChunk(t.m, backend)));
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // An input blob is gone: the job was deleted (its caller is gone) or something is badly wrong.
      const job = await store.getJob(jobId);
      if (job && !ENDED.has(job.status)) {
        await store.failJob(jobId, { ...serializeError(e), reason: 'internal' });
      }
      this.jobEnded(jobId);
      return this.#ack(group.map((t) => t.d));
    }
    life.live();
    if (this.#abandoned(group)) return;
    const process = first.m.process !== undefined;
    const owner = process ? await this.#processes.claim(first.d, first.m) : undefined;
    if (process && owner === undefined) return;
    const renewal = owner === undefined ? undefined : this.#processes.renew(first.m, owner);
    const startedAt = Date.now();
    const t0 = performance.now();
    // Each chunk's result is recorded (and its message acknowledged) as soon as its thread reports
    // it, while the rest of the group runs (group-results.ts).
    const results = new GroupResults({
      record: (at, done) =>
        this.#record(
          at.map((k) => group[k]!),
          done,
        ),
      ended: () => life.hasEnded(jobId),
    });
    const reported = new Set<number>();
    /** The chunks marked running (held and blamed for a time limit), from the group's first on. */
    const started = new Set<number>([0]);
    const onOutcome = (k: number, outcome: ChunkOutcome) => {
      reported.add(k);
      // The group's next unreported chunk starts now (on its thread, or on an idle thread that took
      // it: then it may have started already, and is marked late, which only delays its blame).
      const next = group.findIndex((_, i) => !reported.has(i) && !started.has(i));
      if (next >= 0) {
        started.add(next);
        this.#holdings.running([group[next]!.d]);
      }
      if (!outcome.ok) return;
      // An executor that does not time each chunk (a test's) gets the group's time so far, shared out.
      const run = outcome.run ?? { thread: 0, startedAt, ms: (performance.now() - t0) / reported.size };
      results.add(k, { result: outcome.result, run });
    };
    // Only the group's first chunk runs yet; the rest wait behind it, held (renewed, handed back at
    // a deadline) but not blamed for a time limit they never ran into.
    this.#holdings.running([first.d]);
    let outcomes: readonly (ChunkOutcome | undefined)[];
    try {
      outcomes = await executor.run(chunks, { exclusive: first.d.receiveCount > 1, onOutcome });
    } catch (e) {
      clearInterval(renewal);
      if (e instanceof JobCancelledError) results.abandon();
      await results.done();
      life.live();
      // Handed back: its threads were stopped on purpose, and the message is someone else's now.
      if (this.#abandoned(group)) return;
      // The chunks that ran are recorded; the first of the rest was running (executor.ts).
      const rest = results.unrecorded(group);
      if (e instanceof JobCancelledError) return this.#ack(rest.map((t) => t.d));
      // A process runs at most once: its thread died, so the process has ended, as a CPython
      // child killed by a signal has (no redelivery would be allowed to run it anyway).
      if (process) return this.#processes.interrupted(first.d, first.m, serializeError(e));
      // The thread died: note why, blaming the chunk it was running (the dead-letter handler names
      // it, not a bystander queued behind it), then hand the messages back for redelivery (the
      // receive count grows; past the queue's maximum the message goes to the dead-letter queue).
      const err = serializeError(e);
      if (rest[0]) err.chunkIndex = rest[0].m.index;
      await Promise.all(
        rest.map((t) => store.noteChunkError(jobId, t.m.index, { ...err, attempt: t.d.receiveCount })),
      );
      await this.#release(
        rest.map((t) => t.d),
        0,
      );
      return;
    }
    clearInterval(renewal);
    // An executor may answer without reporting ahead (a Process's own thread): the rest here.
    outcomes.forEach((o, k) => {
      if (o && !reported.has(k)) onOutcome(k, o);
    });
    // A task error fails the job; the rest of the group (not run, or still running on another
    // thread: the job's cancellation stops it) belongs to it.
    const failed = outcomes.find((o) => o?.ok === false);
    if (failed && !failed.ok) {
      life.live();
      results.abandon();
      await store.failJob(jobId, { ...failed.error, reason: 'task' });
      this.jobEnded(jobId);
      await results.done();
      return this.#ack(results.unrecorded(group).map((t) => t.d));
    }
    await results.done();
    // The job ended while the group ran: what was not recorded is acknowledged unrecorded.
    const rest = results.unrecorded(group);
    if (rest.length > 0) await this.#ack(rest.map((t) => t.d));
  }

  /**
   * Records the results of `taken` (consecutive chunks of one group), then settles their messages:
   * acknowledged, except the last when it saw its job's last chunk recorded and must carry the
   * finalisation until the finaliser's lease ends.
   */
  async #record(taken: readonly Taken[], done: readonly Ran[]): Promise<void> {
    const life = this.#life;
    const first = taken[0]!;
    const jobId = first.m.jobId;
    for (const t of taken) life.step('ran', t.m);
    const results = taken.map(({ m, d }, k) => {
      const { result, run } = done[k]!;
      return { index: m.index, result, attempt: this.#attempt(run, d, m) };
    });
    const after = await recordResults(this.#o.backend, life, jobId, results, layoutOf(first.m));
    for (const t of taken) life.step('recorded', t.m);
    const carrier = taken[taken.length - 1]!;
    if (ENDED.has(after.status)) {
      life.noteEnded(jobId);
    } else if (this.#abandoned(taken)) {
      // Recorded after all, but handed back: the redelivery finds it recorded and finalises.
      return;
    } else if (after.complete) {
      // These results completed the job: the first time, or a redelivery after a host died before
      // finalising (RUNNING) or while holding the finaliser lease (FOLDING).
      const retry = await this.#finaliser.finalise(jobId, carrier.m);
      if (retry !== undefined) {
        // The carrier keeps its message until the lease ends, so someone finalises for sure.
        await this.#release([carrier.d], retry);
        return this.#ack(taken.slice(0, -1).map((t) => t.d));
      }
    }
    await this.#ack(taken.map((t) => t.d));
  }

  /** The attempt record of a chunk that ran as `run` said, for this delivery of `m`. */
  #attempt(run: ChunkRun, d: Delivery, m: ChunkMessage): ChunkAttempt {
    return {
      worker: this.#owner,
      thread: run.thread,
      startedAt: run.startedAt,
      ms: run.ms,
      attempt: d.receiveCount,
      ...(m.backup ? { backup: true as const } : {}),
    };
  }

  async #finaliseMessage(d: Delivery, jobId: string): Promise<void> {
    const m: WorkMessage = { v: 1, type: 'finalise', jobId };
    this.#life.step('received', m);
    const retry = await this.#finaliser.finalise(jobId, m);
    if (retry !== undefined) await this.#release([d], retry);
    else await this.#ack([d]);
  }

  async #ack(ds: readonly Delivery[]): Promise<void> {
    this.#life.live();
    await this.#holdings.ack(ds);
  }

  async #release(ds: readonly Delivery[], ms: number): Promise<void> {
    this.#life.live();
    await this.#holdings.release(ds, ms);
  }
}
