/**
 * Drain workers on the Lambda runner (`drain-stack.ts`): with the event source mapping throttled
 * to 2 invocations at once, the coordinator's drain invocations (6 per job) put more containers
 * than that to work on a job's chunks at once, and the job completes exactly; the same job with
 * drains switched off (FANFOLD_WORKER_BURST=0 on the coordinator) is the measure they are held to.
 *
 * Each run prints what it measured (`[measured] ...`); time is asserted only as the job's bound.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { appAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';

const tier = await useCloudTier();
/** The stack of drain-stack.ts (not imported: importing that file runs the app). */
const DRAIN_STACK = 'FanfoldDrains';
/** The mapping's MaximumConcurrency in drain-stack.ts. */
const MAPPING_CONCURRENCY = 2;
const SETUP_MS = SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS;
/** Polls of the job: the context's default backoff goes up to a second, coarse for tests. */
const POLL = { pollMs: { min: 20, max: 200 } };
/** Chunks of one task each, every task blocking its thread this long. */
const CHUNKS = 60;
const TASK_MS = 1_000;

let assembly: string;
const started: RunnerStack[] = [];
printLogsOnFailure(() => started.flatMap((s) => s.logs));

beforeAll(async () => {
  assembly = await appAssembly({ file: 'test/e2e/drain-stack.ts', stacks: [DRAIN_STACK] });
}, SETUP_MS);
afterAll(async () => {
  for (const s of started.splice(0)) await s.stop();
}, 60_000);

/** The markers the `mark` task left in `dir`: which chunk started, in which process, when. */
function markersIn(dir: string): { id: number; pid: number; at: number }[] {
  return readdirSync(dir).map((f) => {
    const [id, pid, at] = f.split('-').map(Number) as [number, number, number];
    return { id, pid, at };
  });
}

/** The most containers (processes) that ran a chunk at one instant, each chunk taking `ms`. */
function mostAtOnce(markers: readonly { pid: number; at: number }[], ms: number): number {
  let most = 0;
  for (const m of markers) {
    const running = new Set(markers.filter((o) => o.at <= m.at && m.at < o.at + ms).map((o) => o.pid));
    most = Math.max(most, running.size);
  }
  return most;
}

/** Runs the job on a fresh stack (`burst` drains per job, or the stack's own) and measures it. */
async function runJob(burst: string | undefined) {
  const stack = await startRunnerStack({
    cdkOut: assembly,
    stack: DRAIN_STACK,
    emulators: tier.emulators,
    ...(burst === undefined ? {} : { environment: { FanfoldCoordinator: { FANFOLD_WORKER_BURST: burst } } }),
  });
  started.push(stack);
  const scratch = mkdtempSync(join(tmpdir(), 'fanfold-drain-'));
  try {
    const name = stack.cloud.functionName('FanfoldWorker');
    const sandbox = stack.cloud.sandboxes.get(name)!;
    const mp = stack.context({ tasks, ...POLL });
    await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(300_000) });
    const items = Array.from({ length: CHUNKS }, (_, id) => ({ dir: scratch, id, ms: TASK_MS }));
    const t0 = Date.now();
    const out = await pool.map('mark', items, { chunksize: 1 });
    const tookMs = Date.now() - t0;
    const markers = markersIn(scratch);
    return {
      out,
      ids: markers.map((m) => m.id).sort((a, b) => a - b),
      tookMs,
      containers: new Set(markers.map((m) => m.pid)).size,
      atOnce: mostAtOnce(markers, TASK_MS),
      firstMs: Math.min(...markers.map((m) => m.at)) - t0,
      lastMs: Math.max(...markers.map((m) => m.at)) + TASK_MS - t0,
      invocations: sandbox.stats().invocations,
      batches: stack.cloud.pollers.find((p) => p.spec.functionName === name)!.stats.batches.length,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await stack.stop();
  }
}

describe('drain workers beside an event source mapping throttled to 2', () => {
  it(
    'run a job on more containers at once than the mapping allows, each chunk exactly once',
    async () => {
      const drained = await runJob(undefined);
      const mappingOnly = await runJob('0');
      const say = (r: Awaited<ReturnType<typeof runJob>>) =>
        `${(r.tookMs / 1000).toFixed(1)} s (chunks ran from ${(r.firstMs / 1000).toFixed(1)} s to ${(r.lastMs / 1000).toFixed(1)} s), ${r.atOnce} containers running chunks at once (${r.containers} in all), ${r.invocations} worker invocations, ${r.batches} mapping batches`;
      console.log(
        `[measured] ${CHUNKS} chunks of ${TASK_MS} ms, mapping concurrency ${MAPPING_CONCURRENCY}: with 6 drains ${say(drained)}; without ${say(mappingOnly)}`,
      );
      const expected = Array.from({ length: CHUNKS }, (_, id) => id);
      for (const r of [drained, mappingOnly]) {
        expect(r.out).toEqual(expected);
        // Exactly once: no chunk ran twice (no hold ran out, nothing was handed back).
        expect(r.ids).toEqual(expected);
      }
      expect(mappingOnly.atOnce).toBeLessThanOrEqual(MAPPING_CONCURRENCY);
      expect(drained.atOnce).toBeGreaterThan(MAPPING_CONCURRENCY);
      // Drain invocations ran beside the mapping's batches, and none without them. (Not the total of
      // invocations: a drain receives ten at a time, so it takes batches the mapping would have
      // taken, and the total stays about the job's batches.)
      expect(drained.invocations).toBeGreaterThan(drained.batches);
      expect(mappingOnly.invocations).toBe(mappingOnly.batches);
    },
    tier.scaled(600_000),
  );
});
