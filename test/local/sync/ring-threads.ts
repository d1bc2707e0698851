/**
 * Starts worker threads running test/fixtures/threads/ring-ops.thread.ts on this process's arena,
 * for the queue and pipe tests: `useRingThreads()` bundles the fixture once per file and ends every
 * thread after each test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { SHARE, type Shareable } from '../../../src/api/handles.js';
import { arena } from '../../../src/local/sync/arena.js';
import type { RingJob, RingThreadData } from '../../fixtures/threads/ring-ops.thread.js';

/** What a job's thread posted back. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: { name: string; code?: string } };

/** Runs a job in a new thread on `target`; resolves its outcome. */
export type RunInThread = (target: Shareable, job: RingJob) => Promise<Outcome>;

/** Registers the bundling and clean-up hooks; returns the function that starts a thread. */
export function useRingThreads(): RunInThread {
  let outdir: string;
  let script: URL;
  const workers: Worker[] = [];

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'fanfold-ring-'));
    await build({
      entryPoints: [fileURLToPath(new URL('../../fixtures/threads/ring-ops.thread.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir,
      // .mjs: the temp dir has no package.json saying "type": "module".
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    });
    script = pathToFileURL(join(outdir, 'ring-ops.thread.mjs'));
  });

  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });

  return (target, job) => {
    const workerData: RingThreadData = { arena: arena().sab, handle: target[SHARE](), job };
    const w = new Worker(script, { workerData });
    workers.push(w);
    return new Promise<Outcome>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`thread exited with ${String(code)} before posting`)));
    });
  };
}

/** The value of a successful outcome (fails the test with the thread's error otherwise). */
export function succeeded<T>(o: Outcome): T {
  if (!o.ok) throw new Error(`thread failed: ${o.error.name} ${o.error.code ?? ''}`);
  return o.value as T;
}
