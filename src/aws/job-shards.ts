/**
 * How a job's chunk records spread over DynamoDB partitions: the pure arithmetic of sharded
 * recording (docs/protocol.md, "AWS data model"). Chunk `i` belongs to shard
 * `floor(i / BLOCK) mod S`: blocks of {@link BLOCK} consecutive chunks (one SendMessageBatch, and
 * usually one event-source batch) share a shard, so a host's group of chunks usually adds to ONE
 * counter, while consecutive blocks go to different shards, so that concurrent workers spread over
 * the partitions. A shard is complete when its counter reaches {@link expectedIn}.
 */
import { MAX_SHARDS } from '../engine/protocol.js';
import { integer } from '../validate.js';

/** Consecutive chunks that share a shard. */
export const BLOCK = 10;

// At most MAX_SHARDS (99) shards: one BatchGetItem (100 keys) reads the job item and every counter.

/** How many shards a job gets (options of `DynamoJobStore`). */
export interface ShardingOptions {
  /** A sealed job gets one shard per this many chunks. @default 2000 */
  readonly chunksPerShard?: number;
  /** The most shards of a sealed job (1 to 99). @default 64 */
  readonly maxShards?: number;
  /** Shards of an open job (`imap`: its total is unknown when it is created; 1 to 99). @default 16 */
  readonly openShards?: number;
}

/** {@link ShardingOptions} with every default filled in. */
export type Sharding = Required<ShardingOptions>;

/** Validates sharding options and fills in the defaults. */
export function resolveSharding(o: ShardingOptions = {}, name = 'options.sharding'): Sharding {
  return {
    chunksPerShard: integer(o.chunksPerShard ?? 2000, `${name}.chunksPerShard`, 1),
    maxShards: integer(o.maxShards ?? 64, `${name}.maxShards`, 1, MAX_SHARDS),
    openShards: integer(o.openShards ?? 16, `${name}.openShards`, 1, MAX_SHARDS),
  };
}

/**
 * The shards of a new job: `clamp(ceil(total / chunksPerShard), 1, maxShards)` for a sealed job (a
 * small job keeps one counter, so it costs what an unsharded job did), `openShards` for an open one.
 */
export function shardCount(total: number | undefined, s: Sharding): number {
  if (total === undefined) return s.openShards;
  return Math.min(s.maxShards, Math.max(1, Math.ceil(total / s.chunksPerShard)));
}

/** The shard of chunk `index`. */
export function shardOf(index: number, shards: number): number {
  return Math.floor(index / BLOCK) % shards;
}

/** How many of a job's `total` chunks belong to shard `k` (0 for a shard no block reaches). */
export function expectedIn(k: number, total: number, shards: number): number {
  const blocks = Math.ceil(total / BLOCK);
  if (k >= blocks) return 0;
  // Blocks k, k + S, k + 2S, … below `blocks`; each holds BLOCK chunks but the job's last block.
  const count = Math.floor((blocks - 1 - k) / shards) + 1;
  const lastIsHere = (blocks - 1) % shards === k;
  return count * BLOCK - (lastIsHere ? blocks * BLOCK - total : 0);
}

/** The chunk indices of shard `k`, ascending. */
export function* indicesIn(k: number, total: number, shards: number): Generator<number> {
  for (let b = k; b * BLOCK < total; b += shards) {
    const end = Math.min(total, (b + 1) * BLOCK);
    for (let i = b * BLOCK; i < end; i++) yield i;
  }
}

/** The shards with no chunk at all: complete from the start (a job of fewer blocks than shards, or of none). */
export function emptyShards(total: number, shards: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < shards; k++) if (expectedIn(k, total, shards) === 0) out.push(k);
  return out;
}
