/**
 * The DynamoDB commands of the job store, one builder per port operation, written the Powertools
 * way: each condition from named pieces with `#attr` placeholders, and `ALL_OLD` asked for on a
 * failed condition so that a refused write tells what it found. Building a command has no effect;
 * `dynamo-store.ts` sends them and maps refusals to the port's outcomes. The table's layout is in
 * `dynamo-items.ts`.
 */
import {
  type AttributeValue,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SerializedError } from '../errors.js';
import type { ChunkResult, Data, JobError } from '../ports.js';
import {
  CHUNK_PREFIX,
  chunkKey,
  counterKey,
  Expr,
  encodeAttempt,
  encodeData,
  errorKey,
  jobKey,
  N,
  roundMs,
  runAttributes,
  S,
  shardPk,
  TTL_ATTRIBUTE,
} from './dynamo-items.js';
import { shardOf } from './job-shards.js';

type Item = Record<string, AttributeValue>;

/** The most actions one transaction holds (TransactWriteItems' limit): chunk puts and counter updates. */
const MAX_ACTIONS = 100;
/** The bytes one transaction carries at most, well inside TransactWriteItems' 4 MB. */
const MAX_TRANSACTION_BYTES = 3.5 * 1024 * 1024;

/** The commands of one job table; see the module comment. */
export class JobCommands {
  readonly #table: string;
  readonly #expiresAt: () => number;

  /** `expiresAt` gives the TTL (epoch seconds) of an item written now that belongs to no job's deadline (an error note). */
  constructor(table: string, expiresAt: () => number) {
    this.#table = table;
    this.#expiresAt = expiresAt;
  }

  /** Puts the job item unless one exists. */
  createJob(item: Item): PutItemCommand {
    const x = new Expr();
    return new PutItemCommand({
      TableName: this.#table,
      Item: item,
      ConditionExpression: `attribute_not_exists(${x.n('pk')})`,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /**
   * Sets the total of an open job, unless it has one (the store then reads the counters and marks
   * the shards that are complete: `markShards`).
   */
  seal(jobId: string, total: number): UpdateItemCommand {
    const x = new Expr();
    const conditions = {
      exists: `attribute_exists(${x.n('pk')})`,
      open: `attribute_not_exists(${x.n('total')})`,
    };
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression: `SET ${x.n('total')} = ${x.v('total', N(total))} ADD ${x.n('version')} ${x.v('one', N(1))}`,
      ConditionExpression: Object.values(conditions).join(' AND '),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /**
   * Records chunk results exactly once: a Put per chunk under its shard (`attribute_not_exists`)
   * with its attempt, and ONE Update per shard touched of that shard's counter (`ADD done :n, ms,
   * timed`). No condition on the job item: it would make that one item hot again (a chunk recorded
   * after its job ended changes nothing but its shard's counter, and expires with the job). A
   * duplicate cancels the whole transaction; its reason (in the order of `entries`) names it. Give
   * it at most one part of {@link partitionForTransactions}; `expiresAt` is the job's TTL.
   */
  recordChunks(
    jobId: string,
    shards: number,
    expiresAt: number,
    entries: readonly ChunkResult[],
  ): TransactWriteItemsCommand {
    const ttl = N(expiresAt);
    const puts = entries.map((e) => {
      const put = new Expr();
      const item: Record<string, AttributeValue> = {
        ...chunkKey(jobId, e.index, shards),
        data: encodeData(e.result),
        [TTL_ATTRIBUTE]: ttl,
      };
      if (e.attempt) item.at = encodeAttempt(e.attempt);
      return {
        Put: {
          TableName: this.#table,
          Item: item,
          ConditionExpression: `attribute_not_exists(${put.n('pk')})`,
          ReturnValuesOnConditionCheckFailure: 'NONE' as const,
          ...put.attributes,
        },
      };
    });
    const counts = new Map<number, { n: number; ms: number; timed: number; retries: number }>();
    for (const e of entries) {
      const k = shardOf(e.index, shards);
      const c = counts.get(k) ?? { n: 0, ms: 0, timed: 0, retries: 0 };
      c.n++;
      if (e.attempt) {
        c.ms += e.attempt.ms;
        c.timed++;
        c.retries += e.attempt.attempt - 1;
      }
      counts.set(k, c);
    }
    const updates = [...counts].map(([k, c]) => {
      const x = new Expr();
      return {
        Update: {
          TableName: this.#table,
          Key: counterKey(jobId, k),
          UpdateExpression:
            `ADD ${x.n('done')} ${x.v('n', N(c.n))}, ${x.n('ms')} ${x.v('ms', N(roundMs(c.ms)))}, ` +
            `${x.n('timed')} ${x.v('timed', N(c.timed))}` +
            // Redeliveries are rare: the attribute is written only when there are some.
            (c.retries > 0 ? `, ${x.n('retries')} ${x.v('retries', N(c.retries))}` : '') +
            ` SET ${x.n(TTL_ATTRIBUTE)} = ${x.v('ttl', ttl)}`,
          ...x.attributes,
        },
      };
    });
    return new TransactWriteItemsCommand({ TransactItems: [...puts, ...updates] });
  }

  /**
   * Adds shards to the job's complete ones (`doneShards`) while it is RUNNING. Adding to a set is
   * idempotent, so two parties marking the same shard change nothing twice; the job's `version` is
   * left alone (the counters already moved it). Returns the job item after.
   */
  markShards(jobId: string, ks: readonly number[]): UpdateItemCommand {
    const x = new Expr();
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression: `ADD ${x.n('doneShards')} ${x.v('ks', { NS: ks.map(String) })}`,
      ConditionExpression: `${x.n('status')} = ${x.v('running', S('RUNNING'))}`,
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /** Marks the job released (a tombstone: its items expire by TTL), unless it does not exist. */
  release(jobId: string): UpdateItemCommand {
    const x = new Expr();
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression: `SET ${x.n('released')} = ${x.v('yes', { BOOL: true })} ADD ${x.n('version')} ${x.v('one', N(1))}`,
      ConditionExpression: `attribute_exists(${x.n('pk')})`,
      ...x.attributes,
    });
  }

  /** Ends a RUNNING or FOLDING job as FAILED or CANCELLED with `error` at `now`, revoking any finaliser lease. */
  end(jobId: string, status: 'FAILED' | 'CANCELLED', error: JobError, now: number): UpdateItemCommand {
    const x = new Expr();
    const live = `${x.n('status')} IN (${x.v('running', S('RUNNING'))}, ${x.v('folding', S('FOLDING'))})`;
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      // Leaving FOLDING revokes the lease, so a late finishJob returns false.
      UpdateExpression:
        `SET ${x.n('status')} = ${x.v('status', S(status))}, ${x.n('error')} = ${x.v('error', S(JSON.stringify(error)))}, ` +
        `${x.n('endedAt')} = ${x.v('now', N(now))} ` +
        `REMOVE ${x.n('owner')}, ${x.n('leaseUntil')} ADD ${x.n('version')} ${x.v('one', N(1))}`,
      ConditionExpression: live,
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /**
   * Claims chunk `index`'s run for `owner` until `until` (the store's clock): sets the job item's
   * `run<index>` and `runUntil<index>` unless another owner is there, while the job is RUNNING.
   * The job's `version` is left alone (nobody waits for a claim).
   */
  claimRun(jobId: string, index: number, owner: string, until: number): UpdateItemCommand {
    const names = runAttributes(index);
    const x = new Expr();
    const run = x.n(names.owner);
    const me = x.v('owner', S(owner));
    const conditions = {
      // An update must never create a job item.
      exists: `attribute_exists(${x.n('pk')})`,
      running: `${x.n('status')} = ${x.v('running', S('RUNNING'))}`,
      free: `(attribute_not_exists(${run}) OR ${run} = ${me})`,
    };
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression: `SET ${run} = ${me}, ${x.n(names.until)} = ${x.v('until', N(until))}`,
      ConditionExpression: Object.values(conditions).join(' AND '),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /**
   * RUNNING → FOLDING under a lease of `owner` until `now + leaseMs`, once every shard of a sealed
   * job is marked complete; or a takeover of a FOLDING job whose lease has ended. Adds 1 to the
   * fence. (`attribute_exists` first: `size()` of a missing set fails the condition on DynamoDB,
   * and moto answers it with an error.)
   */
  claimFinaliser(jobId: string, owner: string, now: number, leaseMs: number): UpdateItemCommand {
    const x = new Expr();
    const marked = `attribute_exists(${x.n('doneShards')}) AND size(${x.n('doneShards')}) = ${x.n('shards')}`;
    const conditions = {
      ready: `(${x.n('status')} = ${x.v('running', S('RUNNING'))} AND attribute_exists(${x.n('total')}) AND ${marked})`,
      expired: `(${x.n('status')} = ${x.v('folding', S('FOLDING'))} AND ${x.n('leaseUntil')} <= ${x.v('now', N(now))})`,
    };
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression:
        `SET ${x.n('status')} = :folding, ${x.n('owner')} = ${x.v('owner', S(owner))}, ` +
        `${x.n('leaseUntil')} = ${x.v('until', N(now + leaseMs))} ` +
        `ADD ${x.n('fence')} ${x.v('one', N(1))}, ${x.n('version')} :one`,
      ConditionExpression: `${conditions.ready} OR ${conditions.expired}`,
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /** FOLDING → DONE at `now` by the lease's owner under its fence, with the result; drops the `initial` value. */
  finishJob(
    jobId: string,
    owner: string,
    fence: number,
    result: Data | undefined,
    now: number,
  ): UpdateItemCommand {
    const x = new Expr();
    const conditions = {
      folding: `${x.n('status')} = ${x.v('folding', S('FOLDING'))}`,
      owner: `${x.n('owner')} = ${x.v('owner', S(owner))}`,
      fence: `${x.n('fence')} = ${x.v('fence', N(fence))}`,
    };
    const set = [`${x.n('status')} = ${x.v('done', S('DONE'))}`, `${x.n('endedAt')} = ${x.v('now', N(now))}`];
    if (result) set.push(`${x.n('result')} = ${x.v('result', encodeData(result))}`);
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      // REMOVE first: the 400 KB limit is on the item an update produces, but moto applies the clauses in
      // the order written and would refuse an initial and a result both near the limit.
      UpdateExpression:
        `REMOVE ${x.n('owner')}, ${x.n('leaseUntil')}, ${x.n('initial')} SET ${set.join(', ')} ` +
        `ADD ${x.n('version')} ${x.v('one', N(1))}`,
      ConditionExpression: Object.values(conditions).join(' AND '),
      ReturnValuesOnConditionCheckFailure: 'NONE',
      ...x.attributes,
    });
  }

  /** Notes why chunk `index`'s attempt ended (its thread crashed), replacing an earlier note. */
  noteChunkError(jobId: string, index: number, error: SerializedError): PutItemCommand {
    return new PutItemCommand({
      TableName: this.#table,
      Item: {
        ...errorKey(jobId, index),
        error: S(JSON.stringify(error)),
        [TTL_ATTRIBUTE]: N(this.#expiresAt()),
      },
    });
  }

  /** Adds `sent` to the job item's count of straggler backups, if the job exists. */
  countBackups(jobId: string, sent: number): UpdateItemCommand {
    const x = new Expr();
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression: `ADD ${x.n('backups')} ${x.v('n', N(sent))}`,
      ConditionExpression: `attribute_exists(${x.n('pk')})`,
      ...x.attributes,
    });
  }

  /** A strongly consistent read of one item (the job's, an error note). */
  read(key: Item): GetItemCommand {
    return new GetItemCommand({ TableName: this.#table, Key: key, ConsistentRead: true });
  }

  /** One page of the sort keys of shard `k`'s chunk records, from `start` (strongly consistent). */
  chunkKeysOf(jobId: string, k: number, start: Item | undefined): QueryCommand {
    const x = new Expr();
    return new QueryCommand({
      TableName: this.#table,
      KeyConditionExpression: `${x.n('pk')} = ${x.v('pk', S(shardPk(jobId, k)))} AND begins_with(${x.n('sk')}, ${x.v('chunk', S(CHUNK_PREFIX))})`,
      ProjectionExpression: x.n('sk'),
      ConsistentRead: true,
      ...(start ? { ExclusiveStartKey: start } : {}),
      ...x.attributes,
    });
  }
}

/**
 * Splits chunk results into parts that each fit one {@link JobCommands.recordChunks} transaction:
 * at most 100 actions (a put per chunk and an update per shard touched) and about 3.5 MB. Chunks of
 * one shard are kept together where they fit, so a part touches few counters.
 */
export function partitionForTransactions(entries: readonly ChunkResult[], shards: number): ChunkResult[][] {
  const sorted = [...entries].sort(
    (a, b) => shardOf(a.index, shards) - shardOf(b.index, shards) || a.index - b.index,
  );
  const parts: ChunkResult[][] = [];
  let part: ChunkResult[] = [];
  let touched = new Set<number>();
  let bytes = 0;
  for (const e of sorted) {
    const size = ('bytes' in e.result ? e.result.bytes.byteLength : 0) + 1024;
    const k = shardOf(e.index, shards);
    const actions = part.length + touched.size + 1 + (touched.has(k) ? 0 : 1);
    if (part.length > 0 && (actions > MAX_ACTIONS || bytes + size > MAX_TRANSACTION_BYTES)) {
      parts.push(part);
      part = [];
      touched = new Set();
      bytes = 0;
    }
    part.push(e);
    touched.add(k);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
