/**
 * `fanfold dashboard` on the runner: the e2e stack (stack.ts) stood up on moto, a job held open by
 * an Event beside one that ended, the dashboard served over `awsJobs({ stack })`; its JSON
 * endpoint asserted field by field, and headless Chromium watching the held job go from RUNNING
 * to DONE when the test lets it go.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJobs } from '../../src/aws/operations.js';
import { runDashboard } from '../../src/cli/dashboard.js';
import type { DashboardSnapshot } from '../../src/cli/dashboard-feed.js';
import { ExitCodes } from '../../src/cli/io.js';
import { jobCost } from '../../src/views/cost.js';
import { INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { Capture } from '../support/capture.js';
import { pointSdkAt, useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import { E2E_STACK, e2eAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';
import { heldAndEnded } from './held-jobs.js';

const tier = await useCloudTier();
const noBrowser = browserSkipReason();
let stack: RunnerStack | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  stack = await startRunnerStack({
    cdkOut: await e2eAssembly(),
    stack: E2E_STACK,
    emulators: tier.emulators,
  });
  if (!noBrowser) browser = await launchChromium();
}, SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS);
pointSdkAt(tier.emulators);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});
printLogsOnFailure(() => stack?.logs);

describe('fanfold dashboard (runner)', () => {
  it("serves the stack's jobs: the JSON field by field, the page following a job to its end", async () => {
    const { pool, go, held, squares } = await heldAndEnded(stack!, tier);
    await using _pool = pool;

    let stop!: () => void;
    let url = '';
    const stderr = new Capture();
    const served = runDashboard(
      { kind: 'dashboard', port: 0, limit: 10, stack: E2E_STACK, region: undefined },
      { stdout: new Capture(), stderr, cwd: '.', env: {} },
      {
        open: () => awsJobs({ clients: stack!.clients, stack: E2E_STACK }),
        stop: new Promise<void>((r) => (stop = r)),
        onListening: (u) => (url = u),
      },
    );
    try {
      await expect.poll(() => url || stderr.text, { timeout: tier.scaled(30_000) }).toMatch(/^http:/);

      const snap = (await (await fetch(`${url}api/jobs`)).json()) as DashboardSnapshot;
      expect(snap.title).toBe(`stack ${E2E_STACK}`);
      expect(snap.ended).toBe(false);
      expect(snap.error).toBeUndefined();
      expect(snap.costNote).toMatch(/list prices of \d{4}-\d\d-\d\d/);
      expect(snap.at).toBeGreaterThan(0);
      const h = snap.jobs.find((j) => j.id === held.jobId);
      const s = snap.jobs.find((j) => j.id === squares.jobId);
      expect(h).toMatchObject({ kind: 'starmap', task: 'holdUntil', status: 'RUNNING', done: 0, total: 1 });
      expect(h?.endedAt).toBeUndefined();
      expect(h?.error).toBeUndefined();
      expect(h?.elapsedMs).toBe(snap.at - h!.createdAt);
      expect(h?.chunksPerSecond).toBe(0);
      // Nothing recorded yet: the coordinator's invocation and the chunk's send, no compute.
      expect(h?.cost).toBe(jobCost(h!).usd.total);
      // Nothing of the held job is recorded yet: no worker ran one of its chunks to the end.
      expect(h?.attempts).toMatchObject({
        workers: 0,
        workersActive: 0,
        retried: 0,
        stragglers: 0,
        backups: 0,
      });
      expect(s).toMatchObject({ kind: 'map', task: 'square', status: 'DONE', done: 2, total: 2 });
      // Its cost as `fanfold status` reports it: the model's counts for 2 chunks and their run time.
      expect(s?.cost).toBe(jobCost(s!).usd.total);
      expect(s?.cost).toBeGreaterThan(h!.cost!);
      expect(s?.endedAt).toBeGreaterThanOrEqual(s!.createdAt);
      expect(s?.elapsedMs).toBe(s!.endedAt! - s!.createdAt);
      expect(s?.chunksPerSecond).toBe(Math.round((2 * 1e4) / s!.elapsedMs) / 10);
      // Its 2 chunks recorded with their attempts, first deliveries, none active once it ended.
      expect(s?.attempts?.workers).toBeGreaterThanOrEqual(1);
      expect(s?.attempts).toMatchObject({
        workersActive: 0,
        recentChunksPerSecond: 0,
        retried: 0,
        backups: 0,
      });
      expect(snap.totals.running).toBeGreaterThanOrEqual(1);
      expect(snap.totals.done).toBeGreaterThanOrEqual(1);

      if (browser) {
        const page = await browser.newPage();
        await page.goto(url);
        const row = page.locator(`tr[data-job-id="${held.jobId}"]`);
        await row
          .locator('[data-field="status"]', { hasText: 'RUNNING' })
          .waitFor({ timeout: tier.scaled(30_000) });
        expect(await row.locator('[data-field="chunks"]').textContent()).toBe('0/1');
        await go.set();
        await row
          .locator('[data-field="chunks"]', { hasText: /^1\/1$/ })
          .waitFor({ timeout: tier.scaled(60_000) });
        await row
          .locator('[data-field="status"]', { hasText: 'DONE' })
          .waitFor({ timeout: tier.scaled(60_000) });
        await page.close();
      } else await go.set();
      expect(await held.get()).toEqual([undefined]);
    } finally {
      await go.set();
      stop();
    }
    expect(await served).toBe(ExitCodes.OK);
  }, 240_000);
});
