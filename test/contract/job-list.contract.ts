/**
 * The contract of `JobStore.listJobs` and of `endedAt`: the jobs a store holds, newest first, as
 * `getJob` reads them, paged by `before`, bounded by `since`, across days (the DynamoDB index is
 * partitioned by day). Every test runs on its own clock, set to a random day far from any other
 * test's, so that adapters may share one table.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../src/ports.js';
import type { MakeJobStore } from './job-store.contract.js';

const DAY = 86_400_000;

/** A clock at a random day of the 2090s (each test its own), that moves only when told. */
function isolatedClock(): { now: () => number; advance: (ms: number) => void; start: number } {
  const start = Date.UTC(2090, 0, 1) + Math.floor(Math.random() * 3000) * DAY + 12 * 3600_000;
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), start };
}

async function create(store: JobStore, task: string, now: number): Promise<string> {
  const id = randomUUID();
  await store.createJob({ id, kind: 'map', task, total: 2, deadline: now + DAY });
  return id;
}

/** Registers the listing contract for one adapter. */
export function describeJobListContract(name: string, make: MakeJobStore): void {
  describe(`JobStore.listJobs (${name})`, () => {
    it('lists the jobs newest first as getJob reads them, pages with before, stops at limit and since', async () => {
      const clock = isolatedClock();
      const { store, close } = await make({ clock: clock.now });
      try {
        if (!store.listJobs) throw new Error(`${name} has no listJobs`);
        const ids: string[] = [];
        for (const task of ['a', 'b', 'c']) {
          ids.push(await create(store, task, clock.now()));
          clock.advance(10);
        }
        await store.completeChunk(ids[2]!, 0, { enc: 'v8', bytes: new Uint8Array([1]) });
        const all = await store.listJobs({ limit: 10, since: clock.start });
        expect(all.map((j) => j.id)).toEqual([ids[2], ids[1], ids[0]]);
        expect(all.map((j) => j.task)).toEqual(['c', 'b', 'a']);
        expect(all[0]).toEqual(await store.getJob(ids[2]!));
        expect(all[0]).toMatchObject({ status: 'RUNNING', done: 1, total: 2 });

        const two = await store.listJobs({ limit: 2, since: clock.start });
        expect(two.map((j) => j.id)).toEqual([ids[2], ids[1]]);
        const next = await store.listJobs({ limit: 2, since: clock.start, before: two[1]!.createdAt });
        expect(next.map((j) => j.id)).toEqual([ids[0]]);
        const recent = await store.listJobs({ limit: 10, since: clock.start + 10 });
        expect(recent.map((j) => j.id)).toEqual([ids[2], ids[1]]);
      } finally {
        await close();
      }
    });

    it('walks back over days: a job of the day before is listed after the day’s own', async () => {
      const clock = isolatedClock();
      const { store, close } = await make({ clock: clock.now });
      try {
        const older = await create(store, 'older', clock.now());
        clock.advance(DAY);
        const newer = await create(store, 'newer', clock.now());
        const jobs = await store.listJobs!({ limit: 10, since: clock.start });
        expect(jobs.map((j) => j.id)).toEqual([newer, older]);
      } finally {
        await close();
      }
    });

    it('an ended job carries endedAt, on the store’s clock; a running one none', async () => {
      const clock = isolatedClock();
      const { store, close } = await make({ clock: clock.now });
      try {
        const running = await create(store, 'run', clock.now());
        const cancelled = await create(store, 'cancel', clock.now());
        clock.advance(500);
        await store.cancelJob(cancelled, 'stop');
        expect((await store.getJob(cancelled))?.endedAt).toBe(clock.start + 500);
        expect((await store.getJob(running))?.endedAt).toBeUndefined();
        await store.completeChunk(running, 0, { enc: 'v8', bytes: new Uint8Array([1]) });
        await store.completeChunk(running, 1, { enc: 'v8', bytes: new Uint8Array([2]) });
        const claim = await store.claimFinaliser(running, 'me', 10_000);
        if (!claim.claimed) throw new Error('not claimed');
        clock.advance(250);
        expect(await store.finishJob(running, 'me', claim.fence)).toBe(true);
        expect(await store.getJob(running)).toMatchObject({ status: 'DONE', endedAt: clock.start + 750 });
      } finally {
        await close();
      }
    });
  });
}
