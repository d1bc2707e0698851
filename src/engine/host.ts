/**
 * The worker host: takes batches of chunk messages from the work queue, runs each chunk's items on
 * the executor (a thread pool), records each result exactly once, finalises the job when its last
 * chunk is recorded, and acknowledges. The same code runs in the local context and in the worker
 * Lambda. docs/protocol.md walks through what happens if the host dies after each step.
 */
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  JobCancelledError,
  ProtocolError,
  type SerializedError,
  serializeError,
  WorkerCrashedError,
} from '../errors.js';
import type { Backend, ChunkInput, Data, Delivery, JobRecord, WorkMessage } from '../ports.js';
import { type Encoded, encodeList, spill, unspill } from './codec.js';
import type { ChunkExecutor } from './executor.js';
import { readLines, sourceName } from './lines.js';
import { parseWorkMessage } from './protocol.js';
import type { InlineChunk } from './run-chunk.js';

/**
 * The points between the host's steps where a fault-injection test can make it die. `started`: a
 * `Process` chunk's run was claimed (`JobStore.claimRun`), just before it runs.
 */
export type HostStep = 'received' | 'started' | 'ran' | 'recorded' | 'claimed' | 'folded' | 'finished';

/** Fault injection for tests: return true to make the host die right after `step`. */
export interface FaultPlan {
  crashAt(step: HostStep, message: WorkMessage): boolean;
}

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

/** Thrown inside the host when a fault plan kills it; never escapes. */
const CRASH = Symbol('host crashed');

/** Keys under which the engine spills large payloads to the blob store. */
export const blobKeys = {
  job: (jobId: string) => `jobs/${jobId}/`,
  input: (jobId: string, index: number) => `jobs/${jobId}/in/${index}`,
  output: (jobId: string, index: number) => `jobs/${jobId}/out/${index}`,
  result: (jobId: string) => `jobs/${jobId}/result`,
  initial: (jobId: string) => `jobs/${jobId}/initial`,
};

const ENDED = new Set(['DONE', 'FAILED', 'CANCELLED']);
/** Messages gathered per dispatch when they are already waiting. */
const DRAIN_MAX = 256;
/** Chunks with fewer items than this share thread round trips with other chunks of their job. */
const SMALL_CHUNK = 256;

type ChunkMessage = Extract<WorkMessage, { type: 'chunk' }>;
interface Taken {
  readonly d: Delivery;
  readonly m: ChunkMessage;
}

/** Consumes the work queue. */
export class Host {
  readonly #o: HostOptions;
  readonly #owner: string;
  readonly #capacity: number;
  #running = false;
  #dead = false;
  #inFlight = 0;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  readonly #abort = new AbortController();
  /** Receipts in flight, for the visibility heartbeat. */
  readonly #receipts = new Set<string>();
  #heartbeat: NodeJS.Timeout | undefined;
  /** A heartbeat round is still waiting for its answers. */
  #extending = false;
  /** Jobs known to have ended: their chunks are acknowledged without running. */
  readonly #ended = new Set<string>();
  /** This host's finalisations in progress, by job: a second one of the same job waits for the first. */
  readonly #finalising = new Map<string, Promise<number | undefined>>();

  constructor(options: HostOptions) {
    this.#o = options;
    this.#owner = options.owner ?? randomUUID();
    this.#capacity = options.capacity ?? options.executor.parallelism * 64;
  }

  /** Starts consuming. */
  start(): void {
    if (this.#running || this.#dead) return;
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
    this.#dead = true;
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
    return this.#dead;
  }

  /** Marks a job as ended (failed, cancelled, done): its queued chunks are skipped, running ones stopped. */
  jobEnded(jobId: string): void {
    this.#ended.add(jobId);
    if (this.#ended.size > 10_000) this.#ended.delete(this.#ended.values().next().value as string);
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
      if (this.#dead) return;
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

  #live(): void {
    if (this.#dead) throw CRASH;
  }

  #step(step: HostStep, m: WorkMessage): void {
    this.#live();
    if (this.#o.faults?.crashAt(step, m)) {
      this.kill();
      throw CRASH;
    }
  }

  async #runGroup(group: readonly Taken[]): Promise<void> {
    const { backend, executor } = this.#o;
    const { queue, store, blobs } = backend;
    const jobId = group[0]!.m.jobId;
    if (this.#ended.has(jobId)) return this.#ack(group.map((t) => t.d));
    for (const t of group) this.#step('received', t.m);
    let chunks: InlineChunk[];
    try {
      chunks = await Promise.all(group.map((t) => this.#inline(t.m)));
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
    this.#live();
    const process = group[0]!.m.process !== undefined;
    const owner = process ? await this.#claimProcess(group[0]!) : undefined;
    if (process && owner === undefined) return;
    const renewal = owner === undefined ? undefined : this.#renewRun(group[0]!.m, owner);
    let outcomes: Awaited<ReturnType<ChunkExecutor['run']>>;
    try {
      outcomes = await executor.run(chunks, { exclusive: group[0]!.d.receiveCount > 1 });
    } catch (e) {
      clearInterval(renewal);
      this.#live();
      if (e instanceof JobCancelledError) return this.#ack(group.map((t) => t.d));
      // A process runs at most once: its thread died, so the process has ended, as a CPython
      // child killed by a signal has (no redelivery would be allowed to run it anyway).
      if (process) return this.#interrupted(group[0]!, serializeError(e));
      // The thread died: note why, then hand the messages back for redelivery (the receive count
      // grows; past the queue's maximum the message goes to the dead-letter queue).
      const err = serializeError(e instanceof WorkerCrashedError ? e : e);
      await Promise.all(group.map((t) => store.noteChunkError(jobId, t.m.index, err)));
      await Promise.all(group.map((t) => queue.setVisibility(t.d.receipt, 0)));
      return;
    }
    clearInterval(renewal);
    for (const t of group) this.#step('ran', t.m);
    // A task error fails the job; the rest of the group belongs to it.
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) {
      this.#live();
      await store.failJob(jobId, { ...failed.error, reason: 'task' });
      this.jobEnded(jobId);
      return this.#ack(group.map((t) => t.d));
    }
    // The whole group in one call: the job's counter is written once for all its chunks (one
    // transaction on DynamoDB), so a job of many chunks does not make its record a hot item.
    const entries = await Promise.all(
      group.map(async ({ m }, k) => {
        const outcome = outcomes[k] as Extract<(typeof outcomes)[number], { ok: true }>;
        const key = blobKeys.output(jobId, m.index);
        return { index: m.index, result: await spill(outcome.result, store.maxInlineBytes, blobs, key) };
      }),
    );
    this.#live();
    const recorded = await store.completeChunks(jobId, entries);
    for (const t of group) this.#step('recorded', t.m);
    // Every outcome carries the counts after the call.
    const after = recorded[recorded.length - 1]!;
    const carrier = group[group.length - 1]!;
    if (ENDED.has(after.status)) {
      this.#ended.add(jobId);
    } else if (after.total !== undefined && after.done === after.total) {
      // This group saw the last chunk recorded: the first time, or a redelivery after a host died
      // before finalising (RUNNING) or while holding the finaliser lease (FOLDING).
      const retry = await this.#finalise(jobId, carrier.m);
      if (retry !== undefined) {
        // The carrier keeps its message until the lease ends, so someone finalises for sure.
        await queue.setVisibility(carrier.d.receipt, retry);
        return this.#ack(group.slice(0, -1).map((t) => t.d));
      }
    }
    await this.#ack(group.map((t) => t.d));
  }

  /**
   * Claims the one run of a `Process` chunk; resolves the claim's owner (for {@link #renewRun})
   * when this delivery may run it, else settles the delivery and resolves undefined. SQS delivers
   * at least once and redelivers what a dead worker (a crash, Lambda's timeout) left
   * unacknowledged, and neither the receive count (a duplicate has 1 too) nor this host's memory
   * can tell a first run: the claim is a conditional write on the job, whose owner is this attempt
   * alone, under a lease its runner renews. When the claim is refused: the job ended
   * (acknowledged); the run finished and was recorded by a host that died before finalising
   * (finalised now); the run is in progress elsewhere, its lease live (a duplicate: the message
   * comes back once the lease would have run out); or the lease ran out with nothing recorded
   * (the job fails: the process was interrupted).
   */
  async #claimProcess(t: Taken): Promise<string | undefined> {
    const { store, queue } = this.#o.backend;
    const { jobId, index } = t.m;
    const owner = randomUUID();
    const claim = await store.claimRun(jobId, index, owner, this.#o.leaseMs);
    if (claim.claimed) {
      this.#step('started', t.m);
      return owner;
    }
    this.#live();
    const job = claim.job;
    if (!job || ENDED.has(job.status)) {
      this.jobEnded(jobId);
      await this.#ack([t.d]);
      return undefined;
    }
    const recorded = job.status === 'FOLDING' || (await store.readResults(jobId, [index])).has(index);
    if (recorded) {
      const last = job.total !== undefined && job.done === job.total;
      const retry = last ? await this.#finalise(jobId, t.m) : undefined;
      if (retry !== undefined) await queue.setVisibility(t.d.receipt, retry);
      else await this.#ack([t.d]);
      return undefined;
    }
    const left = (claim.leaseUntil ?? 0) - Date.now();
    if (left > 0) await queue.setVisibility(t.d.receipt, left + 20);
    else await this.#interrupted(t, await store.lastChunkError(jobId, index));
    return undefined;
  }

  /** Renews the run's lease every third of it while the run goes on; clear the returned timer after. */
  #renewRun(m: ChunkMessage, owner: string): NodeJS.Timeout {
    const { leaseMs, backend } = this.#o;
    const timer = setInterval(() => {
      if (this.#dead) return clearInterval(timer);
      backend.store.claimRun(m.jobId, m.index, owner, leaseMs).catch((e) => this.#o.onError?.(e));
    }, leaseMs / 3);
    timer.unref();
    return timer;
  }

  /** Fails a `Process` job whose one run was started and will never be recorded, and settles its delivery. */
  async #interrupted(t: Taken, cause: SerializedError | undefined): Promise<void> {
    const { jobId, index, process } = t.m;
    this.#live();
    await this.#o.backend.store.failJob(jobId, {
      name: 'ProcessInterruptedError',
      message:
        `Process ${process} was interrupted: its worker crashed or hit the function's timeout while ` +
        'running it, and a process is never run again' +
        (cause ? ` (${cause.name}: ${cause.message})` : ''),
      code: ErrorCodes.PROCESS_INTERRUPTED,
      reason: 'internal',
      chunkIndex: index,
      ...(cause ? { cause } : {}),
    });
    this.jobEnded(jobId);
    await this.#ack([t.d]);
  }

  async #inline(m: ChunkMessage): Promise<InlineChunk> {
    const input = m.input;
    if (input.kind === 'range') return { ...m, input };
    if (input.kind === 'bytes') return this.#inlineLines(m, input);
    const data = await unspill(input.data, this.#o.backend.blobs);
    return { ...m, input: { kind: 'items', offset: input.offset, count: input.count, data } };
  }

  /** Reads the lines a byte range owns (`readLines`) and passes them to the thread as items. */
  async #inlineLines(m: ChunkMessage, input: Extract<ChunkInput, { kind: 'bytes' }>): Promise<InlineChunk> {
    const { objects } = this.#o.backend;
    if (!objects)
      throw new ProtocolError(
        `Chunk ${m.index} of job ${m.jobId} reads ${sourceName(input.source)}, but this backend has no object reader`,
      );
    const items = await readLines(
      (start, end) => objects.read(input.source, start, end),
      input.size,
      input.start,
      input.end,
    );
    return {
      ...m,
      input: {
        kind: 'items',
        offset: 0,
        count: items.length,
        data: encodeList(items),
        range: { source: sourceName(input.source), start: input.start, end: input.end },
      },
    };
  }

  async #finaliseMessage(d: Delivery, jobId: string): Promise<void> {
    const m: WorkMessage = { v: 1, type: 'finalise', jobId };
    this.#step('received', m);
    const retry = await this.#finalise(jobId, m);
    if (retry !== undefined) await this.#o.backend.queue.setVisibility(d.receipt, retry);
    else await this.#ack([d]);
  }

  /**
   * Claims the finaliser lease and ends the job: folds the partials of a mapReduce job, then
   * FOLDING → DONE. Returns a delay after which to retry when another party holds a valid lease
   * (the message is kept, so the job is finalised even if that party dies), else undefined.
   */
  async #finalise(jobId: string, m: WorkMessage): Promise<number | undefined> {
    // Two deliveries of one batch can both see the last chunk recorded (a duplicate, or two groups
    // of the job). The second waits for this host's own finalisation instead of finding the lease
    // held (by this very host) and keeping its message until the lease ends. Chained before any
    // await, so that the check and the registration are one step.
    const before = this.#finalising.get(jobId);
    const mine = (async () => {
      if (before) await before.catch(() => {});
      return this.#claimAndFinish(jobId, m);
    })();
    this.#finalising.set(jobId, mine);
    try {
      return await mine;
    } finally {
      if (this.#finalising.get(jobId) === mine) this.#finalising.delete(jobId);
    }
  }

  async #claimAndFinish(jobId: string, m: WorkMessage): Promise<number | undefined> {
    const { store, blobs } = this.#o.backend;
    this.#live();
    const claim = await store.claimFinaliser(jobId, this.#owner, this.#o.leaseMs);
    if (!claim.claimed) {
      const job = claim.job;
      if (job?.status === 'FOLDING' && job.finaliser)
        return Math.max(0, job.finaliser.leaseUntil - Date.now()) + 20;
      if (job && ENDED.has(job.status)) this.#ended.add(jobId);
      return undefined;
    }
    this.#step('claimed', m);
    const job = claim.job;
    let result: Data | undefined;
    if (job.kind === 'mapReduce') {
      const outcome = await this.#fold(job);
      this.#live();
      if (!outcome.ok) {
        await store.failJob(jobId, { ...outcome.error, reason: 'task' });
        this.jobEnded(jobId);
        return undefined;
      }
      result = await spill(outcome.result, store.maxInlineBytes, blobs, blobKeys.result(jobId));
      this.#step('folded', m);
    }
    await store.finishJob(jobId, this.#owner, claim.fence, result);
    this.#step('finished', m);
    this.#ended.add(jobId);
    return undefined;
  }

  async #fold(job: JobRecord) {
    const { store, blobs } = this.#o.backend;
    const total = job.total ?? 0;
    const indices = Array.from({ length: total }, (_, i) => i);
    const found = await store.readResults(job.id, indices);
    const partials: Encoded[] = await Promise.all(
      indices.map((i) => {
        const d = found.get(i);
        if (!d) throw new ProtocolError(`Job ${job.id} is FOLDING but chunk ${i} has no result`);
        return unspill(d, blobs);
      }),
    );
    const initial = job.initial ? await unspill(job.initial, blobs) : undefined;
    return this.#o.executor.fold(job.id, job.reducer ?? '', initial, partials);
  }

  async #ack(ds: readonly Delivery[]): Promise<void> {
    this.#live();
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
