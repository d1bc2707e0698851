/**
 * The worker host: takes batches of chunk messages from the work queue, runs each chunk's items on
 * the executor (a thread pool), records each result exactly once, finalises the job when its last
 * chunk is recorded, and acknowledges. The same code runs in the local context and in the worker
 * Lambda. docs/protocol.md walks through what happens if the host dies after each step.
 *
 * This file is the loop (receive, group, track, heartbeat, settle); the steps it drives live
 * beside it: `chunk-input.ts` (fetch a chunk's input), `recorder.ts` (record results once),
 * `finaliser.ts` (end a job once), `process-runs.ts` (run a `Process` at most once), and
 * `host-life.ts` (the life and the fault points they share).
 */
import { randomUUID } from 'node:crypto';
import { JobCancelledError, ProtocolError, serializeError } from '../errors.js';
import type { Backend, ChunkAttempt, Delivery, JobRef, WorkMessage } from '../ports.js';
import { type ChunkMessage, inlineChunk } from './chunk-input.js';
import type { ChunkExecutor } from './executor.js';
import { Finaliser } from './finaliser.js';
import { CRASH, ENDED, type FaultPlan, HostLife } from './host-life.js';
import { ProcessRuns } from './process-runs.js';
import { parseWorkMessage } from './protocol.js';
import { recordResults } from './recorder.js';
import type { ChunkOutcome, ChunkRun, InlineChunk } from './run-chunk.js';

export type { FaultPlan, HostStep } from './host-life.js';

/** Options of {@link Host}. */
export interface HostOptions {
  readonly backend: Backend;
  readonly executor: ChunkExecutor;
  /** Visibility timeout asked for on receive; in-flight messages are extended before it ends. */
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

/** Messages gathered per dispatch when they are already waiting. */
const DRAIN_MAX = 256;
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
  readonly #capacity: number;
  readonly #life: HostLife;
  readonly #finaliser: Finaliser;
  readonly #processes: ProcessRuns;
  /** This host's id: its finaliser-lease owner, and the worker named in its chunks' attempts. */
  readonly #owner: string;
  #running = false;
  #inFlight = 0;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();
  /** Receipts in flight, for the visibility heartbeat. */
  readonly #receipts = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** A heartbeat round is still waiting for its answers. */
  #extending = false;

  constructor(options: HostOptions) {
    this.#o = options;
    const { backend, executor, leaseMs, onError } = options;
    this.#capacity = options.capacity ?? executor.parallelism * 64;
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
      onError,
    });
  }

  /** Starts consuming. */
  start(): void {
    if (this.#running || this.#life.dead) return;
    this.#running = true;
    this.#loop = this.#run();
    this.#heartbeat = setInterval(() => this.#extend(), Math.max(10, this.#o.visibilityMs / 3));
    this.#heartbeat.unref();
  }

  /** Stops receiving and waits for the chunks in flight to be recorded and acknowledged. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    while (this.#inFlight > 0) await new Promise<void>((r) => (this.#wake = r));
    clearInterval(this.#heartbeat);
  }

  /** Dies at once, as a process would: nothing in flight is recorded or acknowledged any more. */
  kill(): void {
    this.#life.kill();
    this.#running = false;
    this.#abort.abort();
    this.#wake?.();
    clearInterval(this.#heartbeat);
  }

  /**
   * Processes a batch of deliveries that this host did not receive itself: the worker Lambda's
   * event source mapping hands it one. The same steps as the receive loop, on the same executor;
   * resolves once every delivery is settled through the backend's queue (acknowledged, or made
   * visible again), and never rejects: an error is reported to `onError` and leaves its delivery
   * unsettled, so that the caller retries it. Call it without {@link start}.
   */
  async processBatch(deliveries: readonly Delivery[]): Promise<void> {
    await Promise.all(this.#dispatch(deliveries));
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

  async #run(): Promise<void> {
    const { queue } = this.#o.backend;
    while (this.#running) {
      const room = this.#capacity - this.#inFlight;
      // Refill in bulk, not one message per completion: a quarter of the capacity at a time keeps
      // small chunks grouped into few thread round trips.
      if (room <= 0 || (this.#inFlight > 0 && room < this.#capacity / 4)) {
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      let got: Delivery[];
      try {
        got = await queue.receive({
          max: Math.min(10, room),
          waitMs: this.#o.waitMs ?? 1000,
          visibilityMs: this.#o.visibilityMs,
          signal: this.#abort.signal,
        });
        // Drain what is already waiting (up to the room left) without waiting, so small chunks
        // share thread round trips: one receive returns at most 10 messages, as on SQS.
        while (got.length > 0 && got.length < Math.min(room, DRAIN_MAX) && this.#running) {
          const more = await queue.receive({
            max: Math.min(10, room - got.length),
            waitMs: 0,
            visibilityMs: this.#o.visibilityMs,
          });
          if (more.length === 0) break;
          got = got.concat(more);
        }
      } catch (e) {
        if (!this.#running) break;
        this.#o.onError?.(e);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      if (this.#life.dead) return;
      if (!this.#running) {
        // Stopped while receiving: hand the messages back at once rather than sitting on them.
        await Promise.all(got.map((d) => queue.setVisibility(d.receipt, 0)));
        return;
      }
      this.#dispatch(got);
    }
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
        started.push(this.#o.backend.queue.setVisibility(d.receipt, 0).catch((e) => this.#o.onError?.(e)));
        continue;
      }
      if (m.type === 'finalise') {
        started.push(this.#track([d], this.#finaliseMessage(d, m.jobId)));
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
    return this.#track(
      group.map((t) => t.d),
      this.#runGroup(group),
    );
  }

  /** Counts the deliveries in flight until `work` ends; the returned promise never rejects. */
  #track(ds: readonly Delivery[], work: Promise<void>): Promise<void> {
    this.#inFlight += ds.length;
    for (const d of ds) this.#receipts.add(d.receipt);
    return work
      .catch((e) => {
        if (e !== CRASH) this.#o.onError?.(e);
      })
      .finally(() => {
        this.#inFlight -= ds.length;
        for (const d of ds) this.#receipts.delete(d.receipt);
        const w = this.#wake;
        this.#wake = undefined;
        w?.();
      });
  }

  async #runGroup(group: readonly Taken[]): Promise<void> {
    const { backend, executor } = this.#o;
    const { queue, store } = backend;
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
    const process = first.m.process !== undefined;
    const owner = process ? await this.#processes.claim(first.d, first.m) : undefined;
    if (process && owner === undefined) return;
    const renewal = owner === undefined ? undefined : this.#processes.renew(first.m, owner);
    let outcomes: ChunkOutcome[];
    const startedAt = Date.now();
    const t0 = performance.now();
    try {
      outcomes = await executor.run(chunks, { exclusive: first.d.receiveCount > 1 });
    } catch (e) {
      clearInterval(renewal);
      life.live();
      if (e instanceof JobCancelledError) return this.#ack(group.map((t) => t.d));
      // A process runs at most once: its thread died, so the process has ended, as a CPython
      // child killed by a signal has (no redelivery would be allowed to run it anyway).
      if (process) return this.#processes.interrupted(first.d, first.m, serializeError(e));
      // The thread died: note why, then hand the messages back for redelivery (the receive count
      // grows; past the queue's maximum the message goes to the dead-letter queue).
      const err = serializeError(e);
      await Promise.all(group.map((t) => store.noteChunkError(jobId, t.m.index, err)));
      await Promise.all(group.map((t) => queue.setVisibility(t.d.receipt, 0)));
      return;
    }
    clearInterval(renewal);
    for (const t of group) life.step('ran', t.m);
    // A task error fails the job; the rest of the group (not run: the outcomes end with the
    // failure) belongs to it.
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      life.live();
      await store.failJob(jobId, { ...failed.error, reason: 'task' });
      this.jobEnded(jobId);
      return this.#ack(group.map((t) => t.d));
    }
    // An executor that does not time each chunk (a test's) gets the group's time, shared out.
    const shared: ChunkRun = { thread: 0, startedAt, ms: (performance.now() - t0) / group.length };
    const results = group.map(({ m, d }, k) => {
      const outcome = outcomes[k] as Extract<ChunkOutcome, { ok: true }>;
      return { index: m.index, result: outcome.result, attempt: this.#attempt(outcome.run ?? shared, d, m) };
    });
    const after = await recordResults(backend, life, jobId, results, layoutOf(first.m));
    for (const t of group) life.step('recorded', t.m);
    const carrier = group[group.length - 1]!;
    if (ENDED.has(after.status)) {
      life.noteEnded(jobId);
    } else if (after.complete) {
      // This group found every chunk recorded: the first time, or a redelivery after a host died
      // before finalising (RUNNING) or while holding the finaliser lease (FOLDING).
      const retry = await this.#finaliser.finalise(jobId, carrier.m);
      if (retry !== undefined) {
        // The carrier keeps its message until the lease ends, so someone finalises for sure.
        await queue.setVisibility(carrier.d.receipt, retry);
        return this.#ack(group.slice(0, -1).map((t) => t.d));
      }
    }
    await this.#ack(group.map((t) => t.d));
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
    if (retry !== undefined) await this.#o.backend.queue.setVisibility(d.receipt, retry);
    else await this.#ack([d]);
  }

  async #ack(ds: readonly Delivery[]): Promise<void> {
    this.#life.live();
    if (ds.length > 0) await this.#o.backend.queue.ack(ds.map((d) => d.receipt));
  }

  /**
   * Keeps in-flight messages invisible while their chunks run (long tasks are not redelivered).
   * One round at a time: on a slow queue service, rounds started every third of the visibility
   * without waiting for the last piled up (thousands of requests queued behind the client's
   * sockets, measured on a loaded emulator) and starved the acknowledgements and job writes.
   */
  #extend(): void {
    if (!this.#running || this.#extending || this.#receipts.size === 0) return;
    const { queue } = this.#o.backend;
    this.#extending = true;
    const round = [...this.#receipts].map((r) =>
      queue.setVisibility(r, this.#o.visibilityMs).catch((e) => this.#o.onError?.(e)),
    );
    void Promise.all(round).finally(() => {
      this.#extending = false;
    });
  }
}
