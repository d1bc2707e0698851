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
import type { Backend, Delivery, WorkMessage } from '../ports.js';
import { type ChunkMessage, inlineChunk } from './chunk-input.js';
import type { Encoded } from './codec.js';
import type { ChunkExecutor } from './executor.js';
import { Finaliser } from './finaliser.js';
import { GroupResults } from './group-results.js';
import { CRASH, ENDED, type FaultPlan, HostLife } from './host-life.js';
import { ProcessRuns } from './process-runs.js';
import { parseWorkMessage } from './protocol.js';
import { recordResults } from './recorder.js';
import type { ChunkOutcome, InlineChunk } from './run-chunk.js';

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

/** Consumes the work queue. */
export class Host {
  readonly #o: HostOptions;
  readonly #capacity: number;
  readonly #life: HostLife;
  readonly #finaliser: Finaliser;
  readonly #processes: ProcessRuns;
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
    // Each chunk's result is recorded (and its message acknowledged) as soon as its thread reports
    // it, while the rest of the group runs (group-results.ts).
    const results = new GroupResults({
      record: (from, encoded) => this.#record(group.slice(from, from + encoded.length), encoded),
    });
    let reported = 0;
    const onOutcome = (k: number, outcome: ChunkOutcome) => {
      reported = k + 1;
      if (outcome.ok) results.add(outcome.result);
    };
    let outcomes: ChunkOutcome[];
    try {
      outcomes = await executor.run(chunks, { exclusive: first.d.receiveCount > 1, onOutcome });
    } catch (e) {
      clearInterval(renewal);
      await results.done();
      life.live();
      // The chunks the thread finished are recorded; the first of the rest was running.
      const rest = group.slice(results.recorded);
      if (e instanceof JobCancelledError) return this.#ack(rest.map((t) => t.d));
      // A process runs at most once: its thread died, so the process has ended, as a CPython
      // child killed by a signal has (no redelivery would be allowed to run it anyway).
      if (process) return this.#processes.interrupted(first.d, first.m, serializeError(e));
      // The thread died: note why, blaming the chunk it was running (the dead-letter handler names
      // it, not a bystander queued behind it), then hand the messages back for redelivery (the
      // receive count grows; past the queue's maximum the message goes to the dead-letter queue).
      const err = serializeError(e);
      if (rest[0]) err.chunkIndex = rest[0].m.index;
      await Promise.all(rest.map((t) => store.noteChunkError(jobId, t.m.index, err)));
      await Promise.all(rest.map((t) => queue.setVisibility(t.d.receipt, 0)));
      return;
    }
    clearInterval(renewal);
    // An executor may answer without reporting ahead (a Process's own thread): the rest here.
    for (let k = reported; k < outcomes.length; k++) onOutcome(k, outcomes[k]!);
    // A task error fails the job; the rest of the group (not run: the outcomes end with the
    // failure) belongs to it.
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      life.live();
      await store.failJob(jobId, { ...failed.error, reason: 'task' });
      this.jobEnded(jobId);
      await results.done();
      return this.#ack(group.slice(results.recorded).map((t) => t.d));
    }
    await results.done();
  }

  /**
   * Records the results of `taken` (consecutive chunks of one group), then settles their messages:
   * acknowledged, except the last when it saw its job's last chunk recorded and must carry the
   * finalisation until the finaliser's lease ends.
   */
  async #record(taken: readonly Taken[], encoded: readonly Encoded[]): Promise<void> {
    const life = this.#life;
    const jobId = taken[0]!.m.jobId;
    for (const t of taken) life.step('ran', t.m);
    const results = taken.map(({ m }, k) => ({ index: m.index, result: encoded[k]! }));
    const after = await recordResults(this.#o.backend, life, jobId, results);
    for (const t of taken) life.step('recorded', t.m);
    const carrier = taken[taken.length - 1]!;
    if (ENDED.has(after.status)) {
      life.noteEnded(jobId);
    } else if (after.total !== undefined && after.done === after.total) {
      // These results were the last chunks recorded: the first time, or a redelivery after a host
      // died before finalising (RUNNING) or while holding the finaliser lease (FOLDING).
      const retry = await this.#finaliser.finalise(jobId, carrier.m);
      if (retry !== undefined) {
        // The carrier keeps its message until the lease ends, so someone finalises for sure.
        this.#receipts.delete(carrier.d.receipt);
        await this.#o.backend.queue.setVisibility(carrier.d.receipt, retry);
        return this.#ack(taken.slice(0, -1).map((t) => t.d));
      }
    }
    await this.#ack(taken.map((t) => t.d));
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
    // Acknowledged before the rest of their group: no more heartbeats for them.
    for (const d of ds) this.#receipts.delete(d.receipt);
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
