/**
 * `fanfold run --dashboard` as headless Chromium shows it: a local job whose chunks wait for the
 * test's word appears on the page, its chunks-done count rises as the test lets chunks go, and it
 * ends DONE; a second job fails with a message made of markup, which the page shows as text (no
 * script runs, no element is made from it), with its remote stack. The JSON endpoint is asserted
 * field by field while the first job runs. Each wait is on a change of the page, bounded generously. With FANFOLD_DOC_IMAGES=1 the final page is written
 * to docs/images/dashboard.png, and the page with 2 of 4 chunks done to dashboard-running.png
 * (docs/observability.md shows them).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardSnapshot } from '../../src/cli/dashboard-feed.js';
import { ExitCodes, main } from '../../src/cli/main.js';
import { HOSTILE } from '../fixtures/cli/gated.job.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';
import { Capture } from '../support/capture.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(here, '../fixtures/cli');
const skip = browserSkipReason();
/** Generous bound on each awaited page change: the machine may be busy with other test runs. */
const WAIT_MS = 60_000;

/** The text of the page's first element matching `selector`, or ''. */
function textOf(page: Page, selector: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .textContent({ timeout: WAIT_MS })
    .then((t) => t ?? '');
}

/**
 * Waits for the (one) job row to show `text` as its chunks. Locators, not waitForFunction: the
 * page's Content-Security-Policy forbids the eval a string predicate needs.
 */
function chunks(page: Page, text: string): Promise<void> {
  return page
    .locator('tr[data-job-id] [data-field="chunks"]', { hasText: new RegExp(`^${text}$`) })
    .waitFor({ timeout: WAIT_MS });
}

/** With FANFOLD_DOC_IMAGES=1, writes the page as it is to docs/images/`name`. */
async function docImage(page: Page, name: string): Promise<void> {
  if (process.env.FANFOLD_DOC_IMAGES !== '1') return;
  await page.setViewportSize({ width: 1200, height: 300 });
  await page.screenshot({ path: resolve(here, '../../docs/images', name), fullPage: true });
}

describe.skipIf(skip !== undefined)('fanfold run --dashboard in headless Chromium', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'fanfold-dashboard-'));
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the job appear, its chunks done rise and its end, and a failure as text', async () => {
    const stdout = new Capture();
    const stderr = new Capture();
    const run = main(['run', 'gated.job.ts', '--dashboard', '--port', '0', '--', dir, '4'], {
      stdout,
      stderr,
      cwd: fixtures,
      env: {},
    });
    let finished = false;
    void run.finally(() => (finished = true));
    // The address comes on stderr once the server listens (before the job module runs).
    let url = '';
    for (let waited = 0; !url && waited < WAIT_MS && !finished; waited += 50) {
      url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stderr.text)?.[0] ?? '';
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, stderr.text).not.toBe('');

    const page = await browser.newPage();
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(url)) outside.push(r.url());
    });
    await page.goto(url);

    // The job appears, running, none of its 4 chunks done (each waits for its gate file).
    const gated = 'tr[data-status][data-job-id]';
    await chunks(page, '0/4');
    expect(await textOf(page, `${gated} [data-field="status"]`)).toBe('RUNNING');
    expect(await textOf(page, `${gated} [data-field="task"]`)).toBe('starmap of waitForGate');

    // Two chunks let go: the count rises to 2/4 and stops there (the other gates are shut).
    writeFileSync(join(dir, 'go-0'), '');
    writeFileSync(join(dir, 'go-1'), '');
    await chunks(page, '2/4');

    await docImage(page, 'dashboard-running.png');

    // The JSON endpoint, field by field, while the job runs with 2 of 4 chunks done.
    const snap = (await (await fetch(`${url}api/jobs`)).json()) as DashboardSnapshot;
    expect(snap.title).toBe('run gated.job.ts');
    expect(snap.ended).toBe(false);
    expect(snap.costNote).toMatch(/^No cost figure/);
    expect(snap.totals).toMatchObject({ running: 1, done: 0, failed: 0 });
    expect(snap.jobs).toHaveLength(1);
    const job = snap.jobs[0]!;
    expect(job).toMatchObject({ kind: 'starmap', task: 'waitForGate', status: 'RUNNING', done: 2, total: 4 });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.createdAt).toBeLessThanOrEqual(snap.at);
    expect(job.endedAt).toBeUndefined();
    expect(job.error).toBeUndefined();
    expect(job.elapsedMs).toBe(snap.at - job.createdAt);
    expect(job.chunksPerSecond).toBe(Math.round((2 * 1e4) / job.elapsedMs) / 10);
    expect(job.cost).toBeNull();
    const a = job.attempts!;
    // Two chunks recorded, on one or two of the pool's 2 threads (a thread may hold several
    // chunks of an async task), both within the last 5 s (they ended as the test let them go).
    expect([1, 2]).toContain(a.workers);
    expect(a.workersActive).toBe(a.workers);
    expect(a.activeWindowMs).toBe(5_000);
    expect(a).toMatchObject({ retried: 0, backups: 0, stragglers: 0 });
    expect(a.medianMs).toBeGreaterThan(0);
    expect(snap.totals.workersActive).toBe(a.workersActive);

    // The rest let go: the job ends DONE 4/4, the failing job shows, the run ends.
    writeFileSync(join(dir, 'go-2'), '');
    writeFileSync(join(dir, 'go-3'), '');
    await page.locator('#state', { hasText: 'the run has ended' }).waitFor({ timeout: WAIT_MS });
    expect(await run).toBe(ExitCodes.OK);
    expect(stdout.text).toContain(HOSTILE); // the job caught the failure and returned

    const done = page.locator(`tr[data-job-id="${job.id}"]`);
    expect(await done.getAttribute('data-status')).toBe('DONE');
    expect(await done.locator('[data-field="chunks"]').textContent()).toBe('4/4');
    const failed = page.locator('tr[data-status="FAILED"]');
    expect(await failed.count()).toBe(1);
    expect(await failed.locator('[data-field="task"]').textContent()).toBe('map of failWith');

    // The failure: its message as text, nothing made of it, no script run; its remote stack.
    const failure = page.locator('.failure');
    expect(await failure.count()).toBe(1);
    expect(await failure.locator('[data-field="error"]').textContent()).toContain(`Error: ${HOSTILE}`);
    expect(await failure.locator('[data-field="remote-stack"]').textContent()).toContain('failWith');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(1); // the page's own
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await textOf(page, '[data-total="done"]')).toBe('1 done');
    expect(await textOf(page, '[data-total="failed"]')).toBe('1 failed or cancelled');
    expect(outside).toEqual([]);

    await docImage(page, 'dashboard.png');
    await page.close();
  }, 180_000);
});
