/**
 * The fan-out tree driven one invocation at a time, as Lambda would run it: every request a
 * coordinator fires is queued here and run later by a fresh `Coordinator` (a new invocation, with
 * its own budget on a test clock), against the memory store, ledger and blobs and a counting queue
 * that keeps only how often each chunk was sent. What each invocation did is measured on its own,
 * so the bounds asserted (chunks sent, messages built at once, requests fired, index bytes read)
 * are per invocation, whatever the job's size; jobs of 1e6 chunks show they do not grow with it.
 */
import { describe, expect, it } from 'vitest';
import { Coordinator, type CoordinatorRequest } from '../../src/engine/coordinator.js';
import { chunksPerWorker, groupChunks } from '../../src/engine/fanout.js';
import { parseCoordinatorRequest } from '../../src/engine/requests.js';
import { ProtocolError } from '../../src/errors.js';
import { MemoryBlobStore } from '../../src/local/memory-blobs.js';
import { MemoryFanoutLedger } from '../../src/local/memory-fanout.js';
import { MemoryJobStore } from '../../src/local/memory-store.js';
import type {
  Backend,
  BlobStore,
  ByteRange,
  Delivery,
  DrainEvent,
  FanoutLedger,
  InvokedRequest,
  Invoker,
  ObjectReader,
  WorkMessage,
  WorkQueue,
} from '../../src/ports.js';

/** What one invocation did. */
interface InvocationStats {
  readonly request: CoordinatorRequest;
  /** Chunk messages it sent. */
  sent: number;
  /** The most messages it handed the queue in one call (what it held at once). */
  largestSend: number;
  /** Coordinator requests it fired. */
  fired: number;
  /** Drain workers it fired. */
  drains: number;
  /** Bytes it read from the blob store. */
  blobBytes: number;
  /** Test-clock time at its end, against its deadline. */
  endedAt: number;
  deadline: number | undefined;
}

/** A queue that keeps, per chunk index, how often it was sent; a send may be made to fail. */
class CountingQueue implements WorkQueue {
  readonly maxPayloadBytes = 256 * 1024;
  readonly counts: Uint16Array;
  finalised = 0;
  stats: InvocationStats | undefined;
  /** Throws on the call that makes this count reach 0 (a crash in the middle of a send). */
  failIn: number | undefined;
  /** Runs after each send (a caller cancelling meanwhile). */
  afterSend: (() => Promise<void>) | undefined;
  constructor(
    total: number,
    private readonly clock: TestClock,
    private readonly msPerSend: number,
  ) {
    this.counts = new Uint16Array(total);
  }
  async send(messages: readonly WorkMessage[]): Promise<void> {
    if (this.failIn !== undefined && --this.failIn === 0) throw new Error('the invocation died mid-send');
    this.clock.now += this.msPerSend;
    for (const m of messages) {
      if (m.type === 'finalise') this.finalised++;
      else this.counts[m.index] = (this.counts[m.index] ?? 0) + 1;
    }
    if (this.stats) {
      this.stats.sent += messages.length;
      this.stats.largestSend = Math.max(this.stats.largestSend, messages.length);
    }
    await this.afterSend?.();
  }
  receive(): Promise<Delivery[]> {
    throw new Error('not received here');
  }
  async ack(): Promise<void> {}
  async setVisibility(): Promise<void> {}
}

class TestClock {
  now = 1_000_000;
}

/** Blobs whose reads are counted against the running invocation. */
class CountingBlobs implements BlobStore {
  readonly inner = new MemoryBlobStore();
  stats: InvocationStats | undefined;
  put(key: string, bytes: Uint8Array) {
    return this.inner.put(key, bytes);
  }
  async get(key: string, range?: ByteRange) {
    const bytes = await this.inner.get(key, range);
    if (this.stats) this.stats.blobBytes += bytes.byteLength;
    return bytes;
  }
  deletePrefix(prefix: string) {
    return this.inner.deletePrefix(prefix);
  }
}

/** A ledger whose next `advance` can be made to fail (a crash after a group was sent). */
class FlakyLedger implements FanoutLedger {
  readonly inner = new MemoryFanoutLedger();
  failNext = false;
  progress(jobId: string, from: number) {
    return this.inner.progress(jobId, from);
  }
  async advance(jobId: string, from: number, next: number) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the invocation died before it recorded its progress');
    }
    return this.inner.advance(jobId, from, next);
  }
}

interface DriverOptions {
  readonly total: number;
  readonly leafChunks?: number;
  readonly workerBurst?: number;
  /** Each invocation's budget on the test clock; none: unbounded. */
  readonly budgetMs?: number;
  /** Test-clock time each send takes. @default 10 */
  readonly msPerSend?: number;
  readonly objects?: ObjectReader;
  /** Every drain worker's Invoke fails (Lambda refusing it, say). */
  readonly failDrains?: boolean;
  readonly jobCheckChunks?: number;
}

/** Runs a coordinator's requests one invocation at a time; see the module comment. */
class Driver {
  readonly clock = new TestClock();
  readonly store = new MemoryJobStore();
  readonly blobs = new CountingBlobs();
  readonly ledger = new FlakyLedger();
  readonly queue: CountingQueue;
  readonly pending: InvokedRequest[] = [];
  readonly invocations: InvocationStats[] = [];
  /** What the coordinator reported without failing its request. */
  readonly reported: unknown[] = [];
  constructor(readonly o: DriverOptions) {
    this.queue = new CountingQueue(o.total, this.clock, o.msPerSend ?? 10);
  }

  /** Runs one invocation of `request`; what it fires is queued. */
  async invoke(request: CoordinatorRequest): Promise<InvocationStats> {
    const stats: InvocationStats = {
      request,
      sent: 0,
      largestSend: 0,
      fired: 0,
      drains: 0,
      blobBytes: 0,
      endedAt: 0,
      deadline: this.o.budgetMs === undefined ? undefined : this.clock.now + this.o.budgetMs,
    };
    this.invocations.push(stats);
    this.queue.stats = stats;
    this.blobs.stats = stats;
    const invoker: Invoker = {
      coordinator: async (r: InvokedRequest) => {
        stats.fired++;
        this.pending.push(structuredClone(r));
      },
      workers: async (n: number, _e: DrainEvent) => {
        if (this.o.failDrains) throw new Error(`Invoke of ${n} drain workers refused`);
        stats.drains += n;
      },
    };
    const backend: Backend = {
      queue: this.queue,
      deadLetters: this.queue,
      store: this.store,
      blobs: this.blobs,
      fanout: this.ledger,
      invoker,
      ...(this.o.objects ? { objects: this.o.objects } : {}),
    };
    const coordinator = new Coordinator(backend, {
      clock: () => this.clock.now,
      onError: (e) => this.reported.push(e),
      ...(this.o.leafChunks === undefined ? {} : { leafChunks: this.o.leafChunks }),
      ...(this.o.workerBurst === undefined ? {} : { workerBurst: this.o.workerBurst }),
      ...(this.o.jobCheckChunks === undefined ? {} : { jobCheckChunks: this.o.jobCheckChunks }),
    });
    try {
      await coordinator.handle(request, stats.deadline === undefined ? {} : { deadline: stats.deadline });
    } finally {
      stats.endedAt = this.clock.now;
    }
    return stats;
  }

  /** Runs every queued request (and what they fire) until none is left; each as it crossed a wire. */
  async drain(): Promise<void> {
    for (let r = this.pending.shift(); r; r = this.pending.shift())
      await this.invoke(parseCoordinatorRequest(r));
  }

  /** How many chunks were sent 0, 1 and more times. */
  tally(): { lost: number; once: number; more: number } {
    let lost = 0;
    let once = 0;
    for (const c of this.queue.counts) {
      if (c === 0) lost++;
      else if (c === 1) once++;
    }
    return { lost, once, more: this.queue.counts.length - lost - once };
  }
}

/** A submit of in-memory items, as the local context sends it (never over a wire). */
const values = (jobId: string, items: unknown[], chunksize?: number): CoordinatorRequest => ({
  v: 1,
  type: 'submit',
  jobId,
  kind: 'map',
  task: 'square',
  input: { kind: 'values', items },
  workers: 4,
  deadline: 9e12,
  ...(chunksize === undefined ? {} : { chunksize }),
});

const submit = (jobId: string, input: unknown, extra: object = {}): CoordinatorRequest =>
  parseCoordinatorRequest({
    v: 1,
    type: 'submit',
    jobId,
    kind: 'map',
    task: 'square',
    input,
    workers: 4,
    deadline: 9e12,
    ...extra,
  });

describe('the fan-out tree, one invocation at a time', () => {
  describe('jobs of 1e6 chunks', () => {
    const N = 1_000_000;
    const leafChunks = 20_000;

    /** Every chunk sent once, and no invocation's work grew with the job. */
    function expectBounded(d: Driver) {
      expect(d.tally()).toEqual({ lost: 0, once: N, more: 0 });
      const [root, ...rest] = d.invocations;
      expect(root?.sent).toBe(0);
      expect(root?.fired).toBe(16);
      for (const s of d.invocations) {
        expect(s.sent).toBeLessThanOrEqual(leafChunks);
        expect(s.largestSend).toBeLessThanOrEqual(1_000);
        expect(s.fired).toBeLessThanOrEqual(16);
        // A leaf reads at most its slice of a segment index: 8 bytes per chunk, plus one per group.
        expect(s.blobBytes).toBeLessThanOrEqual(8 * (leafChunks + leafChunks / 1_000 + 1));
      }
      // Two levels below the root: 16 ranges of 62,500, each split into 4 leaves of 15,625.
      expect(rest.filter((s) => s.sent > 0)).toHaveLength(64);
      expect(d.invocations).toHaveLength(1 + 16 + 64);
    }

    it('sends a range() of 1e6 chunks through 81 invocations, none sending more than a leaf', async () => {
      const d = new Driver({ total: N, leafChunks });
      await d.invoke(submit('range-1e6', { kind: 'range', start: 0, stop: N, step: 1 }, { chunksize: 1 }));
      await d.drain();
      expectBounded(d);
    });

    it('sends lines() of an object cut into 1e6 ranges, reading nothing but its size', async () => {
      const reads: unknown[] = [];
      const objects: ObjectReader = {
        size: async () => 64 * N,
        read: async (...a) => {
          reads.push(a);
          return new Uint8Array(0);
        },
      };
      const d = new Driver({ total: N, leafChunks, objects });
      const source = { bucket: 'logs-bucket', key: 'huge.log' };
      await d.invoke(submit('lines-1e6', { kind: 'lines', source, chunkBytes: 64 }));
      await d.drain();
      expectBounded(d);
      expect(reads).toEqual([]);
    });

    it('sends a large inline input as segments, each leaf reading only its slice of the index', async () => {
      const d = new Driver({ total: N, leafChunks });
      // Items in the request: the coordinator writes them as segments before it fans them out.
      await d.invoke(
        values(
          'seg-1e6',
          Array.from({ length: N }, (_, i) => i),
          1,
        ),
      );
      await d.drain();
      expectBounded(d);
      const plan = JSON.parse((await d.store.getJob('seg-1e6'))?.plan ?? '{}');
      expect(plan.input).toMatchObject({
        kind: 'segments',
        blob: expect.stringMatching(/^jobs\/seg-1e6\/input-[0-9a-f]{16}$/),
        items: N,
        chunksize: 1,
      });
    });

    it('fires about workerBurst drain workers over the whole job, from the leaves as they send', async () => {
      const d = new Driver({ total: N, leafChunks, workerBurst: 1_000 });
      await d.invoke(submit('drain-1e6', { kind: 'range', start: 0, stop: N, step: 1 }, { chunksize: 1 }));
      await d.drain();
      const drains = d.invocations.reduce((n, s) => n + s.drains, 0);
      expect(drains).toBeGreaterThanOrEqual(1_000);
      // One per 1,000 chunks, rounded up once per leaf.
      expect(drains).toBeLessThanOrEqual(1_000 + 64);
      expect(d.invocations[0]?.drains).toBe(0);
    });

    it('sends every chunk when no drain worker can be fired, reporting each refusal', async () => {
      const d = new Driver({ total: N, leafChunks, workerBurst: 1_000, failDrains: true });
      await d.invoke(
        submit('drain-refused', { kind: 'range', start: 0, stop: N, step: 1 }, { chunksize: 1 }),
      );
      await d.drain();
      expect(d.tally()).toEqual({ lost: 0, once: N, more: 0 });
      // A refusal per firing: at least one per leaf, none thrown.
      expect(d.reported.length).toBeGreaterThanOrEqual(64);
      expect(d.reported.every((e) => /drain workers refused/.test(String(e)))).toBe(true);
    });
  });

  it('fires no more drain workers than the job has batches of ten, and none without a burst', () => {
    // 300 chunks over a burst of 50 would give each drain six: a receive of six, not ten.
    expect(chunksPerWorker(300, 50)).toBe(10);
    expect(chunksPerWorker(5, 50)).toBe(10);
    expect(chunksPerWorker(1_000_000, 1_000)).toBe(1_000);
    expect(chunksPerWorker(10_000, 1_000)).toBe(10);
    expect(chunksPerWorker(10_001, 1_000)).toBe(11);
    expect(chunksPerWorker(300, 0)).toBeUndefined();
    expect(chunksPerWorker(0, 50)).toBeUndefined();
  });

  it('sends in groups of about an eighth of a leaf, 10 to 1,000 chunks, whole SendMessageBatch calls', () => {
    expect([1, 40, 80, 500, 1_000, 2_000, 20_000, 1e7].map(groupChunks)).toEqual([
      10, 10, 10, 70, 130, 250, 1_000, 1_000,
    ]);
  });

  describe('the time budget', () => {
    it('hands the rest of a leaf on before its deadline, each invocation sending at least one group', async () => {
      // Groups of 1,000 taking 100 ms each, a 250 ms budget: two groups per invocation.
      const d = new Driver({ total: 5_000, budgetMs: 250, msPerSend: 100 });
      const root = await d.invoke(
        submit('budget', { kind: 'range', start: 0, stop: 5_000, step: 1 }, { chunksize: 1 }),
      );
      expect(root.sent).toBe(2_000);
      expect(d.pending).toEqual([{ v: 1, type: 'fanout', jobId: 'budget', from: 2_000, to: 5_000 }]);
      await d.drain();
      expect(d.invocations.map((s) => s.sent)).toEqual([2_000, 2_000, 1_000]);
      for (const s of d.invocations) expect(s.endedAt).toBeLessThanOrEqual(s.deadline ?? 0);
      expect(d.tally()).toEqual({ lost: 0, once: 5_000, more: 0 });
    });

    it('moves on even when one group takes longer than the whole budget', async () => {
      const d = new Driver({ total: 30, leafChunks: 80, budgetMs: 5, msPerSend: 50 });
      await d.invoke(submit('slow', { kind: 'range', start: 0, stop: 30, step: 1 }, { chunksize: 1 }));
      await d.drain();
      // Groups of 10 (a leaf of 80 checks its budget 8 times): one group per invocation.
      expect(d.invocations.map((s) => s.sent)).toEqual([10, 10, 10]);
      expect(d.tally()).toEqual({ lost: 0, once: 30, more: 0 });
    });
  });

  describe('retries and duplicates', () => {
    const job = (id: string, n: number) =>
      submit(id, { kind: 'range', start: 0, stop: n, step: 1 }, { chunksize: 1 });

    it('a leaf that dies mid-send is retried and resumes after its last recorded group: nothing lost, nothing sent twice', async () => {
      const d = new Driver({ total: 5_000 });
      d.queue.failIn = 3;
      await expect(d.invoke(job('crash-send', 5_000))).rejects.toThrow('mid-send');
      expect(d.invocations[0]?.sent).toBe(2_000);
      // Lambda runs the failed invocation again (the caller, for a submit).
      await d.invoke(job('crash-send', 5_000));
      expect(d.invocations[1]?.sent).toBe(3_000);
      expect(d.tally()).toEqual({ lost: 0, once: 5_000, more: 0 });
    });

    it('a leaf that dies after a send, before recording it, sends that one group again on its retry', async () => {
      const d = new Driver({ total: 3_000, leafChunks: 2_000 });
      await d.invoke(job('crash-record', 3_000));
      const [first, second] = d.pending.splice(0);
      expect(first).toMatchObject({ type: 'fanout', from: 0, to: 1_500 });
      d.ledger.failNext = true;
      const request = parseCoordinatorRequest(first);
      await expect(d.invoke(request)).rejects.toThrow('recorded its progress');
      await d.invoke(request);
      await d.invoke(parseCoordinatorRequest(second));
      // Groups of 250 (a leaf of 2,000): the first group of the first range went twice.
      expect(d.tally()).toEqual({ lost: 0, once: 2_750, more: 250 });
    });

    it('a duplicated fanout request that arrives after its range was sent sends nothing', async () => {
      const d = new Driver({ total: 4_000, leafChunks: 1_000 });
      await d.invoke(job('dup', 4_000));
      const fired = [...d.pending];
      await d.drain();
      for (const r of fired) expect((await d.invoke(parseCoordinatorRequest(r))).sent).toBe(0);
      expect(d.tally()).toEqual({ lost: 0, once: 4_000, more: 0 });
    });

    it('a retried submit of a large job splits it again, and the leaves find their ranges sent', async () => {
      const d = new Driver({ total: 4_000, leafChunks: 1_000 });
      await d.invoke(job('resubmit', 4_000));
      await d.drain();
      const again = await d.invoke(job('resubmit', 4_000));
      expect(again).toMatchObject({ sent: 0, fired: 4 });
      await d.drain();
      expect(d.tally()).toEqual({ lost: 0, once: 4_000, more: 0 });
    });

    it('a leaf stops sending at its next read of the job once the job is cancelled, released or failed', async () => {
      const N = 20_000;
      for (const end of ['cancel', 'release', 'fail'] as const) {
        // One leaf of 20,000 chunks, sent a group (1,000) at a time; the job ends after the second.
        const d = new Driver({ total: N, leafChunks: N });
        let sends = 0;
        d.queue.afterSend = async () => {
          if (++sends !== 2) return;
          if (end === 'cancel') await d.store.cancelJob(end, 'terminate() during the fan-out');
          else if (end === 'release') await d.store.releaseJob(end);
          else await d.store.failJob(end, { name: 'RangeError', message: 'a task failed', reason: 'task' });
        };
        await d.invoke(job(end, N));
        await d.drain();
        // Read again before each group once 500 chunks (the default) went out since the last read:
        // the read before the second group found the job running, the one before the third did not.
        expect(N - d.tally().lost).toBe(2 * groupChunks(N));
      }
    });

    it('an inline submit stops sending once its job was cancelled', async () => {
      const d = new Driver({ total: 5_000, jobCheckChunks: 100 });
      let sends = 0;
      d.queue.afterSend = async () => {
        if (++sends === 1) await d.store.cancelJob('inline-cancel', 'terminate() during the submit');
      };
      await d.invoke(
        values(
          'inline-cancel',
          Array.from({ length: 5_000 }, (_, i) => i),
          1,
        ),
      );
      // The first group went out, and the read before the second found the job cancelled.
      expect(5_000 - d.tally().lost).toBe(groupChunks(20_000));
    });

    it('a fanout for a job that ended sends nothing; one past the job, or for an inline job, is refused', async () => {
      const d = new Driver({ total: 100, leafChunks: 10 });
      await d.invoke(job('ended', 100));
      await d.store.cancelJob('ended', 'the caller stopped');
      await d.drain();
      expect(d.tally().lost).toBe(100);
      const fanout = (jobId: string, from: number, to: number) =>
        parseCoordinatorRequest({ v: 1, type: 'fanout', jobId, from, to });
      await d.invoke(job('one', 1));
      // The root sent it as a leaf and recorded so: a fanout of it (a caller's, say) sends nothing.
      expect((await d.invoke(fanout('one', 0, 1))).sent).toBe(0);
      await expect(d.invoke(fanout('one', 0, 2))).rejects.toBeInstanceOf(ProtocolError);
      await d.invoke(values('inline', [1, 2]));
      await expect(d.invoke(fanout('inline', 0, 1))).rejects.toBeInstanceOf(ProtocolError);
      await expect(d.invoke(fanout('missing', 0, 1))).resolves.toMatchObject({ sent: 0 });
    });
  });
});
