/**
 * The job watch's waiting, on a clock the test drives: a store that cannot notify is read on one
 * schedule kept across every wait, so an idle job costs about a read a second and a busy one is
 * read soon after each change. Time is virtual: a sleep moves the clock, nothing waits for real.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLL,
  JobWatch,
  type PollBounds,
  pollDelay,
  type WatchClock,
} from '../../src/engine/job-watch.js';
import { JobCancelledError } from '../../src/errors.js';
import type { JobRecord, JobStore } from '../../src/ports.js';

/** A clock whose sleeps move it at once. */
class VirtualClock implements WatchClock {
  t = 0;
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.t += Math.max(0, ms);
  };
}

/**
 * A polling store (no `waitForChange`) over one job whose version is the number of `changes`
 * (virtual times) that have passed; it notes the time of every read.
 */
function pollingStore(clock: VirtualClock, changes: readonly number[] = []) {
  const reads: number[] = [];
  let gone = false;
  const job = (): JobRecord => {
    const version = changes.filter((c) => c <= clock.t).length;
    return {
      id: 'j',
      kind: 'map',
      task: 't',
      total: 1_000,
      deadline: Number.POSITIVE_INFINITY,
      shards: 1,
      status: 'RUNNING',
      done: version,
      version,
      createdAt: 0,
    };
  };
  const store = {
    getJob: async (id: string) => {
      reads.push(clock.t);
      return gone || id !== 'j' ? undefined : job();
    },
  } as Partial<JobStore> as JobStore;
  return {
    store,
    reads,
    remove: () => {
      gone = true;
    },
  };
}

function watch(store: JobStore, clock: VirtualClock, poll?: PollBounds): JobWatch {
  return new JobWatch('j', { store, clock, expire: async () => {}, ...(poll ? { poll } : {}) });
}

/** Calls next() as the job client's wait loop does, until the clock passes `until`. */
async function waitUntil(w: JobWatch, clock: VirtualClock, until: number): Promise<number> {
  let returns = 0;
  while (clock.t < until) {
    await w.next();
    returns++;
  }
  return returns;
}

describe('pollDelay()', () => {
  it('is min after a change, a fifth of the idle time after, and max once idle long enough', () => {
    expect(pollDelay(0, DEFAULT_POLL)).toBe(DEFAULT_POLL.min);
    expect(pollDelay(1_000, DEFAULT_POLL)).toBe(200);
    expect(pollDelay(60_000, DEFAULT_POLL)).toBe(DEFAULT_POLL.max);
  });
});

describe('JobWatch on a store that cannot notify', () => {
  it('reads an idle job about once a second after its first few seconds, however often next() returns', async () => {
    const clock = new VirtualClock();
    const { store, reads } = pollingStore(clock);
    const returns = await waitUntil(watch(store, clock), clock, 60_000);
    // The caller's loop got control back at least once a second…
    expect(returns).toBeGreaterThanOrEqual(60);
    // …but the end of a wait never restarted the schedule at min (that read 399 times a minute).
    expect(reads.length).toBeLessThanOrEqual(60 + 25);
    const late = reads.filter((t) => t >= 10_000);
    for (let k = 1; k < late.length; k++) expect(late[k]! - late[k - 1]!).toBeGreaterThan(999.999);
  });

  it('reads a job soon after each change: min after a change, then growing with the idle time', async () => {
    const clock = new VirtualClock();
    const { store, reads } = pollingStore(clock, [30_000]);
    const w = watch(store, clock);
    await waitUntil(w, clock, 29_000);
    // Idle for 29 s: one read per second. The change at 30 s is seen within a second…
    let seen = await w.next();
    while (!seen.changed) seen = await w.next();
    expect(clock.t - 30_000).toBeLessThanOrEqual(DEFAULT_POLL.max);
    expect(seen.job.version).toBe(1);
    // …and the reads after it start again at min.
    const from = reads.length;
    await waitUntil(w, clock, clock.t + 500);
    const after = reads.slice(from);
    expect(after[0]! - reads[from - 1]!).toBe(DEFAULT_POLL.min);
    expect(after.length).toBeGreaterThanOrEqual(5);
  });

  it('sees each change of a busy job within min of it', async () => {
    const clock = new VirtualClock();
    const changes = Array.from({ length: 100 }, (_, i) => 1_000 + i * 60);
    const { store } = pollingStore(clock, changes);
    const w = watch(store, clock);
    const lags: number[] = [];
    let version = -1;
    while (version < changes.length) {
      const { job, changed } = await w.next();
      if (changed && job.version > 0) lags.push(clock.t - changes[job.version - 1]!);
      version = job.version;
    }
    // The first read after a second of idling (its delay had grown) may see two changes at once;
    // every later change is seen by its own read, within min.
    expect(lags.length).toBeGreaterThanOrEqual(changes.length - 1);
    expect(Math.max(...lags.slice(1))).toBeLessThanOrEqual(DEFAULT_POLL.min + 1e-6);
  });

  it('returns the job last read, unchanged, when its second ends before a read is due', async () => {
    const clock = new VirtualClock();
    const { store, reads } = pollingStore(clock);
    // Reads at most every 5 s, while next() gives the caller its loop back every second.
    const w = watch(store, clock, { min: 25, max: 5_000 });
    await waitUntil(w, clock, 30_000);
    const from = reads.length;
    let returns = 0;
    while (clock.t < 60_000) {
      const { job, changed } = await w.next();
      expect(changed).toBe(false);
      expect(job.version).toBe(0);
      returns++;
    }
    expect(returns).toBeGreaterThanOrEqual(30);
    expect(reads.length - from).toBeLessThanOrEqual(7);
  });

  it('rejects with JobCancelledError once the job no longer exists', async () => {
    const clock = new VirtualClock();
    const { store, remove } = pollingStore(clock);
    const w = watch(store, clock);
    await w.next();
    remove();
    await expect(waitUntil(w, clock, 10_000)).rejects.toBeInstanceOf(JobCancelledError);
  });

  it('reports progress once per change', async () => {
    const clock = new VirtualClock();
    const { store } = pollingStore(clock, [100, 200, 5_000]);
    const seen: number[] = [];
    const w = new JobWatch('j', {
      store,
      clock,
      expire: async () => {},
      onProgress: (p) => seen.push(p.done),
    });
    await waitUntil(w, clock, 10_000);
    expect(seen).toEqual([0, 1, 2, 3]);
  });
});

describe('JobWatch on a store that notifies', () => {
  it('waits with waitForChange and never polls', async () => {
    const clock = new VirtualClock();
    const { store } = pollingStore(clock);
    let gets = 0;
    let waits = 0;
    const notifying: JobStore = {
      ...store,
      getJob: async (id) => {
        gets++;
        return store.getJob(id);
      },
      waitForChange: async (id, since, timeoutMs) => {
        waits++;
        expect(timeoutMs).toBeLessThanOrEqual(1_000);
        const job = await store.getJob(id);
        if (job && job.version <= since) await clock.sleep(timeoutMs);
        return job;
      },
    };
    await waitUntil(watch(notifying, clock), clock, 5_000);
    expect(gets).toBe(0);
    expect(waits).toBeGreaterThanOrEqual(5);
  });
});
