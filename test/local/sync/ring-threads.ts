/**
 * Starts worker threads running test/fixtures/threads/ring-ops.thread.ts on this process's arena,
 * for the queue and pipe tests: `useRingThreads()` bundles the fixture once per file and ends every
 * thread after each test.
 */
import { SHARE, type Shareable } from '../../../src/handles.js';
import { arena } from '../../../src/local/sync/arena.js';
import type { RingJob, RingThreadData } from '../../fixtures/threads/ring-ops.thread.js';
import { nextMessage, useThreadFixture } from '../../support/threads.js';

/** What a job's thread posted back. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: { name: string; code?: string } };

/** Runs a job in a new thread on `target`; resolves its outcome. */
export type RunInThread = (target: Shareable, job: RingJob) => Promise<Outcome>;

/** Registers the bundling and clean-up hooks; returns the function that starts a thread. */
export function useRingThreads(): RunInThread {
  const threads = useThreadFixture(new URL('../../fixtures/threads/ring-ops.thread.ts', import.meta.url));
  return (target, job) => {
    const workerData: RingThreadData = { arena: arena().sab, handle: target[SHARE](), job };
    return nextMessage<Outcome>(threads.start(workerData));
  };
}

/** The value of a successful outcome (fails the test with the thread's error otherwise). */
export function succeeded<T>(o: Outcome): T {
  if (!o.ok) throw new Error(`thread failed: ${o.error.name} ${o.error.code ?? ''}`);
  return o.value as T;
}
