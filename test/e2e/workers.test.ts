/**
 * Workers on the Lambda runner, from the stacks of `worker-stacks.ts`: a worker container killed
 * by its pid mid-batch, on the construct's default timeouts, costs its chunks the 30 s hold, not
 * the queue's 30 min, and a chunk that kills its container every time reaches the dead-letter
 * queue after 5 such holds; a worker nearing its time limit hands back what it cannot finish (visible at
 * once, listed in its batch response), and a chunk that alone outlasts the limit reaches the
 * dead-letter queue with an error that says so.
 *
 * Each test prints what it measured (`[measured] ...`). Times are asserted only against bounds far
 * from what they tell apart (a 30 s hold against a 30 min one, at once against a 60 s hold).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import tasks from '../fixtures/pool-tasks.js';
import { type EsmBatch, type EsmPoller, type FunctionSandbox, INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { appAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';

const tier = await useCloudTier();
const WORKER_STACKS = { defaults: 'FanfoldDefaults', short: 'FanfoldShort' } as const;
const SETUP_MS = SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS;
/** Polls of the job: the context's default backoff goes up to a second, coarse for tests. */
const POLL = { pollMs: { min: 20, max: 200 } };

let assembly: string;
const started: RunnerStack[] = [];
printLogsOnFailure(() => started.flatMap((s) => s.logs));

beforeAll(async () => {
  assembly = await appAssembly({ file: 'test/e2e/worker-stacks.ts', stacks: Object.values(WORKER_STACKS) });
}, SETUP_MS);
afterAll(async () => {
  for (const s of started.splice(0)) await s.stop();
}, 60_000);

async function start(stack: string): Promise<RunnerStack> {
  const s = await startRunnerStack({ cdkOut: assembly, stack, emulators: tier.emulators });
  started.push(s);
  return s;
}

function worker(s: RunnerStack): { sandbox: FunctionSandbox; poller: EsmPoller } {
  const name = s.cloud.functionName('FanfoldWorker');
  const poller = s.cloud.pollers.find((p) => p.spec.functionName === name);
  if (!poller) throw new Error(`no mapping feeds ${name}`);
  return { sandbox: s.cloud.sandboxes.get(name)!, poller };
}

/** Calls `probe` every 50 ms until it returns something, for at most `ms`. */
async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms: number) {
  const end = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first batch after `after` (epoch ms) that carried any of `ids`. */
function nextBatchWith(batches: readonly EsmBatch[], ids: readonly string[], after: number) {
  return batches.find((b) => b.startedAt >= after && b.messageIds.some((id) => ids.includes(id)));
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** The markers the `mark` task left in `dir`: which chunk started, in which process, when. */
function markersIn(dir: string): { id: number; pid: number; at: number }[] {
  return readdirSync(dir).map((f) => {
    const [id, pid, at] = f.split('-').map(Number) as [number, number, number];
    return { id, pid, at };
  });
}

describe("a worker killed mid-batch, on the construct's default timeouts", () => {
  let stack: RunnerStack;
  let scratch: string;
  beforeAll(async () => {
    stack = await start(WORKER_STACKS.defaults);
    scratch = mkdtempSync(join(tmpdir(), 'fanfold-kill-'));
  }, SETUP_MS);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it(
    "costs its chunks the worker's 30 s hold, not the queue's 30 min: the job completes exactly, the chunk redone within 60 s",
    async () => {
      const queue = await stack.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.cloud.outputs.FanfoldQueueUrl,
          AttributeNames: ['VisibilityTimeout'],
        }),
      );
      expect(queue.Attributes?.VisibilityTimeout).toBe('1800');
      const { sandbox, poller } = worker(stack);
      const mp = stack.context({ tasks, ...POLL });
      await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(300_000) });
      const items = [0, 1, 2, 3].map((id) => ({ dir: scratch, id, ms: 3_000 }));
      const running = pool.map('mark', items, { chunksize: 1 });

      // A chunk has started (its marker names the container's process): kill that container.
      const markers = () => markersIn(scratch);
      const first = await eventually(() => markers()[0], 'a chunk to start', tier.scaled(60_000));
      const killedAt = Date.now();
      expect(sandbox.kill(first.pid)).toBe(true);

      expect(await running).toEqual([0, 1, 2, 3]);
      const killed = poller.stats.batches.find((b) => b.outcome === 'error');
      expect(killed).toBeDefined();
      const redelivered = nextBatchWith(poller.stats.batches, killed!.messageIds, killedAt);
      const redone = markers().find((m) => m.id === first.id && m.at > killedAt);
      expect(redelivered).toBeDefined();
      expect(redone).toBeDefined();
      const deliveredAfter = redelivered!.startedAt - killedAt;
      const redoneAfter = redone!.at - killedAt;
      console.log(
        `[measured] worker killed mid-batch (default timeouts, queue visibility 1800 s): its ${killed!.messageIds.length} chunks delivered again ${seconds(deliveredAfter)} s after the kill, chunk ${first.id} running again after ${seconds(redoneAfter)} s`,
      );
      expect(redoneAfter).toBeLessThanOrEqual(60_000);
      // Exactly: every chunk ran once, or twice if the killed container held it; none dead-lettered.
      for (const id of [0, 1, 2, 3])
        expect(markers().filter((m) => m.id === id).length).toBeLessThanOrEqual(2);
      expect(
        stack.cloud.sandboxes.get(stack.cloud.functionName('FanfoldDeadLetter'))!.stats().invocations,
      ).toBe(0);
    },
    tier.scaled(240_000),
  );

  it(
    "sends a chunk that kills its container on every delivery to the dead-letter queue after 5 holds of 30 s, not 5 of the queue's 30 min",
    async () => {
      const dir = mkdtempSync(join(scratch, 'crash-'));
      const mp = stack.context({ tasks, ...POLL });
      await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(900_000) });
      // The chunk runs 2 s (its batch is held for 30 s before it starts), then ends its process.
      const started = Date.now();
      await expect(
        pool.map('mark', [{ dir, id: 0, ms: 2_000, crash: true }], { chunksize: 1 }),
      ).rejects.toMatchObject({
        code: ErrorCodes.RETRIES_EXHAUSTED,
        attempts: 5,
        // No delivery left a note (nothing ran after each kill): the failure names the last one as
        // lost with its worker.
        lastError: {
          name: 'WorkerCrashedError',
          code: ErrorCodes.WORKER_CRASHED,
          attempt: 5,
          message: expect.stringContaining('chunk 0 of job'),
        },
      });
      const failedAfter = Date.now() - started;
      const runs = markersIn(dir).sort((a, b) => a.at - b.at);
      // Each delivery ran it once, in a container of its own (the last one died with it).
      expect(runs).toHaveLength(5);
      expect(new Set(runs.map((r) => r.pid)).size).toBe(5);
      const gaps = runs.slice(1).map((r, k) => r.at - runs[k]!.at);
      console.log(
        `[measured] a chunk that kills its container: 5 deliveries, ${gaps.map(seconds).join(' s, ')} s apart (the hold is 30 s); the job failed ${seconds(failedAfter)} s after submit (5 x the queue's 1800 s visibility would be 2.5 h)`,
      );
      // Each redelivery waited out the 30 s hold, not the queue's 30 min.
      for (const gap of gaps) {
        expect(gap).toBeGreaterThanOrEqual(28_000);
        expect(gap).toBeLessThan(300_000);
      }
    },
    tier.scaled(900_000),
  );
});

describe('a worker nearing its time limit (a 30 s worker that hands back 5 s early)', () => {
  let stack: RunnerStack;
  beforeAll(async () => {
    stack = await start(WORKER_STACKS.short);
  }, SETUP_MS);

  it(
    'hands back what it cannot finish: listed in its response, visible at once, and the job completes exactly',
    async () => {
      const { poller } = worker(stack);
      const mp = stack.context({ tasks, ...POLL });
      await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(300_000) });
      // Six chunks of 256 items of 20 ms (5 s each, too many items to share a thread round trip),
      // sent in one call and so received as one batch: it needs 31 s on the worker's one thread,
      // whose budget is 25 s. A hand-back stops the thread running a chunk, and the next batch
      // waits for its replacement to start.
      const items = Array.from({ length: 6 * 256 }, () => 20);
      expect(await pool.map('spin', items, { chunksize: 256 })).toEqual(items);

      const batches = poller.stats.batches;
      // No invocation ran into Lambda's timeout: each answered, the unfinished listed.
      expect(batches.map((b) => b.outcome)).toEqual(batches.map(() => 'ok'));
      const handing = batches.filter((b) => (b.failures ?? []).length > 0);
      expect(handing.length).toBeGreaterThanOrEqual(1);
      for (const b of handing) {
        const next = nextBatchWith(batches, b.failures!, b.endedAt!);
        expect(next).toBeDefined();
        const after = next!.startedAt - b.endedAt!;
        console.log(
          `[measured] a batch of ${b.messageIds.length} ran ${seconds(b.endedAt! - b.startedAt)} s of a 30 s limit and handed back ${b.failures!.length}; delivered again after ${seconds(after)} s (their hold is 60 s)`,
        );
        // Visible at once: they would otherwise have waited out their 60 s hold.
        expect(after).toBeLessThan(30_000);
      }
    },
    tier.scaled(300_000),
  );

  it(
    'sends a chunk that alone outlasts the time limit to the dead-letter queue, with an error that says so',
    async () => {
      const mp = stack.context({ tasks, ...POLL });
      await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(600_000) });
      // Ten minutes of work in one chunk, against a 30 s worker: handed back 5 times.
      await expect(pool.map('spin', [600_000], { chunksize: 1 })).rejects.toMatchObject({
        code: ErrorCodes.RETRIES_EXHAUSTED,
        attempts: 5,
        lastError: {
          name: 'ChunkTimeLimitError',
          code: ErrorCodes.CHUNK_TIME_LIMIT,
          message: expect.stringContaining("ran past the worker's time limit"),
        },
      });
      expect(worker(stack).poller.stats.batches.every((b) => b.outcome === 'ok')).toBe(true);
    },
    tier.scaled(600_000),
  );
});
