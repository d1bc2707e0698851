/**
 * Reading a job's chunk records on DynamoDB (for `DynamoJobStore`): the records of given indices,
 * wherever their shards put them (BatchGetItem in pages of 100 keys), and the indices of a sealed
 * job not recorded yet (the counters say which shards are incomplete; only those are queried).
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chunksOf } from './batching.js';
import { batchGet, type RetryPolicy } from './dynamo-batch.js';
import { chunkIndexOf, chunkKey, decodeJob } from './dynamo-items.js';
import type { JobCommands } from './job-commands.js';
import type { JobShardReads } from './job-shard-reads.js';
import { expectedIn, indicesIn } from './job-shards.js';

type Item = Record<string, AttributeValue>;

/** The chunk-record reads of one store. */
export class ChunkReads {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #commands: JobCommands;
  readonly #shards: JobShardReads;
  readonly #retry: RetryPolicy;

  constructor(
    client: DynamoDBClient,
    table: string,
    commands: JobCommands,
    shards: JobShardReads,
    retry: RetryPolicy,
  ) {
    this.#client = client;
    this.#table = table;
    this.#commands = commands;
    this.#shards = shards;
    this.#retry = retry;
  }

  /** The records of these indices that exist, in no particular order. */
  async chunkItems(jobId: string, indices: readonly number[]): Promise<Item[]> {
    if (indices.length === 0) return [];
    const layout = await this.#shards.layout(jobId);
    if (!layout) return [];
    const out: Item[] = [];
    for (const page of chunksOf([...new Set(indices)], 100)) {
      const keys = page.map((i) => chunkKey(jobId, i, layout.shards));
      out.push(...(await batchGet(this.#client, this.#table, keys, this.#retry)));
    }
    return out;
  }

  /** Up to `max` indices of a sealed job not recorded yet, ascending; see `JobStore.pendingChunks`. */
  async pending(jobId: string, max: number): Promise<number[]> {
    const layout = await this.#shards.layout(jobId);
    if (!layout) return [];
    const { item, counters } = await this.#shards.read(jobId, layout.shards);
    const job = item && decodeJob(item, counters);
    if (!job || job.total === undefined) return [];
    const out: number[] = [];
    for (let k = 0; k < job.shards && out.length < max; k++) {
      if ((counters.get(k)?.done ?? 0) >= expectedIn(k, job.total, job.shards)) continue;
      const recorded = await this.#recordedIn(jobId, k);
      for (const i of indicesIn(k, job.total, job.shards)) {
        if (recorded.has(i)) continue;
        out.push(i);
        if (out.length === max) break;
      }
    }
    return out.sort((a, b) => a - b);
  }

  /** The indices recorded in shard `k` (its chunk keys, page by page). */
  async #recordedIn(jobId: string, k: number): Promise<Set<number>> {
    const found = new Set<number>();
    let start: Item | undefined;
    do {
      const page = await this.#client.send(this.#commands.chunkKeysOf(jobId, k, start));
      for (const item of page.Items ?? []) found.add(chunkIndexOf(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }
}
