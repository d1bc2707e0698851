/**
 * A job's cost, before and after (src/views/cost.ts) and the prices it uses (src/views/prices.ts):
 * the counts follow the counted per-chunk figures and the scale model's per-job parts, the
 * dollars the prices, a user's prices override the list, and an estimate is the report of a job
 * that ran as estimated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultChunksize } from '../../src/chunksize.js';
import {
  COUNTED_PER_CHUNK,
  costOptions,
  costReport,
  DEFAULT_MEMORY_MB,
  estimateCost,
  jobCost,
} from '../../src/views/cost.js';
import { LIST_PRICES, pricesFromEnv, resolvePrices } from '../../src/views/prices.js';
import { coordinatorInvocations, ISSUE10, STACK } from '../../src/views/scale-model.js';

const dir = mkdtempSync(join(tmpdir(), 'fanfold-prices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prices', () => {
  it('carry their date and Region, and take a user’s fields over the list prices', () => {
    expect(LIST_PRICES.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(LIST_PRICES.region).toBe('us-east-1');
    const p = resolvePrices({ region: 'eu-west-1', wru: 0.7e-6 });
    expect(p).toEqual({ ...LIST_PRICES, region: 'eu-west-1', wru: 0.7e-6 });
  });

  it('name the field, what it expects and what it got when one is wrong', () => {
    expect(() => resolvePrices({ wru: -1 })).toThrow(
      'Expected prices.wru to be a price in USD (a number >= 0), got -1',
    );
    expect(() => resolvePrices({ lambda: 1 })).toThrow(
      /Unknown field prices\.lambda; expected date, region, sqsRequest/,
    );
    expect(() => resolvePrices('cheap')).toThrow(/Expected prices to be an object of prices, got/);
  });

  it('come from the JSON file FANFOLD_PRICES names, or are the list prices without it', () => {
    const file = join(dir, 'prices.json');
    writeFileSync(file, JSON.stringify({ sqsRequest: 1e-6, date: '2027-01-01' }));
    expect(pricesFromEnv({ FANFOLD_PRICES: file })).toEqual({
      ...LIST_PRICES,
      sqsRequest: 1e-6,
      date: '2027-01-01',
    });
    expect(pricesFromEnv({})).toBe(LIST_PRICES);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    expect(() => pricesFromEnv({ FANFOLD_PRICES: bad })).toThrow(
      /Expected FANFOLD_PRICES to name a JSON file of prices/,
    );
    writeFileSync(bad, JSON.stringify({ s3Put: 'free' }));
    expect(() => pricesFromEnv({ FANFOLD_PRICES: bad })).toThrow(
      /FANFOLD_PRICES \(.*bad\.json\)\.s3Put to be a price/,
    );
  });
});

describe('costReport()', () => {
  const usage = { chunks: 100, retries: 0, backups: 0, computeMs: 100 * 400 };

  it('counts each chunk run at the counted rates plus the job’s own parts, and prices them', () => {
    const r = costReport(usage, { workers: 4 });
    const k = { ...STACK, concurrency: 4, threads: 2 };
    // The job's own parts at 100 chunks on 4 workers: 4 drain workers (an invocation and two empty
    // receives each), 10 batches (a visibility call each, no renewal for 2 s batches), the fan-out's
    // one coordinator invocation, a progress record and the shard's mark.
    expect(coordinatorInvocations(ISSUE10, 100, k)).toBe(1);
    expect(r.requests.sqs).toBe(Math.round(COUNTED_PER_CHUNK.sqs * 100 + 2 * 4 + 10));
    expect(r.requests.lambda).toBe(Math.round(COUNTED_PER_CHUNK.lambda * 100 + 1 + 4));
    expect(r.writeUnits).toBe(Math.round(COUNTED_PER_CHUNK.wru * 100 + 100 / ISSUE10.group + 1));
    expect(r.readUnits).toBe(Math.round(COUNTED_PER_CHUNK.rru * 100));
    // 40 s of chunk time on 3538 MB shared by 2 threads.
    expect(r.lambdaGbSeconds).toBeCloseTo((40 * DEFAULT_MEMORY_MB) / 1024 / 2, 9);
    const p = LIST_PRICES;
    expect(r.usd.sqs).toBeCloseTo(r.requests.sqs * p.sqsRequest, 15);
    expect(r.usd.lambda).toBeCloseTo(
      r.requests.lambda * p.lambdaRequest + r.lambdaGbSeconds * p.lambdaGbSecond,
      15,
    );
    expect(r.usd.dynamodb).toBeCloseTo(r.writeUnits * p.wru + r.readUnits * p.rru, 15);
    expect(r.usd.total).toBeCloseTo(r.usd.sqs + r.usd.lambda + r.usd.dynamodb + r.usd.s3, 15);
    expect(r.prices).toEqual({ date: p.date, region: p.region });
  });

  it('charges a retry or a backup as one more run of a chunk', () => {
    const base = costReport(usage, { workers: 4 });
    const more = costReport({ ...usage, retries: 3, backups: 2 }, { workers: 4 });
    expect(more.requests.sqs - base.requests.sqs).toBeCloseTo(COUNTED_PER_CHUNK.sqs * 5, -0.5);
    expect(more.writeUnits - base.writeUnits).toBeCloseTo(COUNTED_PER_CHUNK.wru * 5, -0.5);
    expect(more).toMatchObject({ retries: 3, backups: 2 });
  });

  it('prices at the prices given', () => {
    const free = resolvePrices({ sqsRequest: 0, lambdaRequest: 0, lambdaGbSecond: 0, wru: 0, rru: 0 });
    expect(costReport(usage, { prices: free }).usd.total).toBe(0);
    const dear = costReport(usage, { prices: resolvePrices({ lambdaGbSecond: 1 }) });
    expect(dear.usd.lambda).toBeCloseTo(
      dear.lambdaGbSeconds + dear.requests.lambda * LIST_PRICES.lambdaRequest,
      9,
    );
  });

  it('is that of a JobInfo: its recorded chunks, their mean time, its retries and backups', () => {
    const info = { done: 100, meanChunkMs: 400, retries: 1, backups: 0 };
    expect(jobCost(info, { workers: 4 })).toEqual(costReport({ ...usage, retries: 1 }, { workers: 4 }));
    expect(jobCost({ done: 0 })).toMatchObject({ chunks: 0, lambdaGbSeconds: 0, requests: { sqs: 0 } });
  });

  it('checks its options, naming the one that is wrong', () => {
    expect(costOptions({ workers: 8, prices: { wru: 1e-6 } })).toEqual({
      workers: 8,
      prices: { ...LIST_PRICES, wru: 1e-6 },
    });
    expect(() => costOptions({ memoryMb: 64 })).toThrow(/options\.memoryMb/);
    expect(() => costOptions({ memory: 64 })).toThrow(/memory/);
    expect(() => costOptions({ prices: { wru: 'x' } })).toThrow(/options\.prices\.wru/);
  });
});

describe('estimateCost()', () => {
  it('plans the chunks as the pool would and is the report of the job run as estimated', () => {
    const e = estimateCost({ items: 1000, chunksize: defaultChunksize(1000, 4), taskMs: 5, workers: 4 });
    expect(e).toMatchObject({ items: 1000, chunksize: 63, chunks: 16, taskMs: 5 });
    expect(e.cost).toEqual(
      costReport({ chunks: 16, retries: 0, backups: 0, computeMs: 5000 }, { workers: 4 }),
    );
  });

  it('runs a job of fewer batches than workers side by side: about one batch’s time after the fan-out', () => {
    // 40 chunks of 10 tasks of 100 ms: 4 batches of 10 chunks, 5 s each on 2 threads, 50 workers.
    const e = estimateCost({ items: 400, chunksize: 10, taskMs: 100 });
    const batch = 5 + 0.1;
    expect(e.durationSeconds).toBeGreaterThan(e.fanoutSeconds + batch);
    // Not four batches one after the other: the workers the mapping and the drains start take one each.
    expect(e.durationSeconds).toBeLessThan(e.fanoutSeconds + 2 * batch);
  });

  it('estimates nothing for no items', () => {
    expect(estimateCost({ items: 0, chunksize: 0, taskMs: 5 })).toMatchObject({
      chunks: 0,
      durationSeconds: 0,
      cost: { requests: { sqs: 0, lambda: 0, s3: 0 }, usd: { total: 0 } },
    });
  });
});
