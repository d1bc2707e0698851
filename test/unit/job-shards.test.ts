/** The arithmetic of sharded recording (src/aws/job-shards.ts), against a count by brute force. */
import { describe, expect, it } from 'vitest';
import {
  BLOCK,
  emptyShards,
  expectedIn,
  indicesIn,
  resolveSharding,
  shardCount,
  shardOf,
} from '../../src/aws/job-shards.js';
import { InvalidArgumentError } from '../../src/errors.js';

/** Chunks per shard, counted one index at a time. */
function bruteForce(total: number, shards: number): number[] {
  const counts = new Array<number>(shards).fill(0);
  for (let i = 0; i < total; i++) counts[shardOf(i, shards)]!++;
  return counts;
}

describe('job shards', () => {
  it('puts blocks of 10 consecutive chunks on one shard and the next block on the next', () => {
    expect(BLOCK).toBe(10);
    expect([0, 9, 10, 19, 20, 39, 40].map((i) => shardOf(i, 4))).toEqual([0, 0, 1, 1, 2, 3, 0]);
    expect(shardOf(123_456, 1)).toBe(0);
  });

  it('expects in each shard exactly the chunks that fall there, for every size up to 700 and shard count up to 70', () => {
    for (let shards = 1; shards <= 70; shards += 3) {
      for (let total = 0; total <= 700; total += total < 60 ? 1 : 7) {
        const counts = bruteForce(total, shards);
        const expected = counts.map((_, k) => expectedIn(k, total, shards));
        expect(expected, `total ${total}, ${shards} shards`).toEqual(counts);
        const listed = counts.map((_, k) => [...indicesIn(k, total, shards)]);
        expect(listed.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
        expect(listed.map((l) => l.length)).toEqual(counts);
        expect(emptyShards(total, shards)).toEqual(counts.flatMap((n, k) => (n === 0 ? [k] : [])));
      }
    }
  });

  it('gives a sealed job one shard per 2,000 chunks, between 1 and 64, and an open job 16', () => {
    const s = resolveSharding();
    expect([0, 1, 2_000, 2_001, 100_000, 128_000, 1_000_000].map((t) => shardCount(t, s))).toEqual([
      1, 1, 1, 2, 50, 64, 64,
    ]);
    expect(shardCount(undefined, s)).toBe(16);
  });

  it('reaches every shard of a job sized by the default rule (no shard starts complete)', () => {
    const s = resolveSharding();
    for (const total of [1, 2_001, 4_001, 126_001, 128_000, 1_000_000]) {
      expect(emptyShards(total, shardCount(total, s))).toEqual([]);
    }
  });

  it('rejects sharding options out of range, naming the option', () => {
    expect(() => resolveSharding({ maxShards: 100 })).toThrow(InvalidArgumentError);
    expect(() => resolveSharding({ openShards: 0 })).toThrow(/options\.sharding\.openShards/);
    expect(() => resolveSharding({ chunksPerShard: 1.5 })).toThrow(/options\.sharding\.chunksPerShard/);
  });
});
