/**
 * The timeline page of a local job as headless Chromium renders it: one bar per chunk in the DOM,
 * laid out with a width, and no request leaves the page (it is self-contained).
 */
import { local } from 'fanfold';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tasks from '../fixtures/tasks.js';
import { browserSkipReason, launchChromium } from '../support/browser.js';

const skip = browserSkipReason();

describe.skipIf(skip !== undefined)('the timeline page in headless Chromium', () => {
  const pool = local({ tasks }).Pool({ processes: 2 });
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await pool.terminate();
  });

  it('renders one visible bar per chunk and requests nothing', async () => {
    let jobId = '';
    await pool.map('spin', new Array(12).fill(10), { chunksize: 1, onProgress: (p) => (jobId = p.jobId) });
    const { html } = await pool.timeline(jobId);
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setContent(html);
    const bars = page.locator('svg rect.bar');
    expect(await bars.count()).toBe(12);
    // Laid out: each bar has a box of some width on the page (the test's tsconfig has no DOM types).
    const boxes = await Promise.all((await bars.all()).map((b) => b.boundingBox()));
    for (const box of boxes) expect(box?.width).toBeGreaterThan(0);
    expect(await page.locator('svg title').first().textContent()).toContain(jobId);
    expect(requests).toEqual([]);
  }, 60_000);
});
