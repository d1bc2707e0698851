/**
 * What a host holds and how it lets go: a batch handed in (an event source mapping's) is held for
 * the host's short visibility with one call on arrival and renewed in one call per round, its
 * acknowledged messages included, until the batch ends; at a deadline the unfinished deliveries
 * are handed back (visible at once, their threads stopped, a `ChunkTimeLimitError` noted for each
 * running chunk) while the finished ones stay acknowledged; a host's own loop tells when the queue
 * went quiet and hands back what it holds without waiting for the abandoned work.
 *
 * On the in-memory adapters with an executor whose chunks stall until cancelled or released.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EsmBatchQueue } from '../../src/aws/lambda/events.js';
import { DeadLetterHandler } from '../../src/engine/dead-letters.js';
import type { ChunkExecutor } from '../../src/engine/executor.js';
import { Host } from '../../src/engine/host.js';
import { type ChunkOutcome, type InlineChunk, runChunk } from '../../src/engine/run-chunk.js';
import { ErrorCodes, JobCancelledError } from '../../src/errors.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import type { Backend, Delivery, WorkQueue } from '../../src/ports.js';
import tasks from '../fixtures/tasks.js';
import { submitSquares } from './one-item-jobs.js';

/** The host's short visibility, against the queue's long one (what the ESM receives with). */
const VIS = 300;
const QUEUE_VIS = 600_000;

/** Runs chunks in-process; the chunks `stall` picks wait until their job is cancelled or released. */
class StallingExecutor implements ChunkExecutor {
  readonly parallelism = 2;
  readonly batching = false;
  readonly cancelled: string[] = [];
  readonly #stall: (c: InlineChunk) => boolean;
  readonly #stalled: {
    readonly c: InlineChunk;
    readonly go: () => void;
    readonly stop: (e: Error) => void;
  }[] = [];
  #onStall: (() => void) | undefined;

  constructor(stall: (c: InlineChunk) => boolean) {
    this.#stall = stall;
  }

  /** Resolves once `n` chunks are stalled. */
  async stalled(n: number): Promise<void> {
    while (this.#stalled.length < n) await new Promise<void>((r) => (this.#onStall = r));
  }

  /** Lets every stalled chunk finish. */
  release(): void {
    for (const s of this.#stalled.splice(0)) s.go();
  }

  async run(chunks: readonly InlineChunk[]): Promise<ChunkOutcome[]> {
    const out: ChunkOutcome[] = [];
    for (const c of chunks) {
      await new Promise((r) => setImmediate(r));
      if (this.#stall(c))
        await new Promise<void>((go, stop) => {
          this.#stalled.push({ c, go, stop });
          this.#onStall?.();
        });
      out.push(await runChunk(tasks.tasks, c));
    }
    return out;
  }

  fold(): Promise<ChunkOutcome> {
    throw new Error('not used');
  }

  cancelJob(jobId: string): void {
    this.cancelled.push(jobId);
    for (const s of this.#stalled.filter((s) => s.c.jobId === jobId)) s.stop(new JobCancelledError(jobId));
    this.#stalled.splice(0, this.#stalled.length, ...this.#stalled.filter((s) => s.c.jobId !== jobId));
  }
}

/** Records every visibility change that goes through the queue. */
function recording(inner: WorkQueue) {
  const changes: { receipts: readonly string[]; ms: number }[] = [];
  const queue: WorkQueue = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'setVisibility')
        return (receipts: readonly string[], ms: number) => {
          changes.push({ receipts: [...receipts], ms });
          return target.setVisibility(receipts, ms);
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { queue, changes };
}

let backend: MemoryBackend | undefined;
const hosts: Host[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.kill();
  backend?.close();
  vi.useRealTimers();
});

/** A job of `n` one-item chunks (`square` of 0..n-1), its messages on the queue. */
async function setup(n: number, options: { maxReceiveCount?: number } = {}) {
  backend = memoryBackend({ visibilityMs: QUEUE_VIS, maxReceiveCount: options.maxReceiveCount ?? 5 });
  await submitSquares(backend, n);
  return backend;
}

function host(b: Backend, executor: ChunkExecutor, errors: unknown[] = []): Host {
  const h = new Host({
    backend: b,
    executor,
    visibilityMs: VIS,
    leaseMs: 10_000,
    waitMs: 50,
    onError: (e) => errors.push(e),
  });
  hosts.push(h);
  return h;
}

/** Receives `n` deliveries (as the event source mapping would: with the queue's long visibility). */
async function receiveAll(queue: WorkQueue, n: number, waitMs = 5_000): Promise<Delivery[]> {
  const got: Delivery[] = [];
  while (got.length < n) {
    const more = await queue.receive({ max: 10, waitMs });
    if (more.length === 0) break;
    got.push(...more);
  }
  return got;
}

const indexOf = (d: Delivery) => (d.body as { index: number }).index;

describe('Host.processBatch()', () => {
  it("holds the batch for visibilityMs with one call on arrival, so a dead host's messages come back within it", async () => {
    const b = await setup(3);
    const rec = recording(b.queue);
    const executor = new StallingExecutor(() => true);
    const h = host({ ...b, queue: rec.queue }, executor);
    const batch = await receiveAll(b.queue, 3);
    void h.processBatch(batch);
    await executor.stalled(2);
    expect(rec.changes[0]).toEqual({ receipts: batch.map((d) => d.receipt), ms: VIS });

    h.kill();
    // The queue's own visibility would keep them for ten minutes; the host's lets them go.
    const back = await receiveAll(b.queue, 3, 10_000);
    expect(back.map(indexOf).sort()).toEqual([0, 1, 2]);
    expect(back.every((d) => d.receiveCount === 2)).toBe(true);
  });

  it('runs no chunk of the batch before the call that holds it is answered', async () => {
    const b = await setup(2);
    const events: string[] = [];
    const queue: WorkQueue = new Proxy(b.queue, {
      get(target, prop) {
        if (prop === 'setVisibility')
          return async (receipts: readonly string[], ms: number) => {
            // A slow answer: chunks started beside the call would run before it.
            await new Promise((r) => setTimeout(r, 50));
            await target.setVisibility(receipts, ms);
            events.push(`held ${ms}`);
          };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const executor = new StallingExecutor((c) => {
      events.push(`run ${c.index}`);
      return true;
    });
    const h = host({ ...b, queue }, executor);
    void h.processBatch(await receiveAll(b.queue, 2));
    await executor.stalled(2);
    expect(events[0]).toBe(`held ${VIS}`);
    expect(events.slice(1).sort()).toEqual(['run 0', 'run 1']);
  });

  it('renews the whole batch, acknowledged messages included, in one call per round until it ends', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const b = await setup(2);
    const batchQueue = new EsmBatchQueue(b.queue);
    const rec = recording(batchQueue);
    const executor = new StallingExecutor((c) => c.index === 1);
    const h = host({ ...b, queue: rec.queue }, executor);
    const batch = await receiveAll(b.queue, 2);
    const processing = h.processBatch(batch);
    await executor.stalled(1);
    while ((await b.store.getJob('job'))?.done !== 1) await new Promise((r) => setImmediate(r));

    await vi.advanceTimersByTimeAsync(VIS / 3);
    const renewals = () => rec.changes.filter((c) => c.ms === VIS).slice(1);
    expect(renewals()).toEqual([{ receipts: batch.map((d) => d.receipt), ms: VIS }]);

    executor.release();
    await processing;
    expect(batchQueue.settle(batch)).toEqual({ batchItemFailures: [] });
    await vi.advanceTimersByTimeAsync(VIS * 3);
    expect(renewals()).toHaveLength(1);
  });

  it('hands back the unfinished deliveries at the deadline and keeps the finished ones acknowledged', async () => {
    const b = await setup(3);
    const batchQueue = new EsmBatchQueue(b.queue);
    const executor = new StallingExecutor((c) => c.index !== 0);
    const errors: unknown[] = [];
    const h = host({ ...b, queue: batchQueue }, executor, errors);
    const batch = await receiveAll(b.queue, 3);
    const unfinished = batch.filter((d) => indexOf(d) !== 0);

    const outcome = await h.processBatch(batch, { deadline: Date.now() + 2_000, limitMs: 5_000 });
    expect(outcome.handedBack.map(indexOf).sort()).toEqual([1, 2]);
    expect(
      batchQueue
        .settle(batch)
        .batchItemFailures.map((f) => f.itemIdentifier)
        .sort(),
    ).toEqual(unfinished.map((d) => d.messageId).sort());
    // Visible again at once (the queue's own visibility is ten minutes), their threads stopped.
    const back = await receiveAll(b.queue, 2, 0);
    expect(back.map(indexOf).sort()).toEqual([1, 2]);
    expect(executor.cancelled).toEqual(['job']);
    expect(await b.store.readResults('job', [0, 1, 2])).toEqual(new Map([[0, expect.anything()]]));
    for (const i of [1, 2])
      expect(await b.store.lastChunkError('job', i)).toMatchObject({
        name: 'ChunkTimeLimitError',
        code: ErrorCodes.CHUNK_TIME_LIMIT,
        message: expect.stringContaining(`Chunk ${i} of job job ran past the worker's time limit of 5 s`),
        attempt: 1,
      });
    expect(errors).toEqual([]);
  });

  it('sends a chunk that runs past the time limit on every delivery to the dead-letter queue, failing its job with that cause', async () => {
    const b = await setup(1, { maxReceiveCount: 2 });
    const executor = new StallingExecutor(() => true);
    const h = host({ ...b, queue: new EsmBatchQueue(b.queue) }, executor);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const batch = await receiveAll(b.queue, 1);
      expect(batch.map((d) => d.receiveCount)).toEqual([delivery]);
      const { handedBack } = await h.processBatch(batch, { deadline: Date.now() + 50 });
      expect(handedBack).toHaveLength(1);
    }
    expect(await b.queue.receive({ max: 10, waitMs: 0 })).toEqual([]);
    const [dead] = await b.deadLetters.receive({ max: 1, waitMs: 5_000 });
    await new DeadLetterHandler({ backend: b, maxReceiveCount: 2 }).handle(dead!);
    const job = await b.store.getJob('job');
    expect(job?.status).toBe('FAILED');
    expect(job?.error).toMatchObject({
      name: 'RetriesExhaustedError',
      reason: 'retries',
      chunkIndex: 0,
      cause: { name: 'ChunkTimeLimitError', code: ErrorCodes.CHUNK_TIME_LIMIT },
    });
  });
});

describe("Host's own loop", () => {
  it('tells when the queue stayed empty with nothing in flight, once every chunk is recorded', async () => {
    const b = await setup(6);
    const h = host(b, new StallingExecutor(() => false));
    h.start();
    await h.idle(2);
    expect(await b.store.getJob('job')).toMatchObject({ status: 'DONE', done: 6 });
    await h.stop();
  });

  it('hands back what it holds at once, and stop() does not wait for the abandoned work', async () => {
    const b = await setup(3);
    const executor = new StallingExecutor((c) => c.index === 1);
    const errors: unknown[] = [];
    const h = host(b, executor, errors);
    h.start();
    await executor.stalled(1);
    while ((await b.store.getJob('job'))?.done !== 2) await new Promise((r) => setImmediate(r));

    const handed = await h.handBack();
    expect(handed.map(indexOf)).toEqual([1]);
    await h.stop();
    const [back] = await b.queue.receive({ max: 10, waitMs: 0 });
    expect(back && indexOf(back)).toBe(1);
    expect(back?.receiveCount).toBe(2);
    // The new delivery is not this host's: nothing settles it (it stays in flight).
    expect(b.queue.depth()).toEqual({ visible: 0, inFlight: 1 });
    expect(errors).toEqual([]);
  });
});
