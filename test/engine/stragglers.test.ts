/**
 * Stragglers on the in-memory adapters: a chunk whose first attempt is held (a frozen worker) gets
 * a backup once the job is in its tail and the chunk has been outstanding past the threshold; the
 * job ends on the backup's result while the original is still held, and the original's late result
 * is never recorded as a first (a duplicate, or dropped by a host that knows the job ended). The coordinator's `backup` request is idempotent and refuses what no caller asks.
 * The store's chunk times (`meanChunkMs`) are the harness's stand-in for a store that keeps them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CoordinatorRequest } from '../../src/engine/coordinator.js';
import { range } from '../../src/engine/range.js';
import type { InlineChunk } from '../../src/engine/run-chunk.js';
import { JobExpiredError, ProtocolError } from '../../src/errors.js';
import fixture from '../fixtures/tasks.js';
import { type Engine, type EngineOptions, startEngine } from './harness.js';

const tasks = fixture.tasks;
const squares = (n: number) => Array.from({ length: n }, (_, i) => i * i);
/** Backs up any chunk left once at most 20% are left, after 3 × 1 ms (the harness's mean). */
const POLICY = { factor: 3, minMs: 0, tail: 0.2 };

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/**
 * An engine of two hosts whose first attempt of chunk `index` is held until `release()`. Every
 * coordinator request is noted; `dies(req)` makes the coordinator die after handling one, before
 * it answers.
 */
function withHeldChunk(
  index: number,
  o: Partial<EngineOptions> = {},
  dies: (req: CoordinatorRequest) => boolean = () => false,
) {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const attempts: InlineChunk[] = [];
  const requests: CoordinatorRequest[] = [];
  const e = startEngine({
    tasks,
    batching: false,
    intercept: async (req, handle) => {
      requests.push(req);
      const out = await handle(req);
      if (dies(req)) throw new Error('Runtime.ExitError');
      return out;
    },
    ...o,
  });
  e.backend.store.meanChunkMs = 1;
  e.executor.hold = (c) => {
    if (c.index !== index) return undefined;
    attempts.push(c);
    return attempts.length === 1 ? held : undefined;
  };
  // The held attempt blocks one of the first host's slots; the backup goes to its other slot or
  // to the second host, whichever receives first.
  e.startHost();
  const backups = () => requests.filter((r) => r.type === 'backup');
  return { e, release, attempts, backups };
}

describe('stragglers', () => {
  it('backs up a held chunk: the job ends on the backup, and the late original is never a first result', async () => {
    const { e, release, attempts, backups } = withHeldChunk(7, { stragglers: POLICY });
    engine = e;
    const out = await e.client.map('map', 'square', range(100), { chunksize: 10 });
    expect(out).toEqual(squares(100));
    // Ended while the first attempt was still held: the backup ran and was recorded first.
    expect(attempts.length).toBe(2);
    expect(backups()).toHaveLength(1);
    expect(backups()[0]).toMatchObject({ indices: [7] });
    const before = e.backend.store.duplicateCompletions;
    const runs = e.executor.chunkRuns;
    release();
    // The original runs to its end, and its host lets go of it.
    await vi.waitFor(
      () => {
        expect(e.executor.chunkRuns).toBe(runs + 1);
        expect(e.hosts.every((h) => h.heldJobs().length === 0)).toBe(true);
      },
      { timeout: 10_000 },
    );
    // Never recorded as a first: a duplicate, or dropped unwritten when its own host had recorded
    // the backup in its other slot and finalised the job (which host takes the backup is a race).
    expect(e.backend.store.firstCompletions).toBe(10);
    expect(e.backend.store.duplicateCompletions - before).toBeLessThanOrEqual(1);
    expect(e.errors).toEqual([]);
  });

  it('backs up a chunk of a mapReduce and folds each partial once', async () => {
    const { e, release, backups } = withHeldChunk(3, { stragglers: POLICY });
    engine = e;
    const total = await e.client.mapReduce('square', range(50), 'sum', { value: 0 }, { chunksize: 5 });
    expect(total).toBe(squares(50).reduce((a, b) => a + b, 0));
    expect(backups()).toHaveLength(1);
    expect(e.backend.store.fences).toEqual([1]);
    release();
  });

  it('backs up items a chunk carries in the blob store when they are over the queue limit', async () => {
    const { e, release, backups } = withHeldChunk(1, { stragglers: POLICY, maxPayloadBytes: 1024 });
    engine = e;
    const items = Array.from({ length: 6 }, (_, i) => `${i}:${'x'.repeat(700)}`);
    const out = await e.client.map('map', 'identity', items, { chunksize: 2 });
    expect(out).toEqual(items);
    expect(backups()).toHaveLength(1);
    release();
  });

  it('sends no backup when the pool has none, and waits for the original', async () => {
    const { e, release, attempts, backups } = withHeldChunk(7);
    engine = e;
    const done = e.client.map('map', 'square', range(100), { chunksize: 10 });
    // Longer than a backup takes to be asked for with the policy above (a second or so).
    setTimeout(release, 2_500);
    expect(await done).toEqual(squares(100));
    expect(backups()).toHaveLength(0);
    expect(attempts).toHaveLength(1);
  });

  it('fails nothing when a backup request fails after the coordinator sent it: the chunk is recorded once', async () => {
    let died = 0;
    const { e, release, backups } = withHeldChunk(
      7,
      { stragglers: POLICY },
      (req) => req.type === 'backup' && died++ === 0,
    );
    engine = e;
    const out = await e.client.map('map', 'square', range(100), { chunksize: 10 });
    expect(out).toEqual(squares(100));
    // The first request sent its backup before it died; the caller could not know, and asked again.
    expect(backups().length).toBeGreaterThanOrEqual(1);
    expect(e.backend.store.firstCompletions).toBe(10);
    release();
  });

  it('never backs up a one-chunk job, and the job still ends by its deadline', async () => {
    const { e, release, attempts, backups } = withHeldChunk(0, { stragglers: POLICY, jobTimeoutMs: 1_500 });
    engine = e;
    await expect(e.client.map('map', 'square', range(5), { chunksize: 5 })).rejects.toBeInstanceOf(
      JobExpiredError,
    );
    expect(backups()).toHaveLength(0);
    expect(attempts).toHaveLength(1);
    release();
  });
});

describe("the coordinator's backup request", () => {
  /** A running job of `chunks` chunks whose every chunk is held, so nothing is recorded. */
  async function heldJob(chunks: number) {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    engine = startEngine({ tasks, batching: false });
    engine.executor.hold = () => held;
    const e = engine;
    const jobId = `job-${chunks}-${Math.random().toString(36).slice(2)}`;
    const map = e.client.map('map', 'square', range(chunks * 2), { chunksize: 2, jobId });
    await vi.waitFor(async () => expect(await e.backend.store.getJob(jobId)).toBeDefined());
    const input = (i: number) => ({ kind: 'range' as const, offset: 2 * i, count: 2, start: 2 * i, step: 1 });
    return { e, jobId, map, release, input };
  }

  it('is idempotent: the same backup twice records every chunk once', async () => {
    const { e, jobId, map, release, input } = await heldJob(4);
    const req = { v: 1, type: 'backup', jobId, indices: [1, 2], inputs: [input(1), input(2)] } as const;
    expect(await e.coordinator.handle(req)).toMatchObject({ sent: 2 });
    expect(await e.coordinator.handle(req)).toMatchObject({ sent: 2 });
    // Every backup sent is counted on the job, for `fanfold status`.
    expect((await e.backend.store.getJob(jobId))?.backups).toBe(4);
    release();
    expect(await map).toEqual(squares(8));
    // Recorded once each: the late copies find the chunk recorded, or the job ended (and skip it).
    expect(e.backend.store.firstCompletions).toBe(4);
  });

  it('refuses a chunk past the job, a one-chunk job and a backup without inputs', async () => {
    const { e, jobId, release, input } = await heldJob(3);
    const base = { v: 1, type: 'backup', jobId } as const;
    await expect(e.coordinator.handle({ ...base, indices: [3], inputs: [input(3)] })).rejects.toBeInstanceOf(
      ProtocolError,
    );
    await expect(e.coordinator.handle({ ...base, indices: [0] })).rejects.toBeInstanceOf(ProtocolError);
    const one = `one-${Math.random()}`;
    const single = e.client.map('map', 'square', range(2), { chunksize: 2, jobId: one });
    await vi.waitFor(async () => expect(await e.backend.store.getJob(one)).toBeDefined());
    await expect(
      e.coordinator.handle({ ...base, jobId: one, indices: [0], inputs: [input(0)] }),
    ).rejects.toBeInstanceOf(ProtocolError);
    release();
    expect(await single).toEqual([0, 1]);
  });

  it('sends nothing for a job that has ended', async () => {
    const { e, jobId, map, release, input } = await heldJob(2);
    await e.client.cancel(jobId, 'test');
    await expect(map).rejects.toThrow();
    expect(
      await e.coordinator.handle({ v: 1, type: 'backup', jobId, indices: [0], inputs: [input(0)] }),
    ).toMatchObject({ sent: 0 });
    release();
  });
});
