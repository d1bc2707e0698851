/**
 * The {@link JobStore} port on one DynamoDB table (layout in `dynamo-items.ts`). Each port method
 * that changes state is one conditional write or one transaction, written the Powertools way:
 * conditions from named pieces with `#attr` placeholders, `ReturnValuesOnConditionCheckFailure:
 * ALL_OLD` so a refused write tells what it found, and only `ConditionalCheckFailedException` and
 * cancelled transactions with a `ConditionalCheckFailed` reason mapped to domain outcomes.
 *
 * The hot item: every `completeChunk` adds 1 to `done` on the job item, in a transaction (2 WCU per
 * KB of job item). One item takes at most 1,000 WCU/s, so a job with a small job item records at
 * most about 500 chunks/s; a large inline `initial` value lowers that (keep it small or spill it).
 * The sharded alternative keeps N counter items (`sk=COUNT#k`, chunk i adds to shard i mod N) and
 * would lift the cap N-fold, at a price: `done` is no longer one attribute, so `claimFinaliser`
 * becomes a transaction with N ConditionChecks on values read just before (N+1 transactional
 * writes and a retry when any shard moved), and `getJob` reads N+1 items per call.
 * Lambda's scaling (1,000 new environments per 10 s) rarely sustains more than 500 chunk
 * completions per second for one job, so the single counter is kept until a job needs more.
 */

import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ErrorCodes, PayloadTooLargeError, ProtocolError, type SerializedError } from '../errors.js';
import type {
  ChunkResult,
  ClaimOutcome,
  CompleteOutcome,
  Data,
  JobError,
  JobRecord,
  JobSpec,
  JobStore,
  ListJobsOptions,
  RunClaim,
} from '../ports.js';
import { integer, jobSpec, nonEmptyString, nonNegative } from '../validate.js';
import { chunksOf } from './batching.js';
import { batchDelete, batchGet, type RetryPolicy, transactWrite } from './dynamo-batch.js';
import {
  chunkIndexOf,
  chunkKey,
  decodeData,
  decodeJob,
  decodeNote,
  errorKey,
  jobKey,
  newJobItem,
  runAttributes,
} from './dynamo-items.js';
import { listJobs } from './dynamo-list.js';
import { JobCommands, partitionForTransactions } from './job-commands.js';

/** Options of {@link DynamoJobStore}. */
export interface DynamoJobStoreOptions {
  /** The DynamoDB client; make one with `createDynamoClient`. */
  readonly client: DynamoDBClient;
  /** The table, with string keys `pk` and `sk` (see `ensureTable`). */
  readonly tableName: string;
  /** Lifetime of every item written, for the table's TTL, in seconds. @default 604_800 (7 days) */
  readonly ttlSeconds?: number;
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
  readonly #table: string;
  readonly #commands: JobCommands;
  readonly #ttlSeconds: number;
  readonly #retry: RetryPolicy;
  readonly #clock: () => number;

  constructor(options: DynamoJobStoreOptions) {
    const tableName = nonEmptyString(options.tableName, 'options.tableName', 3);
    const retryAttempts = integer(options.retryAttempts ?? 8, 'options.retryAttempts', 1);
    this.#client = options.client;
    this.#table = tableName;
    this.#ttlSeconds = integer(options.ttlSeconds ?? 7 * 24 * 3600, 'options.ttlSeconds', 1);
    this.maxInlineBytes = integer(
      options.maxInlineBytes ?? 350 * 1024,
      'options.maxInlineBytes',
      0,
      MAX_INLINE_LIMIT,
    );
    this.#retry = {
      attempts: retryAttempts,
      baseMs: nonNegative(options.retryBaseMs ?? 25, 'options.retryBaseMs'),
    };
    this.#clock = options.clock ?? Date.now;
    this.#commands = new JobCommands(tableName, () => this.#expiresAt());
  }

  /** {@inheritDoc JobStore.createJob} */
  async createJob(spec: JobSpec): Promise<{ created: boolean; job: JobRecord }> {
    jobSpec(spec);
    if (spec.initial) this.#checkInline(spec.initial, 'Initial value');
    const item = newJobItem(spec, this.#clock(), this.#expiresAt());
    try {
      await this.#client.send(this.#commands.createJob(item));
      return { created: true, job: decodeJob(item) };
    } catch (e) {
      const old = await this.#refused(e, spec.id);
      if (!old) throw new ProtocolError(`Job ${spec.id} exists but could not be read back`);
      return { created: false, job: decodeJob(old) };
    }
  }

  /** {@inheritDoc JobStore.seal} Throws {@link ProtocolError} for an unknown job, another total, or fewer chunks than done. */
  async seal(jobId: string, total: number): Promise<JobRecord> {
    integer(total, 'total', 0);
    try {
      const out = await this.#client.send(this.#commands.seal(jobId, total));
      return decodeJob(out.Attributes ?? {});
    } catch (e) {
      const old = await this.#refused(e, jobId);
      if (!old) throw new ProtocolError(`Cannot seal job ${jobId}: it does not exist`);
      const job = decodeJob(old);
      if (job.total === total) return job;
      if (job.total !== undefined)
        throw new ProtocolError(
          `Job ${jobId} is sealed with ${job.total} chunks; cannot seal it with ${total}`,
        );
      throw new ProtocolError(`Job ${jobId} has ${job.done} chunks done; cannot seal it with ${total}`);
    }
  }

  /**
   * {@inheritDoc JobStore.completeChunk} One transaction: put the chunk item unless it exists, and
   * add 1 to `done` while the job is RUNNING (and the index is inside a sealed total). The counts
   * returned are read just after, so they may include later completions.
   */
  async completeChunk(jobId: string, index: number, result: Data): Promise<CompleteOutcome> {
    integer(index, 'index', 0);
    this.#checkInline(result, `Result of chunk ${index}`);
    const command = () => this.#commands.recordChunks(jobId, [{ index, result }]);
    const reasons = await transactWrite(this.#client, command, this.#retry);
    if (reasons) {
      const [chunk, job] = reasons;
      // The job refused: it has ended, does not exist, or the index is past its total.
      if (chunk?.Code !== 'ConditionalCheckFailed' && job?.Code === 'ConditionalCheckFailed') {
        const record = job.Item ? decodeJob(job.Item) : undefined;
        if (record?.status === 'RUNNING' && record.total !== undefined && index >= record.total)
          throw new ProtocolError(
            `Chunk ${index} is out of range for job ${jobId} of ${record.total} chunks`,
          );
        if (record) return outcome(false, record);
      }
    }
    const job = await this.getJob(jobId);
    if (!job) return { first: false, done: 0, total: undefined, status: 'CANCELLED' };
    return outcome(reasons === undefined, job);
  }

  /**
   * {@inheritDoc JobStore.completeChunks} One transaction per 99 chunks (and about 3.5 MB): a Put
   * per chunk (`attribute_not_exists`) and ONE Update of the job's counter (`ADD done :n`), so a
   * group of chunks costs the job item one write instead of one each. A duplicate cancels the
   * transaction; it is dropped (its reason names it) and the rest retried.
   */
  async completeChunks(jobId: string, entries: readonly ChunkResult[]): Promise<CompleteOutcome[]> {
    const unique = new Map<number, ChunkResult>();
    for (const e of entries) {
      integer(e.index, 'index', 0);
      this.#checkInline(e.result, `Result of chunk ${e.index}`);
      if (!unique.has(e.index)) unique.set(e.index, e);
    }
    const recorded = new Set<number>();
    let ended = false;
    for (const part of partitionForTransactions([...unique.values()])) {
      let rest = part;
      while (rest.length > 0 && !ended) {
        const reasons = await transactWrite(
          this.#client,
          () => this.#commands.recordChunks(jobId, rest),
          this.#retry,
        );
        if (!reasons) {
          for (const e of rest) recorded.add(e.index);
          break;
        }
        const duplicate = (k: number) => reasons[k]?.Code === 'ConditionalCheckFailed';
        if (!rest.some((_, k) => duplicate(k))) {
          // The job refused: it ended, does not exist, or an index is past its total.
          const jobReason = reasons[rest.length];
          const record = jobReason?.Item ? decodeJob(jobReason.Item) : undefined;
          const last = Math.max(...rest.map((e) => e.index));
          if (record?.status === 'RUNNING' && record.total !== undefined && last >= record.total) {
            throw new ProtocolError(
              `Chunk ${last} is out of range for job ${jobId} of ${record.total} chunks`,
            );
          }
          ended = true;
          break;
        }
        rest = rest.filter((_, k) => !duplicate(k));
      }
    }
    const job = await this.getJob(jobId);
    const claimed = new Set<number>();
    return entries.map((e) => {
      const first = recorded.has(e.index) && !claimed.has(e.index);
      claimed.add(e.index);
      return job ? outcome(first, job) : { first: false, done: 0, total: undefined, status: 'CANCELLED' };
    });
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

  /** {@inheritDoc JobStore.claimFinaliser} The first lease has fence 1; each takeover adds 1. */
  async claimFinaliser(jobId: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    integer(leaseMs, 'leaseMs', 1);
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
      return { claimed: false, job };
    }
  }

  /** {@inheritDoc JobStore.finishJob} A lease that ran out still finishes while nobody has taken it over. */
  async finishJob(jobId: string, owner: string, fence: number, result?: Data): Promise<boolean> {
    if (result) this.#checkInline(result, 'Job result');
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

  /** {@inheritDoc JobStore.lastChunkError} */
  async lastChunkError(jobId: string, index: number): Promise<SerializedError | undefined> {
    const out = await this.#client.send(this.#commands.read(errorKey(jobId, index)));
    return out.Item && decodeNote(out.Item);
  }

  /** {@inheritDoc JobStore.getJob} */
  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const out = await this.#client.send(this.#commands.read(jobKey(jobId)));
    return out.Item && decodeJob(out.Item);
  }

  /** {@inheritDoc JobStore.readResults} BatchGetItem in pages of 100 keys; unprocessed keys are retried. */
  async readResults(jobId: string, indices: readonly number[]): Promise<Map<number, Data>> {
    const out = new Map<number, Data>();
    for (const page of chunksOf([...new Set(indices)], 100)) {
      const keys = page.map((i) => chunkKey(jobId, i));
      for (const item of await batchGet(this.#client, this.#table, keys, this.#retry))
        out.set(chunkIndexOf(item), decodeData(item.data, 'data'));
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
      retentionMs: this.#ttlSeconds * 1000,
    };
    return listJobs(src, options);
  }

  /**
   * {@inheritDoc JobStore.deleteJob} Queries the job's items and deletes them 25 at a time
   * (BatchWriteItem; unprocessed items retried). Not atomic: a chunk recorded meanwhile may remain
   * until its TTL.
   */
  async deleteJob(jobId: string): Promise<void> {
    let start: Item | undefined;
    do {
      const page = await this.#client.send(this.#commands.keysOf(jobId, start));
      for (const keys of chunksOf(page.Items ?? [], 25))
        await batchDelete(this.#client, this.#table, keys, this.#retry);
      start = page.LastEvaluatedKey;
    } while (start);
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

  #checkInline(data: Data, what: string): void {
    if ('bytes' in data && data.bytes.byteLength > this.maxInlineBytes)
      throw new PayloadTooLargeError(what, data.bytes.byteLength, this.maxInlineBytes);
  }

  #expiresAt(): number {
    return Math.floor(this.#clock() / 1000) + this.#ttlSeconds;
  }
}

function outcome(first: boolean, job: JobRecord): CompleteOutcome {
  return { first, done: job.done, total: job.total, status: job.status };
}
