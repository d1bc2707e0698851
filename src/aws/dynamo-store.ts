/**
 * The {@link JobStore} port on one DynamoDB table (layout in `dynamo-items.ts`). Each port method
 * that changes state is one conditional write or one transaction, written the Powertools way:
 * conditions from named pieces with `#attr` placeholders, `ReturnValuesOnConditionCheckFailure:
 * ALL_OLD` so a refused write tells what it found, and only `ConditionalCheckFailedException` and
 * cancelled transactions with a `ConditionalCheckFailed` reason mapped to domain outcomes.
 *
 * No hot item: a job's chunk records and their counters are spread over S shard partitions (1 for
 * a job of up to 2,000 chunks, at most 64; `job-shards.ts`), so recording writes the job item only
 * to mark a shard complete (S writes per job). Completion is the set of complete shards on the job
 * item: recording (`dynamo-recording.ts`), sealing and a refused finaliser claim mark the shards
 * whose counters are full (`job-shard-reads.ts`), and `claimFinaliser` holds only once all are.
 * Releasing writes a tombstone; every item expires by TTL at the job's deadline plus the retention.
 */

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ErrorCodes, ProtocolError, type SerializedError } from '../errors.js';
import type {
  ChunkAttempt,
  ChunkResult,
  ClaimOutcome,
  CompleteOutcome,
  Data,
  JobError,
  JobRecord,
  JobRef,
  JobSpec,
  JobStore,
  ListJobsOptions,
  RunClaim,
  SealOutcome,
} from '../ports.js';
import { chunkResults, inlineData, integer, jobSpec, nonEmptyString, nonNegative } from '../validate.js';
import type { RetryPolicy } from './dynamo-batch.js';
import { ChunkReads } from './dynamo-chunk-reads.js';
import {
  chunkIndexOf,
  decodeAttempt,
  decodeData,
  decodeJob,
  decodeNote,
  errorKey,
  expiryOf,
  jobKey,
  newJobItem,
  runAttributes,
} from './dynamo-items.js';
import { listJobs } from './dynamo-list.js';
import { completeSeal, type RecordingContext, recordChunks } from './dynamo-recording.js';
import { JobCommands } from './job-commands.js';
import { allMarked, JobShardReads } from './job-shard-reads.js';
import {
  emptyShards,
  resolveSharding,
  type Sharding,
  type ShardingOptions,
  shardCount,
} from './job-shards.js';

/** Options of {@link DynamoJobStore}. */
export interface DynamoJobStoreOptions {
  /** The DynamoDB client; make one with `createDynamoClient`. */
  readonly client: DynamoDBClient;
  /** The table, with string keys `pk` and `sk` (see `ensureTable`). */
  readonly tableName: string;
  /**
   * How long a job's items outlive its deadline before the table's TTL deletes them, in seconds
   * (a released job's records included: releasing deletes nothing). An error note lives this long
   * after it is written. @default 86_400 (a day)
   */
  readonly retentionSeconds?: number;
  /** How many shards a job's records spread over. @default { chunksPerShard: 2000, maxShards: 64, openShards: 16 } */
  readonly sharding?: ShardingOptions;
  /** Largest inline `Data` in bytes; must leave room in DynamoDB's 400 KB item. @default 358_400 (350 KiB) */
  readonly maxInlineBytes?: number;
  /** Attempts of a batch call's unprocessed keys, or of a transaction cancelled by a conflict. @default 8 */
  readonly retryAttempts?: number;
  /** Base of the jittered exponential backoff between those attempts, in ms. @default 25 */
  readonly retryBaseMs?: number;
  /** The time source, in epoch ms (lease expiry compares against it). @default Date.now */
  readonly clock?: () => number;
}

/** Largest `maxInlineBytes`: DynamoDB items are at most 400 KB, keys and attributes included. */
const MAX_INLINE_LIMIT = 390_000;

type Item = Record<string, AttributeValue>;

/**
 * A job store on DynamoDB.
 *
 * Choices where the port leaves room, as in `MemoryJobStore`: a job that does not exist counts as
 * ended (`completeChunk` → `first: false`, status `CANCELLED`); `seal` of one throws a
 * {@link ProtocolError}; a finaliser whose lease ran out may still `finishJob` while nobody took
 * it over; `cancelJob` keeps its reason as the job's `error`. Beyond it: `finishJob` drops the
 * job's `initial` value, so that it and the result never share the 400 KB item; reads are
 * strongly consistent; lease expiry uses the caller's clock, so hosts' clocks must roughly agree.
 * A job's layout (shards, deadline) is remembered per job id once read, so that `getJob` is one
 * BatchGetItem of the job item and its counters.
 *
 * @example
 * ```ts
 * const store = new DynamoJobStore({ client: createDynamoClient(), tableName: 'fanfold' });
 * await store.createJob({ id, kind: 'map', task: 'square', total: 4, deadline: Date.now() + 60_000 });
 * ```
 */
export class DynamoJobStore implements JobStore {
  /** {@inheritDoc JobStore.maxInlineBytes} */
  readonly maxInlineBytes: number;
  readonly #client: DynamoDBClient;
  readonly #commands: JobCommands;
  readonly #shards: JobShardReads;
  readonly #reads: ChunkReads;
  readonly #sharding: Sharding;
  readonly #recording: RecordingContext;
  readonly #retentionSeconds: number;
  readonly #clock: () => number;
  /** The table, for the listing query. */
  readonly #table: string;

  constructor(options: DynamoJobStoreOptions) {
    const tableName = nonEmptyString(options.tableName, 'options.tableName', 3);
    this.#table = tableName;
    const retryAttempts = integer(options.retryAttempts ?? 8, 'options.retryAttempts', 1);
    this.#client = options.client;
    this.#retentionSeconds = integer(options.retentionSeconds ?? 86_400, 'options.retentionSeconds', 1);
    this.#sharding = resolveSharding(options.sharding);
    this.maxInlineBytes = integer(
      options.maxInlineBytes ?? 350 * 1024,
      'options.maxInlineBytes',
      0,
      MAX_INLINE_LIMIT,
    );
    const retry: RetryPolicy = {
      attempts: retryAttempts,
      baseMs: nonNegative(options.retryBaseMs ?? 25, 'options.retryBaseMs'),
    };
    this.#clock = options.clock ?? Date.now;
    this.#commands = new JobCommands(
      tableName,
      () => Math.floor(this.#clock() / 1000) + this.#retentionSeconds,
    );
    this.#shards = new JobShardReads(this.#client, tableName, this.#commands, retry);
    this.#reads = new ChunkReads(this.#client, tableName, this.#commands, this.#shards, retry);
    this.#recording = {
      client: this.#client,
      commands: this.#commands,
      shards: this.#shards,
      retry,
      retentionSeconds: this.#retentionSeconds,
      fail: (jobId, error) => this.failJob(jobId, error),
    };
  }

  /** {@inheritDoc JobStore.createJob} */
  async createJob(spec: JobSpec): Promise<{ created: boolean; job: JobRecord }> {
    jobSpec(spec);
    if (spec.initial) inlineData(spec.initial, 'Initial value', this.maxInlineBytes);
    const shards = shardCount(spec.total, this.#sharding);
    const item = newJobItem(spec, {
      now: this.#clock(),
      expiresAt: expiryOf(spec.deadline, this.#retentionSeconds),
      shards,
      complete: spec.total === undefined ? [] : emptyShards(spec.total, shards),
    });
    try {
      await this.#client.send(this.#commands.createJob(item));
      this.#shards.remember(item);
      return { created: true, job: decodeJob(item) };
    } catch (e) {
      const old = await this.#refused(e, spec.id);
      if (!old) throw new ProtocolError(`Job ${spec.id} exists but could not be read back`);
      return { created: false, job: decodeJob(old) };
    }
  }

  /**
   * {@inheritDoc JobStore.seal} Sets the total (one conditional write), then reads every shard's
   * counter and marks the complete ones: a host that read the job before the total was set did so
   * after its own counter write, so this later read sees that write (docs/protocol.md, C4).
   */
  async seal(jobId: string, total: number): Promise<SealOutcome> {
    integer(total, 'total', 0);
    let item: Item;
    try {
      const out = await this.#client.send(this.#commands.seal(jobId, total));
      item = out.Attributes ?? {};
    } catch (e) {
      const old = await this.#refused(e, jobId);
      if (!old) throw new ProtocolError(`Cannot seal job ${jobId}: it does not exist`);
      const sealed = decodeJob(old).total;
      if (sealed !== total)
        throw new ProtocolError(`Job ${jobId} is sealed with ${sealed} chunks; cannot seal it with ${total}`);
      item = old;
    }
    return completeSeal(this.#recording, jobId, item, total);
  }

  /** {@inheritDoc JobStore.completeChunk} */
  async completeChunk(jobId: string, index: number, result: Data): Promise<CompleteOutcome> {
    const [outcome] = await this.completeChunks(jobId, [{ index, result }]);
    return outcome!;
  }

  /**
   * {@inheritDoc JobStore.completeChunks} Per ~99 chunks one transaction (the chunk Puts and one
   * counter Update per shard touched), then one BatchGetItem of the job and those counters, and a
   * mark on the job item when a shard has just become complete (`dynamo-recording.ts`).
   */
  async completeChunks(
    jobId: string,
    entries: readonly ChunkResult[],
    job?: JobRef,
  ): Promise<CompleteOutcome[]> {
    chunkResults(entries, this.maxInlineBytes);
    if (job) {
      integer(job.shards, 'job.shards', 1);
      integer(job.deadline, 'job.deadline', 0);
    }
    return recordChunks(this.#recording, jobId, entries, job);
  }

  /** {@inheritDoc JobStore.failJob} */
  async failJob(jobId: string, error: JobError): Promise<{ changed: boolean; job: JobRecord | undefined }> {
    return this.#end(jobId, 'FAILED', error);
  }

  /** {@inheritDoc JobStore.cancelJob} The reason is kept as the job's `error`. */
  async cancelJob(jobId: string, reason: string): Promise<{ changed: boolean; job: JobRecord | undefined }> {
    return this.#end(jobId, 'CANCELLED', {
      name: 'JobCancelledError',
      message: reason,
      code: ErrorCodes.JOB_CANCELLED,
      reason: 'internal',
    });
  }

  /**
   * {@inheritDoc JobStore.claimRun} One conditional update of the job item: sets its
   * `run<index>` (owner) and `runUntil<index>` (lease end) attributes unless another owner is
   * there, while the job is RUNNING. The job's `version` is left alone (nobody waits for a claim).
   */
  async claimRun(jobId: string, index: number, owner: string, leaseMs: number): Promise<RunClaim> {
    integer(index, 'index', 0);
    nonEmptyString(owner, 'owner');
    integer(leaseMs, 'leaseMs', 1);
    const until = this.#clock() + leaseMs;
    const leaseOf = (item: Item | undefined) => {
      const v = item?.[runAttributes(index).until]?.N;
      return v === undefined ? {} : { leaseUntil: Number(v) };
    };
    try {
      const out = await this.#client.send(this.#commands.claimRun(jobId, index, owner, until));
      return { claimed: true, job: decodeJob(out.Attributes ?? {}), leaseUntil: until };
    } catch (e) {
      const old = await this.#refused(e, jobId);
      return { claimed: false, job: old && decodeJob(old), ...leaseOf(old) };
    }
  }

  /**
   * {@inheritDoc JobStore.claimFinaliser} The first lease has fence 1; each takeover adds 1. A claim
   * refused because a sealed RUNNING job has shards not yet marked (their last recorder died
   * before marking) reads the counters, marks what is complete, and tries once more.
   */
  async claimFinaliser(jobId: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    integer(leaseMs, 'leaseMs', 1);
    for (let attempt = 0; ; attempt++) {
      const now = this.#clock();
      try {
        const out = await this.#client.send(this.#commands.claimFinaliser(jobId, owner, now, leaseMs));
        const job = decodeJob(out.Attributes ?? {});
        return { claimed: true, fence: job.finaliser?.fence ?? 0, job };
      } catch (e) {
        const old = await this.#refused(e, jobId);
        const job = old && decodeJob(old);
        // Our own lease: the write happened and its response was lost, then the SDK retried it.
        if (job?.status === 'FOLDING' && job.finaliser?.owner === owner) {
          return { claimed: true, fence: job.finaliser.fence, job };
        }
        if (attempt > 0 || !old || job?.status !== 'RUNNING' || job.total === undefined || allMarked(old))
          return { claimed: false, job };
        const read = await this.#shards.read(jobId, job.shards);
        const marks = await this.#shards.markComplete(jobId, read.item ?? old, read.counters);
        if (!allMarked(marks.item)) return { claimed: false, job: decodeJob(marks.item) };
      }
    }
  }

  /** {@inheritDoc JobStore.finishJob} A lease that ran out still finishes while nobody has taken it over. */
  async finishJob(jobId: string, owner: string, fence: number, result?: Data): Promise<boolean> {
    if (result) inlineData(result, 'Job result', this.maxInlineBytes);
    try {
      await this.#client.send(this.#commands.finishJob(jobId, owner, fence, result, this.#clock()));
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  /** {@inheritDoc JobStore.noteChunkError} */
  async noteChunkError(jobId: string, index: number, error: SerializedError): Promise<void> {
    integer(index, 'index', 0);
    await this.#client.send(this.#commands.noteChunkError(jobId, index, error));
  }

  /** {@inheritDoc JobStore.countBackups} One UpdateItem of the job item (`ADD backups`). */
  async countBackups(jobId: string, sent: number): Promise<void> {
    integer(sent, 'sent', 1);
    try {
      await this.#client.send(this.#commands.countBackups(jobId, sent));
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return;
      throw e;
    }
  }

  /** {@inheritDoc JobStore.lastChunkError} */
  async lastChunkError(jobId: string, index: number): Promise<SerializedError | undefined> {
    const out = await this.#client.send(this.#commands.read(errorKey(jobId, index)));
    return out.Item && decodeNote(out.Item);
  }

  /**
   * {@inheritDoc JobStore.getJob} One strongly consistent BatchGetItem of the job item and its S
   * counters (1 + S read units for small items); the first read of a job this store has not seen
   * reads the job item alone first, to learn S. Without counts: one GetItem of the job item.
   */
  async getJob(jobId: string, options: { readonly counts?: boolean } = {}): Promise<JobRecord | undefined> {
    if (options.counts === false) {
      const out = await this.#client.send(this.#commands.read(jobKey(jobId)));
      this.#shards.remember(out.Item);
      return out.Item && decodeJob(out.Item);
    }
    const layout = await this.#shards.layout(jobId);
    if (!layout) return undefined;
    const { item, counters } = await this.#shards.read(jobId, layout.shards);
    return item && decodeJob(item, counters);
  }

  /** {@inheritDoc JobStore.readResults} BatchGetItem in pages of 100 keys; unprocessed keys are retried. */
  async readResults(jobId: string, indices: readonly number[]): Promise<Map<number, Data>> {
    const out = new Map<number, Data>();
    for (const item of await this.#reads.chunkItems(jobId, indices))
      out.set(chunkIndexOf(item), decodeData(item.data, 'data'));
    return out;
  }

  /** {@inheritDoc JobStore.readAttempts} Reads the chunk records, as {@link readResults}. */
  async readAttempts(jobId: string, indices: readonly number[]): Promise<Map<number, ChunkAttempt>> {
    const out = new Map<number, ChunkAttempt>();
    for (const item of await this.#reads.chunkItems(jobId, indices)) {
      const attempt = decodeAttempt(item.at);
      if (attempt) out.set(chunkIndexOf(item), attempt);
    }
    return out;
  }

  /**
   * {@inheritDoc JobStore.listJobs} A query of the table's listing index per day looked at (the
   * index is `job-list.ts`'s: the table needs it, as the construct and `ensureTable` make it), then
   * one `getJob` per job found.
   */
  async listJobs(options: ListJobsOptions): Promise<JobRecord[]> {
    const src = {
      client: this.#client,
      table: this.#table,
      read: (id: string) => this.getJob(id),
      now: this.#clock(),
      // Items live to their job's deadline plus the retention: a week back covers default jobs.
      retentionMs: 7 * 86_400_000 + this.#retentionSeconds * 1000,
    };
    return listJobs(src, options);
  }

  /**
   * {@inheritDoc JobStore.pendingChunks} Reads the job and its counters (one BatchGetItem), then
   * queries the keys of the incomplete shards only, one shard after the other until `max` are found.
   * A query reads whole records: about a read unit per 4 KB of the shard's recorded results.
   */
  async pendingChunks(jobId: string, max: number): Promise<number[]> {
    integer(max, 'max', 1);
    return this.#reads.pending(jobId, max);
  }

  /**
   * {@inheritDoc JobStore.releaseJob} One conditional write (`released`) on the job item: its
   * records, counters and the job item itself expire by TTL at the deadline plus the retention.
   */
  async releaseJob(jobId: string): Promise<void> {
    try {
      await this.#client.send(this.#commands.release(jobId));
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  async #end(
    jobId: string,
    status: 'FAILED' | 'CANCELLED',
    error: JobError,
  ): Promise<{ changed: boolean; job: JobRecord | undefined }> {
    try {
      const out = await this.#client.send(this.#commands.end(jobId, status, error, this.#clock()));
      return { changed: true, job: decodeJob(out.Attributes ?? {}) };
    } catch (e) {
      const old = await this.#refused(e, jobId);
      return { changed: false, job: old && decodeJob(old) };
    }
  }

  /**
   * The item a refused conditional write found (undefined: there was none). Rethrows anything
   * that is not a failed condition. Falls back to a read when the service did not return the item.
   */
  async #refused(e: unknown, jobId: string): Promise<Item | undefined> {
    if (!(e instanceof ConditionalCheckFailedException)) throw e;
    if (e.Item) return e.Item;
    const out = await this.#client.send(this.#commands.read(jobKey(jobId)));
    return out.Item;
  }
}
