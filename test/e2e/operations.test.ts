/**
 * Operating a stack's jobs from outside the program that submitted them, on the runner: the e2e
 * stack (stack.ts) stood up on moto, a job held open by an Event, then `awsJobs({ stack })` and
 * the `fanfold jobs`, `status`, `attach` and `cancel` commands (in-process, their AWS clients made
 * from the SDK's environment variables, pointed at the runner as a user's profile would point at
 * AWS), their JSON asserted field by field and their exit codes. Then the views of a job that ran
 * on the runner: `fanfold timeline` (one SVG bar per recorded chunk attempt) and `pool.estimate`
 * made before a job, against the cost `fanfold status` reports after it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJobs } from '../../src/aws/operations.js';
import { ExitCodes, main } from '../../src/cli/main.js';
import type { CostReport } from '../../src/views/cost.js';
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { Capture } from '../support/capture.js';
import { pointSdkAt, useCloudTier } from '../support/cloud.js';
import { expectOneBarPerChunk, expectReportAsEstimated } from '../support/job-views.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { E2E_STACK, e2eAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';
import { heldAndEnded } from './held-jobs.js';

const tier = await useCloudTier();
let stack: RunnerStack | undefined;
const dir = mkdtempSync(join(tmpdir(), 'fanfold-ops-'));

beforeAll(async () => {
  stack = await startRunnerStack({
    cdkOut: await e2eAssembly(),
    stack: E2E_STACK,
    emulators: tier.emulators,
  });
  // The CLI makes its own clients, from the environment, as it does for a user.
  process.env.AWS_ENDPOINT_URL_LAMBDA = stack.cloud.lambdaEndpoint;
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = stack.cloud.endpoints.cloudformation;
}, SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS);
pointSdkAt(tier.emulators);
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  delete process.env.AWS_ENDPOINT_URL_CLOUDFORMATION;
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});
printLogsOnFailure(() => stack?.logs);

async function cli(
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string; json: unknown }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main([...argv, '--stack', E2E_STACK], { stdout, stderr, cwd: dir, env: {} });
  let json: unknown;
  try {
    json = JSON.parse(stdout.text);
  } catch {
    json = undefined;
  }
  return { code, stdout: stdout.text, stderr: stderr.text, json };
}

describe('operating a stack’s jobs (runner)', () => {
  it('lists, inspects, attaches to and cancels jobs by id, from the API and from the CLI', async () => {
    const { mp, pool, go, held } = await heldAndEnded(stack!, tier);
    await using _pool = pool;

    // The API, with no tasks module: the held job is listed, newest first, and inspected.
    const ops = awsJobs({ clients: stack!.clients, stack: E2E_STACK });
    try {
      const listed = await ops.list({ limit: 10 });
      const mine = listed.find((j) => j.id === held.jobId);
      expect(mine).toMatchObject({
        kind: 'starmap',
        task: 'holdUntil',
        status: 'RUNNING',
        done: 0,
        total: 1,
      });
      expect(listed.map((j) => j.createdAt)).toEqual(
        [...listed.map((j) => j.createdAt)].sort((a, b) => b - a),
      );
      expect(await ops.inspect(held.jobId)).toEqual(mine);
      await expect(ops.inspect('no-such-job')).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_NOT_FOUND' });
    } finally {
      ops.close();
    }

    // The CLI: jobs and status as JSON, field by field.
    const jobs = await cli('jobs', '--json', '--limit', '5');
    expect(jobs.code).toBe(ExitCodes.OK);
    const row = (jobs.json as { ok: boolean; jobs: Record<string, unknown>[] }).jobs.find(
      (j) => j.id === held.jobId,
    );
    expect(row).toMatchObject({
      id: held.jobId,
      kind: 'starmap',
      task: 'holdUntil',
      status: 'RUNNING',
      done: 0,
      total: 1,
      createdAt: expect.any(Number),
      elapsedMs: expect.any(Number),
      chunksPerSecond: 0,
    });
    expect(row?.endedAt).toBeUndefined();
    const text = await cli('jobs');
    expect(text.stdout).toMatch(new RegExp(`^${held.jobId}  RUNNING +holdUntil +0/1 `, 'm'));

    const status = await cli('status', held.jobId, '--json');
    expect(status.code).toBe(ExitCodes.OK);
    expect(status.json).toMatchObject({
      ok: true,
      job: { id: held.jobId, status: 'RUNNING', done: 0, total: 1 },
    });

    // attach from a second process's view: let the job go, read its results to a file.
    await go.set();
    const attached = await cli('attach', held.jobId, '--out', 'held.json', '--json');
    expect(attached.code).toBe(ExitCodes.OK);
    expect(attached.json).toEqual({ ok: true, jobId: held.jobId, out: 'held.json' });
    expect(JSON.parse(readFileSync(join(dir, 'held.json'), 'utf8'))).toEqual([null]);
    // attach did not release it: its submitter still reads its results.
    expect(await held.get()).toEqual([undefined]);

    // cancel a running job by id from the CLI; its submitter rejects.
    const started2 = mp.Event();
    const never = mp.Event();
    const doomed = pool.starmapAsync('holdUntil', [[started2, never]]);
    expect(await started2.wait(tier.scaled(30_000))).toBe(true);
    const cancelled = await cli('cancel', doomed.jobId, '--json', '--reason', 'ops test');
    expect(cancelled.code).toBe(ExitCodes.OK);
    expect(cancelled.json).toMatchObject({
      ok: true,
      job: {
        id: doomed.jobId,
        status: 'CANCELLED',
        error: { message: 'ops test', code: 'ERR_FANFOLD_JOB_CANCELLED' },
      },
    });
    await expect(doomed.get()).rejects.toMatchObject({ code: 'ERR_FANFOLD_JOB_CANCELLED' });
    await never.set();
  }, 240_000);

  it('exits 3 for a job or a stack that does not exist, with the error as JSON', async () => {
    const missing = await cli('status', 'no-such-job', '--json');
    expect(missing.code).toBe(ExitCodes.NOT_FOUND);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'ERR_FANFOLD_JOB_NOT_FOUND' } });
    expect((await cli('cancel', 'no-such-job')).code).toBe(ExitCodes.NOT_FOUND);
    expect((await cli('attach', 'no-such-job')).code).toBe(ExitCodes.NOT_FOUND);
    // A stack CloudFormation does not have.
    const stdout = new Capture();
    const code = await main(['jobs', '--json', '--stack', 'NoSuchStack'], {
      stdout,
      stderr: new Capture(),
      cwd: dir,
      env: {},
    });
    expect(code).toBe(ExitCodes.NOT_FOUND);
    expect(JSON.parse(stdout.text)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FANFOLD_STACK_NOT_FOUND' },
    });
  }, 120_000);
});

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
/** A cost's figures on one line, for the `[measured]` log. */
const figures = (c: CostReport) =>
  `${c.chunks} chunks, ${c.retries} retries, ${c.backups} backups, ` +
  `requests ${JSON.stringify(c.requests)}, ${c.writeUnits} WCU, ${c.readUnits} RCU, ` +
  `${c.lambdaGbSeconds.toFixed(3)} GB-s, $${c.usd.total.toFixed(7)}`;

describe('viewing a job that ran on the runner', () => {
  it('draws its timeline with fanfold timeline: one bar per recorded chunk attempt, its JSON field by field', async () => {
    const mp = stack!.context({ tasks, pollMs: { min: 20, max: 200 } });
    await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(120_000), stragglers: false });
    const r = pool.mapAsync('spin', Array(10).fill(60), { chunksize: 2 });
    expect(await r.get()).toEqual(Array(10).fill(60));

    const out = await cli('timeline', r.jobId, '--out', 'job.html', '--svg', 'job.svg', '--json');
    expect(out.code).toBe(ExitCodes.OK);
    const json = out.json as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(
      ['attempts', 'jobId', 'missing', 'ok', 'out', 'rows', 'spanMs', 'status', 'svg'].sort(),
    );
    expect(json.ok).toBe(true);
    expect(json.jobId).toBe(r.jobId);
    expect(json.out).toBe('job.html');
    expect(json.svg).toBe('job.svg');
    expect(json.status).toBe('DONE');
    // 5 chunks, none retried or backed up (stragglers off, 60 ms each): 5 recorded attempts.
    expect(json.attempts).toBe(5);
    expect(json.missing).toBe(0);
    // At least one worker thread, at most one per attempt.
    expect(json.rows).toBeGreaterThanOrEqual(1);
    expect(json.rows).toBeLessThanOrEqual(5);
    // The span covers at least the longest chunk (2 × 60 ms of spinning).
    expect(json.spanMs).toBeGreaterThanOrEqual(120);

    // The SVG written: one bar per chunk attempt, each with its chunk and attempt number.
    expectOneBarPerChunk(join(dir, 'job.svg'), join(dir, 'job.html'), 5);

    const text = await cli('timeline', r.jobId, '--out', 'again.html');
    expect(text.code).toBe(ExitCodes.OK);
    expect(text.stdout).toMatch(/^job \S+: 5 chunk attempts on \d+ worker threads; wrote again\.html$/m);

    const missing = await cli('timeline', 'no-such-job', '--out', 'x.html', '--json');
    expect(missing.code).toBe(ExitCodes.NOT_FOUND);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'ERR_FANFOLD_JOB_NOT_FOUND' } });
  }, 240_000);

  it('reports in fanfold status the cost pool.estimate predicted before the job ran', async () => {
    const mp = stack!.context({ tasks, pollMs: { min: 20, max: 200 } });
    await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(120_000), stragglers: false });
    const items = Array(12).fill(100);
    // Stated tolerance, as on the moto tier: the chunks' measured time is the tasks' (100 ms each)
    // plus each chunk's own overhead on its thread, at most as much again.
    const estimate = await pool.estimate('spin', items, { taskMs: 100, chunksize: 3 });
    expect(estimate).toMatchObject({ items: 12, chunksize: 3, chunks: 4 });
    const r = pool.mapAsync('spin', items, { chunksize: 3 });
    expect(await r.get()).toEqual(items);

    const status = await cli('status', r.jobId, '--json');
    expect(status.code).toBe(ExitCodes.OK);
    const { job, cost } = status.json as { job: Record<string, unknown>; cost: CostReport };
    expect(job.id).toBe(r.jobId);
    expect(job.status).toBe('DONE');
    expect(job.done).toBe(4);
    expect(job.total).toBe(4);
    expect(job.retries).toBe(0);
    expect(job.backups).toBe(0);
    expect(job.meanChunkMs).toBeGreaterThanOrEqual(300);
    console.log(
      `[measured] estimate vs report on the runner (load ${load()}): ` +
        `estimated ${figures(estimate.cost)}; reported ${figures(cost)}; ` +
        `GB-s ×${(cost.lambdaGbSeconds / estimate.cost.lambdaGbSeconds).toFixed(2)}, ` +
        `mean chunk ${Number(job.meanChunkMs).toFixed(0)} ms for 300 ms of tasks`,
    );
    // Counts exactly as estimated (4 chunks, no retry, no backup); compute within 1-2x.
    expectReportAsEstimated(cost, estimate);
    // The same report through the API.
    const ops = awsJobs({ clients: stack!.clients, stack: E2E_STACK });
    try {
      expect((await ops.report(r.jobId)).cost).toEqual(cost);
    } finally {
      ops.close();
    }
  }, 240_000);
});
