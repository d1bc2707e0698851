/**
 * The straggler rule (`engine/stragglers.ts`) on a clock the test moves: when a job is in its tail,
 * when its chunks left have straggled long enough, at most one backup per chunk, and a failed
 * request tried again a threshold later. And the `stragglers` option's validation.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STRAGGLERS,
  MAX_BACKUP_CHUNKS,
  type StragglerPolicy,
  StragglerWatch,
  stragglerPolicy,
} from '../../src/engine/stragglers.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { JobRecord } from '../../src/ports.js';

function job(done: number, total: number, meanChunkMs: number | undefined, status = 'RUNNING'): JobRecord {
  return {
    id: 'j',
    kind: 'map',
    task: 't',
    total,
    deadline: Number.POSITIVE_INFINITY,
    shards: 1,
    status: status as JobRecord['status'],
    done,
    version: done,
    createdAt: 0,
    ...(meanChunkMs === undefined ? {} : { meanChunkMs }),
  };
}

/** A watch over a job of `total` chunks whose chunks left are `left`; it notes every backup. */
function watch(
  total: number,
  left: () => number[],
  policy: StragglerPolicy = DEFAULT_STRAGGLERS,
  workers = 1_000,
) {
  let t = 0;
  const sent: number[][] = [];
  let fail = false;
  const w = new StragglerWatch({
    policy,
    total,
    workers,
    now: () => t,
    pending: async (max) => left().slice(0, max),
    backup: async (indices) => {
      if (fail) throw new Error('the coordinator is away');
      sent.push([...indices]);
    },
  });
  return {
    w,
    sent,
    at: (ms: number) => {
      t = ms;
    },
    failing: (f: boolean) => {
      fail = f;
    },
  };
}

describe('StragglerWatch', () => {
  it('backs up the chunks left once the tail has lasted max(minMs, factor × mean), once each', async () => {
    const { w, sent, at } = watch(100, () => [41, 97]);
    await w.observe(job(89, 100, 500)); // 11 left: not the tail (at most 10)
    at(1_000);
    await w.observe(job(98, 100, 500)); // the tail starts here
    at(1_000 + 1_999);
    await w.observe(job(98, 100, 500)); // 2 s is max(2000, 3 × 500): not yet
    expect(sent).toEqual([]);
    at(1_000 + 2_000);
    await w.observe(job(98, 100, 500));
    expect(sent).toEqual([[41, 97]]);
    at(60_000);
    await w.observe(job(98, 100, 500));
    expect(sent).toEqual([[41, 97]]);
    expect([...w.backedUp]).toEqual([41, 97]);
  });

  it('waits factor × the mean when that is longer than minMs', async () => {
    const { w, sent, at } = watch(10, () => [3]);
    await w.observe(job(9, 10, 4_000));
    at(11_999);
    await w.observe(job(9, 10, 4_000));
    expect(sent).toEqual([]);
    at(12_000);
    await w.observe(job(9, 10, 4_000));
    expect(sent).toEqual([[3]]);
  });

  it('backs up nothing without chunk times, or with no chunk recorded yet', async () => {
    const { w, sent, at } = watch(10, () => [3]);
    await w.observe(job(9, 10, undefined));
    at(3_600_000);
    await w.observe(job(9, 10, undefined));
    const one = watch(1, () => [0]);
    await one.w.observe(job(0, 1, 100));
    one.at(3_600_000);
    await one.w.observe(job(0, 1, 100));
    expect([...sent, ...one.sent]).toEqual([]);
  });

  it('bounds the tail by the workers: a chunk merely queued is never backed up', async () => {
    // 1,000 chunks, 10% would be 100 left; with 8 workers the tail is 8 chunks.
    const { w, sent, at } = watch(
      1_000,
      () => [990, 991, 992, 993, 994, 995, 996, 997, 998],
      DEFAULT_STRAGGLERS,
      8,
    );
    await w.observe(job(991, 1_000, 10)); // 9 left
    at(10_000);
    await w.observe(job(991, 1_000, 10));
    expect(sent).toEqual([]);
    await w.observe(job(992, 1_000, 10)); // 8 left: the tail starts now
    at(10_000 + 2_000);
    await w.observe(job(992, 1_000, 10));
    expect(sent).toEqual([[990, 991, 992, 993, 994, 995, 996, 997]]);
  });

  it('does nothing once the job is no longer running', async () => {
    const { w, sent, at } = watch(10, () => [3]);
    await w.observe(job(9, 10, 10, 'FOLDING'));
    at(60_000);
    await w.observe(job(9, 10, 10, 'CANCELLED'));
    expect(sent).toEqual([]);
  });

  it('tries a failed backup again one threshold later, without failing', async () => {
    const { w, sent, at, failing } = watch(10, () => [3]);
    await w.observe(job(9, 10, 10));
    failing(true);
    at(2_000);
    await w.observe(job(9, 10, 10));
    failing(false);
    at(3_999);
    await w.observe(job(9, 10, 10));
    expect(sent).toEqual([]);
    at(4_000);
    await w.observe(job(9, 10, 10));
    expect(sent).toEqual([[3]]);
  });

  it('sends at most MAX_BACKUP_CHUNKS per request', async () => {
    const left = Array.from({ length: MAX_BACKUP_CHUNKS + 3 }, (_, i) => i);
    const { w, sent, at } = watch(100_000, () => left);
    await w.observe(job(100_000 - left.length, 100_000, 10));
    at(2_000);
    await w.observe(job(100_000 - left.length, 100_000, 10));
    expect(sent.map((s) => s.length)).toEqual([MAX_BACKUP_CHUNKS, 3]);
  });
});

describe('stragglerPolicy()', () => {
  it('reads false as off, true as the defaults, and an object over the defaults', () => {
    expect(stragglerPolicy(undefined, 'options.stragglers', DEFAULT_STRAGGLERS)).toBe(DEFAULT_STRAGGLERS);
    expect(stragglerPolicy(undefined, 'options.stragglers', undefined)).toBeUndefined();
    expect(stragglerPolicy(false, 'options.stragglers', DEFAULT_STRAGGLERS)).toBeUndefined();
    expect(stragglerPolicy(true, 'options.stragglers', undefined)).toEqual(DEFAULT_STRAGGLERS);
    expect(stragglerPolicy({ factor: 2 }, 'options.stragglers', undefined)).toEqual({
      ...DEFAULT_STRAGGLERS,
      factor: 2,
    });
  });

  it.each<[unknown, string]>([
    [1, 'Expected options.stragglers to be true, false or { factor, minMs, tail }, got 1 (number)'],
    [{ factor: 0.5 }, 'Expected options.stragglers.factor to be a number from 1 to 1000, got 0.5 (number)'],
    [{ minMs: -1 }, 'Expected options.stragglers.minMs to be an integer >= 0, got -1 (number)'],
    [{ tail: 2 }, 'Expected options.stragglers.tail to be a number from 0 to 1, got 2 (number)'],
    [{ after: 1 }, 'Unknown option options.stragglers.after; expected one of: factor, minMs, tail'],
  ])('rejects %o with a message naming the option', (v, message) => {
    expect(() => stragglerPolicy(v, 'options.stragglers', undefined)).toThrow(
      new InvalidArgumentError(message),
    );
  });
});
