/**
 * Assertions the cloud tiers share about a job's views: the timeline's SVG as `fanfold timeline`
 * wrote it, and a job's reported cost against the estimate made before it ran. The moto tier
 * (test/aws/context.test.ts) and the Lambda runner (test/e2e/operations.test.ts) both use them.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { CostReport, Estimate } from '../../src/views/cost.js';

/**
 * The SVG at `path` has exactly one bar per chunk `0 … chunks - 1`, each with an attempt number of
 * at least 1, and the page at `html` embeds it.
 */
export function expectOneBarPerChunk(path: string, html: string, chunks: number): void {
  const written = readFileSync(path, 'utf8');
  const bars = [...written.matchAll(/<rect class="bar" data-index="(\d+)" data-attempt="(\d+)"/g)];
  expect(bars.map((m) => Number(m[1])).sort((a, b) => a - b)).toEqual(
    Array.from({ length: chunks }, (_, i) => i),
  );
  expect(bars.every((m) => Number(m[2]) >= 1)).toBe(true);
  expect(readFileSync(html, 'utf8')).toContain(written);
}

/**
 * A job that ran as estimated (no retry, no backup, batches well under a visibility renewal): its
 * counts are the estimate's exactly; its compute, the tasks' time plus each chunk's own overhead on
 * its thread, is 1 to 2 times the estimate's, in GB-seconds and in dollars (the stated tolerance).
 */
export function expectReportAsEstimated(cost: CostReport, estimate: Estimate): void {
  expect(cost.chunks).toBe(estimate.chunks);
  expect(cost.retries).toBe(0);
  expect(cost.backups).toBe(0);
  expect(cost.requests).toEqual(estimate.cost.requests);
  expect(cost.writeUnits).toBe(estimate.cost.writeUnits);
  expect(cost.readUnits).toBe(estimate.cost.readUnits);
  expect(cost.prices).toEqual(estimate.cost.prices);
  expect(cost.lambdaGbSeconds).toBeGreaterThanOrEqual(estimate.cost.lambdaGbSeconds);
  expect(cost.lambdaGbSeconds).toBeLessThanOrEqual(2 * estimate.cost.lambdaGbSeconds);
  expect(cost.usd.total).toBeGreaterThanOrEqual(estimate.cost.usd.total);
  expect(cost.usd.total).toBeLessThanOrEqual(2 * estimate.cost.usd.total);
}
