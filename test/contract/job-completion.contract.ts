/**
 * The JobStore contract for recording and its ends: `completeChunks` (exactly once, across shards,
 * under races), completion seen exactly as a finaliser needs it (`complete`, then one
 * `claimFinaliser`), `seal` of an open job with its last chunk recorded before, during and after,
 * `pendingChunks`, chunk attempts and the mean chunk time, and `releaseJob`'s tombstone. Every test
 * runs on the harness's small shards (see `MakeJobStore`), so an adapter that shards spreads these
 * jobs of a few dozen chunks over several shards.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes, ProtocolError } from '../../src/errors.js';
import type { ChunkAttempt, ChunkResult, CompleteOutcome, JobSpec, JobStore } from '../../src/ports.js';
import { data, type JobStoreHarness, type MakeJobStore, TestClock } from './job-store.contract.js';

/** Chunk results for these indices (each chunk's result is its index). */
function results(indices: readonly number[]): ChunkResult[] {
  return indices.map((index) => ({ index, result: data(index & 0xff) }));
}

/** `0, 1, …, n - 1`. */
function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A deterministic shuffle (the same order on every run of the suite). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Groups of `size` consecutive items. */
function groupsOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const attempt = (ms: number, n = 1): ChunkAttempt => ({
  worker: 'worker-1',
  thread: 2,
  startedAt: 1_700_000_000_000,
  ms,
  attempt: n,
});

/** Declares the completion contract suite for one adapter. */
export function describeJobCompletionContract(name: string, make: MakeJobStore): void {
  describe(`JobStore completion contract (${name})`, () => {
    let harness: JobStoreHarness;
    let store: JobStore;
    beforeEach(async () => {
      harness = await make({ smallShards: true, clock: new TestClock().now });
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    async function job(total: number | 'open'): Promise<string> {
      const id = `job-${randomUUID()}`;
      const spec: JobSpec = { id, kind: 'map', task: 'square', deadline: Date.now() + 60_000 };
      await store.createJob(total === 'open' ? spec : { ...spec, total });
      return id;
    }

    /** Exactly one of `claimants` (those that saw the job complete) gets the finaliser. */
    async function claimOnce(id: string, outcomes: readonly CompleteOutcome[]): Promise<void> {
      const claimants = outcomes.filter((o) => o.complete);
      expect(claimants.length).toBeGreaterThan(0);
      const claims = await Promise.all(claimants.map((_, k) => store.claimFinaliser(id, `o${k}`, 10_000)));
      expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    }

    describe('completeChunks()', () => {
      // 41 = S × 10 + 1 with the small shards' 4: one shard gets a second block of one chunk.
      it.each([1, 9, 10, 11, 23, 41])(
        'completes a job of %i chunks exactly once, whatever the order and grouping',
        async (total) => {
          const id = await job(total);
          const groups = groupsOf(shuffled(upTo(total), total), 3);
          const outcomes = (
            await Promise.all(groups.map((g) => store.completeChunks(id, results(g))))
          ).flat();
          expect(outcomes.filter((o) => o.first)).toHaveLength(total);
          const read = await store.getJob(id);
          expect(read).toMatchObject({ done: total, total, status: 'RUNNING' });
          expect((await store.readResults(id, upTo(total))).size).toBe(total);
          expect(await store.pendingChunks(id, total + 1)).toEqual([]);
          await claimOnce(id, outcomes);
        },
      );

      it('counts 50 concurrent duplicate recordings of a group spanning shards once', async () => {
        const id = await job(41);
        const group = results([8, 9, 10, 11, 40]);
        const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.completeChunks(id, group)));
        for (let k = 0; k < group.length; k++) expect(outcomes.filter((o) => o[k]!.first)).toHaveLength(1);
        expect((await store.getJob(id))?.done).toBe(5);
      }, 60_000);

      it('detects completion when the last chunks of every shard are recorded at once by different calls', async () => {
        const id = await job(41);
        // The last chunk of each shard: 9, 19, 29, 39 end blocks 0-3 and 40 ends shard 0's second.
        const last = [9, 19, 29, 39, 40];
        await store.completeChunks(id, results(upTo(41).filter((i) => !last.includes(i))));
        const outcomes = (await Promise.all(last.map((i) => store.completeChunks(id, results([i]))))).flat();
        expect(outcomes.every((o) => o.first)).toBe(true);
        await claimOnce(id, outcomes);
      });

      it('says complete to a duplicate of the last chunk, so that a redelivery replaces a finaliser that died', async () => {
        const id = await job(12);
        await store.completeChunks(id, results(upTo(12)));
        const again = await store.completeChunks(id, results([11]));
        expect(again[0]).toMatchObject({ first: false, complete: true, status: 'RUNNING' });
        await store.claimFinaliser(id, 'a', 10_000);
        expect((await store.completeChunks(id, results([3])))[0]).toMatchObject({
          status: 'FOLDING',
          complete: true,
        });
      });

      it("records with the layout a chunk message carries, and fails the job when it is not the job's", async () => {
        const id = await job(30);
        const { shards, deadline } = (await store.getJob(id))!;
        const ok = await store.completeChunks(id, results([0, 15]), { shards, deadline });
        expect(ok.map((o) => o.first)).toEqual([true, true]);
        expect((await store.readResults(id, [0, 15])).size).toBe(2);
        const wrong = store.completeChunks(id, results([21]), { shards: shards + 1, deadline });
        await expect(wrong).rejects.toBeInstanceOf(ProtocolError);
        expect((await store.getJob(id))?.status).toBe('FAILED');
      });

      it('fails the job with a ProtocolError when a chunk is past its total', async () => {
        const id = await job(3);
        await expect(store.completeChunks(id, results([3]))).rejects.toMatchObject({
          code: ErrorCodes.PROTOCOL,
        });
        expect((await store.getJob(id))?.status).toBe('FAILED');
      });
    });

    describe('seal()', () => {
      it('sets the total once; the same total again answers again; another throws ProtocolError', async () => {
        const id = await job('open');
        expect((await store.seal(id, 3)).job.total).toBe(3);
        expect((await store.seal(id, 3)).job.total).toBe(3);
        await expect(store.seal(id, 4)).rejects.toBeInstanceOf(ProtocolError);
        const created = await job(2);
        expect((await store.seal(created, 2)).job.total).toBe(2);
        await expect(store.seal(created, 5)).rejects.toMatchObject({ code: ErrorCodes.PROTOCOL });
      });

      it('answers complete when every chunk was recorded before the seal, and again when the seal is retried', async () => {
        const id = await job('open');
        const outcomes = await store.completeChunks(id, results(upTo(23)));
        expect(outcomes.every((o) => !o.complete)).toBe(true);
        const sealed = await store.seal(id, 23);
        expect(sealed).toMatchObject({ complete: true, job: { total: 23, done: 23 } });
        expect((await store.seal(id, 23)).complete).toBe(true);
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(true);
      });

      it('seals an open job of no chunks complete', async () => {
        const id = await job('open');
        expect((await store.seal(id, 0)).complete).toBe(true);
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(true);
      });

      it('leaves completion to the chunk recorded after the seal', async () => {
        const id = await job('open');
        await store.completeChunks(id, results(upTo(22)));
        expect((await store.seal(id, 23)).complete).toBe(false);
        const [last] = await store.completeChunks(id, results([22]));
        expect(last).toMatchObject({ first: true, complete: true, total: 23 });
        expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(true);
      });

      it('finds the job complete, by the seal or by the last chunk, when the two race', async () => {
        for (let round = 0; round < 8; round++) {
          const id = await job('open');
          // The chunks of every shard but the last chunk of shard 2 (20-29), so that the seal's
          // read and the last write land on different partitions.
          await store.completeChunks(id, results(upTo(32).filter((i) => i !== 29)));
          const [sealed, [last]] = await Promise.all([
            store.seal(id, 32),
            store.completeChunks(id, results([29])),
          ]);
          expect(sealed.complete || last!.complete).toBe(true);
          expect((await store.claimFinaliser(id, 'a', 10_000)).claimed).toBe(true);
        }
      }, 60_000);

      it('fails the job and throws ProtocolError when sealed below the chunks it recorded', async () => {
        const id = await job('open');
        await store.completeChunks(id, results(upTo(3)));
        await expect(store.seal(id, 2)).rejects.toBeInstanceOf(ProtocolError);
        expect((await store.getJob(id))?.status).toBe('FAILED');
      });
    });

    describe('getJob()', () => {
      it('without counts tells the status, total and release; done is then at most the exact count', async () => {
        const id = await job(41);
        await store.completeChunks(id, results(upTo(20)));
        const exact = (await store.getJob(id))!;
        const cheap = (await store.getJob(id, { counts: false }))!;
        expect(exact.done).toBe(20);
        expect(cheap).toMatchObject({ id, status: 'RUNNING', total: 41, shards: exact.shards });
        expect(cheap.done).toBeLessThanOrEqual(20);
        await store.failJob(id, { reason: 'task', name: 'Error', message: 'x' });
        await store.releaseJob(id);
        expect(await store.getJob(id, { counts: false })).toMatchObject({ status: 'FAILED', released: true });
        expect(await store.getJob(`job-${randomUUID()}`, { counts: false })).toBeUndefined();
      });
    });

    describe('pendingChunks()', () => {
      it('lists the chunks not recorded yet, at most max, ascending', async () => {
        const id = await job(41);
        const missing = [0, 7, 12, 25, 33, 40];
        await store.completeChunks(id, results(upTo(41).filter((i) => !missing.includes(i))));
        expect(await store.pendingChunks(id, 100)).toEqual(missing);
        const some = await store.pendingChunks(id, 2);
        expect(some).toHaveLength(2);
        expect(some.every((i) => missing.includes(i)) && some[0]! < some[1]!).toBe(true);
      });

      it('is empty for an open job, a job that does not exist, and a complete one', async () => {
        const open = await job('open');
        await store.completeChunks(open, results([0]));
        expect(await store.pendingChunks(open, 10)).toEqual([]);
        expect(await store.pendingChunks(`job-${randomUUID()}`, 10)).toEqual([]);
        const complete = await job(2);
        await store.completeChunks(complete, results([0, 1]));
        expect(await store.pendingChunks(complete, 10)).toEqual([]);
      });
    });

    describe('chunk attempts', () => {
      it("stores each chunk's attempt with its result and averages the run times of the recorded ones", async () => {
        const id = await job(41);
        await store.completeChunks(id, [
          { index: 0, result: data(0), attempt: attempt(10) },
          { index: 15, result: data(1), attempt: { ...attempt(30, 2), backup: true } },
          { index: 40, result: data(2) },
        ]);
        // A duplicate's attempt is not recorded: the first result and its attempt stay.
        await store.completeChunks(id, [{ index: 0, result: data(9), attempt: attempt(1000, 3) }]);
        const attempts = await store.readAttempts(id, [0, 15, 40, 1]);
        expect(attempts.get(0)).toEqual(attempt(10));
        expect(attempts.get(15)).toEqual({ ...attempt(30, 2), backup: true });
        expect([...attempts.keys()].sort()).toEqual([0, 15]);
        expect((await store.getJob(id))?.meanChunkMs).toBeCloseTo(20, 3);
      });

      it("records a result at the store's inline limit with its attempt and reads both back whole", async () => {
        // The largest chunk record a host writes: the attempt rides in the same item as the result.
        const id = await job(2);
        const bytes = new Uint8Array(store.maxInlineBytes).map((_, i) => i & 0xff);
        const big: ChunkAttempt = { ...attempt(12, 5), worker: `worker-${'w'.repeat(250)}`, backup: true };
        const [out] = await store.completeChunks(id, [
          { index: 1, result: { enc: 'v8', bytes }, attempt: big },
        ]);
        expect(out?.first).toBe(true);
        const read = (await store.readResults(id, [1])).get(1);
        expect(read?.enc).toBe('v8');
        expect(read && 'bytes' in read && Buffer.from(read.bytes).equals(Buffer.from(bytes))).toBe(true);
        expect((await store.readAttempts(id, [1])).get(1)).toEqual(big);
      });

      it('leaves meanChunkMs absent until a chunk is recorded with an attempt', async () => {
        const id = await job(2);
        await store.completeChunks(id, results([0]));
        expect((await store.getJob(id))?.meanChunkMs).toBeUndefined();
      });

      it('sums the recorded chunks’ deliveries beyond their first as retries, a duplicate’s not', async () => {
        const id = await job(41);
        await store.completeChunks(id, results([0]));
        expect((await store.getJob(id))?.retries).toBeUndefined();
        await store.completeChunks(id, [
          { index: 1, result: data(1), attempt: attempt(10) },
          { index: 15, result: data(2), attempt: attempt(10, 3) },
          { index: 40, result: data(3), attempt: attempt(10, 2) },
        ]);
        // A duplicate (its third delivery) changes nothing.
        await store.completeChunks(id, [{ index: 40, result: data(9), attempt: attempt(10, 3) }]);
        expect((await store.getJob(id))?.retries).toBe(3);
      });

      it('counts the straggler backups sent, and leaves a job that does not exist alone', async () => {
        const id = await job(4);
        expect((await store.getJob(id))?.backups).toBeUndefined();
        await store.countBackups(id, 2);
        await store.countBackups(id, 1);
        expect((await store.getJob(id))?.backups).toBe(3);
        const missing = `job-${randomUUID()}`;
        await store.countBackups(missing, 1);
        expect(await store.getJob(missing)).toBeUndefined();
      });
    });

    describe('releaseJob()', () => {
      it('leaves a tombstone: the id is never reused, the record says released, the version moves', async () => {
        const id = await job(2);
        await store.completeChunks(id, results([0, 1]));
        const before = (await store.getJob(id))!;
        await store.releaseJob(id);
        await store.releaseJob(id);
        const after = await store.getJob(id);
        expect(after).toMatchObject({ id, released: true, total: 2 });
        expect(after!.version).toBeGreaterThan(before.version);
        const again = await store.createJob({ id, kind: 'map', task: 't', total: 1, deadline: 1e13 });
        expect(again).toMatchObject({ created: false, job: { released: true, total: 2 } });
      });

      it('records no first chunk for a released job', async () => {
        const id = await job(3);
        await store.completeChunks(id, results([0]));
        await store.releaseJob(id);
        const [late] = await store.completeChunks(id, results([1]));
        expect(late).toMatchObject({ first: false, complete: false });
      });

      it('moves the version, and wakes a waitForChange (where the store has one) with the released job', async () => {
        const id = await job(2);
        const before = (await store.getJob(id))!.version;
        const waiting = store.waitForChange?.(id, before, 60_000);
        await store.releaseJob(id);
        const after = (await store.getJob(id))!;
        expect(after).toMatchObject({ id, released: true });
        expect(after.version).toBeGreaterThan(before);
        if (waiting) expect(await waiting).toMatchObject({ id, released: true });
      }, 15_000);

      it('leaves a job that does not exist alone', async () => {
        const id = `job-${randomUUID()}`;
        await store.releaseJob(id);
        expect(await store.getJob(id)).toBeUndefined();
      });
    });
  });
}
