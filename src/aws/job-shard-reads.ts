/**
 * What `DynamoJobStore` reads and marks of a sharded job (layout in `dynamo-items.ts`, arithmetic
 * in `job-shards.ts`): the job's layout (shards, deadline) remembered per job id, the job item with
 * its shard counters in ONE BatchGetItem, and the marking of complete shards on the job item, which
 * recording, sealing and a refused finaliser claim all end with.
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { JobRef } from '../ports.js';
import { batchGet, type RetryPolicy } from './dynamo-batch.js';
import {
  COUNT_SK,
  counterKey,
  counterShardOf,
  decodeCounter,
  doneShardsOf,
  JOB_SK,
  jobKey,
  type ShardCount,
} from './dynamo-items.js';
import type { JobCommands } from './job-commands.js';
import { expectedIn } from './job-shards.js';

type Item = Record<string, AttributeValue>;

/** Job layouts remembered at most: a layout never changes, so an old one is only ever evicted. */
const LAYOUTS = 4096;

/** A job item and the counters read with it (a counter never written reads as zeros). */
export interface ShardRead {
  /** The job item; undefined when the job does not exist. */
  readonly item: Item | undefined;
  readonly counters: Map<number, ShardCount>;
}

/** The job-item marks after a check of some shards' counters. */
export interface MarkOutcome {
  /** The job item after the marks (or as read, when nothing was marked). */
  readonly item: Item;
  /** Shards whose counter is past what the job's total allows: a corrupt message was counted. */
  readonly overshoot: readonly number[];
}

/** Reads and marks sharded jobs for one store; see the module comment. */
export class JobShardReads {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #commands: JobCommands;
  readonly #retry: RetryPolicy;
  readonly #layouts = new Map<string, JobRef>();

  constructor(client: DynamoDBClient, table: string, commands: JobCommands, retry: RetryPolicy) {
    this.#client = client;
    this.#table = table;
    this.#commands = commands;
    this.#retry = retry;
  }

  /** Remembers the layout of the job whose item this is (every job item read passes through here). */
  remember(item: Item | undefined): void {
    const id = item?.id?.S;
    const shards = item?.shards?.N;
    const deadline = item?.deadline?.N;
    if (id === undefined || shards === undefined || deadline === undefined) return;
    if (this.#layouts.has(id)) return;
    if (this.#layouts.size >= LAYOUTS) this.#layouts.delete(this.#layouts.keys().next().value as string);
    this.#layouts.set(id, { shards: Number(shards), deadline: Number(deadline) });
  }

  /** Forgets a layout that turned out wrong (a job id re-created after its records expired). */
  forget(jobId: string): void {
    this.#layouts.delete(jobId);
  }

  /** The job's layout: `known` (from a chunk message), else remembered, else one read of the job item. */
  async layout(jobId: string, known?: JobRef): Promise<JobRef | undefined> {
    if (known) return known;
    const remembered = this.#layouts.get(jobId);
    if (remembered) return remembered;
    const out = await this.#client.send(this.#commands.read(jobKey(jobId)));
    this.remember(out.Item);
    return this.#layouts.get(jobId);
  }

  /**
   * The job item and the counters of shards `ks` (every shard when absent) in one strongly
   * consistent BatchGetItem (1 + S ≤ 100 keys). The layout must be known (`layout` first).
   */
  async read(jobId: string, shards: number, ks?: Iterable<number>): Promise<ShardRead> {
    const wanted = ks ? [...new Set(ks)] : Array.from({ length: shards }, (_, k) => k);
    const items = await batchGet(
      this.#client,
      this.#table,
      [jobKey(jobId), ...wanted.map((k) => counterKey(jobId, k))],
      this.#retry,
    );
    const counters = new Map<number, ShardCount>(wanted.map((k) => [k, decodeCounter(undefined)]));
    let item: Item | undefined;
    for (const it of items) {
      if (it.sk?.S === JOB_SK) item = it;
      else if (it.sk?.S === COUNT_SK) counters.set(counterShardOf(it), decodeCounter(it));
    }
    this.remember(item);
    return { item, counters };
  }

  /**
   * Marks, among the shards whose counters were read, the ones that hold every chunk the job's
   * total gives them, with ONE conditional write while the job is RUNNING (nothing to mark, or an
   * open job: no write). A refused mark means the job left RUNNING: the item as found is returned.
   */
  async markComplete(
    jobId: string,
    item: Item,
    counters: ReadonlyMap<number, ShardCount>,
  ): Promise<MarkOutcome> {
    const total = item.total?.N === undefined ? undefined : Number(item.total.N);
    if (total === undefined) return { item, overshoot: [] };
    const shards = Number(item.shards?.N ?? 1);
    const marked = doneShardsOf(item);
    const overshoot: number[] = [];
    const ready: number[] = [];
    for (const [k, c] of counters) {
      const expected = expectedIn(k, total, shards);
      if (c.done > expected) overshoot.push(k);
      else if (c.done === expected && !marked.has(k)) ready.push(k);
    }
    if (ready.length === 0 || item.status?.S !== 'RUNNING') return { item, overshoot };
    try {
      const out = await this.#client.send(this.#commands.markShards(jobId, ready));
      return { item: out.Attributes ?? item, overshoot };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      return { item: e.Item ?? item, overshoot };
    }
  }
}

/** True when the job item marks every one of its shards complete. */
export function allMarked(item: Item): boolean {
  return doneShardsOf(item).size === Number(item.shards?.N ?? 1);
}
