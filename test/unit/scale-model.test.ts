/**
 * The bench's scale model (`bench/scale/`): DynamoDB's item sizes and request units by the rules
 * AWS documents, and the model's predictions against what those rules and limits imply on their
 * own (the mapping's ramp, the coordinator's timeout, the fan-out tree, the partition ceiling).
 */
import { describe, expect, it } from 'vitest';
import { itemSize, readUnits, valueSize, writeUnits } from '../../bench/scale/item-size.js';
import {
  ASSUMED,
  costPerMillionTasks,
  HAND_ROLLED,
  HAND_ROLLED_PER_CHUNK,
  ISSUE10,
  LIMITS,
  MAIN,
  type PerChunk,
  PRICES,
  predict,
  STACK,
  sendRate,
  tree,
  treeDepth,
} from '../../src/views/scale-model.js';

describe('DynamoDB item sizes', () => {
  it('counts names and values by type', () => {
    // Strings and binary by their bytes, numbers by significant digits, lists and maps with overhead.
    expect(valueSize({ S: 'héllo' })).toBe(6);
    expect(valueSize({ B: Buffer.from([1, 2, 3]).toString('base64') })).toBe(3);
    expect(valueSize({ B: new Uint8Array(5) })).toBe(5);
    expect(valueSize({ N: '12345' })).toBe(4);
    expect(valueSize({ N: '-0.00120' })).toBe(2);
    expect(valueSize({ BOOL: true })).toBe(1);
    expect(valueSize({ L: [{ S: 'ab' }, { N: '1' }] })).toBe(3 + (1 + 2) + (1 + 2));
    expect(valueSize({ M: { k: { S: 'v' } } })).toBe(3 + 1 + 1 + 1);
    expect(itemSize({ pk: { S: 'JOB#1' }, done: { N: '7' } })).toBe(2 + 5 + 4 + 2);
  });

  it('charges writes per KB of the larger item, twice in a transaction, and reads per 4 KB', () => {
    expect(writeUnits(0, 1, false)).toBe(1);
    expect(writeUnits(0, 1024, false)).toBe(1);
    expect(writeUnits(0, 1025, false)).toBe(2);
    expect(writeUnits(3000, 10, false)).toBe(3);
    expect(writeUnits(0, 800, true)).toBe(2);
    expect(readUnits(4096, true)).toBe(1);
    expect(readUnits(4097, true)).toBe(2);
    expect(readUnits(100, false)).toBe(0.5);
    expect(readUnits(0, true)).toBe(1);
  });
});

/** About what the runner counts for a chunk of 100 numbers (see bench/RESULTS.md). */
const PER_CHUNK: PerChunk = {
  sqs: 0.3,
  lambda: 0.1,
  s3Put: 0,
  s3Get: 0,
  wru: 3.4,
  rru: 1.6,
  recordingWru: 2.4,
};

/**
 * What the runner counted for a chunk of 100 numbers on the issue-10 code once a drain's receive
 * asks for ten (`bench/scale/counts.ts --chunks 100,300,1000` at commit 1d17f78, the 1,000-chunk
 * run, less the per-job invocations and visibility calls the model adds back at size:
 * `perChunkAtScale`; bench/RESULTS.md section 8).
 */
const COUNTED_1000: PerChunk = {
  sqs: 0.328,
  lambda: 0.076,
  s3Put: 0.001,
  s3Get: 0,
  wru: 2.452,
  rru: 1.766,
  recordingWru: 2.449,
};

describe('the scale model', () => {
  it('meets the cost target (≤ $0.03 per million tasks) on the counts of 1,000 chunks, at every task time', () => {
    for (const ms of [1, 10, 100]) {
      const cost = predict(ISSUE10, COUNTED_1000, 1_000_000, ms).costPerMillionTasks;
      expect(cost).toBeLessThanOrEqual(0.03);
      // What the counts price at, plus what the shape adds per job and per batch at size.
      expect(cost).toBeGreaterThan(costPerMillionTasks(COUNTED_1000, 100));
    }
  });

  it('fires no more drain workers than a small job has batches, so they cost a small job little', () => {
    const drainCost = (n: number) =>
      predict(ISSUE10, COUNTED_1000, n, 10).costPerMillionTasks - costPerMillionTasks(COUNTED_1000, 100);
    // 300 chunks: 30 drains (not the concurrency's 1,000), an invocation and two empty polls each,
    // beside the job's fan-out invocation, visibility calls and shard marks.
    const perChunk = (30 * (PRICES.lambdaRequest + 2 * PRICES.sqsRequest)) / 300;
    expect(drainCost(300)).toBeLessThan(((perChunk + 2 * PRICES.sqsRequest) * 1e6) / 100);
    expect(drainCost(300)).toBeGreaterThan((perChunk * 1e6) / 100);
  });

  it('fails a job that one coordinator cannot send within its timeout (main)', () => {
    const most = STACK.coordinatorTimeout * sendRate(MAIN);
    expect(predict(MAIN, PER_CHUNK, Math.floor(most * 0.9), 10).failure).toBeUndefined();
    expect(predict(MAIN, PER_CHUNK, Math.ceil(most * 1.1), 10).failure).toMatch(
      /past the coordinator's 60 s/,
    );
  });

  it("reaches 1,000 workers at the mapping's documented ramp (main) and within seconds invoked directly", () => {
    const ramp = (1_000 - LIMITS.esmInitial) / (LIMITS.esmPerMinute / 60);
    const main = predict(MAIN, PER_CHUNK, 100_000, 10);
    expect(main.busy1000).toBeGreaterThan(ramp);
    expect(main.busy1000).toBeLessThan(ramp + 5);
    expect(predict(ISSUE10, PER_CHUNK, 1_000_000, 10).busy1000).toBeLessThanOrEqual(10);
  });

  it('splits a fan-out as the coordinator does, and sends a million chunks within a minute', () => {
    expect(treeDepth(ISSUE10, ISSUE10.leafChunks)).toBe(0);
    // engine/fanout.ts splits a range into min(16, ceil(size / leaf)) parts: 100,000 chunks into 5
    // leaves; a million into 16 ranges of 62,500, each into 4 leaves of 15,625.
    expect(tree(ISSUE10, 100_000)).toEqual({ depth: 1, leaves: 5, leafSize: 20_000, inner: 1 });
    expect(tree(ISSUE10, 1_000_000)).toEqual({ depth: 2, leaves: 64, leafSize: 15_625, inner: 17 });
    const big = predict(ISSUE10, PER_CHUNK, 1_000_000, 10);
    // The root, its 16 children and 64 leaves (the fan-out's own test counts 81 invocations).
    expect(big.invocations).toBe(81);
    expect(big.fanout).toBeLessThanOrEqual(60);
    // A leaf sends groups of 1,000 with 16 calls in flight, then records its progress.
    const group = (1_000 / 160) * ASSUMED.sqsSend + ASSUMED.dynamoWrite;
    expect(sendRate(ISSUE10)).toBeCloseTo(1_000 / group);
  });

  it('hands a leaf over its budget on to a continuation instead of failing', () => {
    const wide = { ...ISSUE10, leafChunks: 2_000_000 };
    const p = predict(wide, PER_CHUNK, 1_000_000, 10);
    expect(p.failure).toBeUndefined();
    // 1e6 chunks at one leaf's rate take past one 50 s budget: continued at least once.
    expect(p.invocations).toBeGreaterThan(1);
    expect(p.fanout).toBeGreaterThan(1_000_000 / sendRate(wide));
  });

  it("brings back a crashed worker's chunks after the visibility: 6 × the timeout, or 30 s renewed", () => {
    expect(predict(MAIN, PER_CHUNK, 10_000, 10).crashRecovery).toBe(6 * STACK.workerTimeout);
    expect(predict(HAND_ROLLED, HAND_ROLLED_PER_CHUNK, 10_000, 10).crashRecovery).toBe(
      6 * STACK.workerTimeout,
    );
    expect(predict(ISSUE10, PER_CHUNK, 10_000, 10).crashRecovery).toBe(30);
  });

  it("sends a hand-rolled fan-out from the caller (no timeout), with workers at the mapping's ramp", () => {
    const ramp = (1_000 - LIMITS.esmInitial) / (LIMITS.esmPerMinute / 60);
    const p = predict(HAND_ROLLED, HAND_ROLLED_PER_CHUNK, 1_000_000, 100);
    expect(p.failure).toBeUndefined();
    expect(p.fanout).toBeCloseTo(1_000_000 / sendRate(HAND_ROLLED));
    expect(p.busy1000).toBeGreaterThan(ramp);
    expect(p.busy1000).toBeLessThan(ramp + 1);
  });

  it('records no faster than one partition allows (main), and the shards multiply it', () => {
    const one = LIMITS.partitionWru / PER_CHUNK.recordingWru;
    expect(predict(MAIN, PER_CHUNK, 100_000, 1).recordingCap).toBeCloseTo(one);
    expect(predict(ISSUE10, PER_CHUNK, 10_000, 1).recordingCap).toBeCloseTo(5 * one);
    // A 1 ms task finishes chunks faster than one partition records them: the job is bound by it.
    const bound = predict(MAIN, PER_CHUNK, 100_000, 1);
    expect(bound.endToEnd).toBeGreaterThan(100_000 / one);
  });

  it('costs what the list prices make of the counted requests', () => {
    const perChunk =
      PER_CHUNK.sqs * PRICES.sqsRequest +
      PER_CHUNK.lambda * PRICES.lambdaRequest +
      PER_CHUNK.wru * PRICES.wru +
      PER_CHUNK.rru * PRICES.rru;
    expect(costPerMillionTasks(PER_CHUNK, 100)).toBeCloseTo((perChunk * 1e6) / 100, 10);
    expect(costPerMillionTasks(PER_CHUNK, 10)).toBeCloseTo(10 * costPerMillionTasks(PER_CHUNK, 100), 10);
    expect(predict(MAIN, PER_CHUNK, 100_000, 10).costPerMillionTasks).toBeCloseTo(
      costPerMillionTasks(PER_CHUNK, 100),
      10,
    );
  });

  it("adds issue 10's per-job and per-batch requests: renewals grow with the batch's time", () => {
    const counted = costPerMillionTasks(PER_CHUNK, 100);
    const short = predict(ISSUE10, PER_CHUNK, 1_000_000, 1).costPerMillionTasks;
    const long = predict(ISSUE10, PER_CHUNK, 1_000_000, 100).costPerMillionTasks;
    expect(short).toBeGreaterThan(counted);
    // A batch of 10 chunks of 10 s on 2 threads runs 50 s: 5 renewals of its visibility.
    const renewals = (5 / STACK.batchSize) * PRICES.sqsRequest * 1e4;
    expect(long - short).toBeCloseTo(renewals, 6);
  });
});
