/**
 * An engine on the in-memory adapters, with hosts that can be killed at any step, for the
 * fault-injection tests. Chunks run in-process through the real `runChunk` (no threads), so a
 * crash point is hit deterministically.
 */
import type { TaskMap } from '../../src/api/tasks.js';
import { JobClient } from '../../src/engine/client.js';
import type { Encoded } from '../../src/engine/codec.js';
import {
  Coordinator,
  type CoordinatorOptions,
  type CoordinatorRequest,
  type CoordinatorResponse,
} from '../../src/engine/coordinator.js';
import { DeadLetterHandler } from '../../src/engine/dead-letters.js';
import type { ChunkExecutor } from '../../src/engine/executor.js';
import { handleFailedInvocation } from '../../src/engine/failed-invocations.js';
import { type FaultPlan, Host, type HostStep } from '../../src/engine/host.js';
import { parseCoordinatorRequest } from '../../src/engine/requests.js';
import { type ChunkOutcome, type InlineChunk, runChunk, runFold } from '../../src/engine/run-chunk.js';
import type { StragglerPolicy } from '../../src/engine/stragglers.js';
import { JobCancelledError, WorkerCrashedError } from '../../src/errors.js';
import { LocalInvoker } from '../../src/local/invoker.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import type { CompleteOutcome, JobRecord, JobStore } from '../../src/ports.js';

/** Runs chunks on the calling thread; `crash` decides which chunk deliveries "kill the thread". */
export class InlineExecutor implements ChunkExecutor {
  readonly parallelism = 2;
  readonly batching: boolean;
  /** Items run, counting re-runs after crashes and duplicates. */
  chunkRuns = 0;
  readonly #tasks: TaskMap;
  readonly #cancelled = new Set<string>();
  crash: ((c: InlineChunk) => boolean) | undefined;
  /** A chunk for which this returns a promise waits for it before it runs: a slow or frozen worker. */
  hold: ((c: InlineChunk) => Promise<void> | undefined) | undefined;

  constructor(tasks: TaskMap, batching = true) {
    this.#tasks = tasks;
    this.batching = batching;
  }

  async run(chunks: readonly InlineChunk[]): Promise<ChunkOutcome[]> {
    const out: ChunkOutcome[] = [];
    for (const c of chunks) {
      // Yield first, as a thread round trip would, so concurrent hosts interleave.
      await new Promise((r) => setImmediate(r));
      if (this.#cancelled.has(c.jobId)) throw new JobCancelledError(c.jobId);
      if (this.crash?.(c)) throw new WorkerCrashedError(`thread died running chunk ${c.index}`, 7);
      const held = this.hold?.(c);
      if (held) await held;
      this.chunkRuns++;
      out.push(await runChunk(this.#tasks, c));
    }
    return out;
  }

  fold(
    _jobId: string,
    reducer: string,
    initial: Encoded | undefined,
    partials: readonly Encoded[],
  ): Promise<ChunkOutcome> {
    return runFold(this.#tasks, reducer, initial, partials);
  }

  cancelJob(jobId: string): void {
    this.#cancelled.add(jobId);
  }
}

/** Wraps a job store to count what the engine did, without changing what it does. */
export class AuditedStore implements JobStore {
  readonly inner: JobStore;
  firstCompletions = 0;
  duplicateCompletions = 0;
  /** Final state of every job, captured when the client releases it. */
  readonly ended = new Map<string, JobRecord>();
  readonly fences: number[] = [];
  /**
   * Reported as every job's `meanChunkMs` once a chunk of it is recorded: a store that keeps its
   * chunks' run times, for the caller's straggler check (the memory store keeps none).
   */
  meanChunkMs: number | undefined;

  constructor(inner: JobStore) {
    this.inner = inner;
  }
  get maxInlineBytes() {
    return this.inner.maxInlineBytes;
  }
  createJob: JobStore['createJob'] = (s) => this.inner.createJob(s);
  seal: JobStore['seal'] = (id, t) => this.inner.seal(id, t);
  completeChunk = async (
    id: string,
    i: number,
    r: Parameters<JobStore['completeChunk']>[2],
  ): Promise<CompleteOutcome> => {
    const o = await this.inner.completeChunk(id, i, r);
    if (o.first) this.firstCompletions++;
    else this.duplicateCompletions++;
    return o;
  };
  completeChunks: JobStore['completeChunks'] = async (id, entries) => {
    const outcomes = await this.inner.completeChunks(id, entries);
    for (const o of outcomes) {
      if (o.first) this.firstCompletions++;
      else this.duplicateCompletions++;
    }
    return outcomes;
  };
  /** Owners whose run claim succeeded (a Process chunk about to run); renewals count once. */
  readonly #runOwners = new Set<string>();
  get runClaims(): number {
    return this.#runOwners.size;
  }
  claimRun: JobStore['claimRun'] = async (id, i, o, l) => {
    const c = await this.inner.claimRun(id, i, o, l);
    if (c.claimed) this.#runOwners.add(o);
    return c;
  };
  failJob: JobStore['failJob'] = (id, e) => this.inner.failJob(id, e);
  cancelJob: JobStore['cancelJob'] = (id, r) => this.inner.cancelJob(id, r);
  claimFinaliser: JobStore['claimFinaliser'] = async (id, o, l) => {
    const c = await this.inner.claimFinaliser(id, o, l);
    if (c.claimed) this.fences.push(c.fence);
    return c;
  };
  finishJob: JobStore['finishJob'] = (id, o, f, r) => this.inner.finishJob(id, o, f, r);
  noteChunkError: JobStore['noteChunkError'] = (id, i, e) => this.inner.noteChunkError(id, i, e);
  lastChunkError: JobStore['lastChunkError'] = (id, i) => this.inner.lastChunkError(id, i);
  countBackups: JobStore['countBackups'] = (id, n) => this.inner.countBackups(id, n);
  getJob: JobStore['getJob'] = async (id, o) => this.#timed(await this.inner.getJob(id, o));
  get waitForChange(): JobStore['waitForChange'] {
    const wait = this.inner.waitForChange;
    return wait && (async (id, v, t) => this.#timed(await wait.call(this.inner, id, v, t)));
  }
  #timed(job: JobRecord | undefined): JobRecord | undefined {
    return job && this.meanChunkMs !== undefined && job.done > 0
      ? { ...job, meanChunkMs: this.meanChunkMs }
      : job;
  }
  readResults: JobStore['readResults'] = (id, i) => this.inner.readResults(id, i);
  readAttempts: JobStore['readAttempts'] = (id, i) => this.inner.readAttempts(id, i);
  pendingChunks: JobStore['pendingChunks'] = (id, m) => this.inner.pendingChunks(id, m);
  releaseJob: JobStore['releaseJob'] = async (id) => {
    const job = await this.inner.getJob(id);
    if (job) this.ended.set(id, job);
    return this.inner.releaseJob(id);
  };
}

/**
 * A job client whose calls return once their job is released: the tests read what the release
 * captured (`AuditedStore.ended`) right after a call. The real client returns before the release
 * ends (test/engine/release.test.ts shows it).
 */
export class SettledClient extends JobClient {
  override async map(...a: Parameters<JobClient['map']>): Promise<unknown[]> {
    try {
      return await super.map(...a);
    } finally {
      await this.settled();
    }
  }
  override async mapReduce(...a: Parameters<JobClient['mapReduce']>): Promise<unknown> {
    try {
      return await super.mapReduce(...a);
    } finally {
      await this.settled();
    }
  }
  override async attach(...a: Parameters<JobClient['attach']>): Promise<unknown> {
    try {
      return await super.attach(...a);
    } finally {
      await this.settled();
    }
  }
  override async *stream(...a: Parameters<JobClient['stream']>): AsyncGenerator<unknown, void, undefined> {
    try {
      yield* super.stream(...a);
    } finally {
      await this.settled();
    }
  }
}

/** Options of {@link startEngine}. */
export interface EngineOptions {
  readonly tasks: TaskMap;
  readonly visibilityMs?: number;
  readonly leaseMs?: number;
  readonly maxReceiveCount?: number;
  readonly jobTimeoutMs?: number;
  readonly maxPayloadBytes?: number;
  readonly maxInlineBytes?: number;
  readonly batching?: boolean;
  /** How the coordinator fans out (a small `leafChunks` makes a tree of a small job). */
  readonly coordinator?: CoordinatorOptions;
  /** The client's straggler check. @default none */
  readonly stragglers?: StragglerPolicy;
  /** Sits between the client and the coordinator (a coordinator that dies before it answers). */
  readonly intercept?: (
    req: CoordinatorRequest,
    handle: (req: CoordinatorRequest) => Promise<CoordinatorResponse>,
  ) => Promise<CoordinatorResponse>;
}

/** A running engine: a client, an executor, and hosts that can be added, killed and replaced. */
export interface Engine {
  readonly backend: Omit<MemoryBackend, 'store'> & { readonly store: AuditedStore };
  readonly client: JobClient;
  /** The coordinator the client calls (a caller that vanished would have called it too). */
  readonly coordinator: Coordinator;
  /** Runs the coordinator's own requests (the fan-out tree) in process. */
  readonly invoker: LocalInvoker;
  readonly executor: InlineExecutor;
  readonly hosts: Host[];
  readonly errors: unknown[];
  /** Starts another host; `faults` decides where it dies. */
  startHost(faults?: FaultPlan): Host;
  close(): Promise<void>;
}

/** Starts an engine with one host (pass `firstHostFaults` to make it die somewhere). */
export function startEngine(o: EngineOptions, firstHostFaults?: FaultPlan): Engine {
  const mem = memoryBackend({
    visibilityMs: o.visibilityMs ?? 200,
    maxReceiveCount: o.maxReceiveCount ?? 4,
    ...(o.maxPayloadBytes ? { maxPayloadBytes: o.maxPayloadBytes } : {}),
    ...(o.maxInlineBytes ? { maxInlineBytes: o.maxInlineBytes } : {}),
  });
  const store = new AuditedStore(mem.store);
  const backend = { ...mem, store };
  const executor = new InlineExecutor(o.tasks, o.batching ?? true);
  const hosts: Host[] = [];
  const errors: unknown[] = [];
  const invoker: LocalInvoker = new LocalInvoker({
    coordinator: (req): Promise<unknown> => coordinator.handle(parseCoordinatorRequest(req)),
    onFailure: async (failed) => {
      const ended = await handleFailedInvocation(store, failed, (e) => errors.push(e));
      if (ended) for (const h of hosts) h.jobEnded(ended);
    },
    onError: (e) => errors.push(e),
  });
  const coordinator: Coordinator = new Coordinator({ ...backend, invoker }, o.coordinator);
  const handle = (req: CoordinatorRequest) => coordinator.handle(req);
  const client = new SettledClient({
    coordinator: o.intercept ? (req) => o.intercept!(req, handle) : handle,
    store,
    blobs: backend.blobs,
    processes: 2,
    jobTimeoutMs: o.jobTimeoutMs ?? 20_000,
    window: 8,
    stragglers: o.stragglers,
    onJobEnded: (id) => {
      for (const h of hosts) h.jobEnded(id);
    },
    onError: (e) => errors.push(e),
  });
  const dlq = new DeadLetterHandler({
    backend,
    maxReceiveCount: o.maxReceiveCount ?? 4,
    waitMs: 50,
    onJobFailed: (id) => {
      for (const h of hosts) h.jobEnded(id);
    },
    onError: (e) => errors.push(e),
  });
  dlq.start();
  const engine: Engine = {
    backend,
    client,
    coordinator,
    invoker,
    executor,
    hosts,
    errors,
    startHost(faults) {
      const h = new Host({
        backend,
        executor,
        visibilityMs: o.visibilityMs ?? 200,
        leaseMs: o.leaseMs ?? 200,
        waitMs: 50,
        onError: (e) => errors.push(e),
        ...(faults ? { faults } : {}),
      });
      hosts.push(h);
      h.start();
      return h;
    },
    async close() {
      invoker.close();
      for (const h of hosts) h.kill();
      await dlq.stop();
      mem.close();
    },
  };
  engine.startHost(firstHostFaults);
  return engine;
}

/** A fault plan that dies the first time `step` is reached for a message matching `where`. */
export function dieOnce(
  step: HostStep,
  where: (m: Parameters<FaultPlan['crashAt']>[1]) => boolean = () => true,
  onDeath?: () => void,
): FaultPlan & { readonly fired: () => boolean } {
  let fired = false;
  return {
    fired: () => fired,
    crashAt(s, m) {
      if (fired || s !== step || !where(m)) return false;
      fired = true;
      onDeath?.();
      return true;
    },
  };
}
