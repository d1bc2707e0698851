/**
 * Stragglers on the Lambda runner (the `FanfoldDefaults` stack of `worker-stacks.ts`): one chunk's
 * first attempt blocks its worker far longer than its peers (the `slowOnce` task); with the aws
 * context's default straggler rule, the caller backs it up and the job ends on the backup's result
 * while the slow attempt is still blocked. With `stragglers: false` no backup runs and the job
 * waits for the slow attempt.
 *
 * Asserted on events (marker files each attempt leaves as it starts and, the slow one, as it
 * ends), never on wall-clock windows; each test prints its figures (`[measured] ...`).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { appAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';

const tier = await useCloudTier();
const STACK = 'FanfoldDefaults';
const SETUP_MS = SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS;
/** Polls of the job: the context's default backoff goes up to a second, coarse for tests. */
const POLL = { pollMs: { min: 20, max: 200 } };
/** Ten chunks of one item: the tail is one chunk (10% of 10), the threshold 2 s (3 × 300 ms < 2 s). */
const CHUNKS = 10;
const SLOW_ID = 3;
const FAST_MS = 300;

let stack: RunnerStack | undefined;
let scratch: string;
printLogsOnFailure(() => stack?.logs ?? []);

beforeAll(async () => {
  const assembly = await appAssembly({ file: 'test/e2e/worker-stacks.ts', stacks: [STACK] });
  stack = await startRunnerStack({ cdkOut: assembly, stack: STACK, emulators: tier.emulators });
  scratch = mkdtempSync(join(tmpdir(), 'fanfold-stragglers-'));
}, 2 * SETUP_MS);
afterAll(async () => {
  await stack?.stop();
  rmSync(scratch, { recursive: true, force: true });
}, 60_000);

/** The runs `slowOnce` recorded in `dir`: which chunk, in which process, when, start or end. */
function runsIn(dir: string): { id: number; pid: number; at: number; kind: string }[] {
  return readdirSync(dir)
    .filter((f) => f !== 'slow')
    .map((f) => {
      const [id, pid, at, kind] = f.split('-') as [string, string, string, string];
      return { id: Number(id), pid: Number(pid), at: Number(at), kind };
    });
}

const items = (dir: string, slowMs: number) =>
  Array.from({ length: CHUNKS }, (_, id) => ({ dir, id, slowId: SLOW_ID, ms: FAST_MS, slowMs }));
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const seconds = (ms: number) => (ms / 1000).toFixed(1);

describe('a chunk whose first attempt straggles (a worker blocked 120 s, its peers 0.3 s)', () => {
  it(
    'is backed up by the default rule: the job ends on the backup while the slow attempt is still blocked',
    async () => {
      const dir = mkdtempSync(join(scratch, 'on-'));
      const SLOW_MS = 120_000;
      const mp = stack!.context({ tasks, ...POLL });
      // The AWS context's default rule: the chunks received with the slow one are taken by its
      // host's idle threads and recorded one by one, so only the slow chunk is left and the
      // default tail (one chunk of 10) is reached. (Before idle threads took a busy thread's queued
      // chunks, 4 of the 10 waited behind it and the rule never fired.)
      await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(300_000) });
      const submitted = Date.now();
      const result = await pool.map('slowOnce', items(dir, SLOW_MS), { chunksize: 1 });
      const ended = Date.now();
      const runs = runsIn(dir);

      expect(result).toEqual(Array.from({ length: CHUNKS }, (_, i) => i));
      const slowRuns = runs.filter((r) => r.id === SLOW_ID && r.kind === 'start').sort((a, b) => a.at - b.at);
      // Two attempts of the slow chunk: the first claimed the marker, the second is the backup.
      expect(existsSync(join(dir, 'slow'))).toBe(true);
      expect(slowRuns).toHaveLength(2);
      const [slow, backup] = slowRuns as [(typeof slowRuns)[0], (typeof slowRuns)[0]];
      // The result came while the slow attempt was provably still blocked: it has not ended.
      expect(runs.some((r) => r.kind === 'end')).toBe(false);
      // Every other chunk ran once, or twice if it was backed up with the slow one.
      const twice = [];
      for (let id = 0; id < CHUNKS; id++) {
        if (id === SLOW_ID) continue;
        const n = runs.filter((r) => r.id === id && r.kind === 'start').length;
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(2);
        if (n === 2) twice.push(id);
      }
      console.log(
        `[measured] stragglers on (load ${load()}): job ended ${seconds(ended - submitted)} s after submit, ${seconds(ended - slow.at)} s after the slow attempt started (it blocks ${seconds(SLOW_MS)} s, so would end ${seconds(slow.at + SLOW_MS - ended)} s later); the backup started ${seconds(backup.at - slow.at)} s after it${backup.pid === slow.pid ? ' (same container)' : ' (another container)'}; ${twice.length} of its batch-mates backed up with it`,
      );
    },
    tier.scaled(300_000),
  );

  it(
    'is not backed up with stragglers: false: one attempt, and the job waits for it',
    async () => {
      const dir = mkdtempSync(join(scratch, 'off-'));
      // Long past the 2 s threshold (a backup would have run), short enough to wait for.
      const SLOW_MS = 10_000;
      const mp = stack!.context({ tasks, ...POLL });
      await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(300_000), stragglers: false });
      const submitted = Date.now();
      const result = await pool.map('slowOnce', items(dir, SLOW_MS), { chunksize: 1 });
      const ended = Date.now();
      const runs = runsIn(dir);

      expect(result).toEqual(Array.from({ length: CHUNKS }, (_, i) => i));
      const slowRuns = runs.filter((r) => r.id === SLOW_ID);
      // One attempt only, and it ended before the result arrived (the job waited for it).
      expect(slowRuns.filter((r) => r.kind === 'start')).toHaveLength(1);
      const end = slowRuns.find((r) => r.kind === 'end');
      expect(end).toBeDefined();
      expect(end!.at).toBeLessThanOrEqual(ended);
      console.log(
        `[measured] stragglers off (load ${load()}): job ended ${seconds(ended - submitted)} s after submit, ${seconds(ended - end!.at)} s after the slow attempt (${seconds(SLOW_MS)} s) ended; no backup`,
      );
    },
    tier.scaled(300_000),
  );
});
