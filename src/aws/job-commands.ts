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
  chunkKey,
  Expr,
  encodeData,
  errorKey,
  jobKey,
  jobPk,
  N,
  runAttributes,
  S,
  TTL_ATTRIBUTE,
} from './dynamo-items.js';

type Item = Record<string, AttributeValue>;

/** The most chunk puts one transaction holds: TransactWriteItems takes 100 actions, one is the job's update. */
const MAX_PUTS = 99;
/** The bytes one transaction carries at most, well inside TransactWriteItems' 4 MB. */
const MAX_TRANSACTION_BYTES = 3.5 * 1024 * 1024;

/** The commands of one job table; see the module comment. */
export class JobCommands {
  readonly #table: string;
  readonly #expiresAt: () => number;

  /** `expiresAt` gives the TTL (epoch seconds) of an item written now. */
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

  /** Sets the total of an open job, unless it has one or more chunks are done already. */
  seal(jobId: string, total: number): UpdateItemCommand {
    const x = new Expr();
    const conditions = {
      exists: `attribute_exists(${x.n('pk')})`,
      open: `attribute_not_exists(${x.n('total')})`,
      notBelowDone: `${x.n('done')} <= ${x.v('total', N(total))}`,
    };
    return new UpdateItemCommand({
      TableName: this.#table,
      Key: jobKey(jobId),
      UpdateExpression: `SET ${x.n('total')} = :total ADD ${x.n('version')} ${x.v('one', N(1))}`,
      ConditionExpression: Object.values(conditions).join(' AND '),
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ...x.attributes,
    });
  }

  /**
   * Records chunk results exactly once: a Put per chunk (`attribute_not_exists`) and ONE Update
   * of the job's counter (`ADD done :n`), while the job is RUNNING and every index is inside a
   * sealed total. A duplicate or a refusing job cancels the whole transaction; the last reason is
   * the job's, with its item. Give it at most one part of {@link partitionForTransactions}.
   */
  recordChunks(jobId: string, entries: readonly ChunkResult[]): TransactWriteItemsCommand {
    const update = new Expr();
    const last = Math.max(...entries.map((e) => e.index));
    const jobConditions = {
      running: `${update.n('status')} = ${update.v('running', S('RUNNING'))}`,
      inRange: `(attribute_not_exists(${update.n('total')}) OR ${update.n('total')} > ${update.v('last', N(last))})`,
    };
    const puts = entries.map((e) => {
      const put = new Expr();
      return {
        Put: {
          TableName: this.#table,
          Item: {
            ...chunkKey(jobId, e.index),
            data: encodeData(e.result),
            [TTL_ATTRIBUTE]: N(this.#expiresAt()),
          },
          ConditionExpression: `attribute_not_exists(${put.n('pk')})`,
          ReturnValuesOnConditionCheckFailure: 'NONE' as const,
          ...put.attributes,
        },
      };
    });
    return new TransactWriteItemsCommand({
      TransactItems: [
        ...puts,
        {
          Update: {
            TableName: this.#table,
            Key: jobKey(jobId),
            UpdateExpression: `ADD ${update.n('done')} ${update.v('n', N(entries.length))}, ${update.n('version')} ${update.v('one', N(1))}`,
            ConditionExpression: Object.values(jobConditions).join(' AND '),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ...update.attributes,
          },
        },
      ],
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
   * RUNNING → FOLDING under a lease of `owner` until `now + leaseMs`, once every chunk of a sealed
   * job is done; or a takeover of a FOLDING job whose lease has ended. Adds 1 to the fence.
   */
  claimFinaliser(jobId: string, owner: string, now: number, leaseMs: number): UpdateItemCommand {
    const x = new Expr();
    const conditions = {
      ready: `(${x.n('status')} = ${x.v('running', S('RUNNING'))} AND attribute_exists(${x.n('total')}) AND ${x.n('done')} = ${x.n('total')})`,
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

  /** A strongly consistent read of one item (the job's, an error note). */
  read(key: Item): GetItemCommand {
    return new GetItemCommand({ TableName: this.#table, Key: key, ConsistentRead: true });
  }

  /** One page of the keys of every item of the job, from `start`. */
  keysOf(jobId: string, start: Item | undefined): QueryCommand {
    const x = new Expr();
    return new QueryCommand({
      TableName: this.#table,
      KeyConditionExpression: `${x.n('pk')} = ${x.v('pk', S(jobPk(jobId)))}`,
      ProjectionExpression: `${x.n('pk')}, ${x.n('sk')}`,
      ConsistentRead: true,
      ...(start ? { ExclusiveStartKey: start } : {}),
      ...x.attributes,
    });
  }
}

/**
 * Splits chunk results into parts that each fit one {@link JobCommands.recordChunks} transaction:
 * at most 99 puts and about 3.5 MB.
 */
export function partitionForTransactions(entries: readonly ChunkResult[]): ChunkResult[][] {
  const parts: ChunkResult[][] = [];
  let part: ChunkResult[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = ('bytes' in e.result ? e.result.bytes.byteLength : 0) + 1024;
    if (part.length === MAX_PUTS || (part.length > 0 && bytes + size > MAX_TRANSACTION_BYTES)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(e);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
