/**
 * The end of a job on the in-memory adapters: a call returns before its job's release ends, a
 * failed release is reported to `onError` and never to the call, a release of many blobs goes on
 * request after request, and the attempt of each chunk (worker, receive count, run time) is
 * recorded with its result.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JobClient } from '../../src/engine/client.js';
import type { CoordinatorRequest, CoordinatorResponse } from '../../src/engine/coordinator.js';
import { Coordinator, RELEASE_BLOBS_PER_CALL } from '../../src/engine/coordinator.js';
import { range } from '../../src/engine/range.js';
import type { JobRecord } from '../../src/ports.js';
import fixture from '../fixtures/tasks.js';
import { type Engine, startEngine } from './harness.js';

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** An engine closed after the test. */
function start(options: Parameters<typeof startEngine>[0]): Engine {
  engine = startEngine(options);
  return engine;
}

/** A client on the engine whose coordinator calls pass through `around` first. */
function clientWith(
  e: Engine,
  around: (req: CoordinatorRequest, next: () => Promise<CoordinatorResponse>) => Promise<CoordinatorResponse>,
  onError?: (error: unknown) => void,
): JobClient {
  return new JobClient({
    coordinator: (req) => around(req, () => e.coordinator.handle(req)),
    store: e.backend.store,
    blobs: e.backend.blobs,
    processes: 2,
    jobTimeoutMs: 20_000,
    window: 8,
    ...(onError ? { onError } : {}),
  });
}

describe('releasing a job', () => {
  it('returns the results while the release has not answered yet', async () => {
    const e = start({ tasks: fixture.tasks });
    let answer!: () => void;
    const held = new Promise<void>((r) => (answer = r));
    const released: string[] = [];
    const client = clientWith(e, async (req, next) => {
      if (req.type !== 'release') return next();
      await held;
      released.push(req.jobId);
      return next();
    });
    expect(await client.map('map', 'square', range(6), { chunksize: 2 })).toEqual([0, 1, 4, 9, 16, 25]);
    expect(released).toEqual([]);
    expect(client.active).toBe(1);
    answer();
    await client.settled();
    expect(released).toHaveLength(1);
    expect(client.active).toBe(0);
    expect(await e.backend.store.getJob(released[0]!)).toMatchObject({ status: 'DONE', released: true });
  });

  it('reports a failed release to onError, not to the call', async () => {
    const e = start({ tasks: fixture.tasks });
    const errors: unknown[] = [];
    const client = clientWith(
      e,
      async (req, next) => {
        if (req.type === 'release') throw new Error('the coordinator is gone');
        return next();
      },
      (x) => errors.push(x),
    );
    expect(await client.map('map', 'square', [3])).toEqual([9]);
    await client.settled();
    expect(errors).toEqual([new Error('the coordinator is gone')]);
  });

  it("deletes a job's blobs a bounded number per request, going on by itself while more remain", async () => {
    const e = start({ tasks: fixture.tasks });
    const client = clientWith(e, (_req, next) => next());
    let job = '';
    await client.map('map', 'square', [2], { onProgress: (p) => (job = p.jobId) });
    await client.settled();
    const blobs = e.backend.blobs;
    for (let i = 0; i < 2 * RELEASE_BLOBS_PER_CALL + 5; i++)
      await blobs.put(`jobs/${job}/out/${i}`, new Uint8Array(1));
    await blobs.put('jobs/other/out/0', new Uint8Array(1));
    // One request answers at once, with nothing more asked of the caller ...
    expect(await e.coordinator.handle({ v: 1, type: 'release', jobId: job })).toEqual({ jobId: job });
    expect(blobs.keys().length).toBeGreaterThan(1);
    // ... and the coordinator's own asynchronous releases delete the rest, a bounded number each.
    await e.invoker.idle();
    expect(blobs.keys()).toEqual(['jobs/other/out/0']);
    expect(await e.backend.store.getJob(job)).toMatchObject({ released: true });
  });

  it("deletes a job's blobs a bounded number per request, asking again while more remain (no invoker)", async () => {
    const e = start({ tasks: fixture.tasks });
    const requests: CoordinatorResponse[] = [];
    const client = clientWith(e, async (req, next) => {
      const res = await next();
      if (req.type === 'release') requests.push(res);
      return res;
    });
    let job = '';
    await client.map('map', 'square', [2], { onProgress: (p) => (job = p.jobId) });
    await client.settled();
    // A job whose chunks spilled more blobs than one request deletes.
    const blobs = e.backend.blobs;
    for (let i = 0; i < RELEASE_BLOBS_PER_CALL + 5; i++)
      await blobs.put(`jobs/${job}/out/${i}`, new Uint8Array(1));
    await blobs.put('jobs/other/out/0', new Uint8Array(1));
    requests.length = 0;
    // A coordinator that cannot invoke itself (no invoker): the caller asks again.
    const alone = new Coordinator({ ...e.backend });
    await alone.handle({ v: 1, type: 'release', jobId: job }).then((r) => requests.push(r));
    expect(requests).toEqual([{ jobId: job, more: true }]);
    expect(blobs.keys()).toHaveLength(6);
    await alone.handle({ v: 1, type: 'release', jobId: job }).then((r) => requests.push(r));
    expect(requests[1]).toEqual({ jobId: job });
    expect(blobs.keys()).toEqual(['jobs/other/out/0']);
  });
});

describe('chunk attempts', () => {
  it("records each chunk with its host, its delivery's receive count and its run time", async () => {
    // One chunk per thread round trip, so that a crash hands back that chunk alone.
    const e = start({ tasks: fixture.tasks, visibilityMs: 100, batching: false });
    // Chunk 1 crashes its thread once: its second delivery is the one recorded.
    let crashed = false;
    e.executor.crash = (c) => {
      if (c.index !== 1 || crashed) return false;
      crashed = true;
      return true;
    };
    const before = Date.now();
    const { jobId } = await e.coordinator.handle({
      v: 1,
      type: 'submit',
      jobId: 'job-attempts',
      kind: 'map',
      task: 'spin',
      input: {
        kind: 'items',
        data: { enc: 'f64', bytes: new Uint8Array(new Float64Array([5, 5, 5]).buffer) },
      },
      chunksize: 1,
      workers: 2,
      deadline: Date.now() + 20_000,
    });
    let job: JobRecord | undefined;
    for (let v = -1; job?.status !== 'DONE'; v = job?.version ?? v)
      job = await e.backend.store.waitForChange!(jobId, v, 1000);
    const attempts = await e.backend.store.readAttempts(jobId, [0, 1, 2]);
    expect([...attempts.keys()].sort()).toEqual([0, 1, 2]);
    expect(attempts.get(1)?.attempt).toBe(2);
    expect(attempts.get(0)?.attempt).toBe(1);
    expect(attempts.get(2)?.attempt).toBe(1);
    for (const a of attempts.values()) {
      expect(a.worker).toBe(attempts.get(0)?.worker);
      expect(a.startedAt).toBeGreaterThanOrEqual(before);
      // Each chunk spins 5 ms on the calling thread (the engine tests' executor).
      expect(a.ms).toBeGreaterThanOrEqual(4);
      expect(a.backup).toBeUndefined();
    }
    expect(job.meanChunkMs).toBeGreaterThanOrEqual(4);
  });
});
