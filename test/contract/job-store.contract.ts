/**
 * The JobStore contract: what every adapter (memory, DynamoDB) must do, through the port only.
 * Each test uses fresh job ids, so adapters may share one table across tests. Recording, sealing,
 * completion, pending chunks, attempts and release have a suite of their own
 * (`job-completion.contract.ts`), on the same harness.
 *
 * Leases run on the harness's clock, which the suite drives: a lease ends because the test moves
 * the clock past it, never because the machine was slow (or fast) enough between two requests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, PayloadTooLargeError } from '../../src/errors.js';
import type { Data, JobError, JobSpec, JobStore } from '../../src/ports.js';

/** A job store made fresh for one test. */
export interface JobStoreHarness {
  readonly store: JobStore;
  close(): Promise<void> | void;
}

/**
 * Makes a harness. `maxInlineBytes` asks for a small limit; an adapter with a fixed limit may
 * ignore it, since the suite reads the limit back from `store.maxInlineBytes`. `clock` is the
 * store's clock (its `clock` option): the suite moves it to end leases. `smallShards` asks an
 * adapter that shards to spread even small jobs over several shards (a sealed job one shard per
 * 11 chunks, at most 4; an open job 4), so that a few dozen chunks cross shard boundaries;
 * an adapter that does not shard ignores it.
 */
export type MakeJobStore = (opts: {
  maxInlineBytes?: number;
  smallShards?: boolean;
  clock: () => number;
}) => Promise<JobStoreHarness>;

/** A clock that moves only when told to, starting at the real time. */
export class TestClock {
  #now = Date.now();
  readonly now = (): number => this.#now;
  advance(ms: number): void {
    this.#now += ms;
  }
}

export function data(...bytes: number[]): Data {
  return { enc: 'v8', bytes: new Uint8Array(bytes) };
}

export function bytesOf(d: Data | undefined): number[] | undefined {
  return d && 'bytes' in d ? [...d.bytes] : undefined;
}

const boom: JobError = { name: 'RangeError', message: 'boom', reason: 'task', chunkIndex: 1 };

/** What the suite must know of an adapter beyond the port. */
export interface JobStoreTraits {
  /** It learns of a change without polling, so it implements `waitForChange`. */
  readonly notifies: boolean;
}

/** Declares the JobStore contract suite for one adapter. */
export function describeJobStoreContract(name: string, make: MakeJobStore, traits: JobStoreTraits): void {
  describe(`JobStore contract (${name})`, () => {
    const open: JobStoreHarness[] = [];
    let store: JobStore;
    let clock: TestClock;
    async function setup(opts: { maxInlineBytes?: number } = {}): Promise<JobStore> {
      clock = new TestClock();
      const harness = await make({ ...opts, clock: clock.now });
      open.push(harness);
      store = harness.store;
      return store;
    }
    beforeEach(async () => {
      await setup();
    });
    afterEach(async () => {
      for (const harness of open.splice(0)) await harness.close();
    });

    /** Creates a fresh job with `total` chunks, or an open one. */
    async function job(total: number | 'open'): Promise<string> {
      const id = `job-${randomUUID()}`;
      const spec: JobSpec = { id, kind: 'map', task: 'square', deadline: Date.now() + 60_000 };
      await store.createJob(total === 'open' ? spec : { ...spec, total });
      return id;
    }

    /** A sealed job with every chunk recorded, ready to be finalised. */
    async function readyJob(): Promise<string> {
      const id = await job(1);
      await store.completeChunk(id, 0, data(1));
      return id;
    }

    describe('createJob()', () => {
      it('creates a job once and returns the same job after', async () => {
        const spec: JobSpec = {
          id: `job-${randomUUID()}`,
          kind: 'mapReduce',
          task: 't',
          reducer: 'r',
          deadline: 1e13,
        };
        const first = await store.createJob({ ...spec, initial: data(5) });
        const second = await store.createJob({ ...spec, task: 'other' });
        expect(first.created).toBe(true);
        expect(first.job).toMatchObject({ id: spec.id, status: 'RUNNING', done: 0, task: 't', reducer: 'r' });
        expect(first.job.total).toBeUndefined();
        expect(Number.isInteger(first.job.shards) && first.job.shards >= 1).toBe(true);
        expect(first.job.released).toBeUndefined();
        expect(bytesOf(first.job.initial)).toEqual([5]);
        expect(second.created).toBe(false);
        expect(second.job).toEqual(first.job);
      });

      it("keeps the job's plan as given and returns it with the job", async () => {
        const plan = JSON.stringify({
          v: 1,
          input: { kind: 'range', start: 0, step: 1, items: 9, chunksize: 2 },
        });
        const id = `job-${randomUUID()}`;
        const { job: created } = await store.createJob({
          id,
          kind: 'map',
          task: 't',
          total: 5,
          deadline: 1e13,
          plan,
        });
        expect(created.plan).toBe(plan);
        expect((await store.getJob(id))?.plan).toBe(plan);
        expect((await store.createJob({ id, kind: 'map', task: 't', deadline: 1e13 })).job.plan).toBe(plan);
        const without = await job(1);
        expect((await store.getJob(without))?.plan).toBeUndefined();
      });
    });

    describe('completeChunk()', () => {
      it('records 50 concurrent duplicates of one index exactly once', async () => {
        const id = await job(4);
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, () => store.completeChunk(id, 2, data(2))),
        );
        expect(outcomes.filter((o) => o.first)).toHaveLength(1);
        expect((await store.getJob(id))?.done).toBe(1);
      });

      it('counts distinct indices completed concurrently', async () => {
        const id = await job('open');
        const outcomes = await Promise.all(
          Array.from({ length: 40 }, (_, i) => store.completeChunk(id, i, data(i))),
        );
        expect(outcomes.every((o) => o.first)).toBe(true);
        expect((await store.getJob(id))?.done).toBe(40);
      });

      it('bumps the version and reports total, status and that the job is not complete yet', async () => {
        const id = await job(2);
        const before = (await store.getJob(id))!.version;
        expect(await store.completeChunk(id, 1, data(1))).toMatchObject({
          first: true,
          total: 2,
          status: 'RUNNING',
          complete: false,
        });
        expect((await store.getJob(id))!.version).toBeGreaterThan(before);
      });

      it('leaves a failed job failed: a late chunk never completes it', async () => {
        const id = await job(1);
        await store.failJob(id, boom);
        const outcome = await store.completeChunk(id, 0, data(0));
        expect(outcome).toMatchObject({ status: 'FAILED', complete: false });
        expect((await store.getJob(id))?.status).toBe('FAILED');
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(false);
      });

      it('returns first: false for a job that does not exist', async () => {
        const outcome = await store.completeChunk(`job-${randomUUID()}`, 0, data(0));
        expect(outcome.first).toBe(false);
        expect(outcome.complete).toBe(false);
        expect(['CANCELLED', 'FAILED', 'DONE']).toContain(outcome.status);
      });

      it('stores a copy of the result bytes', async () => {
        const id = await job(1);
        const result = data(1, 2, 3);
        await store.completeChunk(id, 0, result);
        if ('bytes' in result) result.bytes.fill(0);
        expect(bytesOf((await store.readResults(id, [0])).get(0))).toEqual([1, 2, 3]);
      });
    });

    describe('claimFinaliser()', () => {
      it('claims a sealed job of no chunks at once', async () => {
        const id = await job(0);
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(true);
      });

      it('claims only once the job is sealed and every chunk is done', async () => {
        const id = await job('open');
        await store.completeChunk(id, 0, data(0));
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(false);
        await store.seal(id, 2);
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(false);
        await store.completeChunk(id, 1, data(1));
        const claim = await store.claimFinaliser(id, 'a', 10_000);
        expect(claim.claimed).toBe(true);
        expect(claim.job).toMatchObject({ status: 'FOLDING', finaliser: { owner: 'a', fence: 1 } });
      });

      it('lets exactly one of 10 concurrent owners claim', async () => {
        const id = await readyJob();
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.claimFinaliser(id, `o${i}`, 10_000)),
        );
        expect(claims.filter((c) => c.claimed)).toHaveLength(1);
        expect(claims.find((c) => !c.claimed)?.job?.status).toBe('FOLDING');
      });

      it('gives the holder its own lease back when it claims again (a retried request)', async () => {
        const id = await readyJob();
        const first = await store.claimFinaliser(id, 'a', 10_000);
        const again = await store.claimFinaliser(id, 'a', 10_000);
        expect(first.claimed && again.claimed).toBe(true);
        if (!first.claimed || !again.claimed) return;
        expect(again.fence).toBe(first.fence);
        expect((await store.claimFinaliser(id, 'b', 10_000)).claimed).toBe(false);
        expect(await store.finishJob(id, 'a', again.fence)).toBe(true);
      });

      it('hands an expired lease to a new owner with the fence increased', async () => {
        const id = await readyJob();
        const a = await store.claimFinaliser(id, 'a', 300);
        clock.advance(299);
        expect((await store.claimFinaliser(id, 'b', 10_000)).claimed).toBe(false);
        clock.advance(2);
        const b = await store.claimFinaliser(id, 'b', 10_000);
        expect(a.claimed && b.claimed).toBe(true);
        if (!a.claimed || !b.claimed) return;
        expect(b.fence).toBe(a.fence + 1);
        expect(b.job.finaliser).toMatchObject({ owner: 'b', fence: b.fence });
      });
    });

    describe('claimRun()', () => {
      it('lets exactly one of 10 concurrent owners claim a chunk, each chunk on its own', async () => {
        const id = await job(2);
        const claims = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.claimRun(id, 0, `o${i}`, 10_000)),
        );
        expect(claims.filter((c) => c.claimed)).toHaveLength(1);
        const refused = claims.find((c) => !c.claimed);
        expect(refused?.job).toMatchObject({ id, status: 'RUNNING' });
        expect(refused?.leaseUntil).toBe(claims.find((c) => c.claimed)?.leaseUntil);
        expect((await store.claimRun(id, 1, 'o0', 10_000)).claimed).toBe(true);
      });

      it('lets the owner claim again, renewing its lease (a running owner, a retried request)', async () => {
        const id = await job(1);
        const first = await store.claimRun(id, 0, 'a', 1_000);
        const again = await store.claimRun(id, 0, 'a', 60_000);
        expect(first.claimed && again.claimed).toBe(true);
        expect(again.leaseUntil).toBeGreaterThan(first.leaseUntil ?? Number.POSITIVE_INFINITY);
        expect(await store.claimRun(id, 0, 'b', 10_000)).toMatchObject({
          claimed: false,
          leaseUntil: again.leaseUntil,
        });
      });

      it('never hands a run over, even once its lease has run out', async () => {
        const id = await job(1);
        await store.claimRun(id, 0, 'a', 1);
        clock.advance(20);
        const b = await store.claimRun(id, 0, 'b', 10_000);
        expect(b.claimed).toBe(false);
        expect(b.leaseUntil).toBeLessThan(clock.now());
      });

      it('refuses a job that is not RUNNING, and one that does not exist', async () => {
        const id = await job(1);
        await store.failJob(id, boom);
        expect(await store.claimRun(id, 0, 'a', 10_000)).toMatchObject({
          claimed: false,
          job: { status: 'FAILED' },
        });
        expect(await store.claimRun(`job-${randomUUID()}`, 0, 'a', 10_000)).toEqual({
          claimed: false,
          job: undefined,
        });
      });

      it('leaves the job as it was: version, counts and results', async () => {
        const id = await job(1);
        const before = await store.getJob(id);
        await store.claimRun(id, 0, 'a', 10_000);
        expect(await store.getJob(id)).toEqual(before);
      });
    });

    describe('finishJob()', () => {
      it('refuses a stale fence and accepts the current one', async () => {
        const id = await readyJob();
        const a = await store.claimFinaliser(id, 'a', 50);
        clock.advance(51);
        const b = await store.claimFinaliser(id, 'b', 10_000);
        if (!a.claimed || !b.claimed) throw new Error('both claims should succeed');
        expect(await store.finishJob(id, 'a', a.fence, data(9))).toBe(false);
        expect(await store.finishJob(id, 'a', b.fence, data(9))).toBe(false);
        expect(await store.finishJob(id, 'b', b.fence, data(7))).toBe(true);
        const done = await store.getJob(id);
        expect(done?.status).toBe('DONE');
        expect(bytesOf(done?.result)).toEqual([7]);
      });
    });

    describe('failJob()', () => {
      it('keeps the first failure only', async () => {
        const id = await job(2);
        const first = await store.failJob(id, boom);
        const second = await store.failJob(id, { ...boom, message: 'later', reason: 'retries' });
        expect(first.changed).toBe(true);
        expect(second.changed).toBe(false);
        expect(second.job?.status).toBe('FAILED');
        expect(second.job?.error).toMatchObject({ message: 'boom', reason: 'task', chunkIndex: 1 });
      });

      it('fails a FOLDING job, after which its finaliser cannot finish', async () => {
        const id = await readyJob();
        const claim = await store.claimFinaliser(id, 'a', 10_000);
        expect((await store.failJob(id, boom)).changed).toBe(true);
        expect(await store.finishJob(id, 'a', claim.claimed ? claim.fence : 1)).toBe(false);
        expect((await store.getJob(id))?.status).toBe('FAILED');
      });

      it('does not change a job that is DONE', async () => {
        const id = await readyJob();
        const claim = await store.claimFinaliser(id, 'a', 10_000);
        await store.finishJob(id, 'a', claim.claimed ? claim.fence : 1);
        expect(await store.failJob(id, boom)).toMatchObject({ changed: false, job: { status: 'DONE' } });
      });
    });

    describe('cancelJob()', () => {
      it('cancels a running job once; later chunks never complete it', async () => {
        const id = await job(2);
        expect((await store.cancelJob(id, 'terminate')).job?.status).toBe('CANCELLED');
        expect((await store.cancelJob(id, 'again')).changed).toBe(false);
        await store.completeChunk(id, 0, data(0));
        expect(await store.completeChunk(id, 1, data(1))).toMatchObject({
          status: 'CANCELLED',
          complete: false,
        });
        expect((await store.getJob(id))?.status).toBe('CANCELLED');
      });
    });

    describe('noteChunkError() and lastChunkError()', () => {
      it('keeps the last error per chunk', async () => {
        const id = await job(2);
        await store.noteChunkError(id, 0, { name: 'Error', message: 'one' });
        await store.noteChunkError(id, 0, { name: 'TypeError', message: 'two', attempt: 2 });
        // The delivery a note is about comes back with it (the dead-letter handler compares it).
        expect(await store.lastChunkError(id, 0)).toEqual({ name: 'TypeError', message: 'two', attempt: 2 });
        expect(await store.lastChunkError(id, 1)).toBeUndefined();
      });
    });

    if (!traits.notifies) {
      it('has no waitForChange (a caller polls getJob on its own schedule)', () => {
        expect(store.waitForChange).toBeUndefined();
      });
    } else
      describe('waitForChange()', () => {
        it('resolves at once when the version is already newer', async () => {
          const id = await job(2);
          const job0 = await store.waitForChange!(id, -1, 60_000);
          expect(job0?.id).toBe(id);
        }, 15_000);

        it('resolves on the next completeChunk', async () => {
          const id = await job(2);
          const { version } = (await store.getJob(id))!;
          const waiting = store.waitForChange!(id, version, 60_000);
          await store.completeChunk(id, 0, data(0));
          const changed = await waiting;
          expect(changed?.done).toBe(1);
          expect(changed!.version).toBeGreaterThan(version);
        }, 15_000);

        it('resolves with the unchanged job after the timeout', async () => {
          const id = await job(2);
          const { version } = (await store.getJob(id))!;
          const same = await store.waitForChange!(id, version, 100);
          expect(same).toMatchObject({ id, version, done: 0 });
        });

        it('resolves undefined for a job that does not exist', async () => {
          expect(await store.waitForChange!(`job-${randomUUID()}`, 0, 100)).toBeUndefined();
        });
      });

    describe('readResults()', () => {
      it('returns the recorded results only', async () => {
        const id = await job(3);
        await store.completeChunk(id, 0, data(10));
        await store.completeChunk(id, 2, { enc: 'f64', blob: `blobs/${id}/2`, size: 80 });
        const found = await store.readResults(id, [0, 1, 2]);
        expect([...found.keys()].sort()).toEqual([0, 2]);
        expect(bytesOf(found.get(0))).toEqual([10]);
        expect(found.get(2)).toEqual({ enc: 'f64', blob: `blobs/${id}/2`, size: 80 });
      });
    });

    describe('maxInlineBytes', () => {
      it('rejects inline data over the limit with PayloadTooLargeError and accepts it at the limit', async () => {
        await setup({ maxInlineBytes: 1024 });
        const limit = store.maxInlineBytes;
        const id = `job-${randomUUID()}`;
        const over: Data = { enc: 'v8', bytes: new Uint8Array(limit + 1) };
        const spec: JobSpec = { id, kind: 'mapReduce', task: 't', reducer: 'r', total: 2, deadline: 1e13 };
        await expect(store.createJob({ ...spec, initial: over })).rejects.toBeInstanceOf(
          PayloadTooLargeError,
        );
        await store.createJob(spec);
        await expect(store.completeChunk(id, 0, over)).rejects.toMatchObject({
          code: ErrorCodes.PAYLOAD_TOO_LARGE,
        });
        expect((await store.completeChunk(id, 0, { enc: 'v8', bytes: new Uint8Array(limit) })).first).toBe(
          true,
        );
        expect((await store.getJob(id))?.done).toBe(1);
      });
    });
  });
}
