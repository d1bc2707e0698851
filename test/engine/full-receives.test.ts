/**
 * A draining worker's receives carry ten messages, not the one or two its free threads have room
 * for: every receive asks for ten (SQS's most), and the next waits until the host has room for ten,
 * so that a receive, its delete and its shard-counter write carry a batch. A worker then holds
 * chunks its threads have not started: they are renewed with the running ones, handed back with
 * them at a deadline (without a time-limit note, which only a running chunk earned), and a host
 * that dies anywhere between receiving them and recording them loses none and records none twice.
 *
 * On the in-memory adapters, with an executor of two threads whose groups run their chunks one
 * after the other (as a worker thread runs a group), reporting each as it ends.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drainCapacity } from '../../src/aws/lambda/drain.js';
import type { ChunkExecutor, RunChunksOptions } from '../../src/engine/executor.js';
import { type FaultPlan, Host, type HostStep } from '../../src/engine/host.js';
import { RECEIVE_MAX } from '../../src/engine/receive-loop.js';
import { type ChunkOutcome, type InlineChunk, runChunk } from '../../src/engine/run-chunk.js';
import { ErrorCodes, JobCancelledError } from '../../src/errors.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import type {
  Backend,
  ChunkResult,
  CompleteOutcome,
  Delivery,
  JobStore,
  WorkQueue,
} from '../../src/ports.js';
import tasks from '../fixtures/tasks.js';
import { submitSquares } from './one-item-jobs.js';

const VIS = 150;
const indexOf = (d: { body: unknown }) => (d.body as { index: number }).index;
const THREADS = 2;
const CHUNKS = 30;

/**
 * Two threads: a group waits for a free thread, then runs its chunks one after the other, reporting
 * each; a chunk that `stall` picks waits until `release()` or its job is cancelled.
 */
class TwoThreads implements ChunkExecutor {
  readonly parallelism = THREADS;
  readonly batching = true;
  /** The chunks that started, in order. */
  readonly started: number[] = [];
  #free = THREADS;
  readonly #queued: (() => void)[] = [];
  #stall: (c: InlineChunk) => boolean;
  readonly #stalled: {
    readonly c: InlineChunk;
    readonly go: () => void;
    readonly stop: (e: Error) => void;
  }[] = [];
  #onStall: (() => void) | undefined;

  constructor(stall: (c: InlineChunk) => boolean = () => false) {
    this.#stall = stall;
  }

  /** Resolves once `n` chunks are stalled. */
  async stalled(n: number): Promise<void> {
    while (this.#stalled.length < n) await new Promise<void>((r) => (this.#onStall = r));
  }

  /** Lets every stalled chunk go on, and stalls none from now on. */
  release(): void {
    this.#stall = () => false;
    for (const s of this.#stalled.splice(0)) s.go();
  }

  async run(chunks: readonly InlineChunk[], options: RunChunksOptions = {}): Promise<ChunkOutcome[]> {
    const jobId = chunks[0]!.jobId;
    if (this.#free === 0) await new Promise<void>((r) => this.#queued.push(r));
    this.#free--;
    try {
      // A thread answers a group's tiny chunks back to back: their reports arrive together.
      await new Promise((r) => setImmediate(r));
      const out: ChunkOutcome[] = [];
      for (const c of chunks) {
        this.started.push(c.index);
        if (this.#stall(c))
          await new Promise<void>((go, stop) => {
            this.#stalled.push({ c, go, stop });
            this.#onStall?.();
          });
        if (this.cancelledJobs.has(jobId)) throw new JobCancelledError(jobId);
        const outcome = await runChunk(tasks.tasks, c);
        options.onOutcome?.(out.length, outcome);
        out.push(outcome);
      }
      return out;
    } finally {
      this.#free++;
      this.#queued.shift()?.();
    }
  }

  readonly cancelledJobs = new Set<string>();

  fold(): Promise<ChunkOutcome> {
    throw new Error('not used');
  }

  cancelJob(jobId: string): void {
    this.cancelledJobs.add(jobId);
    for (const s of this.#stalled.filter((s) => s.c.jobId === jobId)) s.stop(new JobCancelledError(jobId));
    this.#stalled.splice(0, this.#stalled.length, ...this.#stalled.filter((s) => s.c.jobId !== jobId));
  }
}

/** The queue and store, with every receive's `max`, every visibility change and every recording seen. */
function watched(b: Backend) {
  const asked: { max: number; got: number; indices: number[] }[] = [];
  const changes: { receipts: readonly string[]; ms: number }[] = [];
  const recordings: { entries: number; firsts: number[] }[] = [];
  const queue: WorkQueue = new Proxy(b.queue, {
    get(target, prop) {
      if (prop === 'receive')
        return async (o: Parameters<WorkQueue['receive']>[0]) => {
          const got = await target.receive(o);
          asked.push({ max: o.max, got: got.length, indices: got.map(indexOf) });
          return got;
        };
      if (prop === 'setVisibility')
        return (receipts: readonly string[], ms: number) => {
          changes.push({ receipts: [...receipts], ms });
          return target.setVisibility(receipts, ms);
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store: JobStore = new Proxy(b.store, {
    get(target, prop) {
      if (prop === 'completeChunks')
        return async (
          jobId: string,
          entries: readonly ChunkResult[],
          job?: Parameters<JobStore['completeChunks']>[2],
        ) => {
          const out: CompleteOutcome[] = await target.completeChunks(jobId, entries, job);
          recordings.push({
            entries: entries.length,
            firsts: entries.filter((_, k) => out[k]!.first).map((e) => e.index),
          });
          return out;
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { backend: { ...b, queue, store }, asked, changes, recordings };
}

let backend: MemoryBackend | undefined;
const hosts: Host[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.kill();
  backend?.close();
  vi.useRealTimers();
});

/** A job of `CHUNKS` one-item chunks (`square` of 0..CHUNKS-1), its messages on the queue. */
async function setup(): Promise<MemoryBackend> {
  backend = memoryBackend({ visibilityMs: 600_000 });
  await submitSquares(backend, CHUNKS);
  return backend;
}

/** A draining worker's host: the drain capacity of a two-thread worker. */
function drainHost(b: Backend, executor: ChunkExecutor, faults?: FaultPlan): Host {
  const h = new Host({
    backend: b,
    executor,
    visibilityMs: VIS,
    leaseMs: 10_000,
    waitMs: 50,
    capacity: drainCapacity(THREADS),
    ...(faults ? { faults } : {}),
  });
  hosts.push(h);
  return h;
}

async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((r) => setTimeout(r, 5));
}

const squares = Array.from({ length: CHUNKS }, (_, i) => i * i);

describe('a draining host receives full batches', () => {
  it('asks every receive for ten, and records and acknowledges them in groups, not one by one', async () => {
    const b = await setup();
    const w = watched(b);
    const h = drainHost(w.backend, new TwoThreads());
    h.start();
    await h.idle(1);
    await h.stop();
    expect(await b.store.getJob('job')).toMatchObject({ status: 'DONE', done: CHUNKS });
    expect(w.asked.every((a) => a.max === RECEIVE_MAX)).toBe(true);
    // Thirty chunks in three receives of ten (the rest found the queue empty).
    expect(w.asked.filter((a) => a.got > 0).map((a) => a.got)).toEqual([10, 10, 10]);
    // Each receive of ten split over the two threads: a recording per group of five.
    expect(w.recordings.map((r) => r.entries)).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it('receives the next ten only when it has room for them', async () => {
    const b = await setup();
    const w = watched(b);
    const executor = new TwoThreads(() => true);
    const h = drainHost(w.backend, executor);
    h.start();
    // Each thread runs the first chunk of its group of five; eight wait behind them.
    await executor.stalled(THREADS);
    await until(() => w.asked.length >= 1);
    expect(b.queue.depth()).toEqual({ visible: CHUNKS - 10, inFlight: 10 });
    executor.release();
    await h.idle(1);
    await h.stop();
    // Never more than ten plus one a thread held, so never a receive that found room for fewer.
    expect(w.asked.filter((a) => a.got > 0).map((a) => a.got)).toEqual([10, 10, 10]);
  });
});

describe('held chunks that no thread runs yet', () => {
  it('are renewed with the running ones, in the same batched call', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const b = await setup();
    const w = watched(b);
    const executor = new TwoThreads(() => true);
    const h = drainHost(w.backend, executor);
    h.start();
    await executor.stalled(THREADS);
    const [received] = w.asked;
    expect(received?.got).toBe(10);
    await vi.advanceTimersByTimeAsync(VIS / 3);
    const renewals = w.changes.filter((c) => c.ms === VIS);
    expect(renewals).toHaveLength(1);
    expect(renewals[0]!.receipts).toHaveLength(10);
    expect(executor.started).toHaveLength(THREADS);
  });

  it('are handed back with the running ones at a deadline, only the running ones noted for the time limit', async () => {
    const b = await setup();
    const w = watched(b);
    const executor = new TwoThreads(() => true);
    const h = drainHost(w.backend, executor);
    h.start();
    await executor.stalled(THREADS);
    const running = [...executor.started];

    const handed = await h.handBack({ limitMs: 5_000 });
    await h.stop();
    expect(handed).toHaveLength(10);
    // Visible at once (the queue's own visibility is ten minutes), behind the twenty never received.
    const back: Delivery[] = [];
    for (let k = 0; k < 3; k++) back.push(...(await b.queue.receive({ max: 10, waitMs: 0 })));
    const again = back.filter((d) => d.receiveCount === 2);
    expect(again.map(indexOf).sort((x, y) => x - y)).toEqual(handed.map(indexOf).sort((x, y) => x - y));
    expect(back).toHaveLength(CHUNKS);
    for (const d of handed) {
      const i = indexOf(d);
      const note = await b.store.lastChunkError('job', i);
      if (running.includes(i)) expect(note).toMatchObject({ code: ErrorCodes.CHUNK_TIME_LIMIT });
      else expect(note).toBeUndefined();
    }
    await b.queue.setVisibility(
      back.map((d) => d.receipt),
      0,
    );

    // Another worker finishes the job, each chunk recorded once.
    const next = drainHost(w.backend, new TwoThreads());
    next.start();
    await next.idle(1);
    await next.stop();
    const job = await b.store.getJob('job');
    expect(job).toMatchObject({ status: 'DONE', done: CHUNKS });
    expect(w.recordings.flatMap((r) => r.firsts).sort((x, y) => x - y)).toEqual(squares.map((_, i) => i));
  });

  const crashes: [HostStep, number][] = [
    ['received', 3],
    ['ran', 0],
    ['recorded', 0],
    ['recorded', 6],
  ];
  it.each(crashes)(
    'a host that dies after "%s" of chunk %i, holding chunks not started, loses none and records none twice',
    async (step, index) => {
      const b = await setup();
      const w = watched(b);
      let fired = false;
      const plan: FaultPlan = {
        crashAt: (s, m) => {
          if (fired || s !== step || m.type !== 'chunk' || m.index !== index) return false;
          fired = true;
          return true;
        },
      };
      const first = drainHost(w.backend, new TwoThreads(), plan);
      first.start();
      await until(() => first.dead);
      const held = w.asked[0]!.indices;
      expect(held).toHaveLength(10);

      // Nothing renews the dead host's messages: they come back after VIS, and another host runs them.
      const next = drainHost(w.backend, new TwoThreads());
      next.start();
      await until(async () => (await b.store.getJob('job'))?.status === 'DONE');
      await next.stop();
      const job = (await b.store.getJob('job'))!;
      expect(job).toMatchObject({ status: 'DONE', done: CHUNKS, total: CHUNKS });
      // Every chunk recorded first exactly once, over both hosts.
      expect(w.recordings.flatMap((r) => r.firsts).sort((x, y) => x - y)).toEqual(squares.map((_, i) => i));
      const results = await b.store.readResults(
        'job',
        squares.map((_, i) => i),
      );
      expect(results.size).toBe(CHUNKS);
      // Only the dead host's chunks ran again (their second delivery); one it recorded kept its first.
      const attempts = await b.store.readAttempts(
        'job',
        squares.map((_, i) => i),
      );
      const again = [...attempts].filter(([, a]) => a.attempt === 2).map(([i]) => i);
      expect(again.every((i) => held.includes(i))).toBe(true);
      expect([...attempts.values()].every((a) => a.attempt <= 2)).toBe(true);
      if (step === 'received') expect(again.sort((x, y) => x - y)).toEqual(held.sort((x, y) => x - y));
      if (step === 'ran') expect(again).toContain(index);
      if (step === 'recorded') expect(attempts.get(index)?.attempt).toBe(1);
    },
  );
});
